/**
 * The grading dev set (test/fixtures/grading/dev.jsonl): (gold, prediction, expected verdict)
 * cases written for mull, one or more for each cause of disagreement with the best open graders
 * (free text, split boxes, "Final Answer:" sentences, statement position, GSM8K's `A:`, labels,
 * decimal commas, tuples, thousands, approximations, units, intervals, sums, equations, number
 * words) and the false positives to avoid. Graded as `mull grade FILE --response-field pred
 * --gold-field gold --label-field expected` does, with its defaults.
 */
import { readFileSync } from "node:fs"
import { describe, expect, it } from "@effect/vitest"
import { gradeJsonl } from "../../src/cli/grade.ts"

const text = readFileSync(new URL("../fixtures/grading/dev.jsonl", import.meta.url), "utf8")
const cases = text
  .split("\n")
  .filter((l) => l.trim() !== "")
  .map((l) => JSON.parse(l) as { readonly cause: string; readonly why: string; readonly expected: boolean })

describe("grading dev set", () => {
  it("covers every cause, with false cases among them", () => {
    const causes = [...new Set(cases.map((c) => c.cause))].sort()
    expect(causes).toEqual([
      "approx",
      "as-written",
      "decimal-comma",
      "equations",
      "evaluated",
      "final-answer",
      "free-text",
      "gsm8k",
      "intervals",
      "labelled",
      "negatives",
      "number-words",
      "position",
      "split-boxes",
      "thousands",
      "tuples",
      "units"
    ])
    for (const cause of causes.filter((c) => c !== "negatives"))
      expect(
        cases.some((c) => c.cause === cause && c.expected),
        cause
      ).toBe(true)
    expect(cases.filter((c) => !c.expected).length).toBeGreaterThanOrEqual(20)
  })

  it("agrees with every expected verdict with mull grade's defaults", () => {
    const { verdicts, problems } = gradeJsonl(text, {
      responseField: "pred",
      goldField: "gold",
      labelField: "expected",
      extract: "free",
      goldExtract: "free"
    })
    expect(problems).toEqual([])
    const wrong = verdicts
      .filter((v) => v.correct !== v.label)
      .map((v) => {
        const c = cases[v.line - 1]
        return `line ${v.line} (${c?.cause}: ${c?.why}): extracted ${JSON.stringify(v.extracted)}, gold ${JSON.stringify(v.gold)}, expected ${v.label}`
      })
    console.log(`grading dev set: agreement ${verdicts.length - wrong.length}/${verdicts.length}`)
    expect(wrong).toEqual([])
  })
})
