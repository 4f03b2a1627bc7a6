/**
 * The compute-optimal policy: per-bin choices, two-fold cross-validation inside each bin, the
 * efficiency ratio against best-of-N (log2 interpolation on its envelope, bounds when it never or
 * always matches), candidate sets; and the curve helpers against sim.py's published numbers.
 */
import { describe, expect, it } from "@effect/vitest"
import { configurations } from "../../src/eval/Accuracy.ts"
import { oracleBins } from "../../src/eval/Bins.ts"
import {
  defaultBaseline,
  efficiencyOf,
  folds,
  formatEfficiency,
  formatMatch,
  inCandidateSet,
  optimize
} from "../../src/eval/ComputeOptimal.ts"
import { budgetToMatch, envelope, readAt } from "../../src/eval/Curve.ts"
import type { RunRecord } from "../../src/eval/Record.ts"
import { difficulty, run } from "./synthetic.ts"

const ids = (n: number) => Array.from({ length: n }, (_, i) => `test/q${String(i).padStart(3, "0")}.json`)

describe("per-bin choices", () => {
  // 50 problems, 10 per oracle bin; beam search solves bins 1–2, revisions bins 4–5, best-of-N bin 3
  const problems = ids(50)
  const difficulties = problems.map((id, i) => difficulty(id, 1 - i / 50))
  const binning = oracleBins(difficulties)
  const binOf = (id: string) => binning.bins.get(id) ?? 0
  const runs: Array<RunRecord> = problems.flatMap((id) => [
    run({ strategy: "best-of-N", graph: "weighted-best-of-n", budget: 4, problemId: id, correct: binOf(id) === 3 }),
    run({ strategy: "beam", graph: "beam-search", budget: 4, problemId: id, correct: binOf(id) <= 2 }),
    run({ strategy: "revisions", graph: "sequential-revisions", budget: 4, problemId: id, correct: binOf(id) >= 4 })
  ])
  const configs = configurations(runs)

  it("picks the strategy that wins each bin", () => {
    const policy = optimize(configs, { binning })
    expect(policy.baseline).toBe("best-of-N")
    const [point] = policy.points
    expect(point?.bins.map((b) => b.strategy)).toEqual(["beam", "beam", "best-of-N", "revisions", "revisions"])
    expect(point?.bins.map((b) => b.folds.map((f) => f.strategy))).toEqual([
      ["beam", "beam"],
      ["beam", "beam"],
      ["best-of-N", "best-of-N"],
      ["revisions", "revisions"],
      ["revisions", "revisions"]
    ])
    expect(point?.accuracy).toBe(1)
    expect(point?.inSample).toBe(1)
    expect(point?.problems).toBe(50)
    expect(point?.baseline?.accuracy).toBe(0.2)
    expect(point?.bins[0]?.params).toEqual({ N: 4, M: 4, rounds: 40, temperature: 0.8 })
    expect(point?.bins[0]?.graph).toBe("beam-search")
  })

  it("best-of-N never reaches the policy within its budgets: a lower bound, not a number", () => {
    const [point] = optimize(configs, { binning }).points
    expect(point?.match).toEqual({ kind: "beyond", budget: 4 })
    expect(point?.efficiency).toEqual({ kind: "beyond", ratio: 1, budget: 4 })
    expect(formatEfficiency(point?.efficiency ?? { kind: "none" })).toBe("never")
  })

  it("a candidate set restricts the choices (revisions only here)", () => {
    const policy = optimize(configs, { binning, candidates: "revisions" })
    expect(policy.candidates).toEqual(["revisions"])
    expect(policy.points[0]?.bins.every((b) => b.strategy === "revisions")).toBe(true)
    expect(policy.points[0]?.accuracy).toBe(0.4)
    const search = optimize(configs, { binning, candidates: "search" })
    expect(search.candidates).toEqual(["beam", "best-of-N"])
    expect(optimize(configs, { binning, candidates: (c) => c.strategy !== "beam" }).candidates).toEqual([
      "best-of-N",
      "revisions"
    ])
    expect(inCandidateSet("search", { strategy: "x", graph: "dvts" })).toBe(true)
    expect(inCandidateSet("revisions", { strategy: "x", graph: "hybrid-revisions" })).toBe(true)
    expect(inCandidateSet("search", { strategy: "x", graph: "my-own" })).toBe(false)
  })

  it("problems without a difficulty record are left out and counted", () => {
    const extra = [
      ...runs,
      run({ strategy: "beam", graph: "beam-search", budget: 4, problemId: "stray", correct: true })
    ]
    const policy = optimize(configurations(extra), { binning })
    expect(policy.unbinned).toBe(1)
    expect(policy.points[0]?.problems).toBe(50)
  })
})

describe("two-fold cross-validation inside a bin", () => {
  // one bin of 20 problems; `lucky` is right on every problem of fold 0 and none of fold 1;
  // `steady` is right on 6 of 10 problems of each fold
  const problems = ids(20)
  const binning = oracleBins(
    problems.map((id) => difficulty(id, 0.5)),
    1
  )
  const split = folds(problems)
  const fold0 = problems.filter((p) => split.get(p) === 0)
  const fold1 = problems.filter((p) => split.get(p) === 1)
  const steadyRight = new Set([...fold0.slice(0, 6), ...fold1.slice(0, 6)])
  const runs = problems.flatMap((id) => [
    run({ strategy: "lucky", graph: "beam-search", budget: 8, problemId: id, correct: split.get(id) === 0 }),
    run({ strategy: "steady", graph: "weighted-best-of-n", budget: 8, problemId: id, correct: steadyRight.has(id) })
  ])

  it("folds are deterministic, balanced and independent of order", () => {
    expect(fold0.length).toBe(10)
    expect(fold1.length).toBe(10)
    expect([...folds([...problems].reverse())].sort()).toEqual([...split].sort())
  })

  it("a configuration that wins only on one fold is not credited with it on the other", () => {
    const [point] = optimize(configurations(runs), { binning }).points
    const bin = point?.bins[0]
    // chosen on fold 1 (steady 0.6 > lucky 0) and scored on fold 0: 0.6
    expect(bin?.folds[0]).toMatchObject({ scoredOn: 0, strategy: "steady", accuracy: 0.6, problems: 10 })
    // chosen on fold 0 (lucky 1.0 > steady 0.6) and scored on fold 1: 0
    expect(bin?.folds[1]).toMatchObject({ scoredOn: 1, strategy: "lucky", accuracy: 0, problems: 10 })
    expect(point?.accuracy).toBeCloseTo(0.3, 12)
    expect(bin?.crossValidated).toBeCloseTo(0.3, 12)
    // in-sample: steady (0.6) beats lucky (0.5) on the whole bin, and is what the graph runs
    expect(bin?.strategy).toBe("steady")
    expect(point?.inSample).toBeCloseTo(0.6, 12)
  })

  it("ties go to the baseline", () => {
    const tie = problems.flatMap((id, i) => [
      run({ strategy: "a-first", graph: "beam-search", budget: 2, problemId: id, correct: i % 2 === 0 }),
      run({ strategy: "z-bon", graph: "weighted-best-of-n", budget: 2, problemId: id, correct: i % 2 === 0 })
    ])
    const [point] = optimize(configurations(tie), { binning }).points
    expect(point?.bins[0]?.strategy).toBe("z-bon")
  })

  it("a bin too small to split falls back to the baseline for the empty fold", () => {
    const one = oracleBins([difficulty("only", 0.5)], 1)
    const r = [
      run({ strategy: "x", graph: "beam-search", budget: 4, problemId: "only", correct: true }),
      run({ strategy: "bon", graph: "weighted-best-of-n", budget: 4, problemId: "only", correct: false })
    ]
    const [point] = optimize(configurations(r), { binning: one }).points
    const scored = point?.bins[0]?.folds.find((f) => f.problems === 1)
    expect(scored).toMatchObject({ strategy: "bon", fallback: true, accuracy: 0 })
    expect(point?.bins[0]?.strategy).toBe("x") // the in-sample fit still sees it
  })
})

describe("efficiency ratio", () => {
  // one bin of 20 problems; best-of-N at N = 1..16 reaches 0.2, 0.3, 0.4, 0.6, 0.7; the strategy
  // `s` at N = 4 is right on 5 of 10 problems of each fold (0.5), at N = 8 on all of them
  const problems = ids(20)
  const binning = oracleBins(
    problems.map((id) => difficulty(id, 0.5)),
    1
  )
  const split = folds(problems)
  const half = new Set([
    ...problems.filter((p) => split.get(p) === 0).slice(0, 5),
    ...problems.filter((p) => split.get(p) === 1).slice(0, 5)
  ])
  const bonAccuracy: Record<number, number> = { 1: 0.2, 2: 0.3, 4: 0.4, 8: 0.6, 16: 0.7 }
  // best-of-N's right answers: the first k problems of each fold (so it loses to `s` on both folds at N = 4)
  const bonRight = (budget: number, id: string) => {
    const k = Math.round((bonAccuracy[budget] ?? 0) * 10)
    return problems.filter((p) => split.get(p) === split.get(id)).indexOf(id) < k
  }
  const runs = [
    ...[1, 2, 4, 8, 16].flatMap((budget) =>
      problems.map((id) =>
        run({ strategy: "bon", graph: "weighted-best-of-n", budget, problemId: id, correct: bonRight(budget, id) })
      )
    ),
    ...problems.map((id) =>
      run({ strategy: "s", graph: "beam-search", budget: 4, problemId: id, correct: half.has(id) })
    ),
    ...problems.map((id) => run({ strategy: "s", graph: "beam-search", budget: 8, problemId: id, correct: true }))
  ]
  // every budget, also those only best-of-N was measured at (by default a policy skips them)
  const policy = optimize(configurations(runs), { binning, budgets: [1, 2, 4, 8, 16] })
  const at = (n: number) => policy.points.find((p) => p.budget === n)

  it("by default, fits only the budgets with a choice (two strategies measured)", () => {
    expect(optimize(configurations(runs), { binning }).points.map((p) => p.budget)).toEqual([4, 8])
  })

  it("interpolates best-of-N's budget in log2(N) between the measured budgets around the policy", () => {
    expect(policy.baselineCurve.map((p) => p.accuracy)).toEqual([0.2, 0.3, 0.4, 0.6, 0.7])
    expect(at(4)?.accuracy).toBe(0.5)
    expect(at(4)?.bins[0]?.folds.map((f) => f.strategy)).toEqual(["s", "s"])
    // 0.5 is halfway from 0.4 (N = 4) to 0.6 (N = 8): N = 2^2.5
    expect(at(4)?.match.kind).toBe("reached")
    expect(at(4)?.efficiency.kind === "reached" ? at(4)?.efficiency : undefined).toMatchObject({ budget: 2 ** 2.5 })
    expect(formatEfficiency(at(4)?.efficiency ?? { kind: "none" })).toBe("1.41×")
    expect(formatMatch(at(4)?.match ?? { kind: "none" })).toBe("5.66")
  })

  it("says 'never' (not a sweep-edge '> max/N') when best-of-N never matches, '≤ min/N' when it already does at its smallest budget", () => {
    expect(at(8)?.accuracy).toBe(1)
    expect(at(8)?.efficiency).toEqual({ kind: "beyond", ratio: 2, budget: 16 })
    expect(formatEfficiency(at(8)?.efficiency ?? { kind: "none" })).toBe("never")
    expect(at(1)?.efficiency).toEqual({ kind: "atMost", ratio: 1, budget: 1 })
    expect(formatEfficiency(at(1)?.efficiency ?? { kind: "none" })).toBe("≤ 1×")
    // at N = 16 only best-of-N was measured: the policy is best-of-N, ratio exactly 1
    expect(at(16)?.efficiency).toEqual({ kind: "reached", ratio: 1, budget: 16 })
  })

  it("without a baseline there is no ratio", () => {
    const noBon = configurations(runs.filter((r) => r.strategy !== "bon"))
    expect(defaultBaseline(noBon)).toBeUndefined()
    const p = optimize(noBon, { binning })
    expect(p.points.every((pt) => pt.efficiency.kind === "none" && pt.baseline === undefined)).toBe(true)
    expect(formatEfficiency(efficiencyOf({ kind: "none" }, 4))).toBe("n/a")
  })
})

describe("curves", () => {
  // sim.py's weighted best-of-N, all of MATH-500, 4 seeds (shared/simulator-reference/results.txt)
  const bonw = [0.281, 0.353, 0.416, 0.476, 0.508, 0.534, 0.55, 0.551, 0.557, 0.559, 0.556, 0.556, 0.556].map(
    (accuracy, i) => ({ budget: 2 ** i, accuracy })
  )

  it("reproduces sim.py's best-of-N-equivalent budgets (within the rounding of results.txt)", () => {
    // "Compute-optimal (revisions) N=4 acc=0.442 BoN-equivalent N=5 (x1.3)"
    const rev = budgetToMatch(bonw, 0.442)
    expect(rev.kind).toBe("reached")
    expect(rev.kind === "reached" ? Math.round(rev.budget) : 0).toBe(5)
    // "Compute-optimal (all) N=4 acc=0.536 BoN-equivalent N=36 (x8.9)" — 33.4..36.5 given 3-digit inputs
    const all = budgetToMatch(bonw, 0.536)
    expect(all.kind === "reached" ? all.budget : 0).toBeGreaterThan(33.4)
    expect(all.kind === "reached" ? all.budget : 0).toBeLessThan(36.5)
    // "N=16 acc=0.636 BoN-equivalent N=n/a": never within 4096
    expect(budgetToMatch(bonw, 0.636)).toEqual({ kind: "beyond", budget: 4096 })
  })

  it("the envelope is the running maximum", () => {
    expect(
      envelope(bonw)
        .slice(-4)
        .map((p) => p.accuracy)
    ).toEqual([0.559, 0.559, 0.559, 0.559])
    expect(budgetToMatch([], 0.5)).toEqual({ kind: "none" })
  })

  it("reads a curve in log2(N), clipped outside the measured range", () => {
    const c = [
      { budget: 16, accuracy: 0.6 },
      { budget: 4, accuracy: 0.4 }
    ]
    expect(readAt(c, 8)).toEqual({ accuracy: 0.5, at: 8 })
    expect(readAt(c, 4)).toEqual({ accuracy: 0.4, at: 4 })
    expect(readAt(c, 64)).toEqual({ accuracy: 0.6, at: 16, clipped: "above" })
    expect(readAt(c, 1)).toEqual({ accuracy: 0.4, at: 4, clipped: "below" })
    expect(readAt([], 4)).toBeUndefined()
  })
})
