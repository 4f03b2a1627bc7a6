/**
 * Answers by kind: extraction, equivalence, voting keys and grading for number, multiple choice
 * and free text (math is the rest of test/answer), and properties of the keys.
 */
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { answerKeyFor, equivalentFor, extractFor, gradeFor, keyFor, letterOf } from "../../src/answer/Kinds.ts"
import * as MathGrader from "../../src/answer/MathGrader.ts"
import type { AnswerSpec } from "../../src/domain/AnswerKind.ts"
import { makeProblem } from "../../src/domain/Problem.ts"

const CHOICE: AnswerSpec = { kind: "choice", options: ["red", "blue", "green", "yellow"] }
const FREE: AnswerSpec = { kind: "free" }
const NUMBER: AnswerSpec = { kind: "number" }

describe("multiple choice", () => {
  it.each([
    ["Answer: (B)", "B"],
    ["The answer is C.", "C"],
    ["\\boxed{D}", "D"],
    ["\\boxed{\\text{(A)}}", "A"],
    ["I pick blue.\n\nAnswer: blue", "B"],
    ["Looking at (A) and (C), the correct option is C because it fits.", "C"],
    ["Answer: (B) blue", "B"],
    ["Therefore, the answer is option d", "D"],
    ["Only (A) and (B) are wrong; (C) is right.", "C"],
    ["a", "A"]
  ])("%j → %s", (text, letter) => {
    expect(extractFor(CHOICE, text)).toBe(letter)
  })

  it("letters beyond the options, and prose, are no answer", () => {
    expect(extractFor(CHOICE, "Answer: F")).toBeUndefined()
    expect(extractFor(CHOICE, "I am not sure about this one")).toBeUndefined()
    expect(letterOf("A bit more", CHOICE)).toBeUndefined()
  })

  it("grades by letter, a gold written as a letter, (B) or the option's text", () => {
    expect(gradeFor(CHOICE, "B", "b")).toBe(true)
    expect(gradeFor(CHOICE, "blue", "B")).toBe(true)
    expect(gradeFor(CHOICE, "(B)", "\\text{(B)}")).toBe(true)
    expect(gradeFor(CHOICE, "A", "B")).toBe(false)
    expect(gradeFor(CHOICE, undefined, "B")).toBe(false)
    const p = makeProblem({ id: "q", question: "?", gold: "C", answer: CHOICE })
    expect(MathGrader.grader.grade(p, "C")).toBe(true)
    expect(MathGrader.grader.grade(p, "green")).toBe(true)
    expect(MathGrader.grader.grade(p, "c) green")).toBe(true)
    expect(MathGrader.grader.grade(p, "D")).toBe(false)
  })

  it("keys: the same letter however written", () => {
    expect(keyFor(CHOICE, "\\text{(B)}")).toBe(keyFor(CHOICE, "b"))
    expect(keyFor(CHOICE, "blue")).toBe(keyFor(CHOICE, "B"))
    expect(keyFor(CHOICE, "A")).not.toBe(keyFor(CHOICE, "B"))
  })
})

describe("numbers", () => {
  it.each([
    ["She pays 18 dollars.\nA: 18 dollars", "18"],
    ["In all, 1,080 apples", "1080"],
    ["#### 72", "72"],
    ["so the answer is 3.5 hours", "3.5"],
    ["\\boxed{12}", "12"]
  ])("%j → %s", (text, n) => {
    expect(extractFor(NUMBER, text)).toBe(n)
  })

  it("compare and key by value", () => {
    expect(equivalentFor(NUMBER, "1,080", "1080")).toBe(true)
    expect(equivalentFor(NUMBER, "$18", "18 dollars")).toBe(true)
    expect(equivalentFor(NUMBER, "18", "19")).toBe(false)
    expect(keyFor(NUMBER, "0.50")).toBe(keyFor(NUMBER, "0.5"))
  })
})

describe("free text", () => {
  it.each([
    ["Paris is the capital.\n\nAnswer: Paris", "Paris"],
    ["It was written by Mary Shelley in 1818.", "It was written by Mary Shelley in 1818"],
    ["**Final Answer:** The Nile.", "The Nile"],
    ["The answer is the Amazon river", "the Amazon river"],
    ["First paragraph.\n\nSecond, last paragraph.", "Second, last paragraph"]
  ])("%j → %j", (text, answer) => {
    expect(extractFor(FREE, text)).toBe(answer)
  })

  it("compares by SQuAD's normalisation, and as math without words", () => {
    expect(gradeFor(FREE, "The Nile.", "nile")).toBe(true)
    expect(gradeFor(FREE, "the amazon", "Amazon River")).toBe(false)
    expect(gradeFor(FREE, "\\frac12", "0.5")).toBe(true)
    expect(keyFor(FREE, "The Nile.")).toBe(keyFor(FREE, "nile"))
    expect(answerKeyFor(FREE).equivalent("An apple", "apple!")).toBe(true)
  })
})

describe("kind keys: properties", () => {
  const specs = fc.constantFrom<AnswerSpec>(CHOICE, FREE, NUMBER, { kind: "math" })
  it("keys and equivalence never throw; equivalence is symmetric and reflexive on what is extracted", () => {
    fc.assert(
      fc.property(specs, fc.string({ maxLength: 30 }), fc.string({ maxLength: 30 }), (spec, a, b) => {
        keyFor(spec, a)
        expect(equivalentFor(spec, a, b)).toBe(equivalentFor(spec, b, a))
        const x = extractFor(spec, a)
        if (x !== undefined && (spec.kind === "choice" || spec.kind === "number"))
          expect(equivalentFor(spec, x, x)).toBe(true)
      }),
      { numRuns: 300 }
    )
  })

  it("distinct letters never share a key", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 3 }), (i, j) => {
        const a = String.fromCharCode(65 + i)
        const b = String.fromCharCode(65 + j)
        expect(keyFor(CHOICE, `(${a})`) === keyFor(CHOICE, b)).toBe(i === j)
      })
    )
  })
})
