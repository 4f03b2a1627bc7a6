/**
 * DVTS never spends more than beam search at the same N (issue 18, item 6): with N < M it is one
 * subtree of width N — beam search's own cost — instead of a subtree of width M. Checked on the
 * static bound (`mull cost`) for every N and M below, and on real runs on the simulated backend.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { defaultConfig, make } from "../../plugins/simulated/index.ts"
import { mathAnswerKey } from "../../src/answer/MathGrader.ts"
import { loadMath500 } from "../../src/data/DatasetMath500.ts"
import { staticCost } from "../../src/graph/Cost.ts"
import { load } from "../../src/graph/Loader.ts"
import { run } from "../../src/runtime/Run.ts"
import * as RunEvents from "../../src/runtime/RunEvents.ts"
import { Generator } from "../../src/services/Generator.ts"
import { AnswerKey } from "../../src/services/Grader.ts"
import { Verifier } from "../../src/services/Verifier.ts"

describe("DVTS's budget", () => {
  it.effect("its static bound is at most beam search's at every N and M; equal when N ≤ M", () =>
    Effect.gen(function* () {
      const dvts = yield* load("dvts")
      const beam = yield* load("beam-search")
      const bound = (g: typeof dvts, N: number, M: number) =>
        staticCost(g, { params: { N, M }, maxTokens: 4096 }).usage.sequences
      for (const M of [2, 3, 4, 8])
        for (let N = 1; N <= 70; N++) {
          const d = bound(dvts, N, M)
          const b = bound(beam, N, M)
          expect(d, `N=${N} M=${M}`).toBeLessThanOrEqual(b)
          if (N <= M) expect(d, `N=${N} M=${M}`).toBe(b)
        }
      // the example: `mull cost dvts --param N=2` bounded 168 sequences, beam search 84
      expect(bound(dvts, 2, 4)).toBe(84)
    })
  )

  it.effect("with N < M a run spends what beam search spends (about N sequences per round, not M)", () =>
    Effect.gen(function* () {
      const backend = yield* make(defaultConfig)
      const problems = (yield* loadMath500()).filter((_, i) => i % 20 === 0)
      const spend = (name: string) =>
        Effect.gen(function* () {
          const graph = yield* load(name)
          let sequences = 0
          for (const problem of problems) {
            const r = yield* run(graph, problem, { params: { N: 2, M: 4 }, seed: 0 }).pipe(
              Effect.provideService(Generator, backend.generator),
              Effect.provideService(Verifier, backend.verifier),
              Effect.provideService(AnswerKey, mathAnswerKey),
              Effect.provide(RunEvents.layerSilent)
            )
            sequences += r.usage.sequences
          }
          return sequences / problems.length
        })
      const dvts = yield* spend("dvts")
      const beam = yield* spend("beam-search")
      // one first level of 2 and 2 children per round (≈ 2·L); width 4 would spend about twice as much
      expect(dvts).toBeLessThanOrEqual(beam * 1.1)
      expect(dvts).toBeGreaterThan(beam * 0.9)
    })
  )
})
