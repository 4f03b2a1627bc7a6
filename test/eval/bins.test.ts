/** Difficulty bins: equal-size quantiles, easiest first, deterministic tie-breaks, route thresholds. */
import { describe, expect, it } from "@effect/vitest"
import { hashString32 } from "../../src/domain/Hash.ts"
import { agreement, binOfEstimate, binsOf, oracleBins, predictedBins, quantileBins } from "../../src/eval/Bins.ts"
import type { DifficultyRecord } from "../../src/eval/Record.ts"
import { difficulty } from "./synthetic.ts"

const ids = (n: number) => Array.from({ length: n }, (_, i) => `test/q${i}.json`)

/** A deterministic shuffle (by hash), to check that record order does not matter. */
const shuffled = <A>(xs: ReadonlyArray<A>, salt: number): ReadonlyArray<A> =>
  xs
    .map((x, i) => ({ x, k: hashString32(`${salt}:${i}`) }))
    .sort((a, b) => a.k - b.k)
    .map((e) => e.x)

const records = (n: number): ReadonlyArray<DifficultyRecord> =>
  ids(n).map((id, i) => difficulty(id, 1 - i / n, 0.9 - (0.8 * i) / n))

describe("oracle bins", () => {
  it("are equal-size quintiles, bin 1 = highest pass@1", () => {
    const b = oracleBins(records(100))
    expect(b.sizes).toEqual([20, 20, 20, 20, 20])
    expect(b.kind).toBe("oracle")
    for (let bin = 1; bin < 5; bin++) {
      const here = [...b.bins].filter(([, x]) => x === bin).map(([id]) => b.values.get(id) ?? Number.NaN)
      const next = [...b.bins].filter(([, x]) => x === bin + 1).map(([id]) => b.values.get(id) ?? Number.NaN)
      expect(Math.min(...here)).toBeGreaterThan(Math.max(...next))
    }
  })

  it("sizes differ by at most one when the count does not divide", () => {
    for (const n of [1, 3, 7, 103, 499]) {
      const sizes = oracleBins(records(n)).sizes
      expect(sizes.reduce((a, x) => a + x, 0)).toBe(n)
      if (n >= 5) expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1)
    }
    expect(oracleBins(records(3)).sizes).toEqual([1, 1, 0, 1, 0]) // rank r → bin 1 + floor(5r/3): 1, 2, 4
  })

  it("rank r of n goes to bin 1 + floor(r·count/n), as sim.py", () => {
    const b = quantileBins(
      ids(12).map((id, i) => [id, 1 - i / 12] as const),
      5
    )
    expect(b.order).toEqual(ids(12))
    expect(ids(12).map((id) => b.bins.get(id))).toEqual(ids(12).map((_, r) => 1 + Math.floor((r * 5) / 12)))
  })

  it("ties are broken by the problem's hash, whatever the record order", () => {
    const tied = ids(50).map((id) => difficulty(id, 0.5))
    const a = oracleBins(tied)
    const b = oracleBins(shuffled(tied, 7))
    expect([...b.bins].sort()).toEqual([...a.bins].sort())
    expect(a.sizes).toEqual([10, 10, 10, 10, 10])
    const byHash = [...ids(50)].sort((x, y) => hashString32(x) - hashString32(y))
    expect(byHash.slice(0, 10).every((id) => a.bins.get(id) === 1)).toBe(true)
    expect(byHash.slice(40).every((id) => a.bins.get(id) === 5)).toBe(true)
  })

  it("a re-estimated problem counts once (the last record)", () => {
    const b = oracleBins([difficulty("a", 0.1), difficulty("b", 0.5), difficulty("a", 0.9)], 2)
    expect(b.bins.size).toBe(2)
    expect(b.bins.get("a")).toBe(1)
    expect(b.values.get("a")).toBe(0.9)
  })

  it("no records, no bins; a bad count is refused", () => {
    expect(oracleBins([]).sizes).toEqual([0, 0, 0, 0, 0])
    expect(() => oracleBins(records(5), 0)).toThrow(RangeError)
  })
})

describe("model-predicted bins", () => {
  it("bin by mean score, with descending thresholds that reproduce the bins (the route rule)", () => {
    const rs = shuffled(
      ids(97).map((id, i) => difficulty(id, 0.5, ((i * 7919) % 97) / 97)),
      3
    )
    const b = predictedBins(rs)
    expect(b.kind).toBe("predicted")
    expect(b.thresholds.length).toBe(4)
    for (let i = 1; i < b.thresholds.length; i++) expect(b.thresholds[i] ?? 0).toBeLessThan(b.thresholds[i - 1] ?? 0)
    for (const d of rs) expect(binOfEstimate(d.meanScore, b.thresholds)).toBe(b.bins.get(d.problemId))
  })

  it("a threshold is the midpoint between a bin's lowest score and the next bin's highest", () => {
    const b = predictedBins(
      [0.9, 0.8, 0.6, 0.5].map((s, i) => difficulty(`p${i}`, 0, s)),
      2
    )
    expect(b.thresholds).toEqual([0.7])
    expect(binOfEstimate(0.7, b.thresholds)).toBe(1)
    expect(binOfEstimate(0.69, b.thresholds)).toBe(2)
  })

  it("equal scores across a boundary keep the thresholds strictly decreasing", () => {
    const b = predictedBins(
      ids(20).map((id) => difficulty(id, 0.5, 0.4)),
      5
    )
    expect(b.sizes).toEqual([4, 4, 4, 4, 4])
    for (let i = 1; i < b.thresholds.length; i++) expect(b.thresholds[i] ?? 0).toBeLessThan(b.thresholds[i - 1] ?? 0)
    expect(b.thresholds[0]).toBe(0.4)
  })

  it("oracle and predicted bins agree as much as their estimates do", () => {
    const same = records(50)
    expect(agreement(oracleBins(same), predictedBins(same))).toBe(1)
    const reversed = ids(50).map((id, i) => difficulty(id, 1 - i / 50, i / 50))
    expect(agreement(oracleBins(reversed), predictedBins(reversed))).toBeLessThan(0.3)
    expect(binsOf("predicted", same).kind).toBe("predicted")
    expect(Number.isNaN(agreement(oracleBins([]), predictedBins([])))).toBe(true)
  })
})
