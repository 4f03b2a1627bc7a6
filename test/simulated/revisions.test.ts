/**
 * Revisions with the default config: a right attempt is broken by the next revision with
 * probability b(δ) = clip(0.30 + 0.8(δ − 0.5)) (≈ 0.38 around δ ≈ 0.6), and wrong attempts are
 * sometimes fixed.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { decodeConfigUnsafe, isCorrect, make } from "../../plugins/simulated/index.ts"
import { seedOf } from "../../src/domain/Hash.ts"
import type { Problem } from "../../src/domain/Problem.ts"
import { candidateOf, request } from "./helpers.ts"

describe("revisions", () => {
  it.effect("break right attempts at b(δ) and fix wrong ones sometimes", () =>
    Effect.gen(function* () {
      const backend = yield* make(decodeConfigUnsafe({}))
      const tally = (problems: ReadonlyArray<Problem>) =>
        Effect.gen(function* () {
          let right = 0
          let broken = 0
          let expected = 0
          let wrong = 0
          let fixed = 0
          for (const problem of problems) {
            const world = yield* backend.world(problem)
            const first = yield* backend.generator.generate(
              request(problem, { n: 8, seed: seedOf(0, problem.id, "c", "sample") })
            )
            for (const [i, g] of first.generations.entries()) {
              const c0 = candidateOf(`c${i}`, g)
              const next = yield* backend.generator.generate(
                request(problem, { n: 16, seed: seedOf(0, problem.id, `c${i}`, "revise"), context: [c0] })
              )
              for (const [j, h] of next.generations.entries()) {
                const ok = isCorrect(candidateOf(`c${i}.r${j}`, h))
                if (isCorrect(c0)) {
                  right++
                  expected += world.brk
                  if (!ok) broken++
                } else {
                  wrong++
                  if (ok) fixed++
                }
              }
            }
          }
          return { right, broken, expected: expected / right, wrong, fixed }
        })

      // δ ≈ 0.6: b = 0.38
      const at06 = Array.from(
        { length: 200 },
        (_, i): Problem => ({ id: `d6/${i}`, question: "Q", gold: String(i + 10), meta: { difficulty: 0.6 } })
      )
      const a = yield* tally(at06)
      expect(a.right).toBeGreaterThan(1000)
      expect(a.expected).toBeCloseTo(0.38, 10)
      expect(Math.abs(a.broken / a.right - 0.38)).toBeLessThan(0.04)
      expect(a.fixed / a.wrong).toBeGreaterThan(0.05)

      // across MATH levels: the broken fraction follows the mean b(δ)
      const levels = Array.from(
        { length: 100 },
        (_, i): Problem => ({ id: `lv/${i}`, question: "Q", gold: "7", meta: { level: 1 + (i % 5), index: i } })
      )
      const b = yield* tally(levels)
      expect(Math.abs(b.broken / b.right - b.expected)).toBeLessThan(0.04)
      expect(b.fixed).toBeGreaterThan(0)
    })
  )
})
