/**
 * The simulated reasoner's multiple-choice answers: a letter stays itself, and an answer in another
 * shape (a distractor) is a wrong option, the same one every time, spread over the wrong options.
 */
import { describe, expect, it } from "vitest"
import { choiceOf } from "../../plugins/simulated/AnswerKinds.ts"
import type { AnswerSpec } from "../../src/domain/AnswerKind.ts"

const FOUR: AnswerSpec = { kind: "choice", options: ["It halves", "It stays", "It doubles", "It quadruples"] }

describe("simulated multiple-choice answers", () => {
  it("keeps letters and option texts", () => {
    expect(choiceOf("(B)", FOUR, "C")).toBe("B")
    expect(choiceOf("C", FOUR, "C")).toBe("C")
    expect(choiceOf("It doubles", FOUR, "C")).toBe("C")
  })

  it("reads another shape as a wrong option, deterministically and spread", () => {
    const distractors = ["-C", "2(C)", "C + 1", "E", "F", "\\frac{C}{2}", "C^2", "10C", "G", "H"]
    const chosen = distractors.map((d) => choiceOf(d, FOUR, "C"))
    for (const c of chosen) expect(["A", "B", "D"]).toContain(c)
    expect(distractors.map((d) => choiceOf(d, FOUR, "C"))).toEqual(chosen)
    expect(new Set(chosen).size).toBeGreaterThan(1)
  })

  it("without a letter gold any option may be named; with one option, none is wrong", () => {
    expect(["A", "B", "C", "D"]).toContain(choiceOf("-C", FOUR, undefined))
    expect(choiceOf("-A", { kind: "choice", options: ["only"] }, "A")).toBeUndefined()
  })
})
