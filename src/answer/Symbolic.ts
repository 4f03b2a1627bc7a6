/**
 * Symbolic equivalence of two expressions with a hard cap on work, on `@cortex-js/compute-engine`
 * (a maintained CAS that parses LaTeX). Synchronous and pure from the outside, so voting can call
 * it.
 *
 * A comparison, in order:
 * 1. the guard (`admissible`) admits only small inputs in a small language — at most 200
 *    characters, the commands of school algebra and trigonometry, no power towers, literal
 *    exponents of at most 300, factorials of at most 170, integers of at most 30 digits, at most 8
 *    variables, no words — and, on the unevaluated parse, a `weight` (digits of numbers and
 *    degrees, multiplied through powers) of at most 2000. The engine's own time limit does not
 *    bound big-integer work: `9^{9^{9}}` ran for 30 s inside a 500 ms limit,
 *    `\binom{10^6}{5\cdot10^5}` for 5.6 s, `((\sqrt{(10^{-7})^{258}})a)^{300}` for 81 s;
 * 2. the exact difference `a - b` is evaluated: a rational result decides (0 or not);
 * 3. `isIdenticallyEqual` (never `.is()`, which blocked 10.8 s on `(a+b+c+d)^{25}`): `false`
 *    decides; `true` must not be contradicted by step 4;
 * 4. both sides are evaluated at 6 seeded points in (0.5, 2.5) per free variable and compared
 *    within 1e-9 relative — the random-points check of the field, and the verdict when the engine
 *    cannot decide.
 *
 * Every engine call runs under `withTimeLimit` (400 ms at most, 800 ms per comparison in all) in
 * a fresh scope (parsing declares symbols, so verdicts must not depend on history), with the
 * engine's random sampling seeded from the pair through its `entropy` capability: the same pair
 * gets the same verdict every time, unless a time limit is hit on a loaded machine.
 *
 * @since 0.1.0
 */
import { createRequire } from "node:module"
import type { ComputeEngine, Expression } from "@cortex-js/compute-engine"
import { readArgument } from "./Latex.ts"
import { evaluate, normalForm, type Polynomial, polynomial } from "./Polynomial.ts"

const MAX_LENGTH = 200
const MAX_EXPONENT = 300
const MAX_FACTORIAL = 170
const MAX_DIGITS = 30
const MAX_VARIABLES = 8
/** Terms of a sum or product, and the top of a binomial coefficient, evaluated at most. */
const MAX_TERMS = 200
const MAX_BINOMIAL = 1000
/** See `weight`: about the digits of the largest number, or the degree of the largest power. */
const MAX_WEIGHT = 2000
/** Per engine call, and per comparison in all; the guard keeps typical comparisons under 50 ms. */
const CALL_LIMIT_MS = 400
const COMPARISON_LIMIT_MS = 800
const SAMPLE_POINTS = 6
const SAMPLE_TOL = 1e-9

/** Commands the guard admits: school algebra, roots, logarithms, trigonometry, Greek variables. */
const COMMANDS = new Set([
  "frac",
  "binom",
  "sum",
  "prod",
  "sqrt",
  "cdot",
  "div",
  "pi",
  "sin",
  "cos",
  "tan",
  "cot",
  "sec",
  "csc",
  "arcsin",
  "arccos",
  "arctan",
  "sinh",
  "cosh",
  "tanh",
  "log",
  "ln",
  "exp",
  "alpha",
  "beta",
  "gamma",
  "delta",
  "epsilon",
  "zeta",
  "eta",
  "theta",
  "kappa",
  "lambda",
  "mu",
  "nu",
  "xi",
  "rho",
  "sigma",
  "tau",
  "phi",
  "varphi",
  "chi",
  "psi",
  "omega"
])

const exponentOk = (s: string, caret: number): boolean => {
  const arg = readArgument(s, caret + 1)
  if (arg === undefined) return false
  if (arg.text.includes("^")) return false
  const n = Number(arg.text.replace(/[{}\s]/g, ""))
  return !(Number.isFinite(n) && Math.abs(n) > MAX_EXPONENT)
}

/**
 * Whether an expression is small and tame enough to hand to the CAS (see the module doc).
 *
 * @example
 * admissible("(x+1)^2") // true
 * admissible("9^{9^{9}}") // false
 * admissible("\\text{east}") // false
 */
export const admissible = (latex: string): boolean => {
  if (latex.length === 0 || latex.length > MAX_LENGTH) return false
  // `=` only in the index of a sum or product: `\sum_{k=1}^{10}`
  const unindexed = latex.replace(/(\\(?:sum|prod)\s*_\s*\{\s*[a-z]\s*)=/g, "$1")
  if (!/^[0-9a-zA-Z+\-/^_(){}[\].|!'\\ ]*$/.test(unindexed)) return false
  for (const m of latex.matchAll(/\\([a-zA-Z]+|.)/g)) if (!COMMANDS.has(m[1] ?? "")) return false
  const bare = latex.replace(/\\[a-zA-Z]+/g, " ")
  if (/[a-zA-Z]{3,}/.test(bare)) return false
  if (new Set(bare.match(/[a-zA-Z]/g) ?? []).size > MAX_VARIABLES) return false
  if ((latex.match(/\d+/g) ?? []).some((d) => d.length > MAX_DIGITS)) return false
  for (let i = latex.indexOf("^"); i >= 0; i = latex.indexOf("^", i + 1)) if (!exponentOk(latex, i)) return false
  for (let i = latex.indexOf("!"); i >= 0; i = latex.indexOf("!", i + 1)) {
    const m = /(\d+)$/.exec(latex.slice(Math.max(0, i - 4), i))
    if (m === null || Number(m[1]) > MAX_FACTORIAL) return false
  }
  return true
}

let engine: ComputeEngine | undefined

/** One comparison of each kind, so the engine's lazily loaded parts load outside any budget. */
const warmUp = (e: ComputeEngine): void => {
  e.pushScope()
  try {
    const pairs = [
      ["\\sin^2 x+\\frac{\\sqrt{2}}{2}+\\ln 2+3!+\\sqrt[3]{x}", "1-\\cos^2 x+\\frac{1}{\\sqrt{2}}+\\log 2+6+x^{1/3}"],
      ["\\tan x+\\cot x+\\sec x+\\csc x+|x|", "\\arcsin x+\\arccos x+\\arctan x+x'"],
      ["\\sinh x+\\cosh x+\\tanh x+e^{i\\pi}", "\\exp(x)+\\log_2 x+\\frac{x}{y}"]
    ]
    for (const [l, r] of pairs) {
      const a = e.parse(l ?? "")
      const b = e.parse(r ?? "")
      e.box(["Subtract", a, b]).evaluate()
      a.isIdenticallyEqual(b)
      a.subs({ x: 0.5, y: 0.7 }).N()
      b.subs({ x: 0.5, y: 0.7 }).N()
    }
  } catch {
    // a failed warm-up only means the first comparison pays for the loading
  } finally {
    e.popScope()
  }
}

/**
 * The engine's module, loaded on first use: it is 3.4 MB of code, and most commands (`mull graphs`,
 * runs that compare no symbolic answers) never need it. `require` keeps `ce()` synchronous.
 */
const loadEngine = (): typeof import("@cortex-js/compute-engine") =>
  createRequire(import.meta.url)("@cortex-js/compute-engine") as typeof import("@cortex-js/compute-engine")

/** Created and warmed up on first use (about 0.3 s, plus loading the module) and reused. */
const ce = (): ComputeEngine => {
  if (engine === undefined) {
    engine = new (loadEngine().ComputeEngine)()
    warmUp(engine)
  }
  return engine
}

/** The value of a literal exponent in MathJSON (`3`, `-7`, `["Negate", 7]`, `["Rational", 1, 2]`). */
const literal = (j: unknown): number | undefined => {
  if (typeof j === "number") return j
  if (typeof j === "object" && j !== null && "num" in j && typeof j.num === "string") return Number(j.num)
  if (!Array.isArray(j)) return undefined
  const [op, a, b] = j
  if (op === "Negate" || op === "Delimiter")
    return a === undefined ? undefined : op === "Negate" ? -(literal(a) ?? Number.NaN) : literal(a)
  if (op === "Rational" || op === "Divide") return (literal(a) ?? Number.NaN) / (literal(b) ?? Number.NaN)
  return undefined
}

/**
 * A bound on the work an expression can cause, from its raw (unevaluated) MathJSON: digits of
 * numbers and degrees of variables, multiplied through powers (so `((10^{-7})^{258})^{300}` and
 * `(170!)^{300}`, each under the string guard's limits, weigh hundreds of thousands).
 */
const weight = (j: unknown, depth = 0): number => {
  if (depth > 60) return Number.POSITIVE_INFINITY
  if (typeof j === "number") return Math.max(1, String(Math.abs(j)).length)
  if (typeof j === "string") return 1
  if (typeof j === "object" && j !== null && !Array.isArray(j))
    return "num" in j && typeof j.num === "string" ? j.num.length : 1
  if (!Array.isArray(j)) return 1
  const [op, ...args] = j
  if (op === "Power") {
    const e = literal(args[1])
    const base = weight(args[0], depth + 1)
    return e === undefined || !Number.isFinite(e)
      ? base * 64 + weight(args[1], depth + 1)
      : base * Math.max(1, Math.abs(e))
  }
  if (op === "Sum" || op === "Product") {
    // a bounded sum costs its terms; an unbounded or symbolic range is refused
    const range = args[1]
    const lo = Array.isArray(range) ? literal(range[2]) : undefined
    const hi = Array.isArray(range) ? literal(range[3]) : undefined
    if (lo === undefined || hi === undefined || !Number.isFinite(hi - lo) || hi - lo > MAX_TERMS)
      return Number.POSITIVE_INFINITY
    return Math.max(1, hi - lo + 1) * weight(args[0], depth + 1) * (op === "Product" ? Math.max(1, hi - lo + 1) : 1)
  }
  if (op === "Binomial") {
    const n = literal(args[0])
    const k = literal(args[1])
    // only literal binomials: the engine's symbolic ones (`\binom{x^4}{12}`) exhausted the heap
    return n !== undefined && k !== undefined && Number.isInteger(n) && Number.isInteger(k) && n <= MAX_BINOMIAL
      ? Math.max(1, n)
      : Number.POSITIVE_INFINITY
  }
  if (op === "Factorial" || op === "Factorial2") {
    const n = literal(args[0])
    return n === undefined || n > MAX_FACTORIAL ? Number.POSITIVE_INFINITY : Math.max(1, n * Math.log10(Math.max(n, 2)))
  }
  return args.reduce((sum: number, a) => sum + weight(a, depth + 1), 0)
}

const parse = (latex: string): Expression | null => {
  try {
    const raw = ce().parse(latex, { form: "raw" })
    // `!(w <= MAX)` also refuses NaN: `literal` of a non-literal quotient is NaN, not undefined
    if (!(weight(raw.json) <= MAX_WEIGHT)) return null
    const x = ce().parse(latex)
    return x.isValid ? x : null
  } catch {
    return null
  }
}

/**
 * Runs `f` in a fresh engine scope: parsing declares symbols (after `f+1`, `f(x)` reads as a
 * product), so each comparison starts from the same state and verdicts do not depend on history.
 */
const scoped = <A>(f: () => A): A => {
  const engine = ce()
  engine.pushScope()
  try {
    return f()
  } finally {
    engine.popScope()
  }
}

/** A small seeded generator (mulberry32), so sampled checks are reproducible. */
const seeded = (seed: number): (() => number) => {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const seedOf = (a: string, b: string): number => {
  let h = 2166136261
  for (const c of `${a}\u0000${b}`) h = Math.imul(h ^ (c.codePointAt(0) ?? 0), 16777619)
  return h >>> 0
}

/**
 * Runs `f` under the engine's time limit (at most `CALL_LIMIT_MS`, and no later than `deadline`)
 * with seeded entropy; `undefined` when it throws, runs out of time, or the deadline has passed.
 */
const bounded = <A>(seed: number, deadline: number, f: () => A): A | undefined => {
  const ms = Math.min(CALL_LIMIT_MS, Math.floor(deadline - performance.now()))
  if (ms < 1) return undefined
  try {
    const random = seeded(seed)
    let out: A | undefined
    ce().withTimeLimit(ms, () => {
      out = ce().withEffects({ entropy: { random } }, f)
    })
    return out
  } catch {
    return undefined
  }
}

const numericValue = (e: Expression): { readonly re: number; readonly im: number } | undefined => {
  const v = e.N()
  const re = v.re
  const im = v.im
  return Number.isFinite(re) && Number.isFinite(im) ? { re, im } : undefined
}

const close = (x: number, y: number): boolean => Math.abs(x - y) <= SAMPLE_TOL * Math.max(1, Math.abs(x), Math.abs(y))

/**
 * Compares two expressions at seeded points in (0.5, 2.5) for each free variable (once when there
 * are none): `false` at the first disagreement, `true` after 3 agreeing points, else `undefined`.
 */
const sampledEqual = (a: Expression, b: Expression, seed: number, deadline: number): boolean | undefined =>
  bounded(seed, deadline, () => {
    const vars = [...new Set([...a.freeVariables, ...b.freeVariables])]
    const next = seeded(seed ^ 0x9e3779b9)
    const points = vars.length === 0 ? 1 : SAMPLE_POINTS
    let agreed = 0
    for (let k = 0; k < points; k++) {
      const point: Record<string, number> = {}
      for (const v of vars) point[v] = 0.5 + 2 * next()
      const x = numericValue(vars.length === 0 ? a : a.subs(point))
      const y = numericValue(vars.length === 0 ? b : b.subs(point))
      if (x === undefined || y === undefined) continue
      if (!close(x.re, y.re) || !close(x.im, y.im)) return false
      agreed++
    }
    return agreed >= Math.min(3, points) ? true : undefined
  })

/**
 * The exact difference `a - b` when it evaluates to a rational number: `true` when it is 0,
 * `false` when it is another rational, `undefined` when it is symbolic or a float.
 */
const exactResidue = (a: Expression, b: Expression): boolean | undefined => {
  const r = ce().box(["Subtract", a, b]).evaluate()
  const j: unknown = r.json
  if (j === 0) return true
  if (typeof j === "number") return Number.isInteger(j) ? false : undefined
  if (Array.isArray(j) && j[0] === "Rational") return false
  if (typeof j === "object" && j !== null && "num" in j && typeof j.num === "string" && /^-?\d+$/.test(j.num))
    return /^-?0+$/.test(j.num)
  return undefined
}

/** Symbols the engine reads as constants or functions, which answers use as plain variables. */
const RESERVED_LETTERS = new Set(["D", "E", "N"])
const RESERVED_COMMANDS = new Set(["gamma", "zeta", "varphi"])
const SPARE = "uvwpqrsjklmnogfhtbcdzyxa"

/**
 * Spells a pair of admissible expressions for the engine: `e` is Euler's number and `i` the
 * imaginary unit (as in MATH), written as commands so that `2e+1` is not read as 20; the letters
 * and Greek names the engine reserves (`N`, `D`, `E`, `\gamma`, `\zeta`, `\varphi`) become spare
 * letters unused in either expression.
 */
const prepare = (a: string, b: string): readonly [string, string] => {
  const used = new Set(`${a} ${b}`.replace(/\\[a-zA-Z]+/g, " ").match(/[a-zA-Z]/g) ?? [])
  const spare = [...SPARE].filter((c) => !used.has(c))
  const renamed = new Map<string, string>()
  const rename = (token: string): string => {
    let r = renamed.get(token)
    if (r === undefined) {
      r = spare.shift() ?? token
      renamed.set(token, r)
    }
    return r
  }
  const spell = (s: string): string =>
    s.replace(/\\([a-zA-Z]+)|[a-zA-Z]/g, (token, command: string | undefined) => {
      if (command !== undefined) return RESERVED_COMMANDS.has(command) ? ` ${rename(token)} ` : token
      if (token === "e") return "\\exponentialE "
      if (token === "i") return "\\imaginaryI "
      return RESERVED_LETTERS.has(token) ? rename(token) : token
    })
  return [spell(a), spell(b)]
}

/**
 * Whether two LaTeX expressions are identical for all values of their variables: proven by the
 * CAS (`isIdenticallyEqual`) and not contradicted at seeded random points, or — when the CAS
 * cannot decide or runs out of budget — agreeing at those points. `false` when either side is not
 * admissible or does not parse.
 *
 * @example
 * identical("x^2+2x+1", "(x+1)^2") // true
 * identical("\\frac{\\sqrt{2}}{2}", "\\frac{1}{\\sqrt{2}}") // true
 * identical("x+1", "x+2") // false
 */
export const identical = (a: string, b: string): boolean => exactPolynomials(a, b) ?? identicalByEngine(a, b)

/** Polynomial readings by text, bounded like the engine's own memo of parses. */
const polynomialMemo = new Map<string, { readonly p: Polynomial; readonly form: string } | null>()
const POLYNOMIAL_MEMO_SIZE = 4096

/** An admissible expression's exact polynomial and its normal form, when it spells one. */
const polynomialOf = (latex: string): { readonly p: Polynomial; readonly form: string } | undefined => {
  const hit = polynomialMemo.get(latex)
  if (hit !== undefined) return hit ?? undefined
  const p = admissible(latex) ? polynomial(latex) : undefined
  const entry = p === undefined ? undefined : { p, form: normalForm(p) }
  if (polynomialMemo.size >= POLYNOMIAL_MEMO_SIZE) polynomialMemo.clear()
  polynomialMemo.set(latex, entry ?? null)
  return entry
}

/**
 * The verdict on two exact polynomials (`Polynomial.ts`), without the engine: equal exactly when
 * their normal forms are — the verdict the engine's exact residue reaches for them, in
 * microseconds instead of milliseconds. `undefined` when either side is not such a polynomial.
 */
const exactPolynomials = (a: string, b: string): boolean | undefined => {
  const p = polynomialOf(a)
  if (p === undefined) return undefined
  const q = polynomialOf(b)
  return q === undefined ? undefined : p.form === q.form
}

/**
 * `identical` decided by the engine alone, without the exact-polynomial path: the reference the
 * tests compare that path with.
 *
 * @example
 * identicalByEngine("x^2+2x+1", "(x+1)^2") // true
 */
export const identicalByEngine = (a: string, b: string): boolean =>
  comparedPair(a, b, (ex, ey, seed, deadline) => {
    // exact arithmetic first: the engine's identity test has a tolerance (x+10^{-12} ≡ x) and
    // misses exact equalities of large numbers (2^{100} vs 2^{99}·2)
    const residue = bounded(seed, deadline, () => exactResidue(ex, ey))
    if (residue !== undefined) return residue
    const proof = bounded(seed, deadline, () => ex.isIdenticallyEqual(ey))
    if (proof === false) return false
    // a proof is checked against our own sample too: the engine's sampling has misfired
    const sample = sampledEqual(ex, ey, seed, deadline)
    // constants must have a finite value (\frac{1}{0} and \frac{2}{0} are not answers)
    if (sample === undefined && ex.freeVariables.length + ey.freeVariables.length === 0) return false
    return proof === true ? sample !== false : sample === true
  })

/**
 * Compares two admissible expressions with the engine: both prepared in a fixed order (so the
 * verdict is symmetric), parsed within one comparison's time budget and seed, then `compare`d;
 * `false` when either side is not admissible or does not parse in time.
 */
const comparedPair = (
  a: string,
  b: string,
  compare: (ex: Expression, ey: Expression, seed: number, deadline: number) => boolean
): boolean => {
  if (!admissible(a) || !admissible(b)) return false
  const [x, y] = a <= b ? prepare(a, b) : prepare(b, a)
  const seed = seedOf(x, y)
  ce() // the engine is built outside the budget
  const deadline = performance.now() + COMPARISON_LIMIT_MS
  return scoped(() => {
    const ex = bounded(seed, deadline, () => parse(x))
    const ey = bounded(seed, deadline, () => parse(y))
    if (ex == null || ey == null) return false
    return compare(ex, ey, seed, deadline)
  })
}

/**
 * The numeric value of a constant expression (no free variables), such as `12\pi` or
 * `\frac{\sqrt{3}}{3}`; `undefined` when it has variables, is not real, or is not admissible.
 *
 * @example
 * constantValue("\\frac{\\sqrt{3}}{3}") // 0.5773502691896257
 */
export const constantValue = (latex: string): number | undefined => {
  if (!admissible(latex)) return undefined
  const exact = polynomialOf(latex)
  if (exact !== undefined) {
    // a variable makes the value NaN; `\pi` is a number
    const v = evaluate(exact.p, () => Number.NaN)
    return Number.isFinite(v) ? v : undefined
  }
  const [prepared] = prepare(latex, "")
  const seed = seedOf(prepared, "")
  ce() // the engine is built outside the budget
  return scoped(() =>
    bounded(seed, performance.now() + COMPARISON_LIMIT_MS, () => {
      const e = parse(prepared)
      if (e === null || e.freeVariables.length > 0) return undefined
      const v = numericValue(e)
      return v !== undefined && Math.abs(v.im) <= 1e-12 * Math.max(1, Math.abs(v.re)) ? v.re : undefined
    })
  )
}

/** A fixed value in (0.5, 2.5) for a variable, from its name (FNV-1a), so equal names get equal values. */
const pointOf = (name: string): number => 0.5 + 2 * (seeded(seedOf(name, "point"))() as number)

/** Admissible, and free of the letters and commands the engine reserves (renamed per pair). */
const fingerprintable = (latex: string): boolean =>
  admissible(latex) &&
  !/\\(?:gamma|zeta|varphi)(?![a-zA-Z])/.test(latex) &&
  !/[DEN]/.test(latex.replace(/\\[a-zA-Z]+/g, " "))

/**
 * The value of an admissible expression at one fixed point (each free variable at a value chosen
 * by its name), as a number pair; `undefined` when it is not admissible, uses a letter or command
 * the engine reserves (their renaming depends on the other side of a comparison), does not parse,
 * is not finite there, or the engine runs out of time. Voting buckets answers by it: expressions
 * `identical` calls equal agree at every point, so they agree here up to rounding.
 *
 * @example
 * fingerprint("(x+1)^2")?.re === fingerprint("x^2+2x+1")?.re // true up to rounding
 */
export const fingerprint = (latex: string): { readonly re: number; readonly im: number } | undefined => {
  if (!fingerprintable(latex)) return undefined
  const exact = polynomialOf(latex)
  if (exact !== undefined) {
    const v = evaluate(exact.p, pointOf)
    return Number.isFinite(v) ? { re: v, im: 0 } : undefined
  }
  return fingerprintByEngine(latex)
}

/**
 * `fingerprint` computed by the engine alone (the reference the tests compare the exact path
 * with); the same guards apply.
 *
 * @example
 * fingerprintByEngine("(x+1)^2")?.re // the value at x's fixed point
 */
export const fingerprintByEngine = (latex: string): { readonly re: number; readonly im: number } | undefined => {
  if (!fingerprintable(latex)) return undefined
  const [prepared] = prepare(latex, "")
  const seed = seedOf(prepared, "")
  ce() // the engine is built outside the budget
  return scoped(() =>
    bounded(seed, performance.now() + COMPARISON_LIMIT_MS, () => {
      const e = parse(prepared)
      if (e === null) return undefined
      const vars = e.freeVariables
      if (vars.length === 0) return numericValue(e)
      const point: Record<string, number> = {}
      for (const v of vars) point[v] = pointOf(v)
      return numericValue(e.subs(point))
    })
  )
}

/**
 * Whether two relations `l₁ op r₁` and `l₂ op r₂` have the same solutions by Qwen2.5-Math's test:
 * `l₁ - r₁` is identical to `l₂ - r₂` or, with `negated`, to `r₂ - l₂`.
 *
 * @example
 * sameRelation({ lhs: "5x+4", rhs: "0" }, { lhs: "-5x", rhs: "4" }, true) // true
 */
export const sameRelation = (
  a: { readonly lhs: string; readonly rhs: string },
  b: { readonly lhs: string; readonly rhs: string },
  negated: boolean
): boolean => identical(`(${a.lhs})-(${a.rhs})`, negated ? `(${b.rhs})-(${b.lhs})` : `(${b.lhs})-(${b.rhs})`)

/**
 * Whether two equations `l₁ = r₁` and `l₂ = r₂` have the same solutions because one difference is
 * a nonzero constant multiple of the other: `l₁ - r₁ = c·(l₂ - r₂)` (Math-Verify compares
 * equations this way; Qwen2.5-Math only allows c = ±1). Checked exactly when the ratio simplifies
 * to a number, else at seeded random points: the ratio must be the same finite nonzero number at
 * 3 points or more and never differ.
 *
 * @example
 * proportional({ lhs: "x^2/4+y^2/3", rhs: "1" }, { lhs: "x^2/16+y^2/12", rhs: "1/4" }) // true
 * proportional({ lhs: "2x", rhs: "4" }, { lhs: "x", rhs: "3" }) // false
 */
export const proportional = (
  a: { readonly lhs: string; readonly rhs: string },
  b: { readonly lhs: string; readonly rhs: string }
): boolean => {
  if (sameRelation(a, b, false) || sameRelation(a, b, true)) return true
  return comparedPair(`(${a.lhs})-(${a.rhs})`, `(${b.lhs})-(${b.rhs})`, (ex, ey, seed, deadline) => {
    const vars = [...new Set([...ex.freeVariables, ...ey.freeVariables])]
    if (vars.length === 0) return false
    return (
      bounded(seed, deadline, () => {
        const next = seeded(seed ^ 0x85ebca6b)
        let ratio: number | undefined
        let agreed = 0
        for (let k = 0; k < SAMPLE_POINTS; k++) {
          const point: Record<string, number> = {}
          for (const v of vars) point[v] = 0.5 + 2 * next()
          const p = numericValue(ex.subs(point))
          const q = numericValue(ey.subs(point))
          if (p === undefined || q === undefined || Math.abs(p.im) > 1e-12 || Math.abs(q.im) > 1e-12) continue
          if (Math.abs(q.re) < 1e-12 || Math.abs(p.re) < 1e-12) return false
          const r = p.re / q.re
          if (ratio === undefined) ratio = r
          else if (!close(r, ratio)) return false
          agreed++
        }
        return agreed >= 3
      }) ?? false
    )
  })
}
