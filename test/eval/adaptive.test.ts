/**
 * The report's section on stopping and confidence rules (src/eval/Adaptive.ts): paired differences
 * with standard errors computed over (problem, seed) pairs, fixed-N accuracy interpolated at a
 * rule's mean samples, and the section present only when the sweep ran an adaptive graph.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Usage from "../../src/domain/Usage.ts"
import { adaptiveSections, atCost, frontierRows, paired } from "../../src/eval/Adaptive.ts"
import type { RunRecord } from "../../src/eval/Record.ts"
import { run } from "./synthetic.ts"

const withSamples = (r: RunRecord, sequences: number, outputTokens = 100 * sequences): RunRecord => ({
  ...r,
  usage: Usage.make({ ...r.usage, sequences, outputTokens })
})

const PROBLEMS = ["a", "b", "c", "d"]
/** majority right on a, b; weighted on a, b, c; esc (stopping early on a, b) right on a, b, d */
const runs: ReadonlyArray<RunRecord> = [4, 16].flatMap((budget) =>
  PROBLEMS.flatMap((p, i) => [
    run({ strategy: "majority", budget, problemId: p, correct: i < 2 }),
    run({ strategy: "weighted", graph: "weighted-best-of-n", budget, problemId: p, correct: i < 3 }),
    withSamples(
      run({ strategy: "ESC window 4", graph: "esc", budget, problemId: p, correct: i !== 2 }),
      i < 2 ? 4 : budget
    )
  ])
)

describe("adaptive report section", () => {
  it("paired differences and their standard errors over shared (problem, seed) pairs", () => {
    const a = runs.filter((r) => r.graph === "esc" && r.budget === 16)
    const b = runs.filter((r) => r.graph === "majority" && r.budget === 16)
    const p = paired(a, b)
    // differences: 0, 0, 0, +1 → mean 0.25, sd 0.5, se 0.25
    assert.strictEqual(p?.n, 4)
    assert.closeTo(p?.mean ?? 0, 0.25, 1e-12)
    assert.closeTo(p?.stderr ?? 0, 0.25, 1e-12)
    assert.isUndefined(paired(a, []))
  })

  it("interpolates a fixed-N curve in log N, and only inside it", () => {
    const curve = [
      { budget: 4, accuracy: 0.4 },
      { budget: 16, accuracy: 0.5 }
    ]
    assert.closeTo(atCost(curve, 8) ?? 0, 0.45, 1e-12)
    assert.strictEqual(atCost(curve, 16), 0.5)
    assert.isUndefined(atCost(curve, 2))
    assert.isUndefined(atCost(curve, 64))
  })

  it("rows: mean samples and tokens as spent, Δ against majority and weighted at the same budget", () => {
    const rows = frontierRows(runs)
    const esc16 = rows.find((r) => r.graph === "esc" && r.budget === 16)
    assert.isDefined(esc16)
    assert.strictEqual(esc16?.samples, (4 + 4 + 16 + 16) / 4)
    assert.strictEqual(esc16?.outputTokens, 100 * 10)
    assert.closeTo(esc16?.accuracy ?? 0, 0.75, 1e-12)
    assert.closeTo(esc16?.vsMajority?.mean ?? 0, 0.25, 1e-12)
    assert.closeTo(esc16?.vsWeighted?.mean ?? 0, 0, 1e-12)
    // majority is 0.5 at both budgets, so 0.5 at 10 samples
    assert.closeTo(esc16?.majorityAtCost ?? 0, 0.5, 1e-12)
    assert.isUndefined(rows.find((r) => r.graph === "majority")?.vsMajority)
    assert.deepStrictEqual(
      rows.map((r) => `${r.budget} ${r.graph}`),
      ["4 majority", "4 weighted-best-of-n", "4 esc", "16 majority", "16 weighted-best-of-n", "16 esc"]
    )
  })

  it("a section only when an adaptive graph ran", () => {
    assert.strictEqual(adaptiveSections(runs).length, 1)
    assert.strictEqual(adaptiveSections(runs.filter((r) => r.graph !== "esc")).length, 0)
    const table = adaptiveSections(runs)[0]?.blocks.find((b) => b.kind === "table")
    assert.strictEqual(table?.kind === "table" ? table.rows.length : 0, 6)
  })
})
