import { describe, expect, it } from "@effect/vitest"
import fc from "fast-check"
import { answerIs, boxed, byPattern, extract, extractAnswer, gsm8k } from "../../src/answer/Extract.ts"

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

  it("auto takes the last statement by position, a box over a later plain 'answer:'", () => {
    expect(
      extract("So \\boxed{255} is the interest. Final Answer: The final answer is $10,455$. I hope it is correct.")
    ).toBe("10,455")
    expect(extract("The answer is 5, no wait. Redoing it: \\boxed{7}")).toBe("7")
    expect(extract("So \\boxed{12}.\n\nLet me check my answer: 3 + 4 = 7.")).toBe("12")
    expect(extract("Final Answer: The largest $n$ is 34.")).toBe("34")
    expect(extract("Final Answer: Jane started growing Sphere 3 hours ago.")).toBe("3")
    expect(extract("She makes 9 * 2 = $18.\nA: 18")).toBe("18")
    expect(extract("The answer is 3,5")).toBe("3.5")
    expect(extract("I wonder whether the answer is correct.")).toBeUndefined()
  })

  it("free falls back to the last formula or number, else the text as written, and says which", () => {
    expect(extractAnswer("So the probability is $\\frac{3}{4}$.", "free")).toEqual({
      answer: "\\frac{3}{4}",
      how: "last-math"
    })
    expect(extractAnswer("$1$ and $2$ and $3$", "free")).toEqual({ answer: "1, 2, 3", how: "last-math" })
    expect(extractAnswer("the error grows by 100%.", "free")).toEqual({ answer: "100\\%", how: "last-number" })
    expect(extractAnswer("The price is 2,74 euros", "free")).toEqual({ answer: "2.74", how: "last-number" })
    expect(extractAnswer("x \\in [-2,7]", "free")).toEqual({ answer: "x \\in [-2,7]", how: "as-written" })
    expect(extractAnswer("AZYUK2A", "free")).toEqual({ answer: "AZYUK2A", how: "as-written" })
    expect(extractAnswer("Answer $ \n 9 \n $", "free")?.how).toBe("as-written")
    expect(extract("   ", "free")).toBeUndefined()
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
        for (const m of ["boxed", "gsm8k", "answer-is", "auto", "free"] as const) extract(s, m)
      }),
      { numRuns: 500 }
    )
  })
})
