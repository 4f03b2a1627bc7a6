import { describe, expect, it } from "@effect/vitest"
import fc from "fast-check"
import { answerIs, boxed, byPattern, extract, gsm8k } from "../../src/answer/Extract.ts"

describe("boxed", () => {
  it.each([
    ["so $x = \\boxed{\\frac{1}{2}}$.", "\\frac{1}{2}"],
    ["nested \\boxed{\\left( 3, \\frac{\\pi}{2} \\right)}.", "\\left( 3, \\frac{\\pi}{2} \\right)"],
    [
      "first \\boxed{1}, and then, after a long detour through the cases that changes everything we knew, \\boxed{2}",
      "2"
    ],
    ["$x = \\boxed{2}$ or $x = \\boxed{3}$", "2, 3"],
    ["\\boxed{(2, 2)} \\quad \\text{and} \\quad \\boxed{(6, 2)}", "(2, 2), (6, 2)"],
    ["\\boxed{1} no no no no no \\boxed{2}", "2"],
    ["$$\\boxed{20}$$ \\boxed{143}", "143"],
    ["\\boxed{4}. So \\boxed{4}", "4"],
    ["\\fbox{7}", "7"],
    ["\\boxed{\\text{(C)}}", "\\text{(C)}"],
    ["escaped braces \\boxed{\\{1,2\\}}", "\\{1,2\\}"],
    ["\\boxed 5$ and more", "5"],
    ["\\boxed{ 12 }", "12"],
    ["\\boxed{\\begin{pmatrix} 1 \\\\ 2 \\end{pmatrix}}", "\\begin{pmatrix} 1 \\\\ 2 \\end{pmatrix}"]
  ])("%s → %s", (text, expected) => {
    expect(boxed(text)).toBe(expected)
  })

  it.each([
    ["no box at all"],
    ["a truncated \\boxed{\\frac{1}{2}"],
    ["an empty \\boxed{}"],
    ["\\boxedx{5} is another command"]
  ])("%s → nothing", (text) => {
    expect(boxed(text)).toBeUndefined()
  })

  it("reads back any balanced content put in the last box", () => {
    const balanced = fc
      .array(fc.constantFrom("a", "1", "+", "\\frac", "{x}", "{", "}", " ", "\\{", "\\}", "(", "]"), { maxLength: 20 })
      .map((ts) => ts.join(""))
      .filter((s) => {
        let depth = 0
        for (let i = 0; i < s.length; i++) {
          if (s[i] === "\\") i++
          else if (s[i] === "{") depth++
          else if (s[i] === "}" && --depth < 0) return false
        }
        return depth === 0 && s.trim() !== "" && !s.endsWith("\\")
      })
    fc.assert(
      fc.property(fc.string({ maxLength: 30 }), balanced, fc.string({ maxLength: 30 }), (before, content, after) => {
        fc.pre(!/\\(?:boxed|fbox)/.test(after) && !/\\$/.test(before))
        expect(boxed(`${before}\\boxed{${content}}${after}`)).toBe(content.trim())
      }),
      { numRuns: 300 }
    )
  })
})

describe("gsm8k", () => {
  it.each([
    ["She makes 9 * 2 = $<<9*2=18>>18 every day.\n#### 18", "18"],
    ["#### 1,000", "1,000"],
    ["#### -3\n", "-3"],
    ["#### 4.5.", "4.5"]
  ])("%j → %s", (text, expected) => {
    expect(gsm8k(text)).toBe(expected)
  })

  it("is nothing without ####", () => {
    expect(gsm8k("The answer is 5")).toBeUndefined()
    expect(gsm8k("####   \n")).toBeUndefined()
  })
})

describe("answer-is", () => {
  it.each([
    ["Thus the answer is $\\frac{3}{4}$.", "\\frac{3}{4}"],
    ["The answer is 42.", "42"],
    ["The answer is 3.5.", "3.5"],
    ["Final Answer: The final answer is $28 \\%$. I hope it is correct.", "28 \\%"],
    ["the answer is: \\(x+1\\)", "x+1"],
    ["So the final answer is \\boxed{7}.", "7"],
    ["answer: 12 apples\nmore text", "12 apples"]
  ])("%s → %s", (text, expected) => {
    expect(answerIs(text)).toBe(expected)
  })

  it("is nothing without the phrase", () => {
    expect(answerIs("We get 5.")).toBeUndefined()
  })
})

describe("extract", () => {
  it("auto prefers a box, then ####, then the answer phrase", () => {
    expect(extract("The answer is 3. \\boxed{4}")).toBe("4")
    expect(extract("The answer is 3.\n#### 4")).toBe("4")
    expect(extract("The answer is 3.")).toBe("3")
  })

  it("never guesses: no answer is undefined", () => {
    expect(extract("I think it is 5")).toBeUndefined()
    expect(extract("")).toBeUndefined()
    expect(extract("#### 5", "boxed")).toBeUndefined()
  })

  it("takes a dataset's own pattern", () => {
    expect(extract("Answer: (B) because…", { pattern: /Answer: \((?<answer>[A-E])\)/ })).toBe("B")
    expect(byPattern("x=1; x=2", /x=(\d)/)).toBe("2")
    expect(byPattern("no match", /x=(\d)/)).toBeUndefined()
  })

  it("never throws on arbitrary text", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (s) => {
        for (const m of ["boxed", "gsm8k", "answer-is", "auto"] as const) extract(s, m)
      }),
      { numRuns: 500 }
    )
  })
})
