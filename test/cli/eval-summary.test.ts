/**
 * `mull eval`'s tables count the runs the report counts (issue 17, item 7): a run with no complete
 * candidate is a miss for pass@N and mean pass@1 — it used to be dropped, so `mull eval` printed
 * pass@N 1.000 beside accuracy 0.090 where the report said otherwise.
 */
import { assert, describe, it } from "@effect/vitest"
import { summaryTables } from "../../src/cli/eval.ts"
import { zero } from "../../src/domain/Usage.ts"
import { accuracy, configurations } from "../../src/eval/Accuracy.ts"
import type { RunRecord } from "../../src/eval/Record.ts"

const record = (problemId: string, seed: number, over: Partial<RunRecord>): RunRecord => ({
  key: `${problemId}/${seed}`,
  sweep: "s",
  strategy: "beam",
  graph: "beam-search",
  params: { N: 4 },
  budget: 4,
  seed,
  problemId,
  correct: false,
  exhausted: false,
  usage: zero,
  backendUsage: zero,
  candidates: 4,
  done: 4,
  correctCandidates: 0,
  ...over
})

/** The value in the row of `strategy` of the table under `title`. */
const cell = (text: string, title: string, strategy: string): string => {
  const lines = text.split("\n")
  const at = lines.findIndex((l) => l.startsWith(title))
  const row = lines.slice(at + 1).find((l) => l.includes(strategy)) ?? ""
  const cells = row
    .split(/\s{2,}|[|│]/u)
    .map((c) => c.trim())
    .filter((c) => c !== "")
  return cells.at(-1) ?? ""
}

describe("mull eval's summary", () => {
  it("counts runs with no complete candidate in pass@N and mean pass@1, as the report does", () => {
    const records = [
      // one run found the answer among its candidates
      record("p1", 0, { correct: true, correctCandidates: 2 }),
      // nine ran out of budget before any candidate was complete
      ...Array.from({ length: 9 }, (_, i) => record(`p${i + 2}`, 0, { done: 0, exhausted: true }))
    ]
    const text = summaryTables(records)
    const report = accuracy(configurations(records))[0]
    assert.isDefined(report)
    assert.strictEqual(cell(text, "accuracy", "beam"), "0.100")
    assert.strictEqual(cell(text, "pass@N", "beam"), "0.100")
    assert.strictEqual(cell(text, "mean pass@1", "beam"), "0.050")
    assert.strictEqual(cell(text, "pass@N", "beam"), report?.passAtN.toFixed(3))
    assert.strictEqual(cell(text, "mean pass@1", "beam"), report?.pass1.toFixed(3))
  })

  it("averages each problem's seeds first, then the problems (the report's weighting)", () => {
    const records = [
      record("p1", 0, { correct: true, correctCandidates: 1 }),
      record("p1", 1, { correct: true, correctCandidates: 1 }),
      record("p1", 2, { correct: true, correctCandidates: 1 }),
      record("p2", 0, {})
    ]
    // per run it would be 3/4; per problem (1 + 0) / 2
    assert.strictEqual(cell(summaryTables(records), "accuracy", "beam"), "0.500")
  })
})
