/** The exchange rate: FLOPs-matched multipliers, interpolation at M, clipping notes, the larger model's pass@1, winners. */
import { describe, expect, it } from "@effect/vitest"
import { configurations } from "../../src/eval/Accuracy.ts"
import { oracleBins } from "../../src/eval/Bins.ts"
import { exchangeChart } from "../../src/eval/Charts.ts"
import { optimize } from "../../src/eval/ComputeOptimal.ts"
import {
  DEFAULT_PARAMETER_RATIO,
  DEFAULT_R,
  exchange,
  exchangeTableRows,
  multiplier,
  pairedError,
  valuesAt
} from "../../src/eval/Exchange.ts"
import { difficulty, run } from "./synthetic.ts"

describe("multiplier", () => {
  it("is 257.75 / 63.37 / 15.77 for R = 0.16 / 0.79 / 22 with a 14× larger model", () => {
    expect(DEFAULT_R).toEqual([0.16, 0.79, 22])
    expect(DEFAULT_PARAMETER_RATIO).toBe(14)
    expect(multiplier(0.16, 14)).toBeCloseTo(257.75, 10)
    expect(multiplier(0.79, 14)).toBeCloseTo(63.367, 3)
    expect(multiplier(22, 14)).toBeCloseTo(15.773, 3)
  })

  it("matches total FLOPs: 6·P_s·D_pre + 2·P_s·M·D_inf = 6·P_l·D_pre + 2·P_l·D_inf", () => {
    for (const r of [0.01, 0.16, 0.79, 1, 22, 100])
      for (const ratio of [2, 14, 70]) {
        const ps = 1.5e9
        const pl = ratio * ps
        const dPre = 2e12
        const dInf = r * dPre
        const m = multiplier(r, ratio)
        const small = 6 * ps * dPre + 2 * ps * m * dInf
        const large = 6 * pl * dPre + 2 * pl * dInf
        expect(small / large).toBeCloseTo(1, 12)
      }
    // as R grows, pretraining matters less and M falls to the parameter ratio
    expect(multiplier(1e9, 14)).toBeCloseTo(14, 6)
  })
})

describe("exchange", () => {
  // 20 problems in 2 oracle bins of 10; best-of-N (the only strategy) is right on bin 1 always and
  // on bin 2 on 1, 2, 4 of 10 problems at N = 4, 16, 64; the larger model's pass@1 is 0.9 / 0.3
  const problems = Array.from({ length: 20 }, (_, i) => `q${i}`)
  const difficulties = problems.map((id, i) => difficulty(id, 1 - i / 20))
  const binning = oracleBins(difficulties, 2)
  const hard = problems.filter((p) => binning.bins.get(p) === 2)
  const right: Record<number, number> = { 4: 1, 16: 2, 64: 4 }
  const runs = [4, 16, 64].flatMap((budget) =>
    problems.map((id) =>
      run({
        strategy: "bon",
        graph: "weighted-best-of-n",
        budget,
        problemId: id,
        correct: binning.bins.get(id) === 1 || hard.indexOf(id) < (right[budget] ?? 0)
      })
    )
  )
  const configs = configurations(runs)
  const policy = optimize(configs, { binning })
  const large = problems.map((id) => difficulty(id, binning.bins.get(id) === 1 ? 0.9 : 0.3, 0.5, "main/large"))

  it("reads the small model at N = M (log2-interpolated) and compares with the larger model's pass@1", () => {
    const x = exchange({ policy, configs, binning, large }, { rs: [22] })
    const all = x.rows.find((r) => r.bin === "all")
    // M = 15.77: between N = 4 (0.55) and N = 16 (0.6), at f = log2(15.77/4)/2
    const f = Math.log2(multiplier(22, 14) / 4) / 2
    expect(all?.bestOfN?.accuracy).toBeCloseTo(0.55 + f * 0.05, 12)
    expect(all?.policy?.accuracy).toBeCloseTo(all?.bestOfN?.accuracy ?? 0, 12)
    expect(all?.large).toBeCloseTo(0.6, 12)
    expect(all?.winner).toBe("larger model")
    const bins = x.rows.filter((r) => r.bin !== "all")
    expect(bins.map((r) => r.bin)).toEqual([1, 2])
    expect(bins.map((r) => r.winner)).toEqual(["test-time compute", "larger model"])
    expect(bins[1]?.large).toBeCloseTo(0.3, 12)
    expect(x.notes).toEqual([])
    // error bars: the larger model's standard error over the 20 problems (10 at 0.9, 10 at 0.3);
    // best-of-N's over the per-problem values read at M as its accuracy is (a problem right at
    // N = 16 only counts f), overall and per bin; the difference's is paired per problem
    const se = (xs: ReadonlyArray<number>) => {
      const m = xs.reduce((a, b) => a + b, 0) / xs.length
      return Math.sqrt(xs.reduce((a, b) => a + (b - m) ** 2, 0) / (xs.length - 1) / xs.length)
    }
    expect(all?.stderr.large).toBeCloseTo(se([...Array(10).fill(0.9), ...Array(10).fill(0.3)]), 12)
    const read = (p: string) => (binning.bins.get(p) === 1 ? 1 : hard.indexOf(p) < 1 ? 1 : hard.indexOf(p) < 2 ? f : 0)
    expect(all?.stderr.bestOfN).toBeCloseTo(se(problems.map(read)), 12)
    // the one candidate is best-of-N, so the policy's error is the same
    expect(all?.stderr.policy).toBeCloseTo(se(problems.map(read)), 12)
    const largeOf = (p: string) => (binning.bins.get(p) === 1 ? 0.9 : 0.3)
    expect(all?.stderr.difference).toBeCloseTo(se(problems.map((p) => read(p) - largeOf(p))), 12)
    // per bin: bin 1 is all right (no spread), bin 2 has the spread of its 10 problems
    expect(bins[0]?.stderr.bestOfN).toBeCloseTo(0, 12)
    expect(bins[1]?.stderr.bestOfN).toBeCloseTo(se(hard.map(read)), 12)
    expect(bins[1]?.stderr.difference).toBeCloseTo(se(hard.map((p) => read(p) - 0.3)), 12)
    expect(bins[1]?.stderr.large).toBeCloseTo(0, 12)
    // the tables carry the same numbers as the chart's error bars
    const overall = exchangeTableRows(x, "all")
    expect(overall.header).toContain("compute-optimal − larger ± paired SE")
    expect(overall.rows[0]?.[4]).toBe(
      `${(all?.bestOfN?.accuracy ?? 0).toFixed(3)} ± ${(all?.stderr.bestOfN ?? 0).toFixed(3)}`
    )
    const bars = exchangeChart(x, "t").data as { values: ReadonlyArray<{ side: string; lo: number; hi: number }> }
    const bonBar = bars.values.find((v) => v.side.includes("best-of-N"))
    expect(((bonBar?.hi ?? 0) - (bonBar?.lo ?? 0)) / 2).toBeCloseTo(all?.stderr.bestOfN ?? Number.NaN, 12)
    const perBin = exchangeTableRows(x, "bins")
    expect(perBin.rows.map((r) => r[2])).toEqual(["1", "2"])
    expect(perBin.rows[1]?.[7]).toBe(
      `−${(0.3 - (bins[1]?.policy?.accuracy ?? 0)).toFixed(3)} ± ${(bins[1]?.stderr.difference ?? 0).toFixed(3)}`
    )
  })

  it("reads per-problem values at M as a curve is read", () => {
    const m = (entries: ReadonlyArray<readonly [string, number]>) => new Map(entries)
    const measured = [
      {
        budget: 4,
        values: m([
          ["a", 0],
          ["b", 1]
        ])
      },
      {
        budget: 16,
        values: m([
          ["a", 1],
          ["b", 1]
        ])
      },
      { budget: 64, values: m([["a", 1]]) }
    ]
    expect(valuesAt(measured, ["a", "b"], 8)).toEqual(
      m([
        ["a", 0.5],
        ["b", 1]
      ])
    )
    expect(valuesAt(measured, ["a", "b"], 16)).toEqual(
      m([
        ["a", 1],
        ["b", 1]
      ])
    )
    // above the largest budget: clipped to it; below the smallest: to it; a problem missing at a side is left out
    expect(valuesAt(measured, ["a", "b"], 1000)).toEqual(m([["a", 1]]))
    expect(valuesAt(measured, ["a", "b"], 1)).toEqual(
      m([
        ["a", 0],
        ["b", 1]
      ])
    )
    expect(valuesAt(measured, ["a", "b"], 32)).toEqual(m([["a", 1]]))
    expect(valuesAt([], ["a"], 8).size).toBe(0)
    expect(
      pairedError(
        m([
          ["a", 1],
          ["b", 0]
        ]),
        m([
          ["a", 0.5],
          ["b", 0.5]
        ]),
        ["a", "b", "c"]
      )
    ).toBeCloseTo(0.5, 12)
  })

  it("clips M above the largest measured budget, and says so", () => {
    const x = exchange({ policy, configs, binning, large })
    expect(x.rs).toEqual([0.16, 0.79, 22])
    expect(x.ratio).toBe(14)
    const r016 = x.rows.find((r) => r.r === 0.16 && r.bin === "all")
    expect(r016?.multiplier).toBeCloseTo(257.75, 10)
    expect(r016?.bestOfN).toEqual({ accuracy: 0.7, at: 64, clipped: "above" })
    expect(x.notes.some((n) => n.includes("R = 0.16") && n.includes("N = 64"))).toBe(true)
    expect(x.rows.find((r) => r.r === 0.79 && r.bin === "all")?.bestOfN?.clipped).toBeUndefined()
    expect(x.rows.length).toBe(3 * 3) // overall + 2 bins, per R
  })

  it("without the larger model's records its side is n/a, with a note", () => {
    const x = exchange({ policy, configs, binning, large: [] }, { ratio: 4, rs: [1] })
    expect(x.rows[0]?.multiplier).toBe(4 * 4 - 3)
    expect(Number.isNaN(x.rows[0]?.large ?? 0)).toBe(true)
    expect(x.rows[0]?.winner).toBe("n/a")
    expect(x.notes.some((n) => n.includes("no larger-model records"))).toBe(true)
  })

  it("counts problems missing from the larger model's records", () => {
    const x = exchange({ policy, configs, binning, large: large.slice(0, 15) }, { rs: [22] })
    expect(x.rows.find((r) => r.bin === "all")?.largeProblems).toBe(15)
    expect(x.notes.some((n) => n.startsWith("5 of 20 problems"))).toBe(true)
  })
})
