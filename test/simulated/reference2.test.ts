/**
 * Number-for-number agreement of the default world model (`model: "v2"`) with the second
 * calibrated reference, shared/simulator-reference-v2/sim2.py, through the committed fixture made
 * by test/fixtures/simulated/make_fixture2.py (CI needs no numpy):
 *
 * - the test vectors that end results2.txt (problems 7 and 11 of seed 0), through the backend's
 *   ports and — for beam(16,4), dvts(16,4) and revision_grid(2,4) — through mull's graphs;
 * - for more problems, seeds and a second parameter set: every `Prob` field, samples, greedy
 *   rollouts and revision grids through the pure model, and the leaves (node, answer, PRM score) of
 *   beam search, lookahead, beam search M = √N and DVTS run by mull's runtime from the graph files.
 *
 * The model runs the reference's way (length jitter 0). A graph runs on the reference's node
 * numbering through `treeGenerator` (tree.ts): mull's call seeds differ from sim2.py's
 * tree-relative indices and nothing else does.
 */
import { readFileSync } from "node:fs"
import { assert, describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { decodeConfigUnsafe, isSimLatent, lastLatent, make } from "../../plugins/simulated/index.ts"
import type { SimLatent } from "../../plugins/simulated/Latent.ts"
import { prmScore } from "../../plugins/simulated/Prm.ts"
import { reviseAttempt } from "../../plugins/simulated/Revision.ts"
import type { SimulatedBackend } from "../../plugins/simulated/Simulated.ts"
import { GREEDY } from "../../plugins/simulated/Tags.ts"
import { childStep } from "../../plugins/simulated/Transition.ts"
import { makeWorld, type World } from "../../plugins/simulated/World.ts"
import { mathAnswerKey } from "../../src/answer/MathGrader.ts"
import { loadMath500 } from "../../src/data/DatasetMath500.ts"
import * as Candidate from "../../src/domain/Candidate.ts"
import { hash32, mix32 } from "../../src/domain/Hash.ts"
import type { Problem } from "../../src/domain/Problem.ts"
import type { RunResult } from "../../src/domain/RunResult.ts"
import * as Steps from "../../src/domain/Steps.ts"
import { type LoadedGraph, load } from "../../src/graph/Loader.ts"
import { run } from "../../src/runtime/Run.ts"
import * as RunEvents from "../../src/runtime/RunEvents.ts"
import { Generator } from "../../src/services/Generator.ts"
import { AnswerKey } from "../../src/services/Grader.ts"
import { Verifier } from "../../src/services/Verifier.ts"
import { freshTable, treeGenerator } from "./tree.ts"

interface Draws {
  readonly n: number
  readonly answers: ReadonlyArray<number>
  readonly scores: ReadonlyArray<number>
}
interface Leaves {
  readonly hashes: ReadonlyArray<number>
  readonly answers: ReadonlyArray<number>
  readonly scores: ReadonlyArray<number>
}
interface Case {
  readonly params: "default" | "variant"
  readonly seed: number
  readonly pid: number
  readonly level: number
  readonly prob: Record<string, number> & { readonly zcum: ReadonlyArray<number>; readonly solvable: boolean }
  readonly largeExpected: number
  readonly samplesTree: Draws
  readonly samplesOracle: Draws
  readonly rollout: { readonly k: number; readonly score: number | null }
  readonly revisions: Draws & { readonly chains: number; readonly attempts: number }
  readonly beam16x4: Leaves
  readonly look16x4k1: Leaves
  readonly beam64x8: Leaves
  readonly dvts16x4: Leaves
  readonly dvts4x4: Leaves
}
interface Fixture {
  readonly vectors: { readonly H_1_2: number; readonly mix32_12345: number; readonly text: string }
  readonly largeDeltaA: number
  readonly cases: ReadonlyArray<Case>
}

const fixture: Fixture = JSON.parse(
  readFileSync(new URL("../fixtures/simulated/sim2-reference.json", import.meta.url), "utf8")
)

// make_fixture2.py's VARIANT, in SimulatedConfig terms
const VARIANT = {
  answers: { distractors: 32, zipfSlope: -1.6, shared: 1 },
  ceiling: { tau: -1, width: 0.8 },
  prm: { psi: 0.5, rho0: 0.3 },
  revisions: { keepRight: "kappa", stick: 0.5 }
} as const

const configOf = (c: { readonly params: "default" | "variant"; readonly seed: number }, a?: number) =>
  decodeConfigUnsafe({
    worldSeed: c.seed,
    length: { jitter: 0 },
    ...(c.params === "variant" ? VARIANT : {}),
    ...(a === undefined ? {} : { accuracy: { a } })
  })
const problemOf = (pid: number, level: number): Problem => ({
  id: `math500/${pid}`,
  question: "Q",
  gold: "42",
  meta: { level, index: pid }
})
const label = (c: Case) => `${c.params} seed ${c.seed} pid ${c.pid}`

const close = (actual: number, expected: number, what: string, tolerance = 1e-12): void => {
  assert.isTrue(
    Math.abs(actual - expected) <= tolerance * Math.max(1, Math.abs(expected)),
    `${what}: ${actual} vs ${expected}`
  )
}

/** sim2.py `samples(root, n)`: child i of root, then child 0 after child 0. */
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

// ---- mull's graphs on the reference's numbering ------------------------------------------------

const RUN_SEED = 0
const TOP = "root.nodes.0"
const BRANCH = "root.nodes.0.body.nodes.0"

interface Graphs {
  readonly beam: LoadedGraph
  readonly sqrt: LoadedGraph
  readonly lookahead: LoadedGraph
  readonly dvts: LoadedGraph
  readonly revisions: LoadedGraph
}
const graphs: Effect.Effect<Graphs, unknown> = Effect.gen(function* () {
  return {
    beam: yield* load("beam-search"),
    sqrt: yield* load("beam-search-sqrt"),
    lookahead: yield* load("lookahead"),
    dvts: yield* load("dvts"),
    revisions: yield* load(new URL("../fixtures/simulated/graphs/revision-grid.json", import.meta.url).pathname)
  }
})

/** Runs a graph through the backend on the reference's numbering. */
const runTree = (
  backend: SimulatedBackend,
  graph: LoadedGraph,
  problem: Problem,
  params: Record<string, number>,
  fresh: ReadonlyArray<readonly [string, string, number]>,
  mode: "search" | "revisions" = "search"
) =>
  run(graph, problem, { params, seed: RUN_SEED }).pipe(
    Effect.provideService(
      Generator,
      treeGenerator(backend.generator, backend.world, freshTable(RUN_SEED, problem, fresh), mode)
    ),
    Effect.provideService(Verifier, backend.verifier),
    Effect.provideService(AnswerKey, mathAnswerKey),
    Effect.provide(RunEvents.layerSilent)
  )

const dvtsTable = (N: number, M: number) =>
  Array.from({ length: Math.max(1, Math.floor(N / M)) }, (_, j) => [`b${j}/s0`, BRANCH, j * M] as const)

/** A run's leaves as (node, answer, score), in population order. */
const leavesOf = (result: RunResult) =>
  result.population.map((c) => {
    const l = lastLatent(c)
    assert.isDefined(l, `candidate ${c.id} has a latent`)
    assert.isTrue(c.done, `candidate ${c.id} is complete`)
    return { hash: l?.hash ?? -1, answer: l?.answer ?? -1, score: c.score ?? Number.NaN }
  })

/** Leaves equal to the reference's, as a multiset (mull keeps population order, sim2.py score order). */
const sameLeaves = (got: ReturnType<typeof leavesOf>, ref: Leaves, what: string, ordered = false) => {
  const want = ref.hashes.map((hash, i) => ({ hash, answer: ref.answers[i] ?? -1, score: ref.scores[i] ?? Number.NaN }))
  const sort = <T extends { readonly hash: number }>(xs: ReadonlyArray<T>) =>
    ordered ? xs : [...xs].sort((a, b) => a.hash - b.hash)
  const g = sort(got)
  const w = sort(want)
  expect(
    g.map((x) => [x.hash, x.answer]),
    what
  ).toEqual(w.map((x) => [x.hash, x.answer]))
  for (const [i, x] of g.entries()) close(x.score, w[i]?.score ?? Number.NaN, `${what} score ${i}`)
}

/** sim2.py's `weighted_pick`: the answer with the largest score sum (ties: the smaller index). */
const weightedPick = (answers: ReadonlyArray<number>, scores: ReadonlyArray<number>) => {
  const sums = new Map<number, number>()
  for (const [i, a] of answers.entries()) sums.set(a, (sums.get(a) ?? 0) + (scores[i] ?? 0))
  return [...sums.entries()].sort((a, b) => b[1] - a[1] || a[0] - b[0])[0]?.[0]
}

const answerIndex = (world: World, result: RunResult) =>
  result.answer === undefined ? undefined : world.answers.indexOf(result.answer)

// ---- the test vectors of results2.txt -----------------------------------------------------------

interface Vector {
  readonly pid: number
  readonly level: number
  readonly fields: Record<string, number>
  readonly solvable: boolean
  readonly samples: { readonly answers: ReadonlyArray<number>; readonly scores: ReadonlyArray<number> }
  readonly beam: ReadonlyArray<number>
  readonly dvts: ReadonlyArray<number>
  readonly revisions: ReadonlyArray<ReadonlyArray<number>>
}

const list = (s: string | undefined): Array<number> =>
  (s ?? "")
    .replace(/[[\]']/gu, "")
    .split(",")
    .map((x) => Number(x.trim()))

/** Parses sim2.py's `test_vectors()` text (the tail of results2.txt). */
const parseVectors = (text: string): ReadonlyArray<Vector> => {
  const lines = text.split("\n")
  const out: Array<Vector> = []
  for (let i = 0; i < lines.length; i += 5) {
    const head =
      /^Prob\(pid=(\d+), level=(\d+), seed=0\): ph=(\d+) delta=([\d.]+) L=(\d+) s=([\d.]+) q0=([\d.]+) q=([\d.]+) sd=([\d.]+) z=([\d.]+) solvable=(True|False)$/u.exec(
        lines[i] ?? ""
      )
    const smp = /samples\(tree,6\): ans=(\[.*?\]) score=(\[.*?\])$/u.exec(lines[i + 1] ?? "")
    const beam = /beam\(16,4\) ans=(\[.*\])$/u.exec(lines[i + 2] ?? "")
    const dvts = /dvts\(16,4\) ans=(\[.*\])$/u.exec(lines[i + 3] ?? "")
    const rev = /revision_grid\(2,4\) ans=\[(\[.*?\]), (\[.*?\])\]$/u.exec(lines[i + 4] ?? "")
    if (head === null || smp === null || beam === null || dvts === null || rev === null)
      throw new Error(`unexpected test vector text at line ${i + 1}`)
    const [, pid, level, ph, delta, L, s, q0, q, sd, z, solvable] = head
    out.push({
      pid: Number(pid),
      level: Number(level),
      fields: {
        ph: Number(ph),
        delta: Number(delta),
        L: Number(L),
        s: Number(s),
        q0: Number(q0),
        q: Number(q),
        sd: Number(sd),
        z: Number(z)
      },
      solvable: solvable === "True",
      samples: { answers: list(smp[1]), scores: list(smp[2]) },
      beam: list(beam[1]),
      dvts: list(dvts[1]),
      revisions: [list(rev[1]), list(rev[2])]
    })
  }
  return out
}

describe("sim2.py agreement (model v2, the default)", () => {
  it("the default config is v2; hash vectors", () => {
    expect(decodeConfigUnsafe({}).model).toBe("v2")
    expect(hash32(1, 2)).toBe(fixture.vectors.H_1_2)
    expect(mix32(12345)).toBe(fixture.vectors.mix32_12345)
  })

  it.effect("results2.txt's test vectors: through the ports and mull's graphs", () =>
    Effect.gen(function* () {
      const vectors = parseVectors(fixture.vectors.text)
      expect(vectors.map((v) => [v.pid, v.level])).toEqual([
        [7, 4],
        [11, 2]
      ])
      const g = yield* graphs
      for (const v of vectors) {
        const what = `pid ${v.pid}`
        const backend = yield* make(configOf({ params: "default", seed: 0 }))
        const problem = problemOf(v.pid, v.level)
        const w = yield* backend.world(problem)
        // Prob fields, printed to 6 decimals
        const z = w.zipf
        const mine = { ph: w.ph, delta: w.delta, L: w.L, s: w.s, q0: w.q0, q: w.q, sd: w.sd, z }
        for (const [k, x] of Object.entries(v.fields)) close(mine[k as keyof typeof mine], x, `${what} ${k}`, 6e-7)
        expect(w.solvable).toBe(v.solvable)

        // samples(tree, 6) through the Generator (continuation i of seed `tree` is H(tree, i)) and the PRM
        const { generations } = yield* backend.generator.generate({
          problem,
          prefix: undefined,
          n: 6,
          until: "end",
          temperature: 0.8,
          maxTokens: 100_000,
          seed: BigInt(w.tree)
        })
        const candidates = generations.map((gen, i) => ({
          ...Candidate.make({ id: `s${i}`, origin: { node: "test", round: 0 } }),
          steps: Steps.appendAll(undefined, gen.steps),
          done: gen.done
        }))
        expect(candidates.map((c) => lastLatent(c)?.answer)).toEqual(v.samples.answers)
        const { stepScores } = yield* backend.verifier.score({ problem, candidates, verifier: "prm" })
        for (const [i, s] of stepScores.entries())
          close(s[s.length - 1] ?? Number.NaN, v.samples.scores[i] ?? 0, `${what} s${i}`, 6e-7)

        // beam(16,4): graphs/beam-search.json; sim2.py lists the leaves in score order, mull in population order
        const beam = yield* runTree(backend, g.beam, problem, { N: 16, M: 4 }, [["s0", TOP, 0]])
        expect(
          leavesOf(beam)
            .map((l) => l.answer)
            .sort((a, b) => a - b)
        ).toEqual([...v.beam].sort((a, b) => a - b))
        // dvts(16,4): graphs/dvts.json, subtree by subtree
        const dvts = yield* runTree(backend, g.dvts, problem, { N: 16, M: 4 }, dvtsTable(16, 4))
        expect(leavesOf(dvts).map((l) => l.answer)).toEqual(v.dvts)
        // revision_grid(2,4): two chains of four attempts, chain by chain
        const rev = yield* runTree(
          backend,
          g.revisions,
          problem,
          { C: 2, T: 4 },
          [0, 1].map((c) => [`b${c}/s0`, BRANCH, c] as const),
          "revisions"
        )
        expect(leavesOf(rev).map((l) => l.answer)).toEqual(v.revisions.flat())
      }
    })
  )

  it("problem worlds equal sim2.py's Prob field for field; the larger model (a + 1.3) too", () => {
    expect(fixture.cases.filter((c) => !c.prob.solvable).length).toBeGreaterThan(3)
    for (const c of fixture.cases) {
      const w = makeWorld(configOf(c), problemOf(c.pid, c.level))
      const p = c.prob
      expect(w.ph, label(c)).toBe(p.ph)
      expect(w.L, label(c)).toBe(p.L)
      expect(w.solvable, label(c)).toBe(p.solvable)
      expect([w.tree, w.oracle, w.rev]).toEqual([p.tree, p.oracle, p.rev])
      for (const f of ["delta", "s", "q0", "q", "sd", "bonus", "brk", "lam", "kappa", "rho"] as const)
        close(w[f], p[f] ?? Number.NaN, `${label(c)} ${f}`)
      close(w.zipf, p.z ?? Number.NaN, `${label(c)} z`)
      expect(w.zcum.length).toBe(p.zcum.length)
      for (const [j, z] of w.zcum.entries()) close(z, p.zcum[j] ?? Number.NaN, `${label(c)} zcum[${j}]`)
      const large = makeWorld(configOf(c, 3 + fixture.largeDeltaA), problemOf(c.pid, c.level))
      close(large.solvable ? large.s : 0, c.largeExpected, `${label(c)} larger model`)
      // the larger model's unreachable problems are a subset of the smaller one's
      if (w.solvable) expect(large.solvable).toBe(true)
    }
  })

  it("independent samples and greedy rollouts: same answers and PRM scores", () => {
    for (const c of fixture.cases) {
      const w = makeWorld(configOf(c), problemOf(c.pid, c.level))
      for (const [root, ref] of [
        [w.tree, c.samplesTree],
        [w.oracle, c.samplesOracle]
      ] as const) {
        const got = samples(w, root, ref.n)
        expect(got.answers, label(c)).toEqual(ref.answers)
        for (const [i, s] of got.scores.entries()) close(s, ref.scores[i] ?? Number.NaN, `${label(c)} score ${i}`)
      }
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

  it("revision grids: same answers and scores attempt by attempt (sticky chains, kept right approaches)", () => {
    let stuck = 0
    for (const c of fixture.cases) {
      const w = makeWorld(configOf(c), problemOf(c.pid, c.level))
      const { chains, attempts } = c.revisions
      for (let ch = 0; ch < chains; ch++) {
        let prev: SimLatent | undefined
        for (let t = 0; t < attempts; t++) {
          const steps = reviseAttempt(w, hash32(hash32(w.rev, ch), t), prev)
          const last = steps[steps.length - 1]
          assert.isDefined(last)
          if (last === undefined) return
          assert.isTrue(isSimLatent(last))
          if (last.stuck === true) stuck++
          const k = ch * attempts + t
          expect(last.answer, `${label(c)} chain ${ch} attempt ${t}`).toBe(c.revisions.answers[k])
          close(prmScore(w, last.hash, last.state), c.revisions.scores[k] ?? Number.NaN, `${label(c)} rev ${k}`)
          prev = last
        }
      }
    }
    expect(stuck).toBeGreaterThan(10)
  })

  it.effect(
    "mull's graphs give sim2.py's leaves: beam search, lookahead, beam M = √N, DVTS, revision grids",
    () =>
      Effect.gen(function* () {
        const g = yield* graphs
        for (const c of fixture.cases) {
          const backend = yield* make(configOf(c))
          const problem = problemOf(c.pid, c.level)
          const w = yield* backend.world(problem)
          const top = [["s0", TOP, 0]] as const
          const beam = yield* runTree(backend, g.beam, problem, { N: 16, M: 4 }, top)
          sameLeaves(leavesOf(beam), c.beam16x4, `${label(c)} beam(16,4)`)
          expect(answerIndex(w, beam), `${label(c)} beam vote`).toBe(
            weightedPick(c.beam16x4.answers, c.beam16x4.scores)
          )
          // lookahead k = 1 at budget 16: beam(8, 4) scored by one greedy step ahead
          const look = yield* runTree(backend, g.lookahead, problem, { N: 8, M: 4, k: 1 }, top)
          sameLeaves(leavesOf(look), c.look16x4k1, `${label(c)} lookahead`)
          const sqrt = yield* runTree(backend, g.sqrt, problem, { N: 64 }, [
            ["s0", "root[beam-search].root.nodes.0", 0]
          ])
          sameLeaves(leavesOf(sqrt), c.beam64x8, `${label(c)} beam(64, √64)`)
          const dvts = yield* runTree(backend, g.dvts, problem, { N: 16, M: 4 }, dvtsTable(16, 4))
          sameLeaves(leavesOf(dvts), c.dvts16x4, `${label(c)} dvts(16,4)`, true)
          expect(answerIndex(w, dvts), `${label(c)} dvts vote`).toBe(
            weightedPick(c.dvts16x4.answers, c.dvts16x4.scores)
          )
          const rev = yield* runTree(
            backend,
            g.revisions,
            problem,
            { C: 6, T: 8 },
            Array.from({ length: 6 }, (_, ch) => [`b${ch}/s0`, BRANCH, ch] as const),
            "revisions"
          )
          const got = leavesOf(rev)
          expect(
            got.map((l) => l.answer),
            `${label(c)} revision grid`
          ).toEqual(c.revisions.answers)
          for (const [i, l] of got.entries())
            close(l.score, c.revisions.scores[i] ?? Number.NaN, `${label(c)} revision ${i}`)
        }
      }),
    { timeout: 120_000 }
  )

  it.effect("DVTS with N = M is beam search with N = M on the default backend (length jitter on) too", () =>
    Effect.gen(function* () {
      const g = yield* graphs
      const backend = yield* make(decodeConfigUnsafe({}))
      const problems = (yield* loadMath500()).filter((_, i) => i % 10 === 0)
      let jittered = 0
      for (const problem of problems) {
        const dvts = yield* runTree(backend, g.dvts, problem, { N: 4, M: 4 }, dvtsTable(4, 4))
        const beam = yield* runTree(backend, g.beam, problem, { N: 4, M: 4 }, [["s0", TOP, 0]])
        expect(leavesOf(beam), problem.id).toEqual(leavesOf(dvts))
        expect(beam.answer).toBe(dvts.answer)
        expect(beam.usage.sequences).toBe(dvts.usage.sequences)
        const w = yield* backend.world(problem)
        if (beam.population.some((c) => lastLatent(c)?.length !== w.L)) jittered++
      }
      // the lineage lengths were jittered (L ± 1), not the reference's fixed L
      expect(jittered).toBeGreaterThan(10)
    })
  )

  it.effect("DVTS with N = M is beam search with N = M (the first level is beam search's first level)", () =>
    Effect.gen(function* () {
      const g = yield* graphs
      for (const c of fixture.cases) {
        const backend = yield* make(configOf(c))
        const problem = problemOf(c.pid, c.level)
        const dvts = yield* runTree(backend, g.dvts, problem, { N: 4, M: 4 }, dvtsTable(4, 4))
        const beam = yield* runTree(backend, g.beam, problem, { N: 4, M: 4 }, [["s0", TOP, 0]])
        sameLeaves(leavesOf(dvts), c.dvts4x4, `${label(c)} dvts(4,4)`, true)
        expect(leavesOf(beam), label(c)).toEqual(leavesOf(dvts))
        expect(beam.answer).toBe(dvts.answer)
      }
    })
  )
})
