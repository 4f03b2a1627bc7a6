/**
 * The Qwen pool graded by mull's own grader (`grading: "math"`: mull's answer key groups the
 * recorded answers, mull's grader grades them against gold): the same figures as Qwen's labels,
 * since the two agree on every one of the 400 recorded answers.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { loadQwenPool } from "../../plugins/replay/index.ts"
import { grader as mathGrader } from "../../src/answer/MathGrader.ts"
import { expectSensible, measure, table } from "./figures.ts"

const SEEDS = 16

describe("the Qwen pool through the runtime, graded by mull's grader", () => {
  it.effect("mull's grader agrees with Qwen's labels on all 400 recorded answers", () =>
    Effect.gen(function* () {
      const dataset = yield* loadQwenPool()
      const disagreements: Array<string> = []
      for (const pool of dataset.pools.values())
        pool.responses.forEach((r, i) => {
          if (mathGrader.grade(pool.problem, r.answer ?? "") !== r.correct)
            disagreements.push(`${pool.problem.id} #${i}: ${r.answer} (label ${r.correct})`)
        })
      expect(disagreements).toEqual([])
    })
  )

  it.effect(
    "the same figures: maj@8 0.960, argmax@8 0.960, weighted@8 0.960, pass@8 0.980, pass@1 0.938",
    () =>
      Effect.gen(function* () {
        const fig = yield* measure("math", SEEDS)
        console.log(table("mull's grader (grading: math)", fig, SEEDS))
        expect(fig.accuracy.maj?.[8]).toBe(0.96)
        expect(fig.accuracy.argmax?.[8]).toBe(0.96)
        expect(fig.accuracy.weighted?.[8]).toBe(0.96)
        expect(fig.pass[8]).toBe(0.98)
        expect(fig.pass1).toBe(0.9375)
        expectSensible(fig)
      }),
    90_000
  )
})
