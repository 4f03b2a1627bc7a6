/**
 * Number-for-number agreement of `model: "v1"` with the first calibrated reference
 * (shared/simulator-reference/sim.py),
 * through the committed fixture made by test/fixtures/simulated/make_fixture.py — so CI needs no
 * numpy. The pure model is driven the sim.py way (length jitter 0); the generator and verifier
 * ports are checked too, with seeds whose 32-bit fold is sim.py's root.
 */
import { readFileSync } from "node:fs"
import { assert, describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { decodeConfigUnsafe, lastLatent, make } from "../../plugins/simulated/index.ts"
import type { SimLatent } from "../../plugins/simulated/Latent.ts"
import { prmScore } from "../../plugins/simulated/Prm.ts"
import { reviseAttempt } from "../../plugins/simulated/Revision.ts"
import { GREEDY } from "../../plugins/simulated/Tags.ts"
import { childStep } from "../../plugins/simulated/Transition.ts"
import { makeWorld, type World } from "../../plugins/simulated/World.ts"
import * as Candidate from "../../src/domain/Candidate.ts"
import { hash32, mix32 } from "../../src/domain/Hash.ts"
import type { Problem } from "../../src/domain/Problem.ts"
import * as Steps from "../../src/domain/Steps.ts"

interface Draws {
  readonly n: number
  readonly answers: ReadonlyArray<number>
  readonly scores: ReadonlyArray<number>
}
interface Case {
  readonly params: "default" | "variant"
  readonly seed: number
  readonly pid: number
  readonly level: number
  readonly prob: Record<string, number> & { readonly zcum: ReadonlyArray<number> }
  readonly samplesTree: Draws
  readonly samplesOracle: Draws
  readonly rollout: { readonly k: number; readonly score: number | null }
  readonly revisions: {
    readonly chains: number
    readonly attempts: number
    readonly answers: ReadonlyArray<number>
    readonly scores: ReadonlyArray<number>
  }
}
interface Fixture {
  readonly hash: { readonly H_1_2: number; readonly mix32_12345: number }
  readonly cases: ReadonlyArray<Case>
}

const fixture: Fixture = JSON.parse(
  readFileSync(new URL("../fixtures/simulated/sim-reference.json", import.meta.url), "utf8")
)

// sim.py's P2 in make_fixture.py, in SimulatedConfig terms
const VARIANT = {
  prm: { psi: 0.7, rho0: 0.3, rho1: 0.2, sdPower: 1.5 },
  answers: { distractors: 8, zipf: 1.1 },
  accuracy: { omega: 0.5 }
}

const configOf = (c: Case) =>
  decodeConfigUnsafe({
    model: "v1",
    worldSeed: c.seed,
    length: { jitter: 0 },
    ...(c.params === "variant" ? VARIANT : {})
  })
const problemOf = (c: Case): Problem => ({
  id: `math500/${c.pid}`,
  question: "Q",
  meta: { level: c.level, index: c.pid }
})

const close = (actual: number, expected: number, what: string) =>
  assert.isTrue(
    Math.abs(actual - expected) <= 1e-12 * Math.max(1, Math.abs(expected)),
    `${what}: ${actual} vs ${expected}`
  )

/** sim.py `samples(root, n)`: child i of root, then child 0 after child 0. */
const samples = (world: World, root: number, n: number) => {
  const answers: Array<number> = []
  const scores: Array<number> = []
  for (let i = 0; i < n; i++) {
    let h = hash32(root, i)
    let latent = childStep(world, h, undefined)
    while (latent.depth < latent.length - 1) {
      h = hash32(h, 0)
      latent = childStep(world, h, latent)
    }
    answers.push(latent.answer)
    scores.push(prmScore(world, latent.hash, latent.state))
  }
  return { answers, scores }
}

const label = (c: Case) => `${c.params} seed ${c.seed} pid ${c.pid}`

describe("sim.py agreement (model v1)", () => {
  it("hash test vectors", () => {
    expect(hash32(1, 2)).toBe(587229646)
    expect(mix32(12345)).toBe(2435775735)
    expect(fixture.hash.H_1_2).toBe(587229646)
    expect(fixture.hash.mix32_12345).toBe(2435775735)
    expect(mix32(0)).toBe(0)
  })

  it("problem worlds equal sim.py's Prob field for field", () => {
    expect(fixture.cases.length).toBeGreaterThan(15)
    for (const c of fixture.cases) {
      const w = makeWorld(configOf(c), problemOf(c))
      const p = c.prob
      expect(w.ph, label(c)).toBe(p.ph)
      expect(w.L, label(c)).toBe(p.L)
      expect([w.tree, w.oracle, w.rev]).toEqual([p.tree, p.oracle, p.rev])
      for (const f of ["delta", "s", "q0", "q", "sd", "bonus", "brk", "lam", "kappa", "rho"] as const)
        close(w[f], p[f] ?? Number.NaN, `${label(c)} ${f}`)
      expect(w.zcum.length).toBe(p.zcum.length)
      for (const [j, z] of w.zcum.entries()) close(z, p.zcum[j] ?? Number.NaN, `${label(c)} zcum[${j}]`)
    }
  })

  it("independent samples: same answers and PRM scores", () => {
    for (const c of fixture.cases) {
      const w = makeWorld(configOf(c), problemOf(c))
      for (const [root, ref] of [
        [w.tree, c.samplesTree],
        [w.oracle, c.samplesOracle]
      ] as const) {
        const got = samples(w, root, ref.n)
        expect(got.answers, label(c)).toEqual(ref.answers)
        for (const [i, s] of got.scores.entries()) close(s, ref.scores[i] ?? Number.NaN, `${label(c)} score ${i}`)
      }
    }
  })

  it("greedy rollouts: same final score", () => {
    for (const c of fixture.cases) {
      const w = makeWorld(configOf(c), problemOf(c))
      let h = hash32(w.tree, 0)
      let latent = childStep(w, h, undefined)
      let score: number | null = null
      for (let d = 1; d <= Math.min(c.rollout.k, w.L - 1); d++) {
        h = hash32(h, GREEDY)
        latent = childStep(w, h, latent)
        score = prmScore(w, latent.hash, latent.state)
      }
      if (c.rollout.score === null) expect(score).toBeNull()
      else close(score ?? Number.NaN, c.rollout.score, `${label(c)} rollout`)
    }
  })

  it("revision chains: same answers and scores attempt by attempt", () => {
    for (const c of fixture.cases) {
      const w = makeWorld(configOf(c), problemOf(c))
      const { chains, attempts } = c.revisions
      for (let ch = 0; ch < chains; ch++) {
        let prev: SimLatent | undefined
        for (let t = 0; t < attempts; t++) {
          const steps = reviseAttempt(w, hash32(hash32(w.rev, ch), t), prev)
          const last = steps[steps.length - 1]
          assert.isDefined(last)
          if (last === undefined) return
          const k = ch * attempts + t
          expect(last.answer, `${label(c)} chain ${ch} attempt ${t}`).toBe(c.revisions.answers[k])
          close(prmScore(w, last.hash, last.state), c.revisions.scores[k] ?? Number.NaN, `${label(c)} rev ${k}`)
          prev = last
        }
      }
    }
  })

  it.effect("through the ports: samples and revisions equal sim.py's", () =>
    Effect.gen(function* () {
      for (const c of fixture.cases.filter((x) => x.seed === 0 && x.params === "default").slice(0, 5)) {
        const backend = yield* make(configOf(c))
        const problem = problemOf(c)
        const w = yield* backend.world(problem)
        // seed32 of a seed below 2^32 is the seed itself: continuation i gets hash32(tree, i), as sim.py
        const { generations } = yield* backend.generator.generate({
          problem,
          prefix: undefined,
          n: c.samplesTree.n,
          until: "end",
          temperature: 0.8,
          maxTokens: 100_000,
          seed: BigInt(w.tree)
        })
        const candidates = generations.map((g, i) => ({
          ...Candidate.make({ id: `s${i}`, origin: { node: "test", round: 0 } }),
          steps: Steps.appendAll(undefined, g.steps),
          done: g.done
        }))
        expect(candidates.map((x) => lastLatent(x)?.answer)).toEqual(c.samplesTree.answers)
        expect(generations.map((g) => g.answer)).toEqual(c.samplesTree.answers.map((a) => w.answers[a]))
        const { stepScores } = yield* backend.verifier.score({ problem, candidates, verifier: "orm" })
        for (const [i, s] of stepScores.entries())
          close(s[0] ?? Number.NaN, c.samplesTree.scores[i] ?? Number.NaN, `port score ${i}`)

        // chain 0 of sim.py's revisions: attempt t is continuation t of seed hash32(rev, 0)
        const croot = hash32(w.rev, 0)
        let context: Array<Candidate.Candidate> = []
        for (let t = 0; t < c.revisions.attempts; t++) {
          const { generations: gs } = yield* backend.generator.generate({
            problem,
            prefix: undefined,
            n: t + 1,
            until: "end",
            temperature: 0.8,
            maxTokens: 100_000,
            seed: BigInt(croot),
            context
          })
          const g = gs[t]
          assert.isDefined(g)
          if (g === undefined) return
          const cand = {
            ...Candidate.make({ id: `c0.r${t}`, origin: { node: "test", round: t } }),
            steps: Steps.appendAll(undefined, g.steps),
            done: g.done
          }
          expect(lastLatent(cand)?.answer).toBe(c.revisions.answers[t])
          context = [...context, cand]
        }
      }
    })
  )
})
