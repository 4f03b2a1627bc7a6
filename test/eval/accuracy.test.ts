/** Accuracy: seeds averaged within a problem, then problems; standard errors; tokens; pass@N; per bin. */
import { describe, expect, it } from "@effect/vitest"
import {
  accuracy,
  accuracyByBin,
  axes,
  configurations,
  mean,
  meanPass1,
  passAtN,
  standardError
} from "../../src/eval/Accuracy.ts"
import { oracleBins } from "../../src/eval/Bins.ts"
import { difficulty, run } from "./synthetic.ts"

describe("accuracy", () => {
  it("averages a problem's seeds first, then the problems", () => {
    const runs = [
      ...[true, true, true, false].map((correct, seed) =>
        run({ strategy: "s", budget: 4, problemId: "a", correct, seed })
      ),
      run({ strategy: "s", budget: 4, problemId: "b", correct: false })
    ]
    const [point] = accuracy(configurations(runs))
    expect(point?.accuracy).toBe(0.375) // (0.75 + 0) / 2, not 3/5
    expect(point?.problems).toBe(2)
    expect(point?.runs).toBe(5)
    expect(point?.stderr).toBeCloseTo(standardError([0.75, 0]), 12)
  })

  it("a run stored twice with the same seed counts once", () => {
    const runs = [
      run({ strategy: "s", budget: 1, problemId: "a", correct: false, seed: 3 }),
      run({ strategy: "s", budget: 1, problemId: "a", correct: true, seed: 3 })
    ]
    const [c] = configurations(runs)
    expect(c?.outcomes.get("a")?.seeds).toBe(1)
    expect(c?.outcomes.get("a")?.correct).toBe(1)
  })

  it("groups by (strategy, budget), sorted, with the graph and the params", () => {
    const runs = [
      run({ strategy: "weighted-best-of-n", budget: 16, problemId: "a", correct: true }),
      run({ strategy: "beam M=4", graph: "beam-search", budget: 4, problemId: "a", correct: true }),
      run({ strategy: "weighted-best-of-n", budget: 4, problemId: "a", correct: false })
    ]
    const configs = configurations(runs)
    expect(configs.map((c) => [c.strategy, c.budget])).toEqual([
      ["beam M=4", 4],
      ["weighted-best-of-n", 4],
      ["weighted-best-of-n", 16]
    ])
    expect(configs[0]?.graph).toBe("beam-search")
    expect(configs[0]?.params).toEqual({ N: 4, M: 4, rounds: 40, temperature: 0.8 })
    expect(axes(configs)).toEqual({ strategies: ["beam M=4", "weighted-best-of-n"], budgets: [4, 16] })
  })

  it("mean output tokens and FLOPs per (strategy, budget), two-level", () => {
    const runs = [
      run({ strategy: "s", budget: 2, problemId: "a", correct: true, outputTokens: 100, seed: 0 }),
      run({ strategy: "s", budget: 2, problemId: "a", correct: true, outputTokens: 300, seed: 1 }),
      run({ strategy: "s", budget: 2, problemId: "b", correct: true, outputTokens: 1000 })
    ]
    const [p] = accuracy(configurations(runs))
    expect(p?.outputTokens).toBe(600) // (200 + 1000) / 2
    expect(p?.flops).toBe(2 * 1.5e9 * 600)
  })

  it("pass@N and mean pass@1 from the final population", () => {
    expect(passAtN({ correctCandidates: 0, done: 8 })).toBe(0)
    expect(passAtN({ correctCandidates: 3, done: 8 })).toBe(1)
    expect(meanPass1({ correctCandidates: 2, done: 8 })).toBe(0.25)
    expect(meanPass1({ correctCandidates: 0, done: 0 })).toBe(0)
    const runs = [
      run({ strategy: "s", budget: 8, problemId: "a", correct: false, correctCandidates: 2, done: 8 }),
      run({ strategy: "s", budget: 8, problemId: "b", correct: false, correctCandidates: 0, done: 4 })
    ]
    const [p] = accuracy(configurations(runs))
    expect(p?.passAtN).toBe(0.5)
    expect(p?.pass1).toBe(0.125)
  })

  it("standard error over problems; NaN below two", () => {
    expect(standardError([1])).toBeNaN()
    expect(standardError([0, 1, 0, 1])).toBeCloseTo(Math.sqrt(1 / 3 / 4), 12)
    expect(mean([])).toBeNaN()
  })

  it("per bin: each point averages one bin's problems; unbinned problems are left out", () => {
    const binning = oracleBins([difficulty("easy1", 0.9), difficulty("easy2", 0.8), difficulty("hard", 0.1)], 2)
    expect(binning.bins.get("hard")).toBe(2)
    const runs = [
      run({ strategy: "s", budget: 4, problemId: "easy1", correct: true }),
      run({ strategy: "s", budget: 4, problemId: "easy2", correct: false }),
      run({ strategy: "s", budget: 4, problemId: "hard", correct: true }),
      run({ strategy: "s", budget: 4, problemId: "unknown", correct: true })
    ]
    const points = accuracyByBin(configurations(runs), binning)
    expect(points.map((p) => [p.bin, p.accuracy, p.problems])).toEqual([
      [1, 0.5, 2],
      [2, 1, 1]
    ])
    expect(accuracy(configurations(runs), (id) => id !== "unknown")[0]?.accuracy).toBeCloseTo(2 / 3, 12)
  })
})
