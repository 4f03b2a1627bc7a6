/** `mull sim calibrate`: the AUROC helper, the per-level and per-bin tables, and the command end to end. */
import * as NodeServices from "@effect/platform-node/NodeServices"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { Command } from "effect/cli"
import { TestConsole } from "effect/testing"
import { decodeConfigUnsafe, layerConfig } from "../../plugins/simulated/index.ts"
import { auroc, binsOf, calibrate, formatCalibration, sim } from "../../src/cli/sim.ts"
import { loadMath500 } from "../../src/data/DatasetMath500.ts"

describe("auroc", () => {
  it("is the Mann–Whitney statistic with ties counted half; NaN without both classes", () => {
    expect(auroc([0.9, 0.8, 0.1], [true, true, false])).toBe(1)
    expect(auroc([0.1, 0.2], [true, false])).toBe(0)
    expect(auroc([0.5, 0.5], [true, false])).toBe(0.5)
    expect(auroc([0.3, 0.5, 0.5, 0.9], [false, true, false, true])).toBe(0.875)
    expect(auroc([0.3, 0.4], [true, true])).toBeNaN()
    expect(auroc([], [])).toBeNaN()
  })

  it("bins are quintiles of pass@1, easiest first, ties by problem hash", () => {
    // pass@1 0.5 for i = 0..3 (hashes 100..97), then 0.4, 0.5, …, 0.9 (hashes 96..91)
    const problems = Array.from({ length: 10 }, (_, i) => ({ pass1: i < 4 ? 0.5 : i / 10, ph: 100 - i }))
    expect(binsOf(problems)).toEqual([5, 4, 4, 3, 5, 3, 2, 2, 1, 1])
    expect(
      binsOf([
        { pass1: 0.1, ph: 3 },
        { pass1: 0.9, ph: 7 }
      ])
    ).toEqual([3, 1])
    expect(
      binsOf([
        { pass1: 0.5, ph: 9 },
        { pass1: 0.5, ph: 2 }
      ])
    ).toEqual([3, 1])
  })
})

describe("sim calibrate", () => {
  it.effect("pass@1 follows the model per level and falls with level; the PRM separates right from wrong", () =>
    Effect.gen(function* () {
      const config = decodeConfigUnsafe({})
      const problems = yield* loadMath500()
      const result = yield* calibrate(problems, config, { samples: 8, runSeed: 0 }).pipe(
        Effect.provide(layerConfig(config))
      )
      const levels = result.rows.filter((r) => r.level !== "all")
      expect(levels.map((r) => r.problems)).toEqual([43, 90, 105, 128, 134])
      for (const [i, r] of levels.entries()) {
        expect(Math.abs(r.passAt1 - r.expected)).toBeLessThan(0.05)
        expect(r.auroc).toBeGreaterThan(0.65)
        if (i > 0) expect(r.passAt1).toBeLessThan(levels[i - 1]?.passAt1 ?? 1)
        if (i > 0) expect(r.meanOutputTokens).toBeGreaterThan(levels[i - 1]?.meanOutputTokens ?? 0)
      }
      expect(result.solutions).toBe(4000)
      // v2's ceiling: hardly any level-1–3 problem is beyond the model, most level-5 ones are
      expect(levels[0]?.beyond).toBe(0)
      expect(levels[4]?.beyond).toBeGreaterThan(0.6)
      for (const r of levels) expect(Math.abs(r.expected - (r.reference ?? 0))).toBeLessThan(0.03)
      // bins: quintiles of the sampled pass@1, easiest first; the hardest bin is never solved
      expect(result.bins.map((b) => b.problems)).toEqual([100, 100, 100, 100, 100])
      for (const [i, b] of result.bins.entries())
        if (i > 0) expect(b.passAt1).toBeLessThanOrEqual(result.bins[i - 1]?.passAt1 ?? 1)
      expect(result.bins[4]?.passAt1).toBe(0)
      expect(result.bins[0]?.auroc).toBeGreaterThan(0.8)
      const text = formatCalibration(result)
      expect(text).toContain("pass@1 falls monotonically from level 1 to 5: yes")
      const lines = text.split("\n")
      expect(lines[0]).toBe("world model v2 (reference: sim2.py)")
      expect(lines[2]).toMatch(/^level\s+problems\s+mean δ\s+pass@1\s+expected\s+sim2\.py\s+beyond\s+PRM AUROC/u)
      expect(text).toMatch(/\n\s+bin\s+problems\s+mean δ\s+pass@1\s+sim2\.py\s+AUROC \(within problem\)/u)
    })
  )

  it.effect("the command prints the table", () =>
    Effect.gen(function* () {
      yield* Command.runWith(sim, { version: "test" })(["calibrate", "--samples", "2", "--world-seed", "1"])
      const lines = (yield* TestConsole.logLines).join("\n")
      expect(lines).toContain("500 problems × 2 samples, world model v2, world seed 1, run seed 0")
      expect(lines).toMatch(/\n\s+5\s+134 /u)
      expect(lines).toContain("pass@1 falls monotonically")
    }).pipe(Effect.provide(Layer.merge(NodeServices.layer, TestConsole.layer)))
  )
})
