/**
 * Number literals in answers, read exactly: integers, decimals, fractions (`\frac{a}{b}`, `a/b`),
 * mixed numbers (`1\frac{4}{5}`) and scientific notation (`6.29\cdot10^{6}`, `1.2e-3`), as
 * rationals over `bigint`, so that `0.5`, `\frac{1}{2}` and `1/2` are the same number exactly.
 *
 * The tolerance is about rounding, not about floating point: a number written with a decimal point
 * matches a value when it is that value correctly rounded to the places shown *and* is within a
 * relative 1e-4 of it (Qwen2.5-Math's `rel_tol`). So `0.3333` matches `\frac{1}{3}`, but `0.33`
 * (too coarse), `0.6666` (truncated, not rounded) and `1.0001` against `1` do not, and two
 * integers must be equal — unlike Qwen's grader, which accepts `10081` for `10080`.
 *
 * @since 0.1.0
 */

/** A rational `num/den` in lowest terms with `den > 0`. */
export interface Rational {
  readonly num: bigint
  readonly den: bigint
}

/** A number literal: its exact value and, when written with a decimal point, the unit in its last place. */
export interface NumberLiteral {
  readonly value: Rational
  /** one unit in the last written place (`0.01` for `3.14`); absent for exact forms (integers, fractions) */
  readonly ulp: Rational | undefined
}

/** Longest digit string and largest power of ten read as a number; beyond them a literal is text. */
const MAX_DIGITS = 400
const MAX_EXPONENT = 400
/** Qwen2.5-Math's relative tolerance (`math.isclose(rel_tol=1e-4)`), applied only to roundings. */
const REL_TOL: Rational = { num: 1n, den: 10_000n }

const gcd = (a: bigint, b: bigint): bigint => {
  let x = a < 0n ? -a : a
  let y = b < 0n ? -b : b
  while (y !== 0n) [x, y] = [y, x % y]
  return x
}

/**
 * The rational `num/den` in lowest terms (`den` must not be 0).
 *
 * @example
 * rational(2n, -4n) // { num: -1n, den: 2n }
 */
export const rational = (num: bigint, den: bigint): Rational => {
  const g = gcd(num, den)
  const s = den < 0n ? -1n : 1n
  return g === 0n ? { num: 0n, den: 1n } : { num: (s * num) / g, den: (s * den) / g }
}

const sub = (a: Rational, b: Rational): Rational => rational(a.num * b.den - b.num * a.den, a.den * b.den)
const mul = (a: Rational, b: Rational): Rational => rational(a.num * b.num, a.den * b.den)
const abs = (a: Rational): Rational => (a.num < 0n ? { num: -a.num, den: a.den } : a)
/** a ≤ b */
const le = (a: Rational, b: Rational): boolean => a.num * b.den <= b.num * a.den
const eq = (a: Rational, b: Rational): boolean => a.num === b.num && a.den === b.den
const pow10 = (e: number): Rational =>
  e >= 0 ? { num: 10n ** BigInt(e), den: 1n } : { num: 1n, den: 10n ** BigInt(-e) }

/**
 * The nearest double to a rational (`NaN` when both parts overflow a double).
 *
 * @example
 * toNumber(rational(1n, 3n)) // 0.3333333333333333
 */
export const toNumber = (r: Rational): number => {
  const n = Number(r.num)
  const d = Number(r.den)
  if (Number.isFinite(n) && Number.isFinite(d)) return n / d
  // scale both down to keep their ratio representable
  const shift = BigInt(Math.max(r.num.toString().length, r.den.toString().length) - 300)
  const k = 10n ** (shift > 0n ? shift : 0n)
  return Number(r.num / k) / Number(r.den / k)
}

const DEC = String.raw`(\d+(?:\.\d*)?|\.\d+)`
const PLAIN = new RegExp(`^([+-]?)${DEC}$`)
// the mantissa needs a decimal point: `2e+1` is 2e + 1 with Euler's e, `1.5e3` is 1500
const E_NOTATION = /^([+-]?)(\d*\.\d+|\d+\.)[eE]([+-]?\d{1,4})$/
const TIMES_TEN = new RegExp(String.raw`^([+-]?)(?:${DEC}(?:\\cdot|\\times|\*))?10\^(?:\{([+-]?\d{1,4})\}|(\d))$`)
const FRAC = new RegExp(String.raw`^([+-]?)\\frac\{([+-]?)${DEC}\}\{([+-]?)${DEC}\}$`)
const MIXED = /^([+-]?)(\d+)\\frac\{(\d+)\}\{(\d+)\}$/
const SLASH = new RegExp(`^([+-]?)${DEC}/([+-]?)${DEC}$`)

/** A decimal numeral: its value, and its unit in the last place when it has decimals. */
const decimal = (text: string): NumberLiteral | undefined => {
  const [whole = "", frac = ""] = text.split(".")
  if (whole.length + frac.length > MAX_DIGITS) return undefined
  const digits = `${whole}${frac}`.replace(/^0+(?=\d)/, "")
  const value = rational(BigInt(digits === "" ? "0" : digits), 10n ** BigInt(frac.length))
  return { value, ulp: frac.length > 0 ? pow10(-frac.length) : undefined }
}

const signed = (sign: string | undefined, lit: NumberLiteral): NumberLiteral =>
  sign === "-" ? { value: { num: -lit.value.num, den: lit.value.den }, ulp: lit.ulp } : lit

const scaled = (lit: NumberLiteral, exponent: number): NumberLiteral | undefined => {
  if (Math.abs(exponent) > MAX_EXPONENT) return undefined
  const k = pow10(exponent)
  return { value: mul(lit.value, k), ulp: lit.ulp === undefined ? undefined : mul(lit.ulp, k) }
}

const quotient = (
  a: NumberLiteral | undefined,
  b: NumberLiteral | undefined,
  negate: boolean
): NumberLiteral | undefined => {
  if (a === undefined || b === undefined || b.value.num === 0n) return undefined
  const v = rational(a.value.num * b.value.den, a.value.den * b.value.num)
  return { value: negate ? { num: -v.num, den: v.den } : v, ulp: undefined }
}

/**
 * Reads a number literal from a normalised scalar answer; `undefined` when it is not one (an
 * expression, text, or a literal too long to be an answer).
 *
 * @example
 * parseNumber("\\frac{1}{2}")?.value // { num: 1n, den: 2n }
 * parseNumber("6.29\\cdot10^{6}")?.value // { num: 6290000n, den: 1n }
 * parseNumber("x+1") // undefined
 */
export const parseNumber = (text: string): NumberLiteral | undefined => {
  if (text.length > MAX_DIGITS + 40) return undefined
  let m = PLAIN.exec(text)
  if (m !== null) {
    const lit = decimal(m[2] ?? "")
    return lit && signed(m[1], lit)
  }
  m = FRAC.exec(text)
  if (m !== null) {
    const negate = [m[1], m[2], m[4]].filter((s) => s === "-").length % 2 === 1
    return quotient(decimal(m[3] ?? ""), decimal(m[5] ?? ""), negate)
  }
  m = MIXED.exec(text)
  if (m !== null) {
    const whole = decimal(m[2] ?? "")
    const part = quotient(decimal(m[3] ?? ""), decimal(m[4] ?? ""), false)
    if (whole === undefined || part === undefined) return undefined
    const v = rational(whole.value.num * part.value.den + part.value.num, part.value.den)
    return signed(m[1], { value: v, ulp: undefined })
  }
  m = SLASH.exec(text)
  if (m !== null) {
    const negate = [m[1], m[3]].filter((s) => s === "-").length % 2 === 1
    return quotient(decimal(m[2] ?? ""), decimal(m[4] ?? ""), negate)
  }
  m = E_NOTATION.exec(text)
  if (m !== null) {
    const lit = decimal(m[2] ?? "")
    const out = lit && scaled(lit, Number(m[3]))
    return out && signed(m[1], out)
  }
  m = TIMES_TEN.exec(text)
  if (m !== null) {
    const lit = m[2] === undefined ? { value: rational(1n, 1n), ulp: undefined } : decimal(m[2])
    const out = lit && scaled(lit, Number(m[3] ?? m[4]))
    return out && signed(m[1], out)
  }
  const words = numberWords(text)
  return words === undefined ? undefined : { value: rational(BigInt(words), 1n), ulp: undefined }
}

const SMALL = [
  "zero",
  "one",
  "two",
  "three",
  "four",
  "five",
  "six",
  "seven",
  "eight",
  "nine",
  "ten",
  "eleven",
  "twelve",
  "thirteen",
  "fourteen",
  "fifteen",
  "sixteen",
  "seventeen",
  "eighteen",
  "nineteen"
]
const TENS = ["twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
const WORD_VALUES = new Map<string, number>([
  ...SMALL.map((w, i) => [w, i] as const),
  ...TENS.map((w, i) => [w, 20 + 10 * i] as const),
  ["hundred", 100],
  ["thousand", 1000],
  ["million", 1_000_000]
])
const WORD_LIST = [...WORD_VALUES.keys(), "and"].sort((a, b) => b.length - a.length)

/**
 * The value of a whole answer written in English number words (`three`, `twenty-five`,
 * `one hundred and five`, also with the spaces that normalisation removes: `twentyfive`);
 * `undefined` for anything else. Qwen2.5-Math's grader reads number words too (`word2number`).
 *
 * @example
 * numberWords("twenty-five") // 25
 * numberWords("none") // undefined
 */
export const numberWords = (text: string): number | undefined => {
  let s = text.toLowerCase().replace(/[\s-]+/g, "")
  if (s === "" || s.length > 80 || !/^[a-z]+$/.test(s)) return undefined
  const tokens: Array<string> = []
  while (s.length > 0) {
    const w = WORD_LIST.find((x) => s.startsWith(x))
    if (w === undefined) return undefined
    tokens.push(w)
    s = s.slice(w.length)
  }
  if (tokens[0] === "and" || tokens.at(-1) === "and") return undefined
  let total = 0
  let current = 0
  let last = ""
  for (const t of tokens) {
    if (t === "and") {
      if (last !== "hundred" && last !== "thousand" && last !== "million") return undefined
      last = t
      continue
    }
    const v = WORD_VALUES.get(t) ?? 0
    if (t === "hundred") {
      if (current % 100 === 0 && current !== 0) return undefined
      current = (current === 0 ? 1 : current) * 100
    } else if (t === "thousand" || t === "million") {
      total += (current === 0 ? 1 : current) * v
      current = 0
    } else {
      // a unit after a unit (`one two`) or a ten after a unit is not a number
      if (current % 10 !== 0 || (current % 100 !== 0 && v >= 10)) return undefined
      current += v
    }
    last = t
  }
  return total + current
}

/**
 * The canonical text of a number's exact value, `p/q` in lowest terms or `p`: the voting key of
 * every spelling of that number.
 *
 * @example
 * const half = parseNumber("0.50")
 * half && numberKey(half) // "1/2"
 */
export const numberKey = (n: NumberLiteral): string =>
  n.value.den === 1n ? n.value.num.toString() : `${n.value.num}/${n.value.den}`

/** `lit` is `value` correctly rounded to the places it shows, and within the relative tolerance. */
const roundsTo = (lit: NumberLiteral, value: Rational): boolean => {
  if (lit.ulp === undefined) return false
  const err = abs(sub(lit.value, value))
  return le(mul(err, { num: 2n, den: 1n }), lit.ulp) && le(err, mul(REL_TOL, abs(value)))
}

/**
 * Whether two number literals denote the same number: exactly equal, or one is a decimal that is
 * the other correctly rounded (see the module doc).
 *
 * @example
 * const [a, b] = [parseNumber("0.3333"), parseNumber("\\frac{1}{3}")]
 * a && b && sameNumber(a, b) // true
 */
export const sameNumber = (a: NumberLiteral, b: NumberLiteral): boolean =>
  eq(a.value, b.value) || roundsTo(a, b.value) || roundsTo(b, a.value)

/**
 * Whether a number literal matches a computed value (of `\sqrt{2}`, `12\pi`…): within 1e-12
 * relative when the literal is exact, by the rounding rule when it is a decimal.
 *
 * @example
 * const x = parseNumber("37.699")
 * x && matchesValue(x, 12 * Math.PI) // true
 */
export const matchesValue = (lit: NumberLiteral, value: number): boolean => {
  if (!Number.isFinite(value)) return false
  const x = toNumber(lit.value)
  const err = Math.abs(x - value)
  if (err <= 1e-12 * Math.max(1, Math.abs(value))) return true
  if (lit.ulp === undefined) return false
  return err <= toNumber(lit.ulp) / 2 + 1e-15 * Math.abs(value) && err <= 1e-4 * Math.abs(value)
}

/**
 * The literal divided by 100 (for a percentage read as a ratio); the rounding unit scales too.
 *
 * @example
 * const fifty = parseNumber("50")
 * fifty && numberKey(percentOf(fifty)) // "1/2"
 */
export const percentOf = (lit: NumberLiteral): NumberLiteral => {
  const k = rational(1n, 100n)
  return { value: mul(lit.value, k), ulp: lit.ulp === undefined ? undefined : mul(lit.ulp, k) }
}
