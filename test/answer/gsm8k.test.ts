/**
 * GSM8K-style model solutions graded with `mull grade`'s defaults: the reasoning of each GSM8K
 * test solution (read from ../shared/data, never copied), ending in `A: <number>` as few-shot
 * GSM8K prompts teach models to answer, four per problem (two right, two wrong, in the spellings
 * models use: `A: 18`, `A: $18`, `A: 1,080 dollars.`, `A: The answer is 18.`). The gold is the
 * number after `####`; the label says whether the solution's number is that number.
 */
import { readFileSync } from "node:fs"
import { describe, expect, it } from "@effect/vitest"
import { gradeJsonl } from "../../src/cli/grade.ts"

const rows = readFileSync(new URL("../../../shared/data/gsm8k/test.jsonl", import.meta.url), "utf8")
  .split("\n")
  .filter((l) => l.trim() !== "")
  .map((l) => JSON.parse(l) as { readonly question: string; readonly answer: string })

/** `1080` → `1,080` (models group thousands about as often as not). */
const grouped = (n: string): string => n.replace(/^(-?\d+)/, (whole) => whole.replace(/\B(?=(\d{3})+(?!\d))/g, ","))

/** A wrong number near the right one, different from it whatever its spelling. */
const wrong = (gold: string, k: number): string => {
  const x = Number(gold.replaceAll(",", ""))
  const candidates = [x + 1, x * 2, x - 10, x + 0.5, x / 2 + 3]
  const w = candidates[k % candidates.length] ?? x + 1
  return String(w === x ? x + 7 : w)
}

/** Four solutions per problem: right and wrong, each in two of the spellings. */
const solutions = (): Array<{ readonly solution: string; readonly gold: string; readonly correct: boolean }> =>
  rows.flatMap((r, i) => {
    const [reasoning = "", tail = ""] = r.answer.split("####")
    // the calculator annotations are GSM8K's, not a model's
    const text = reasoning.replace(/<<[^>]*>>/g, "").trim()
    const gold = tail.trim().replaceAll(",", "")
    const bad = wrong(gold, i)
    const spell = (n: string, k: number): string =>
      [`A: ${n}`, `A: $${n}`, `A: ${grouped(n)} dollars.`, `A: The answer is ${n}.`, `A: ${grouped(n)}`][k % 5] ?? n
    return [
      { solution: `${text}\n${spell(gold, i)}`, gold, correct: true },
      { solution: `${text}\n${spell(gold, i + 2)}`, gold, correct: true },
      { solution: `${text}\n${spell(bad, i + 1)}`, gold, correct: false },
      { solution: `${text}\n${spell(bad, i + 3)}`, gold, correct: false }
    ]
  })

describe("GSM8K-style solutions ending in A: <number>", () => {
  it("agrees with the labels on ≥ 99% of 5,276 solutions with mull grade's defaults", () => {
    const all = solutions()
    const jsonl = all.map((s) => JSON.stringify(s)).join("\n")
    const { verdicts, problems } = gradeJsonl(jsonl, {
      responseField: "solution",
      goldField: "gold",
      labelField: "correct",
      extract: "free",
      goldExtract: "free"
    })
    expect(problems).toEqual([])
    expect(verdicts).toHaveLength(5276)
    const disagreements = verdicts.filter((v) => v.label !== v.correct)
    const rate = 1 - disagreements.length / verdicts.length
    const found = verdicts.filter((v) => v.how === "a-colon" || v.how === "answer-is").length
    console.log(
      [
        `GSM8K A: solutions: agreement ${(100 * rate).toFixed(2)}% (${verdicts.length - disagreements.length}/${verdicts.length}), answer statement found in ${found}`,
        ...disagreements.slice(0, 10).map((v) => `  line ${v.line}: ${JSON.stringify(v.extracted)} vs ${v.gold}`)
      ].join("\n")
    )
    expect(found).toBe(verdicts.length)
    expect(rate).toBeGreaterThanOrEqual(0.99)
  })
})
