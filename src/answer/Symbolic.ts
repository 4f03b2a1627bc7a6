/**
 * Symbolic equivalence of two expressions with a hard cap on work, on `@cortex-js/compute-engine`
 * (a maintained CAS that parses LaTeX). Synchronous and deterministic, so voting can call it.
 *
 * The cap has three layers, because the engine's own time limit does not bound everything (a
 * power tower such as `9^{9^{9}}` ran for 30 s inside a 500 ms limit, `\binom{10^6}{5\cdot10^5}` for
 * 5.6 s):
 * 1. a guard admits only small inputs in a small language — at most 200 characters, the commands
 *    of school algebra and trigonometry, no power towers, literal exponents of at most 300,
 *    factorials of at most 170, integers of at most 30 digits, at most 8 variables, and no words;
 * 2. each engine call runs in `withTimeLimit(300 ms)`;
 * 3. when the engine gives up or throws, the two sides are evaluated at 6 seeded points in the
 *    free variables and compared within 1e-9 relative — the "random points" check of the field.
 *
 * The engine's own sampling is seeded through its `entropy` capability, so each answer pair gets
 * the same verdict every time.
 *
 * @since 0.1.0
 */
import { ComputeEngine, type Expression } from "@cortex-js/compute-engine"
import { readArgument } from "./Latex.ts"

const MAX_LENGTH = 200
const MAX_EXPONENT = 300
const MAX_FACTORIAL = 170
const MAX_DIGITS = 30
const MAX_VARIABLES = 8
/** Per engine call; the guard keeps typical calls under 50 ms. */
const TIME_LIMIT_MS = 300
const SAMPLE_POINTS = 6
const SAMPLE_TOL = 1e-9

/** Commands the guard admits: school algebra, roots, logarithms, trigonometry, Greek variables. */
const COMMANDS = new Set([
  "frac",
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
  if (!/^[0-9a-zA-Z+\-/^_(){}[\].|!'\\ ]*$/.test(latex)) return false
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
/** Created on first use (it costs ~200 ms) and reused. */
const ce = (): ComputeEngine => {
  engine ??= new ComputeEngine()
  return engine
}

const PARSE_CACHE_SIZE = 2048
const parsed = new Map<string, Expression | null>()

const parse = (latex: string): Expression | null => {
  const hit = parsed.get(latex)
  if (hit !== undefined) return hit
  let e: Expression | null = null
  try {
    const x = ce().parse(latex)
    e = x.isValid ? x : null
  } catch {
    e = null
  }
  if (parsed.size >= PARSE_CACHE_SIZE) parsed.clear()
  parsed.set(latex, e)
  return e
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

/** Runs `f` under the time limit with seeded entropy; `undefined` when it throws or runs out of time. */
const bounded = <A>(seed: number, f: () => A): A | undefined => {
  try {
    const random = seeded(seed)
    let out: A | undefined
    ce().withTimeLimit(TIME_LIMIT_MS, () => {
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

/** Compares two expressions at seeded points in (0.5, 2.5) for each free variable. */
const sampledEqual = (a: Expression, b: Expression, seed: number): boolean | undefined =>
  bounded(seed, () => {
    const vars = [...new Set([...a.freeVariables, ...b.freeVariables])]
    const next = seeded(seed ^ 0x9e3779b9)
    let agreed = 0
    for (let k = 0; k < SAMPLE_POINTS; k++) {
      const point: Record<string, number> = {}
      for (const v of vars) point[v] = 0.5 + 2 * next()
      const x = numericValue(a.subs(point))
      const y = numericValue(b.subs(point))
      if (x === undefined || y === undefined) continue
      if (!close(x.re, y.re) || !close(x.im, y.im)) return false
      agreed++
    }
    return agreed >= 3 ? true : undefined
  })

/**
 * Whether two LaTeX expressions are identical for all values of their variables: proven by the
 * CAS (`isIdenticallyEqual`), or, when the CAS runs out of budget, agreeing at seeded random
 * points. `false` when either side is not admissible, does not parse, or the check is undecided.
 *
 * @example
 * identical("x^2+2x+1", "(x+1)^2") // true
 * identical("\\frac{\\sqrt{2}}{2}", "\\frac{1}{\\sqrt{2}}") // true
 * identical("x+1", "x+2") // false
 */
export const identical = (a: string, b: string): boolean => {
  if (!admissible(a) || !admissible(b)) return false
  const [x, y] = a <= b ? [a, b] : [b, a]
  const seed = seedOf(x, y)
  const ex = bounded(seed, () => parse(x))
  const ey = bounded(seed, () => parse(y))
  if (ex == null || ey == null) return false
  const proof = bounded(seed, () => ex.isIdenticallyEqual(ey))
  if (proof !== undefined) return proof
  return sampledEqual(ex, ey, seed) === true
}

/**
 * The numeric value of a constant expression (no free variables), such as `12\pi` or
 * `\frac{\sqrt{3}}{3}`; `undefined` when it has variables, is complex, or is not admissible.
 *
 * @example
 * constantValue("\\frac{\\sqrt{3}}{3}") // 0.5773502691896257
 */
export const constantValue = (latex: string): number | undefined => {
  if (!admissible(latex)) return undefined
  const seed = seedOf(latex, "")
  const e = bounded(seed, () => parse(latex))
  if (e == null) return undefined
  return bounded(seed, () => {
    if (e.freeVariables.length > 0) return undefined
    const v = numericValue(e)
    return v !== undefined && Math.abs(v.im) <= 1e-12 * Math.max(1, Math.abs(v.re)) ? v.re : undefined
  })
}

/**
 * Whether two relations `l₁ op r₁` and `l₂ op r₂` hold for the same values: `l₁ - r₁` is
 * identical to `l₂ - r₂`, or to its negation (then with `<` and `>` swapped), as in Qwen2.5-Math.
 *
 * @example
 * sameRelation({ lhs: "5x+4", rhs: "0" }, { lhs: "-5x", rhs: "4" }, true) // true
 */
export const sameRelation = (
  a: { readonly lhs: string; readonly rhs: string },
  b: { readonly lhs: string; readonly rhs: string },
  negated: boolean
): boolean => {
  const da = `(${a.lhs})-(${a.rhs})`
  const db = negated ? `(${b.rhs})-(${b.lhs})` : `(${b.lhs})-(${b.rhs})`
  return identical(da, db)
}
