import { describe, expect, it } from "@effect/vitest"
import { normalize } from "../../src/answer/Normalize.ts"
import { matchesValue, numberKey, parseNumber, sameNumber } from "../../src/answer/Numbers.ts"
import { admissible } from "../../src/answer/Symbolic.ts"

describe("normalize: the Hendrycks / PRM800K rules", () => {
  it.each([
    ["\\left( 3, \\frac{\\pi}{2} \\right)", "(3,\\frac{\\pi}{2})", "\\left \\right and spaces"],
    ["10,\\!080", "10080", "\\! and the thousands separator"],
    ["58,500", "58500", "a plain thousands separator"],
    ["106^\\circ", "106", "^\\circ"],
    ["90^{\\circ}", "90", "^{\\circ}"],
    ["\\$18.90", "18.9", "\\$ and trailing zeros"],
    ["198\\%", "198", "\\%"],
    ["100\\text{ square units}", "100", "\\text{units}"],
    ["\\dfrac{17}{50}", "\\frac{17}{50}", "dfrac → frac"],
    ["\\tfrac{1}{2}", "\\frac{1}{2}", "tfrac → frac"],
    ["\\frac12", "\\frac{1}{2}", "\\frac12 → \\frac{1}{2}"],
    ["\\frac9{19}", "\\frac{9}{19}", "\\frac9{19}"],
    ["\\frac 34", "\\frac{3}{4}", "\\frac 34"],
    ["\\sqrt2", "\\sqrt{2}", "\\sqrt2 → \\sqrt{2}"],
    ["3/4", "\\frac{3}{4}", "a/b → \\frac{a}{b}"],
    ["-3/4", "-\\frac{3}{4}", "signed a/b"],
    [".5", "0.5", "leading .5 → 0.5"],
    ["x = 5", "5", "x = 5 → 5"],
    ["\\text{Evelyn}", "evelyn", "text unwrapped, words in lower case"],
    ["\\text{(B)}", "B", "a choice"],
    ["x \\in [-2,7]", "[-2,7]", "x \\in"],
    ["1 \\pm \\sqrt{19}", "1+\\sqrt{19},1-\\sqrt{19}", "\\pm as two answers"],
    ["\\begin{bmatrix} 1 & 2 \\\\ 3 & 4 \\end{bmatrix}", "\\begin{pmatrix}1&2\\\\3&4\\end{pmatrix}", "matrices"],
    ["\\cot x", "\\cot x", "a space that separates a command from a letter stays"],
    ["x^{2} + y_{1}", "x^2+y_1", "single-character scripts"],
    ["5x - 7y + 11z + 4 = 0", "5x-7y+11z+4=0", "an equation with a long left side stays"],
    ["4:30 \\text{ p.m.}", "4:30p.m", "a time of day keeps p.m."]
  ])("%s → %s (%s)", (input, expected) => {
    expect(normalize(input)).toBe(expected)
    expect(normalize(expected)).toBe(expected)
  })
})

describe("Numbers", () => {
  it.each([
    ["0.5", "1/2"],
    ["\\frac{1}{2}", "1/2"],
    ["1/2", "1/2"],
    ["-\\frac{6}{4}", "-3/2"],
    ["\\frac{-6}{-4}", "3/2"],
    ["1\\frac{4}{5}", "9/5"],
    ["-1\\frac{1}{2}", "-3/2"],
    ["6.29\\cdot10^{6}", "6290000"],
    ["10^{-3}", "1/1000"],
    ["1.5e3", "1500"],
    ["007", "7"]
  ])("%s is %s", (text, key) => {
    const n = parseNumber(text)
    expect(n && numberKey(n)).toBe(key)
  })

  it.each([["x"], ["2e+1"], ["\\frac{1}{0}"], ["1/0"], [`1${"0".repeat(500)}`], ["10^{1000}"], ["\\frac{x}{2}"]])(
    "%s is not a number literal",
    (text) => {
      expect(parseNumber(text)).toBeUndefined()
    }
  )

  it("tolerates only correct roundings within 1e-4", () => {
    const n = (s: string) => {
      const x = parseNumber(s)
      if (x === undefined) throw new Error(s)
      return x
    }
    expect(sameNumber(n("0.3333"), n("\\frac{1}{3}"))).toBe(true)
    expect(sameNumber(n("0.33333"), n("0.3333"))).toBe(true)
    expect(sameNumber(n("0.35626"), n("0.35625"))).toBe(false)
    expect(sameNumber(n("0.3563"), n("0.35625"))).toBe(false)
    expect(sameNumber(n("10081"), n("10080"))).toBe(false)
    expect(matchesValue(n("1.4142"), Math.SQRT2)).toBe(true)
    expect(matchesValue(n("1.414"), Math.SQRT2)).toBe(false)
    expect(matchesValue(n("1.4143"), Math.SQRT2)).toBe(false)
    expect(matchesValue(n("2"), Number.NaN)).toBe(false)
  })
})

describe("Symbolic.admissible: the guard in front of the CAS", () => {
  it.each([
    ["(x+1)^2"],
    ["\\frac{\\sqrt{3}}{3}"],
    ["2^{300}"],
    ["170!"],
    ["\\sin^2 x+\\cos^2 x"],
    ["\\binom{5}{2}"],
    ["\\sum_{k=1}^{10} k^2"],
    ["\\prod_{k=1}^{5} k"]
  ])("admits %s", (s) => {
    expect(admissible(s)).toBe(true)
  })

  it.each([
    ["9^{9^{9}}", "a power tower"],
    ["2^{301}", "an exponent over 300"],
    ["171!", "a factorial over 170"],
    ["(x+1)!", "a factorial of an expression"],
    ["\\int_0^1 x dx", "a command outside school algebra"],
    ["\\sum_{n=1}^{10} n = 55", "an equals sign outside a sum's index"],
    ["\\text{east}", "text"],
    ["east", "a word"],
    ["a+b+c+d+f+g+h+j+k", "more than 8 variables"],
    [`${"1".repeat(31)}`, "an integer over 30 digits"],
    [`${"x+".repeat(100)}x`, "more than 200 characters"],
    ["4:30", "a character outside the language"]
  ])("refuses %s (%s)", (s) => {
    expect(admissible(s)).toBe(false)
  })
})
