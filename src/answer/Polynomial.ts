/**
 * Exact polynomials with rational coefficients, read from a small subset of LaTeX, without the
 * algebra engine. Most symbolic answers a vote compares are of this kind (`(x+3)^2`,
 * `9+6x+x^2`, `\frac{x}{2}-1`); for them two spellings are equal exactly when their normal forms
 * are, so the normal form is both a vote's bucket key and its verdict, in microseconds where the
 * engine takes milliseconds.
 *
 * The subset is deliberately narrow, and anything outside it is `undefined` (the caller falls
 * back to the engine): integers (no decimals: a decimal answer matches by its rounding rule), the
 * latin letters the engine reads as variables (not `e` or `i`, which are constants, nor `D`, `E`,
 * `N`, which it reserves), `\pi` (transcendental, so an indeterminate like a variable), `+`, `-`,
 * `\cdot`, juxtaposition, `^` with a literal non-negative integer exponent, `( )` and `{ }`,
 * `\frac{p}{q}` and `p/q` where `q` is a non-zero constant. Juxtapositions whose reading differs
 * between TeX and the engine (`x^22`, `2 3`, `(x)2`) are refused rather than guessed.
 *
 * @since 0.4.0
 */

/** An exact rational: `den > 0`, `gcd(num, den) = 1`. */
interface Rational {
  readonly num: bigint
  readonly den: bigint
}

/** A polynomial: monomial key (`x^2*y`, `""` for the constant) to a non-zero coefficient. */
export type Polynomial = ReadonlyMap<string, Rational>

/** Work caps: a polynomial with more terms, or a number with more digits, is left to the engine. */
const MAX_TERMS = 512
const MAX_DIGITS = 60
const MAX_DEGREE = 300

const gcd = (a: bigint, b: bigint): bigint => {
  let x = a < 0n ? -a : a
  let y = b < 0n ? -b : b
  while (y !== 0n) [x, y] = [y, x % y]
  return x
}

const rational = (num: bigint, den: bigint): Rational => {
  const g = gcd(num, den)
  const s = den < 0n ? -1n : 1n
  return g === 0n ? { num: 0n, den: 1n } : { num: (s * num) / g, den: (s * den) / g }
}

const addR = (a: Rational, b: Rational): Rational => rational(a.num * b.den + b.num * a.den, a.den * b.den)
const mulR = (a: Rational, b: Rational): Rational => rational(a.num * b.num, a.den * b.den)

/** Too big to be worth exact work here (the engine, with its own guard, decides instead). */
class TooBig extends Error {}
/** Outside the subset. */
class Outside extends Error {}

const checked = (p: Map<string, Rational>): Map<string, Rational> => {
  if (p.size > MAX_TERMS) throw new TooBig()
  for (const c of p.values())
    if (c.num.toString().length > MAX_DIGITS || c.den.toString().length > MAX_DIGITS) throw new TooBig()
  return p
}

const constant = (c: Rational): Map<string, Rational> => new Map(c.num === 0n ? [] : [["", c]])

/** Monomial keys as exponent maps, multiplied by adding exponents; keys are sorted by variable. */
const parseMonomial = (key: string): Map<string, number> => {
  const m = new Map<string, number>()
  if (key === "") return m
  for (const part of key.split("*")) {
    const [v, e] = part.split("^")
    m.set(v ?? "", e === undefined ? 1 : Number(e))
  }
  return m
}

const monomialKey = (m: ReadonlyMap<string, number>): string =>
  [...m.entries()]
    .filter(([, e]) => e !== 0)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([v, e]) => (e === 1 ? v : `${v}^${e}`))
    .join("*")

const mulMonomials = (a: string, b: string): string => {
  if (a === "") return b
  if (b === "") return a
  const m = parseMonomial(a)
  for (const [v, e] of parseMonomial(b)) {
    const total = (m.get(v) ?? 0) + e
    if (total > MAX_DEGREE) throw new TooBig()
    m.set(v, total)
  }
  return monomialKey(m)
}

const add = (a: Polynomial, b: Polynomial, sign: 1n | -1n = 1n): Map<string, Rational> => {
  const out = new Map(a)
  for (const [k, c] of b) {
    const sum = addR(out.get(k) ?? { num: 0n, den: 1n }, { num: sign * c.num, den: c.den })
    if (sum.num === 0n) out.delete(k)
    else out.set(k, sum)
  }
  return checked(out)
}

const mul = (a: Polynomial, b: Polynomial): Map<string, Rational> => {
  const out = new Map<string, Rational>()
  for (const [ka, ca] of a)
    for (const [kb, cb] of b) {
      const k = mulMonomials(ka, kb)
      const sum = addR(out.get(k) ?? { num: 0n, den: 1n }, mulR(ca, cb))
      if (sum.num === 0n) out.delete(k)
      else out.set(k, sum)
      if (out.size > MAX_TERMS) throw new TooBig()
    }
  return checked(out)
}

const pow = (a: Polynomial, n: number): Map<string, Rational> => {
  if (n > MAX_DEGREE) throw new TooBig()
  let out: Map<string, Rational> = constant({ num: 1n, den: 1n })
  let base: Polynomial = a
  // square and multiply; caps are checked at every product
  for (let k = n; k > 0; k >>= 1) {
    if (k & 1) out = mul(out, base)
    if (k > 1) base = mul(base, base)
  }
  return out
}

/** The constant value of a polynomial with no variables, else `undefined`. */
const constantOf = (p: Polynomial): Rational | undefined => {
  if (p.size === 0) return { num: 0n, den: 1n }
  return p.size === 1 && p.has("") ? p.get("") : undefined
}

type Token =
  | { readonly kind: "int"; readonly text: string }
  | { readonly kind: "var"; readonly name: string }
  | { readonly kind: "op"; readonly op: string }

/** Latin letters the engine reads otherwise (`e`, `i` as constants; `D`, `E`, `N` reserved). */
const NOT_VARIABLES = new Set(["e", "i", "D", "E", "N"])

const tokenize = (latex: string): Array<Token> => {
  const out: Array<Token> = []
  for (let i = 0; i < latex.length; ) {
    const c = latex[i] ?? ""
    if (c === " ") {
      i++
      continue
    }
    if (c >= "0" && c <= "9") {
      let j = i
      while (j < latex.length && (latex[j] ?? "") >= "0" && (latex[j] ?? "") <= "9") j++
      if (latex[j] === ".") throw new Outside()
      out.push({ kind: "int", text: latex.slice(i, j) })
      i = j
      continue
    }
    if (/[a-zA-Z]/.test(c)) {
      if (NOT_VARIABLES.has(c)) throw new Outside()
      out.push({ kind: "var", name: c })
      i++
      continue
    }
    if (c === "\\") {
      const m = /^\\([a-zA-Z]+)/.exec(latex.slice(i))
      const name = m?.[1]
      if (name === "frac" || name === "cdot") out.push({ kind: "op", op: name })
      else if (name === "pi") out.push({ kind: "var", name: "\\pi" })
      else throw new Outside()
      i += (name ?? "").length + 1
      continue
    }
    if ("+-^/(){}".includes(c)) {
      out.push({ kind: "op", op: c })
      i++
      continue
    }
    throw new Outside()
  }
  return out
}

/** Recursive descent over the tokens; every rule throws `Outside` on anything it does not know. */
class Parser {
  private readonly tokens: ReadonlyArray<Token>
  private at = 0
  constructor(tokens: ReadonlyArray<Token>) {
    this.tokens = tokens
  }
  parse(): Map<string, Rational> {
    const p = this.sum()
    if (this.at !== this.tokens.length) throw new Outside()
    return p
  }
  private peek(): Token | undefined {
    return this.tokens[this.at]
  }
  private isOp(op: string): boolean {
    const t = this.peek()
    return t?.kind === "op" && t.op === op
  }
  private expect(op: string): void {
    if (!this.isOp(op)) throw new Outside()
    this.at++
  }
  private sum(): Map<string, Rational> {
    let sign: 1n | -1n = 1n
    if (this.isOp("-") || this.isOp("+")) {
      sign = this.isOp("-") ? -1n : 1n
      this.at++
    }
    let p = add(new Map(), this.term(), sign)
    while (this.isOp("+") || this.isOp("-")) {
      const s: 1n | -1n = this.isOp("-") ? -1n : 1n
      this.at++
      p = add(p, this.term(), s)
    }
    return p
  }
  /** Factors joined by `\cdot`, juxtaposition or `/ constant`. */
  private term(): Map<string, Rational> {
    let p = this.power()
    for (;;) {
      const t = this.peek()
      if (t === undefined) return p
      if (t.kind === "op" && t.op === "cdot") {
        this.at++
        p = mul(p, this.power())
      } else if (t.kind === "op" && t.op === "/") {
        this.at++
        // `1/2x` reads differently in TeX and in the engine: only `/ integer` at a term's end
        const d = this.peek()
        if (d?.kind !== "int") throw new Outside()
        this.at++
        const after = this.peek()
        if (after !== undefined && !(after.kind === "op" && "+-)}".includes(after.op))) throw new Outside()
        const den = BigInt(d.text)
        if (den === 0n) throw new Outside()
        p = mul(p, constant({ num: 1n, den }))
      } else if (t.kind === "var" || (t.kind === "op" && (t.op === "(" || t.op === "{" || t.op === "frac"))) {
        // a number may lead a product (`2x`) but never follow a factor (`(x)2`, `x 2`): an
        // integer here ends the term, and the parse then fails on it
        p = mul(p, this.power())
      } else return p
    }
  }
  /** An atom with an optional `^` exponent: a digit or a braced integer. */
  private power(): Map<string, Rational> {
    const base = this.atom()
    if (!this.isOp("^")) return base
    this.at++
    const t = this.peek()
    let n: number
    if (t?.kind === "int") {
      // `x^22` is x²·2 in TeX; refused rather than guessed
      if (t.text.length !== 1) throw new Outside()
      n = Number(t.text)
      this.at++
    } else {
      this.expect("{")
      const e = this.peek()
      if (e?.kind !== "int") throw new Outside()
      this.at++
      this.expect("}")
      n = Number(e.text)
    }
    if (this.isOp("^")) throw new Outside()
    // a number right after an exponent (`x^2 3`) is refused too
    if (this.peek()?.kind === "int") throw new Outside()
    return pow(base, n)
  }
  private atom(): Map<string, Rational> {
    const t = this.peek()
    if (t === undefined) throw new Outside()
    this.at++
    if (t.kind === "int") {
      if (t.text.length > MAX_DIGITS) throw new TooBig()
      // `2 3` or `23x` — an integer followed by another integer is not a product here
      if (this.peek()?.kind === "int") throw new Outside()
      return constant({ num: BigInt(t.text), den: 1n })
    }
    if (t.kind === "var") return new Map([[t.name, { num: 1n, den: 1n }]])
    if (t.op === "(" || t.op === "{") {
      const inner = this.sum()
      this.expect(t.op === "(" ? ")" : "}")
      if (this.peek()?.kind === "int") throw new Outside()
      return inner
    }
    if (t.op === "frac") {
      this.expect("{")
      const num = this.sum()
      this.expect("}")
      this.expect("{")
      const den = this.sum()
      this.expect("}")
      const c = constantOf(den)
      if (c === undefined || c.num === 0n) throw new Outside()
      if (this.peek()?.kind === "int") throw new Outside()
      return mul(num, constant({ num: c.den, den: c.num }))
    }
    throw new Outside()
  }
}

/**
 * The polynomial an expression spells, or `undefined` when it is outside the subset (see the
 * module doc) or too big to expand here.
 *
 * @example
 * polynomial("(x+1)^2") // the map { "": 1, "x": 2, "x^2": 1 }, as polynomial("1+2x+x^2")
 * polynomial("\\sqrt{2}") // undefined
 */
export const polynomial = (latex: string): Polynomial | undefined => {
  try {
    return new Parser(tokenize(latex)).parse()
  } catch (e) {
    if (e instanceof Outside || e instanceof TooBig) return undefined
    throw e
  }
}

/**
 * A canonical spelling: terms sorted by monomial, each `num/den*monomial`; equal polynomials
 * and only they have equal normal forms.
 *
 * @example
 * const p = polynomial("\\frac{x}{2}-1")
 * p === undefined ? undefined : normalForm(p) // "-1;1/2*x"
 */
export const normalForm = (p: Polynomial): string =>
  [...p.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, c]) => `${c.num}${c.den === 1n ? "" : `/${c.den}`}${k === "" ? "" : `*${k}`}`)
    .join(";")

/**
 * The value at a point (`at` gives each variable's; `\pi` is π), in floating point.
 *
 * @example
 * const p = polynomial("x^2+1")
 * p === undefined ? undefined : evaluate(p, () => 2) // 5
 */
export const evaluate = (p: Polynomial, at: (name: string) => number): number => {
  let total = 0
  for (const [k, c] of p) {
    let term = Number(c.num) / Number(c.den)
    for (const [v, e] of parseMonomial(k)) term *= (v === "\\pi" ? Math.PI : at(v)) ** e
    total += term
  }
  return total
}
