/** The simulated backend through its ports: behaviour, errors, latency and the concurrency cap. */
import { assert, describe, expect, it, layer } from "@effect/vitest"
import { Cause, Effect, Exit, Fiber } from "effect"
import { TestClock } from "effect/testing"
import {
  decodeConfig,
  decodeConfigUnsafe,
  isCorrect,
  lastLatent,
  make,
  layer as simulatedLayer
} from "../../plugins/simulated/index.ts"
import { promptText } from "../../plugins/simulated/Prompt.ts"
import { countTokens } from "../../plugins/simulated/Tokens.ts"
import * as Candidate from "../../src/domain/Candidate.ts"
import * as Steps from "../../src/domain/Steps.ts"
import { Generator } from "../../src/services/Generator.ts"
import { Verifier } from "../../src/services/Verifier.ts"
import { candidateOf, PROBLEMS, request } from "./helpers.ts"

const [easy, mid, hard, explicit, nogold] = PROBLEMS as [
  (typeof PROBLEMS)[0],
  (typeof PROBLEMS)[0],
  (typeof PROBLEMS)[0],
  (typeof PROBLEMS)[0],
  (typeof PROBLEMS)[0]
]

/** The failure of an effect, asserting it is a typed failure and not a defect. */
const failureOf = <A, E>(self: Effect.Effect<A, E>) =>
  Effect.map(Effect.exit(self), (exit) => {
    assert.isTrue(Exit.isFailure(exit), "expected a failure")
    if (Exit.isSuccess(exit)) throw new Error("unreachable")
    assert.isFalse(Cause.hasDies(exit.cause), "expected a typed failure, got a defect")
    const e = Cause.findErrorOption(exit.cause)
    if (e._tag === "None") throw new Error("no typed error")
    return e.value
  })

layer(simulatedLayer())("simulated backend", (it) => {
  it.effect("declares its capabilities, models and parameter counts", () =>
    Effect.gen(function* () {
      const gen = yield* Generator
      const ver = yield* Verifier
      expect([...gen.capabilities].sort()).toEqual([
        "logprobs",
        "nSampling",
        "revise",
        "seeded",
        "stepwise",
        "thinking",
        "tokenizer"
      ])
      expect(gen.backend).toBe("simulated")
      expect(gen.params).toBe(1.5e9)
      expect(ver.params).toBe(7e9)
      expect(ver.verifiers).toEqual(["prm", "orm"])
      expect(gen.stepDelimiter).toBe("\n\n")
    })
  )

  it.effect("whole solutions: done, boxed gold or distractor, exact token counts", () =>
    Effect.gen(function* () {
      const gen = yield* Generator
      for (const problem of PROBLEMS) {
        const r = yield* gen.generate(request(problem, { n: 32 }))
        expect(r.generations.length).toBe(32)
        expect(r.inputTokens).toBe(countTokens(promptText(problem, undefined, undefined)))
        for (const g of r.generations) {
          expect(g.done).toBe(true)
          expect(g.finishReason).toBe("end")
          assert.isDefined(g.answer)
          const text = g.steps.map((s) => s.text).join("\n\n")
          expect(text).toContain(`\\boxed{${g.answer}}`)
          expect(g.outputTokens).toBe(g.steps.reduce((a, s) => a + s.tokens, 0))
          expect(countTokens(text)).toBe(g.outputTokens + g.steps.length - 1)
          for (const [i, s] of g.steps.entries()) expect(s.text.startsWith(`Step ${i + 1}:`)).toBe(true)
        }
        if (problem.gold !== undefined) {
          const right = r.generations.filter((g) => g.answer === problem.gold).length
          const latentRight = r.generations.filter((g, i) => isCorrect(candidateOf(`s${i}`, g))).length
          expect(right).toBe(latentRight)
        }
      }
    })
  )

  it.effect("step by step: one step per call; a prefix continues its lineage; done at the final step", () =>
    Effect.gen(function* () {
      const gen = yield* Generator
      let c: Candidate.Candidate | undefined
      for (let round = 0; round < 20; round++) {
        const r = yield* gen.generate(request(mid, { prefix: c, until: "step", seed: BigInt(round) }))
        const g = r.generations[0]
        assert.isDefined(g)
        if (g === undefined) return
        expect(g.steps.length).toBe(1)
        c = candidateOf(`s0.${round}`, g, c)
        const l = lastLatent(c)
        expect(l?.depth).toBe(round)
        if (g.done) {
          expect(g.finishReason).toBe("end")
          expect(l?.depth).toBe((l?.length ?? 0) - 1)
          break
        }
        expect(g.finishReason).toBe("step")
      }
      expect(c?.done).toBe(true)
      const again = yield* failureOf(gen.generate(request(mid, { prefix: c, until: "step" })))
      expect(again.message).toContain("already complete")
    })
  )

  it.effect("greedy (temperature 0) ignores the seed", () =>
    Effect.gen(function* () {
      const gen = yield* Generator
      const a = yield* gen.generate(request(hard, { n: 3, temperature: 0, seed: 1n }))
      const b = yield* gen.generate(request(hard, { n: 2, temperature: 0, seed: 99n }))
      expect(a.generations[0]).toEqual(a.generations[2])
      expect(a.generations[0]).toEqual(b.generations[1])
      const c = yield* gen.generate(request(hard, { n: 2, temperature: 0.8, seed: 1n }))
      expect(c.generations[0]).not.toEqual(c.generations[1])
    })
  )

  it.effect("maxTokens truncates: finish 'length', not done, no answer; the truncated prefix can be continued", () =>
    Effect.gen(function* () {
      const gen = yield* Generator
      const r = yield* gen.generate(request(hard, { n: 8, maxTokens: 150 }))
      for (const g of r.generations) {
        expect(g.finishReason).toBe("length")
        expect(g.done).toBe(false)
        expect(g.answer).toBeUndefined()
        expect(g.outputTokens).toBe(150)
        const last = g.steps[g.steps.length - 1]
        expect(countTokens(last?.text ?? "")).toBe(last?.tokens)
      }
      const g0 = r.generations[0]
      if (g0 === undefined) return
      const rest = yield* gen.generate(request(hard, { prefix: candidateOf("s0", g0), maxTokens: 4096 }))
      expect(rest.generations[0]?.done).toBe(true)
      // a final step cut short is completed by a closing sentence with the answer
      const full = yield* gen.generate(request(easy, { n: 1, seed: 5n }))
      const f = full.generations[0]
      if (f === undefined) return
      const cut = yield* gen.generate(request(easy, { n: 1, seed: 5n, maxTokens: f.outputTokens - 3 }))
      const c0 = cut.generations[0]
      if (c0 === undefined) return
      const closing = yield* gen.generate(request(easy, { prefix: candidateOf("s0", c0), until: "step" }))
      expect(closing.generations[0]?.answer).toBe(f.answer)
      expect(closing.generations[0]?.steps[0]?.text).toBe(`Therefore, the final answer is $\\boxed{${f.answer}}$.`)
    })
  )

  it.effect("verifiers: prm scores every step, orm the last; tokens are counted", () =>
    Effect.gen(function* () {
      const gen = yield* Generator
      const ver = yield* Verifier
      const r = yield* gen.generate(request(mid, { n: 4 }))
      const cands = r.generations.map((g, i) => candidateOf(`s${i}`, g))
      const prm = yield* ver.score({ problem: mid, candidates: cands, verifier: "prm" })
      const orm = yield* ver.score({ problem: mid, candidates: cands, verifier: "orm" })
      cands.forEach((c, i) => {
        const steps = prm.stepScores[i] ?? []
        expect(steps.length).toBe(Candidate.stepCount(c))
        for (const s of steps) expect(s > 0 && s < 1).toBe(true)
        expect(orm.stepScores[i]).toEqual([steps[steps.length - 1]])
      })
      expect(prm.inputTokens).toBe(cands.reduce((a, c) => a + (ver.inputTokens?.(mid, c) ?? 0), 0))
      const empty = yield* ver.score({
        problem: mid,
        candidates: [Candidate.make({ id: "e", origin: { node: "n", round: 0 } })],
        verifier: "prm"
      })
      expect(empty.stepScores).toEqual([[]])
    })
  )

  it.effect("revisions: a whole new attempt, conditioned on the latest one; the prompt includes the attempts", () =>
    Effect.gen(function* () {
      const gen = yield* Generator
      const first = yield* gen.generate(request(explicit))
      const g = first.generations[0]
      if (g === undefined) return
      const c0 = candidateOf("c0", g)
      const r = yield* gen.generate(request(explicit, { context: [c0], n: 4 }))
      for (const x of r.generations) expect(x.done).toBe(true)
      expect(r.inputTokens).toBeGreaterThan(c0.steps?.tokens ?? 0)
      expect(r.inputTokens).toBe(countTokens(promptText(explicit, undefined, [c0])))
    })
  )

  it.effect("bad requests and foreign prefixes are InvalidRequest failures naming the field, never defects", () =>
    Effect.gen(function* () {
      const gen = yield* Generator
      const ver = yield* Verifier
      const e1 = yield* failureOf(gen.generate(request(easy, { n: -1 })))
      expect(e1.reason._tag).toBe("InvalidRequest")
      expect(e1.message).toMatch(/^n: /u)
      expect((yield* failureOf(gen.generate(request(easy, { maxTokens: 0 })))).message).toMatch(/^maxTokens: /u)
      expect((yield* failureOf(gen.generate(request(easy, { temperature: Number.NaN })))).message).toMatch(
        /^temperature: /u
      )
      const badLevel = { ...easy, meta: { level: 7 } }
      const e2 = yield* failureOf(gen.generate(request(badLevel)))
      expect(e2.reason._tag).toBe("InvalidRequest")
      expect(e2.message).toContain("problem.meta.level")
      const e3 = yield* failureOf(gen.generate(request({ ...easy, meta: { difficulty: 2 } })))
      expect(e3.message).toContain("problem.meta.difficulty")
      const foreign: Candidate.Candidate = {
        ...Candidate.make({ id: "x", origin: { node: "n", round: 0 } }),
        steps: Steps.append(undefined, { text: "Step 1: hello", tokens: 4 })
      }
      const e4 = yield* failureOf(gen.generate(request(easy, { prefix: foreign, until: "step" })))
      expect(e4.reason._tag).toBe("InvalidRequest")
      expect(e4.message).toContain("prefix")
      const e5 = yield* failureOf(ver.score({ problem: easy, candidates: [foreign], verifier: "prm" }))
      expect(e5.message).toContain("latent")
      const e6 = yield* failureOf(ver.score({ problem: easy, candidates: [], verifier: "critic" }))
      expect(e6.message).toMatch(/^verifier: /u)
      // a prefix from another problem
      const other = yield* gen.generate(request(mid, { until: "step" }))
      const og = other.generations[0]
      if (og === undefined) return
      const e7 = yield* failureOf(gen.generate(request(easy, { prefix: candidateOf("o", og), until: "step" })))
      expect(e7.message).toContain("another problem")
      const e8 = yield* failureOf(gen.generate(request(easy, { context: [], until: "step" })))
      expect(e8.message).toMatch(/^until: /u)
      const e9 = yield* failureOf(gen.generate({ ...request(easy), problem: 42 as never }))
      expect(e9.message).toMatch(/^problem/u)
    })
  )

  it.effect("a problem without gold gets a synthetic integer gold", () =>
    Effect.gen(function* () {
      const gen = yield* Generator
      const r = yield* gen.generate(request(nogold, { n: 16 }))
      for (const g of r.generations) expect(g.answer).toMatch(/^-?(\d+|\\frac\{\d+\}\{\d+\})$/u)
    })
  )
})

describe("configuration", () => {
  it.effect("a malformed config is a BackendConfigError naming the field", () =>
    Effect.gen(function* () {
      const e1 = yield* failureOf(decodeConfig({ prm: { sd0: -1 } }))
      expect(e1._tag).toBe("BackendConfigError")
      expect(e1.path).toBe("prm.sd0")
      expect(e1.message).toContain("prm.sd0")
      expect((yield* failureOf(decodeConfig({ answers: { distractors: 2.5 } }))).path).toBe("answers.distractors")
      expect((yield* failureOf(decodeConfig({ prm: { sdo: 1 } }))).path).toBe("prm.sdo")
      expect((yield* failureOf(decodeConfig({ difficulty: { min: 0.8, max: 0.2 } }))).path).toBe("difficulty.max")
      expect((yield* failureOf(decodeConfig({ generator: { latency: { fixedMs: "1" } } }))).path).toBe(
        "generator.latency.fixedMs"
      )
      expect((yield* failureOf(decodeConfig("nope"))).path).toBe("(root)")
      const layerFailure = yield* failureOf(
        Effect.provide(
          Effect.gen(function* () {
            return yield* Generator
          }),
          simulatedLayer({ worldSeed: -1 })
        )
      )
      expect(layerFailure._tag).toBe("BackendConfigError")
    })
  )

  it.effect("defaults are documented values; a partial config keeps the rest", () =>
    Effect.gen(function* () {
      const c = yield* decodeConfig({ worldSeed: 3, revisions: { breakBase: 0.3 } })
      expect(c.model).toBe("v2")
      expect(c.worldSeed).toBe(3)
      expect(c.revisions.breakBase).toBe(0.3)
      expect(c.revisions.breakSlope).toBe(2.5)
      expect(c.revisions.keepRight).toBe(1)
      expect(c.answers).toEqual({ distractors: 64, zipf: 0.7, zipfSlope: -0.85, shared: 0.3 })
      expect(c.ceiling).toEqual({ enabled: true, tau: -3.25, width: 0.5 })
      expect(c.prm.psi).toBe(0.75)
      expect(c.generator.latency).toEqual({ fixedMs: 0, perTokenMs: 0 })
      expect(c.generator.concurrency).toBe(64)
    })
  )

  it.effect('model "v1" takes sim.py\'s defaults for every knob the config does not set', () =>
    Effect.gen(function* () {
      const v1 = yield* decodeConfig({ model: "v1", prm: { rho0: 0.2 }, revisions: { stick: 0.5 } })
      expect(v1.model).toBe("v1")
      expect(v1.answers).toEqual({ distractors: 16, zipf: 0.7, zipfSlope: 0, shared: 0 })
      expect(v1.ceiling.enabled).toBe(false)
      expect(v1.prm.psi).toBe(1)
      expect(v1.prm.rho0).toBe(0.2)
      expect(v1.revisions).toEqual({
        breakBase: 0.3,
        breakSlope: 0.8,
        kappa0: 0,
        kappa1: 1,
        keepRight: "kappa",
        stick: 0.5,
        lambda0: 0.9,
        lambda1: -0.9,
        eta: 0.5
      })
      // the v2 knobs and every shared one are the same whatever the order of the keys
      const v2 = yield* decodeConfig({ model: "v2" })
      expect(v2).toEqual(yield* decodeConfig({}))
      const bad = yield* Effect.flip(decodeConfig({ model: "v3" }))
      expect(bad.path).toBe("model")
      const badV1 = yield* Effect.flip(decodeConfig({ model: "v1", revisions: { keepRight: "always" } }))
      expect(badV1.path).toBe("revisions.keepRight")
      const notObject = yield* Effect.flip(decodeConfig({ model: "v1", answers: 3 }))
      expect(notObject.path).toBe("answers")
    })
  )
})

describe("latency and concurrency", () => {
  it.effect("latency is fixed + per token, on the clock; the concurrency cap queues calls", () =>
    Effect.gen(function* () {
      const backend = yield* make(
        decodeConfigUnsafe({ generator: { concurrency: 2, latency: { fixedMs: 100, perTokenMs: 0 } } })
      )
      const calls = Effect.forEach([1n, 2n, 3n, 4n], (seed) => backend.generator.generate(request(easy, { seed })), {
        concurrency: "unbounded"
      })
      const fiber = yield* Effect.forkChild(calls)
      yield* TestClock.adjust("150 millis")
      expect(fiber.pollUnsafe()).toBeUndefined()
      yield* TestClock.adjust("60 millis")
      const results = yield* Fiber.join(fiber)
      expect(results.length).toBe(4)

      const slow = yield* make(decodeConfigUnsafe({ verifier: { latency: { fixedMs: 0, perTokenMs: 1 } } }))
      const r = yield* slow.generator.generate(request(easy))
      const c = r.generations[0]
      if (c === undefined) return
      const scored = yield* Effect.forkChild(
        slow.verifier.score({ problem: easy, candidates: [candidateOf("s", c)], verifier: "prm" })
      )
      yield* TestClock.adjust("1 second")
      const out = yield* Fiber.join(scored)
      expect(out.inputTokens).toBeGreaterThan(100)
    })
  )
})
