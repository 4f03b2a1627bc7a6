import { readFileSync } from "node:fs"
import { beforeAll, describe, expect, it } from "@effect/vitest"
import fc from "fast-check"
import { answerKey, equivalent } from "../../src/answer/Equivalence.ts"
import { normalize } from "../../src/answer/Normalize.ts"

const DATA = new URL("../../../shared/data/", import.meta.url)
const jsonl = (path: string): Array<Record<string, unknown>> =>
  readFileSync(new URL(path, DATA), "utf8")
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => JSON.parse(l) as Record<string, unknown>)

/** Fragments of answers as models and datasets write them, glued at random. */
const TOKENS = [
  "\\frac",
  "\\dfrac",
  "{",
  "}",
  "(",
  ")",
  "[",
  "]",
  "\\{",
  "\\}",
  ",",
  "=",
  "x",
  "y",
  "1",
  "2",
  "3",
  "0.5",
  ".",
  "-",
  "+",
  "^",
  "_",
  "\\sqrt",
  "\\pi",
  "\\pm",
  "\\text{",
  "\\left(",
  "\\right)",
  "\\boxed{",
  " ",
  "\\%",
  "%",
  "\\$",
  "$",
  "\\cup",
  "\\in",
  ";",
  ":",
  "!",
  "\\approx",
  "\\binom",
  "\\sum_{k=1}^",
  " and ",
  "three",
  "\\begin{pmatrix}",
  "\\end{pmatrix}",
  "&",
  "\\\\",
  "\\le",
  "<",
  "\\infty",
  "cm",
  " or ",
  " and ",
  "^\\circ",
  "\\!",
  ",\\!",
  "/",
  "e",
  "i",
  "\\cdot",
  "!",
  "10",
  "000",
  "\\mbox{ ",
  "units",
  "p.m.",
  "\\",
  "\\text{ cm}",
  "sqrt",
  "pi",
  "*",
  "\\times",
  "ab",
  "east",
  "(B)",
  "\\mathbb{R}",
  "\\emptyset",
  "0",
  "e3",
  ":",
  ";",
  "'",
  "\\mathrm{",
  "\\sin",
  "\\log",
  "a",
  "b",
  "c",
  "^{",
  "9",
  "99",
  "N",
  "\\gamma",
  "\u03c0",
  "\u2212"
]
const latexish = fc.array(fc.constantFrom(...TOKENS), { maxLength: 30 }).map((ts) => ts.join(""))
const anyText = fc.oneof(fc.string({ maxLength: 40 }), fc.string({ unit: "grapheme", maxLength: 30 }), latexish)

/** Expensive shapes: big powers, towers, factorials, deep nesting, many variables. */
const adversarial = fc
  .tuple(
    fc.constantFrom("(a+b+c+d)", "(x+1)", "(a+b+c+d+f+g+h)", "9", "2", "(x-y)", "\\sqrt{2}", "(1+\\sqrt{2})"),
    fc.integer({ min: 1, max: 400 }),
    fc.constantFrom("", "+1", "(a+b+c+d+10^{-7})", "!", "^{9^{9}}", "\\cdot x", "-(x-1)^{200}")
  )
  .map(([base, n, tail]) => `${base}^{${n}}${tail}`)

/** Random expression trees over atoms that make big numbers: powers up to 300, factorials, surds. */
const expressionTree = fc.letrec((tie) => ({
  e: fc.oneof(
    { depthSize: "small" },
    fc.constantFrom("a", "x", "y", "2", "\\pi", "e", "i", "\\sqrt{2}", "\\sin x", "10^{-7}", "N", "7!", "170!"),
    fc.tuple(tie("e"), fc.constantFrom("+", "-", "\\cdot ", ""), tie("e")).map(([a, o, b]) => `(${a})${o}(${b})`),
    fc.tuple(tie("e"), fc.integer({ min: 2, max: 300 })).map(([a, n]) => `(${a})^{${n}}`),
    fc.tuple(tie("e"), tie("e")).map(([a, b]) => `\\frac{${a}}{${b}}`),
    tie("e").map((a) => `\\sqrt{${a}}`),
    fc
      .tuple(fc.constantFrom("sum", "prod"), fc.integer({ min: 1, max: 400 }), tie("e"))
      .map(([op, n, a]) => `\\${op}_{k=1}^{${n}} (k+${a})`),
    fc
      .tuple(fc.integer({ min: 1, max: 1200 }), fc.integer({ min: 0, max: 600 }))
      .map(([n, k]) => `\\binom{${n}}{${k}}`),
    fc.tuple(tie("e"), fc.integer({ min: 0, max: 300 })).map(([a, k]) => `\\binom{${a}}{${k}}`)
  )
})).e as fc.Arbitrary<string>

const BOUND_MS = 2000

describe("normalize", () => {
  it("is idempotent on arbitrary strings and LaTeX-like input", () => {
    fc.assert(
      fc.property(anyText, (s) => {
        const once = normalize(s)
        expect(normalize(once)).toBe(once)
      }),
      { numRuns: 3000 }
    )
  })

  it("is idempotent on every MATH-500 answer and every Qwen prediction", () => {
    const answers = [
      ...jsonl("math500/test.jsonl").map((r) => String(r.answer)),
      ...jsonl("qwen25-math-rm-pool/math_cot_50.jsonl").flatMap((r) => (r.pred as Array<string>).map(String))
    ]
    for (const a of answers) expect(normalize(normalize(a))).toBe(normalize(a))
  })
})

describe("equivalent", () => {
  // the first CAS comparison of a process builds and warms up the engine (about 1 s), once
  beforeAll(() => {
    equivalent("x^2+2x+1", "(x+1)^2")
  })

  it("is reflexive and symmetric, never throws, and equal keys imply it", () => {
    fc.assert(
      fc.property(anyText, anyText, (a, b) => {
        expect(equivalent(a, a)).toBe(true)
        const ab = equivalent(a, b)
        expect(equivalent(b, a)).toBe(ab)
        if (answerKey(a) === answerKey(b)) expect(ab).toBe(true)
      }),
      { numRuns: 1500 }
    )
  })

  it("never hangs: each call on adversarial input finishes within 2 s", () => {
    let worst = 0
    fc.assert(
      fc.property(adversarial, adversarial, (a, b) => {
        const start = performance.now()
        equivalent(a, b)
        equivalent(a, normalize(a))
        const ms = performance.now() - start
        worst = Math.max(worst, ms)
        expect(ms).toBeLessThan(BOUND_MS)
      }),
      { numRuns: 150 }
    )
    console.log(`slowest adversarial comparison: ${worst.toFixed(0)} ms`)
  })

  it("never hangs on random expression trees with big powers, factorials, sums, products and binomials", () => {
    let worst = 0
    fc.assert(
      fc.property(expressionTree, expressionTree, (a, b) => {
        const start = performance.now()
        equivalent(a, b)
        const ms = performance.now() - start
        worst = Math.max(worst, ms)
        expect(ms).toBeLessThan(BOUND_MS)
      }),
      { numRuns: 200 }
    )
    console.log(`slowest expression-tree comparison: ${worst.toFixed(0)} ms`)
  })

  it.each([
    ["an expansion to degree 25", "(a+b+c+d)^{25}", "(a+b+c+d)^{24}(a+b+c+d+10^{-7})"],
    ["a power tower", "9^{9^{9}}", "9^{9^{9}}+1"],
    ["a tower of tens", "10^{10^{10}}", "1"],
    ["a huge binomial", "\\binom{1000000}{500000}", "3"],
    ["a binomial of a quotient (its weight was NaN, and it exhausted the heap)", "\\binom{\\frac{7!}{a}}{4}", "170!"],
    ["a symbolic binomial", "\\binom{(x)^{4}}{195}", "\\binom{276}{1}"],
    ["a factorial of a quotient", "(\\frac{7!}{a})!", "5"],
    ["a sum of 10^9 terms", "\\sum_{n=1}^{10^{9}} n", "5"],
    ["degree-300 binomials", "(x+y)^{300}-(x-y)^{300}", "2"],
    ["a 300th power of a surd", "(1+\\sqrt{2})^{300}", "(1-\\sqrt2)^{300}"],
    [
      "a product in 8 variables",
      "(a-b)(b-c)(c-d)(d-f)(f-g)(g-h)(h-j)(j-a)",
      "(a-b)(b-c)(c-d)(d-f)(f-g)(g-h)(h-j)(a-j)"
    ],
    ["60 nested roots", `${"\\sqrt{".repeat(60)}2${"}".repeat(60)}`, "1"],
    ["500 nested braces", "{".repeat(500) + "}".repeat(500), "x"],
    ["1000 open parentheses", "(".repeat(1000), ")".repeat(1000)],
    ["300 bare \\frac", "\\frac".repeat(300), "1"],
    ["a power of a power of a tiny number", "((\\sqrt{(10^{-7})^{258}})\\cdot (a))^{300}", "(2\\sqrt{2})(e-7!)"],
    ["a power of a factorial", "\\sqrt{(170!)^{300}}", "((\\sqrt{y})-(\\pi))((170!)\\cdot (y))"]
  ])("bounds %s", (_label, a, b) => {
    const start = performance.now()
    expect(equivalent(a, b)).toBe(false)
    expect(performance.now() - start).toBeLessThan(BOUND_MS)
  })
})

/** The exact decimal of p/q when q divides a power of ten. */
const decimalOf = (p: number, q: number): string | undefined => {
  let places = 0
  while (places <= 12 && 10 ** places % q !== 0) places++
  if (10 ** places % q !== 0) return undefined
  const digits = (BigInt(Math.abs(p)) * 10n ** BigInt(places)) / BigInt(q)
  const s = digits.toString().padStart(places + 1, "0")
  const body = places === 0 ? s : `${s.slice(0, -places)}.${s.slice(-places)}`
  return `${p < 0 && digits !== 0n ? "-" : ""}${body}`
}

/** Spellings of the number p/q: fractions, slashes, unreduced, mixed, decimals, scientific, separators, wrappers. */
const spellings = (p: number, q: number, k: number): Array<string> => {
  const sign = p < 0 ? "-" : ""
  const a = Math.abs(p)
  const out = [
    `\\frac{${p}}{${q}}`,
    `${sign}\\dfrac{${a}}{${q}}`,
    `${p}/${q}`,
    `\\frac{${p * k}}{${q * k}}`,
    `${sign}\\tfrac${a < 10 && q < 10 ? `${a}${q}` : `{${a}}{${q}}`}`
  ]
  if (a >= q && a % q !== 0) out.push(`${sign}${Math.floor(a / q)}\\frac{${a % q}}{${q}}`)
  const dec = decimalOf(p, q)
  if (dec !== undefined) {
    out.push(dec, `${dec}${dec.includes(".") ? "" : "."}000`, dec.replace(/^(-?)0\./, "$1."))
    const [whole = "", frac = ""] = dec.replace("-", "").split(".")
    const digits = `${whole}${frac}`.replace(/^0+/, "") || "0"
    const exponent = whole === "0" ? -(frac.search(/[1-9]/) + 1) : whole.length - 1
    if (digits !== "0")
      out.push(`${sign}${digits[0]}${digits.length > 1 ? `.${digits.slice(1)}` : ""}\\times 10^{${exponent}}`)
  }
  if (q === 1 && a >= 1000) out.push(p.toLocaleString("en-US"), p.toLocaleString("en-US").replaceAll(",", ",\\!"))
  const first = out[0] ?? ""
  out.push(`x = ${first}`, `\\boxed{${first}}`, `$${first}$`, `\\left( ${first} \\right)`)
  return out
}

describe("numbers in different notations", () => {
  const rational = fc.record({
    p: fc.integer({ min: -5000, max: 5000 }),
    q: fc.constantFrom(1, 2, 3, 4, 5, 7, 8, 10, 16, 20, 25, 40, 64, 125, 12),
    k: fc.integer({ min: 2, max: 9 })
  })

  it("are equivalent and share one key", () => {
    fc.assert(
      fc.property(rational, ({ p, q, k }) => {
        const forms = spellings(p, q, k)
        const key = answerKey(forms[0] ?? "")
        for (const f of forms) {
          expect(answerKey(f), f).toBe(key)
          expect(equivalent(f, forms[0] ?? ""), `${f} ~ ${forms[0]}`).toBe(true)
        }
      }),
      { numRuns: 300 }
    )
  })

  it("as a percentage equal the ratio", () => {
    fc.assert(
      fc.property(fc.integer({ min: -100000, max: 100000 }), (n) => {
        const ratio = decimalOf(n, 100) ?? ""
        expect(equivalent(`${n}\\%`, ratio), `${n}% ~ ${ratio}`).toBe(true)
        expect(equivalent(`${n}\\%`, `${n}`)).toBe(true)
      }),
      { numRuns: 200 }
    )
  })

  it("differ from their neighbours", () => {
    fc.assert(
      fc.property(rational, ({ p, q, k }) => {
        const forms = spellings(p, q, k)
        const other = spellings(p + 1, q, k)
        for (let i = 0; i < 3; i++) expect(equivalent(forms[i] ?? "", other[i] ?? "")).toBe(false)
      }),
      { numRuns: 200 }
    )
  })
})

describe("voting keys of ordered tuples", () => {
  const element = fc.oneof(
    fc.integer({ min: -30, max: 30 }).map(String),
    fc.constantFrom("x", "\\frac12", "0.5", "\\sqrt2", "a+b", "\\pi", "-1", "1000")
  )
  const tuple = fc.tuple(fc.array(element, { minLength: 2, maxLength: 4 }), fc.constantFrom(",", ";", ", ", "; "))

  it("distinct ordered tuples never share a voting key, whether commas or semicolons separate them", () => {
    fc.assert(
      fc.property(tuple, tuple, ([xs, s1], [ys, s2]) => {
        const a = `(${xs.join(s1)})`
        const b = `(${ys.join(s2)})`
        const same = xs.length === ys.length && xs.every((x, i) => answerKey(x) === answerKey(ys[i] ?? ""))
        if (same) expect(answerKey(a), `${a} ~ ${b}`).toBe(answerKey(b))
        else expect(answerKey(a), `${a} ~ ${b}`).not.toBe(answerKey(b))
      }),
      { numRuns: 500 }
    )
  })

  it("a tuple and its reversal differ, in key and in equivalence", () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer({ min: -99, max: 99 }), { minLength: 2, maxLength: 5 }), (xs) => {
        for (const sep of [",", ";"]) {
          const a = `(${xs.join(sep)})`
          const b = `(${[...xs].reverse().join(sep)})`
          expect(answerKey(a)).not.toBe(answerKey(b))
          expect(equivalent(a, b)).toBe(false)
        }
      }),
      { numRuns: 200 }
    )
  })
})
