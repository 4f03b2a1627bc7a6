/**
 * Exact polynomials (src/answer/Polynomial.ts): the subset read, what is refused, and — against
 * the algebra engine on random expressions — the same verdicts and fingerprints, so the fast path
 * changes how fast a vote is, never what it decides.
 */
import { describe, expect, it } from "@effect/vitest"
import fc from "fast-check"
import { evaluate, normalForm, type Polynomial, polynomial } from "../../src/answer/Polynomial.ts"
import {
  constantValue,
  fingerprint,
  fingerprintByEngine,
  identical,
  identicalByEngine
} from "../../src/answer/Symbolic.ts"

const form = (latex: string): string | undefined => {
  const p = polynomial(latex)
  return p === undefined ? undefined : normalForm(p)
}

/** An expanded spelling of a polynomial, as a student might write it. */
const latexOf = (p: Polynomial): string => {
  const terms = [...p.entries()].map(([monomial, c]) => {
    const mag = c.num < 0n ? -c.num : c.num
    const coef = c.den === 1n ? (mag === 1n && monomial !== "" ? "" : `${mag}`) : `\\frac{${mag}}{${c.den}}`
    const vars = monomial
      .split("*")
      .filter((m) => m !== "")
      .map((m) => {
        const [v, e] = m.split("^")
        return e === undefined ? `${v}` : `${v}^{${e}}`
      })
      .join("")
    return { negative: c.num < 0n, text: `${coef}${vars}` }
  })
  if (terms.length === 0) return "0"
  return terms.map((t, i) => (t.negative ? `-${t.text}` : i === 0 ? t.text : `+${t.text}`)).join("")
}

describe("exact polynomials", () => {
  it("reads the spellings of one polynomial to one normal form", () => {
    const spellings = ["(x+3)^2", "(3+x)^2", "x^2+6x+9", "9+6x+x^2", "x\\cdot x+3\\cdot 2x+9", "{(x+3)}^{2}"]
    const forms = new Set(spellings.map(form))
    expect(forms.size).toBe(1)
    expect([...forms][0]).toBe("9;6*x;1*x^2")
    expect(form("\\frac{x}{2}-1")).toBe("-1;1/2*x")
    expect(form("x/2-1")).toBe(form("\\frac{x}{2}-1"))
    expect(form("2\\pi")).toBe(form("\\pi+\\pi"))
    expect(form("xy-yx")).toBe("")
    expect(form("(x+y)^{3}")).toBe(form("x^3+3x^2y+3xy^2+y^3"))
  })

  it("refuses what it does not read exactly as the engine does", () => {
    for (const latex of [
      "0.5x", // a decimal matches by its rounding rule
      "2e", // Euler's number
      "3i", // the imaginary unit
      "N+1", // reserved by the engine
      "\\sqrt{2}",
      "x^22", // x²·2 in TeX
      "(x)2",
      "x 2",
      "1/2x", // ambiguous
      "\\frac{1}{x}", // not a polynomial
      "\\frac{1}{0}",
      "x^{-1}",
      "x^{y}",
      "x^{2^{3}}",
      "(x+1)^{300}", // coefficients too big to be worth it here: the engine's guard decides
      "\\alpha+1",
      "x+",
      "(x+1",
      ""
    ])
      expect(polynomial(latex), latex).toBeUndefined()
  })

  it("evaluates at a point, π as a number", () => {
    const p = polynomial("x^2+\\pi")
    expect(p).toBeDefined()
    if (p !== undefined) expect(evaluate(p, () => 2)).toBeCloseTo(4 + Math.PI, 12)
    expect(constantValue("\\frac{3}{4}\\pi")).toBeCloseTo((3 * Math.PI) / 4, 12)
    expect(constantValue("x+1")).toBeUndefined()
  })

  /** Random polynomials in x and y, in the spellings answers use. */
  const expression: fc.Arbitrary<string> = fc.letrec<{ sum: string; term: string; factor: string }>((tie) => ({
    sum: fc
      .tuple(fc.boolean(), fc.array(fc.tuple(fc.constantFrom("+", "-"), tie("term")), { minLength: 1, maxLength: 3 }))
      .map(([lead, terms]) =>
        terms.map(([op, t], i) => (i === 0 ? (lead && op === "-" ? `-${t}` : t) : `${op}${t}`)).join("")
      ),
    term: fc
      .tuple(
        fc.option(fc.integer({ min: 1, max: 12 }), { nil: undefined }),
        fc.array(tie("factor"), { minLength: 1, maxLength: 2 }),
        fc.constantFrom("", "\\cdot ")
      )
      .map(([c, fs, join]) => `${c === undefined ? "" : `${c}${join}`}${fs.join(join)}`),
    factor: fc.oneof(
      { maxDepth: 2, depthSize: "small", withCrossShrink: true },
      fc.constantFrom("x", "y"),
      fc.tuple(fc.constantFrom("x", "y"), fc.integer({ min: 2, max: 3 })).map(([v, e]) => `${v}^${e}`),
      fc.tuple(tie("sum"), fc.integer({ min: 1, max: 3 })).map(([s, e]) => `(${s})^{${e}}`),
      fc.tuple(tie("sum"), fc.integer({ min: 2, max: 5 })).map(([s, d]) => `\\frac{${s}}{${d}}`)
    )
  })).sum

  it("gives the engine's verdict on random pairs, equal and not", () => {
    fc.assert(
      fc.property(expression, expression, fc.boolean(), (a, other, expanded) => {
        const p = polynomial(a)
        expect(p, a).toBeDefined()
        if (p === undefined) return
        // half the pairs are a polynomial and its expansion (equal), half two random ones
        const b = expanded ? latexOf(p) : other
        expect(identical(a, b), `${a} vs ${b}`).toBe(identicalByEngine(a, b))
      }),
      { numRuns: 40, seed: 20261205 }
    )
  }, 120_000)

  it("fingerprints as the engine does", () => {
    fc.assert(
      fc.property(expression, (a) => {
        const fast = fingerprint(a)
        const slow = fingerprintByEngine(a)
        expect(fast === undefined, a).toBe(slow === undefined)
        if (fast !== undefined && slow !== undefined)
          expect(Math.abs(fast.re - slow.re), a).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(slow.re)))
      }),
      { numRuns: 30, seed: 5 }
    )
  }, 120_000)
})
