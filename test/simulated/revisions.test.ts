/**
 * Revisions: a right attempt is broken by the next revision with probability b(δ) — v2 (default):
 * clip(0.20 + 2.5(δ − 0.5)), 0.45 at δ = 0.6; v1: clip(0.30 + 0.8(δ − 0.5)), 0.38 there — and
 * wrong attempts are sometimes fixed. In v2 a chain stuck on a wrong approach tends to stay stuck.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { decodeConfigUnsafe, isCorrect, lastLatent, make } from "../../plugins/simulated/index.ts"
import { seedOf } from "../../src/domain/Hash.ts"
import type { Problem } from "../../src/domain/Problem.ts"
import { candidateOf, request } from "./helpers.ts"

const breakRates = (model: "v1" | "v2", at06: number) =>
  Effect.gen(function* () {
    const backend = yield* make(decodeConfigUnsafe({ model }))
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

    // δ ≈ 0.6
    const problems06 = Array.from(
      { length: 200 },
      (_, i): Problem => ({ id: `d6/${i}`, question: "Q", gold: String(i + 10), meta: { difficulty: 0.6 } })
    )
    const a = yield* tally(problems06)
    expect(a.right).toBeGreaterThan(1000)
    expect(a.expected).toBeCloseTo(at06, 10)
    expect(Math.abs(a.broken / a.right - at06)).toBeLessThan(0.04)
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

describe("revisions", () => {
  it.effect("v2: break right attempts at b(δ) = 0.45 at δ = 0.6 and fix wrong ones sometimes", () =>
    breakRates("v2", 0.45)
  )
  it.effect("v1: break right attempts at b(δ) = 0.38 at δ = 0.6 and fix wrong ones sometimes", () =>
    breakRates("v1", 0.38)
  )

  it.effect("a chain stuck on a wrong approach stays stuck with 1 − (1 − κ)(1 − stick) in v2, κ in v1", () =>
    Effect.gen(function* () {
      // δ = 0.8: κ = clip(−0.6 + 1.6·0.8) = 0.68 (v2), 0.8 (v1); stick = 0.9 (v2)
      for (const [model, expected] of [
        ["v2", 1 - (1 - 0.68) * (1 - 0.9)],
        ["v1", 0.8]
      ] as const) {
        const backend = yield* make(decodeConfigUnsafe({ model }))
        let stuck = 0
        let again = 0
        for (let p = 0; p < 40; p++) {
          const problem: Problem = { id: `d8/${p}`, question: "Q", gold: "5", meta: { difficulty: 0.8 } }
          for (let c = 0; c < 8; c++) {
            let context: Array<ReturnType<typeof candidateOf>> = []
            for (let t = 0; t < 6; t++) {
              const { generations } = yield* backend.generator.generate(
                request(problem, { n: 1, seed: seedOf(0, problem.id, `c${c}.r${t}`, "revise"), context })
              )
              const g = generations[0]
              if (g === undefined) return
              const cand = candidateOf(`c${c}.r${t}`, g)
              const prev = context[context.length - 1]
              if (prev !== undefined && lastLatent(prev)?.stuck === true) {
                stuck++
                if (lastLatent(cand)?.stuck === true) again++
              }
              context = [...context, cand]
            }
          }
        }
        expect(stuck).toBeGreaterThan(300)
        expect(Math.abs(again / stuck - expected)).toBeLessThan(0.04)
      }
    })
  )
})
