/**
 * The router as it would run (predicted difficulty from a charged estimate, thresholds and choices
 * fitted on one fold and scored on the other), its oracle-bin upper bound, the paired bootstrap,
 * honest ratios (never a sweep edge), the findings check and the exchange rate with the verifier's
 * FLOPs counted — on hand-made records whose answers are known.
 */
import { describe, expect, it } from "@effect/vitest"
import { configurations } from "../../src/eval/Accuracy.ts"
import { oracleBins } from "../../src/eval/Bins.ts"
import { exchangeFlops, flopsTableRows, multiplier } from "../../src/eval/Exchange.ts"
import { type Claim, findings, summarizeFindings, verdictOf, Z90 } from "../../src/eval/Findings.ts"
import type { RunRecord } from "../../src/eval/Record.ts"
import { candidatesOf, evaluateRouter, formatRatio, quantile, quantileThresholds, rng } from "../../src/eval/Router.ts"
import { difficulty, run } from "./synthetic.ts"

const ids = (n: number) => Array.from({ length: n }, (_, i) => `test/q${String(i).padStart(3, "0")}.json`)

describe("helpers", () => {
  it("quantiles, thresholds and the seeded generator", () => {
    expect(quantile([1, 2, 3, 4], 0.5)).toBe(2.5)
    expect(quantile([1, 2, Number.POSITIVE_INFINITY], 1)).toBe(Number.POSITIVE_INFINITY)
    expect(quantileThresholds([0.9, 0.7, 0.5, 0.3], 2)).toEqual([0.6])
    const t = quantileThresholds([0.5, 0.5, 0.5, 0.5], 4)
    expect(t.every((x, i) => i === 0 || x < (t[i - 1] ?? 0))).toBe(true)
    const a = rng(7)
    const b = rng(7)
    expect([a(), a(), a()]).toEqual([b(), b(), b()])
  })
})

describe("the router", () => {
  // 100 problems; the estimate (4 fresh samples' mean score) ranks them as their true difficulty does.
  // best-of-N at N solves the easiest N/8 fraction…; "beam" at 4 solves the hardest 40% and nothing else,
  // so a router that sends hard questions to beam and easy ones to best-of-N wins.
  const problems = ids(100)
  const hardness = (i: number) => i / 100
  const difficulties = problems.map((id, i) => difficulty(id, 1 - hardness(i)))
  const estimates = new Map(problems.map((id, i) => [id, 1 - hardness(i)] as const))
  const oracle = oracleBins(difficulties)
  const bonRight = (budget: number, i: number) => hardness(i) < Math.min(0.6, 0.1 * Math.log2(budget) + 0.2)
  const runs: Array<RunRecord> = [
    ...[1, 2, 4, 8, 16, 32, 64].flatMap((budget) =>
      problems.map((id, i) =>
        run({ strategy: "bon", graph: "weighted-best-of-n", budget, problemId: id, correct: bonRight(budget, i) })
      )
    ),
    ...[4, 16].flatMap((budget) =>
      problems.map((id, i) =>
        run({ strategy: "beam", graph: "beam-search", budget, problemId: id, correct: hardness(i) >= 0.6 })
      )
    )
  ]
  const configs = configurations(runs)
  const input = {
    configs,
    problems,
    oracleBins: oracle.bins,
    estimates,
    estimateSamples: 4,
    binCount: 5,
    baseline: "bon",
    candidates: candidatesOf("all")
  }

  it("fits only budgets with a choice; charges the estimate; routes hard questions to beam", () => {
    const r = evaluateRouter(input, { mode: "predicted", resamples: 50 })
    expect(r.points.map((p) => [p.budget, p.cost])).toEqual([
      [4, 8],
      [16, 20]
    ])
    const at4 = r.points[0]
    // best-of-N at 4 solves hardness < 0.4; beam the hardest 40%: the router gets 0.8 held out,
    // less a problem at a threshold fitted on the other fold
    expect(at4?.accuracy.value).toBeGreaterThanOrEqual(0.78)
    expect(at4?.accuracy.value).toBeLessThanOrEqual(0.8)
    expect(at4?.choices.map((c) => c.strategy)).toEqual(["bon", "bon", "bon", "beam", "beam"])
    // best-of-N never gets past 0.6: no finite ratio, and the text gives its ceiling instead of "> k×"
    expect(at4?.ratio.kind).toBe("never")
    const text = formatRatio(at4?.ratio ?? { kind: "none", value: 0, lo: 0, hi: 0, pNever: 0, budget: 0 }, r.ceiling)
    expect(text).toContain("best-of-N never reaches it: its ceiling is 0.600")
    expect(text).not.toMatch(/> \d/u)
    expect(at4?.ratio.pNever).toBeGreaterThan(0.9)
    expect(at4?.thresholds).toHaveLength(4)
  })

  it("oracle bins are the upper bound: the estimate is free, the cost is N", () => {
    const r = evaluateRouter(input, { mode: "oracle", resamples: 20 })
    expect(r.estimateSamples).toBe(0)
    expect(r.points.map((p) => p.cost)).toEqual([4, 16])
  })

  it("a noisy estimate costs accuracy that oracle bins hide", () => {
    const random = rng(3)
    const noisy = new Map(problems.map((id, i) => [id, 1 - hardness(i) + (random() - 0.5) * 0.8] as const))
    const pred = evaluateRouter({ ...input, estimates: noisy }, { mode: "predicted", resamples: 20 })
    const orc = evaluateRouter(input, { mode: "oracle", resamples: 20 })
    expect(pred.points[0]?.accuracy.value ?? 1).toBeLessThan(orc.points[0]?.accuracy.value ?? 0)
  })

  it("a reached ratio is best-of-N's matching budget over the cost, with an interval around it", () => {
    // the policy at 4 reaches 0.8 > best-of-N's ceiling; restrict to best-of-N only: the policy is best-of-N at 4
    const r = evaluateRouter(
      { ...input, candidates: (c) => c.graph === "weighted-best-of-n" },
      { mode: "predicted", resamples: 100, budgets: [4] }
    )
    const p = r.points[0]
    expect(p?.ratio.kind).toBe("reached")
    // best-of-N at 4 reaches its own accuracy at N = 4; the router paid 8
    expect(p?.ratio.value).toBeCloseTo(0.5, 5)
    expect(p?.ratio.lo ?? 1).toBeLessThanOrEqual(p?.ratio.value ?? 0)
    expect(p?.ratio.hi ?? 0).toBeGreaterThanOrEqual(p?.ratio.value ?? 1)
  })
})

describe("findings", () => {
  it("says holds / does not hold from paired differences, and 'not measured' without the runs", () => {
    const problems = ids(20)
    const oracle = oracleBins(problems.map((id, i) => difficulty(id, 1 - i / 20)))
    const runs = problems.flatMap((id, i) => [
      ...[4, 16].map((budget) =>
        run({ strategy: "bon", graph: "weighted-best-of-n", budget, problemId: id, correct: i < 8 })
      ),
      ...[4, 16].map((budget) =>
        run({ strategy: "beam", graph: "beam-search", budget, problemId: id, correct: i < 10 })
      )
    ])
    const fs = findings({ configs: configurations(runs), baseline: "bon", oracle })
    expect(fs.find((f) => f.id === 2)?.holds).toBe(true)
    expect(fs.find((f) => f.id === 2)?.measured).toContain("N = 4 +0.100")
    expect(fs.find((f) => f.id === 6)?.holds).toBeUndefined()
    expect(fs.find((f) => f.id === 11)?.holds).toBeUndefined()
    expect(fs.find((f) => f.id === 2)?.verdict).toBe("holds")
    expect(fs.find((f) => f.id === 6)?.verdict).toBe("not measured")
  })

  it("one verdict rule for every claim: holds, holds within noise (the 90% interval reaches the claimed side), does not hold", () => {
    const claim = (value: number, se: number, side: Claim["side"], bound = 0): Claim => ({
      value,
      lo: value - Z90 * se,
      hi: value + Z90 * se,
      side,
      bound
    })
    // lookahead − beam +0.004 ± 0.021: not ≤ 0 on its point, but its interval reaches 0
    expect(verdictOf([claim(0.004, 0.021, "≤")])).toBe("holds within noise")
    expect(verdictOf([claim(-0.068, 0.02, "≤"), claim(0.004, 0.021, "≤")])).toBe("holds within noise")
    expect(verdictOf([claim(0.06, 0.02, "≤")])).toBe("does not hold")
    // the same rule on a "beats" claim: −0.01 ± 0.02 is within noise of > 0, −0.05 ± 0.02 is not
    expect(verdictOf([claim(-0.01, 0.02, ">")])).toBe("holds within noise")
    expect(verdictOf([claim(-0.05, 0.02, ">")])).toBe("does not hold")
    expect(verdictOf([claim(0.05, 0.02, ">"), claim(-0.02, 0.01, "≤")])).toBe("holds")
    // a ratio within 2–8: ×1.7 [1, 3.2] reaches 2; "never" (∞) with an interval reaching 8 is within noise
    const ratio = (value: number, lo: number, hi: number): ReadonlyArray<Claim> => [
      { value, lo, hi, side: "≥", bound: 2 },
      { value, lo, hi, side: "≤", bound: 8 }
    ]
    expect(verdictOf(ratio(1.7, 1, 3.2))).toBe("holds within noise")
    expect(verdictOf(ratio(1.2, 0.9, 1.6))).toBe("does not hold")
    expect(verdictOf(ratio(Number.POSITIVE_INFINITY, 3, Number.POSITIVE_INFINITY))).toBe("holds within noise")
    expect(verdictOf(ratio(2.8, 2.2, 3.2))).toBe("holds")
    expect(verdictOf([undefined])).toBe("not measured")
    expect(verdictOf([])).toBe("not measured")
    expect(summarizeFindings([])).toBe("0 of 0 measured findings hold, 0 more within noise, 0 do not")
  })
})

describe("exchange rate with the verifier counted", () => {
  it("a scored generation costs (P_g + P_v) / P_g queries; majority gets all M", () => {
    const problems = ids(10)
    const oracle = oracleBins(problems.map((id, i) => difficulty(id, 1 - i / 10)))
    // best-of-N is right from N = 64 on; majority from N = 128: with the PRM counted best-of-N
    // affords only M / 5.67 ≈ 45 at R = 0.16 and loses; majority affords M = 258 and wins
    const runs = problems.flatMap((id) => [
      ...[1, 4, 16, 64, 256].map((budget) =>
        run({ strategy: "bon", graph: "weighted-best-of-n", budget, problemId: id, correct: budget >= 64 })
      ),
      ...[1, 4, 16, 64, 256].map((budget) =>
        run({ strategy: "maj", graph: "majority", budget, problemId: id, correct: budget >= 256 })
      )
    ])
    const large = problems.map((id) => difficulty(id, 0.5, 0.5, "main/large"))
    const x = exchangeFlops(
      { configs: configurations(runs), problems, binning: oracle, large },
      { rs: [0.16], generatorParams: 1.5e9, verifierParams: 7e9 }
    )
    expect(x.perScored).toBeCloseTo(8.5 / 1.5, 10)
    const all = x.rows.find((r) => r.bin === "all")
    expect(all?.scored).toBeCloseTo(multiplier(0.16, 14) / (8.5 / 1.5), 10)
    // at 45.5 scored generations best-of-N reads log2-interpolated between 16 (0) and 64 (1)
    expect(all?.testTime).toBe(1)
    expect(all?.large).toBe(0.5)
    // standard errors: no spread on either side here, so 0 (paired: 1 − 0.5 on every problem)
    expect(all?.stderr).toEqual({ testTime: 0, large: 0, difference: 0 })
    const table = flopsTableRows(x)
    expect(table.rows[0]?.[3]).toBe("1.000 ± 0.000 / 0.500 ± 0.000, Δ +0.500 ± 0.000")
    const none = exchangeFlops(
      { configs: configurations(runs), problems, binning: oracle, large },
      { rs: [0.16], generatorParams: 1.5e9, verifierParams: 0 }
    )
    expect(none.rows.find((r) => r.bin === "all")?.scored).toBeCloseTo(multiplier(0.16, 14), 10)
  })
})
