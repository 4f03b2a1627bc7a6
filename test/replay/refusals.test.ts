/** What replay refuses: step-level search, revisions, scoring an unscored pool — with clear messages. */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import {
  CAPABILITIES,
  decodeConfig,
  layerConfig,
  loadQwenPool,
  layer as replayLayer,
  STEP_LEVEL_REFUSAL
} from "../../plugins/replay/index.ts"
import type { Problem } from "../../src/domain/Problem.ts"
import * as Loader from "../../src/graph/Loader.ts"
import { validate } from "../../src/graph/Validate.ts"
import { run } from "../../src/runtime/Run.ts"
import * as RunEvents from "../../src/runtime/RunEvents.ts"
import { Generator } from "../../src/services/Generator.ts"
import { Verifier } from "../../src/services/Verifier.ts"
import { candidateOf, failureOf, request, writeJsonl } from "./helpers.ts"

const withReplay = <A, E>(self: Effect.Effect<A, E, Generator | Verifier>) => Effect.provide(self, replayLayer())

describe("step-level search and revisions", () => {
  it.effect("until step, a prefix, a revision context → Unsupported", () =>
    withReplay(
      Effect.gen(function* () {
        const gen = yield* Generator
        const problem = (yield* loadQwenPool()).problems[0] as Problem
        const whole = (yield* gen.generate(request(problem, { n: 1 }))).generations[0]
        if (whole === undefined) throw new Error("no generation")
        const prefix = candidateOf("s0", whole)
        const cases = [
          [request(problem, { until: "step" }), 'one step (until: "step")'],
          [request(problem, { prefix }), "a continuation of candidate s0"],
          [request(problem, { context: [prefix] }), "a revision (context of previous attempts)"]
        ] as const
        for (const [r, asked] of cases) {
          const e = yield* failureOf(gen.generate(r))
          expect(e.reason._tag).toBe("Unsupported")
          expect(e.message).toBe(`${STEP_LEVEL_REFUSAL}; asked for ${asked}`)
        }
        expect(STEP_LEVEL_REFUSAL).toBe(
          "replay serves recorded whole solutions; step-level search (beam search, lookahead, DVTS, particle filtering) and revisions need a generator (e.g. the simulated backend)"
        )
      })
    )
  )

  it.effect("the loader's check names the missing capability (the first line of defence)", () =>
    Effect.gen(function* () {
      const backend = { name: "replay", capabilities: CAPABILITIES, verifiers: ["orm", "prm"] }
      const beam = yield* Loader.load("beam-search")
      expect(validate(beam, { params: {}, backend })).toContain(
        'requires: needs capability "stepwise" (continue a partial solution one step at a time), which backend "replay" lacks'
      )
      const revisions = yield* Loader.load("sequential-revisions")
      expect(validate(revisions, { params: {}, backend }).join("\n")).toContain('needs capability "revise"')
      for (const ok of ["majority", "best-of-n", "weighted-best-of-n"])
        expect(validate(yield* Loader.load(ok), { params: { N: 8 }, backend })).toEqual([])
      // and through the runtime: a GraphError before any call
      const problem = (yield* loadQwenPool()).problems[0] as Problem
      const e = yield* failureOf(
        Effect.provide(run(beam, problem, { params: { N: 4 } }), Layer.mergeAll(replayLayer(), RunEvents.layerSilent))
      )
      expect(e._tag).toBe("GraphError")
      expect(e.message).toContain('needs capability "stepwise"')
    })
  )
})

describe("pools without rewards", () => {
  const lines = [
    { id: "a", question: "1+1?", gold: "2", responses: [{ text: "\\boxed{2}" }, { text: "\\boxed{3}", reward: 0.5 }] },
    { id: "b", question: "2+2?", gold: "4", responses: [{ text: "\\boxed{4}" }] }
  ]

  it.effect("scoring an unscored response is Unsupported, naming the response and the pool", () =>
    Effect.gen(function* () {
      const config = yield* decodeConfig({ dataset: writeJsonl("unscored", "mixed.jsonl", lines) })
      yield* Effect.gen(function* () {
        const gen = yield* Generator
        const ver = yield* Verifier
        const problem = { id: "a", question: "1+1?", gold: "2", meta: {} }
        const [g0, g1] = (yield* gen.generate(request(problem, { n: 2 }))).generations
        if (g0 === undefined || g1 === undefined) throw new Error("no generations")
        const scored = yield* ver.score({ problem, candidates: [candidateOf("s1", g1)], verifier: "prm" })
        expect(scored.stepScores[0]?.[0]).toBeCloseTo(1 / (1 + Math.exp(-0.5)), 12)
        const e = yield* failureOf(ver.score({ problem, candidates: [candidateOf("s0", g0)], verifier: "prm" }))
        expect(e.reason._tag).toBe("Unsupported")
        expect(e.message).toMatch(
          /^recorded response 0 of a has no reward: the pool mixed cannot serve verifier scores/u
        )
      }).pipe(Effect.provide(layerConfig(config)))
    })
  )

  it.effect("a recording with no rewards at all has no verifier: scoring graphs are refused at load time", () =>
    Effect.gen(function* () {
      const path = writeJsonl("unscored", "none.jsonl", [
        { id: "a", question: "1+1?", gold: "2", responses: [{ text: "\\boxed{2}" }, { text: "\\boxed{3}" }] }
      ])
      const layer = Layer.mergeAll(replayLayer({ dataset: path }), RunEvents.layerSilent)
      const problem = { id: "a", question: "1+1?", gold: "2", meta: {} }
      const verifiers = yield* Effect.provide(
        Effect.gen(function* () {
          return (yield* Verifier).verifiers
        }),
        layer
      )
      expect(verifiers).toEqual([])
      const e = yield* failureOf(
        Effect.provide(run(yield* Loader.load("best-of-n"), problem, { params: { N: 2 } }), layer)
      )
      expect(e.message).toContain('backend "replay" has no verifier "prm"')
      const ok = yield* Effect.provide(run(yield* Loader.load("majority"), problem, { params: { N: 2 } }), layer)
      expect(ok.population).toHaveLength(2)
    })
  )
})

describe("budgets", () => {
  it.effect(
    "input-token, sequence and output-token limits are enforced (a recording charges its own token counts)",
    () =>
      Effect.gen(function* () {
        const layer = Layer.mergeAll(replayLayer(), RunEvents.layerSilent)
        const problem = (yield* loadQwenPool()).problems[6] as Problem
        const majority = yield* Loader.load("majority")
        const one = yield* Effect.provide(
          run(majority, problem, { params: { N: 8 }, limits: { inputTokens: 1000 } }),
          layer
        )
        expect(one.usage.inputTokens).toBeGreaterThan(0)
        expect(one.usage.inputTokens).toBeLessThanOrEqual(1000)
        // a usd limit needs prices: the recording has none
        const e = yield* failureOf(
          Effect.provide(run(majority, problem, { params: { N: 8 }, limits: { usd: 1 } }), layer)
        )
        expect(e.message).toContain("limits.usd: cannot be enforced: no USD price")
        const few = yield* Effect.provide(run(majority, problem, { params: { N: 8 }, limits: { sequences: 3 } }), layer)
        expect(few.population).toHaveLength(3)
        expect(few.exhausted).toBe(true)
        expect(few.usage.sequences).toBe(3)
        const full = yield* Effect.provide(run(majority, problem, { params: { N: 4 } }), layer)
        expect(full.usage.outputTokens).toBe(full.population.reduce((t, c) => t + (c.steps?.tokens ?? 0), 0))
        expect(full.usage.inputTokens).toBeGreaterThan(0)
      })
  )
})
