/**
 * The per-problem wrong answers. A wrong lineage answers distractor j (1..K) with weight j^−zipf,
 * so a few wrong answers dominate and majority voting can be fooled. The strings must never be
 * equivalent to the gold under a MATH grader:
 *
 * - numeric gold (integer, decimal, `a/b`, `\frac{a}{b}`): exact rational perturbations — gold ± k,
 *   2·gold, 3·gold, 10·gold, −gold, gold/2, gold/10 — deduplicated by value and never equal in
 *   value to the gold, written like the gold (decimals stay decimals, fractions are reduced);
 * - multiple choice (`A`, `(B)`, `\text{(C)}`): the other letters first;
 * - any other gold: structural variants — one number inside it changed (n ± 1, n ± 2, 2n, n + 10),
 *   then `-(gold)`, `2(gold)`, `gold + k`.
 *
 * The plausible slips (the first eight, or the other letters of a multiple choice) are shuffled per
 * problem, so which wrong answer is the most popular differs from problem to problem.
 *
 * @since 0.1.0
 */
import { hash32, uniform } from "../../src/domain/Hash.ts"
import { T_DISTRACTORS, T_GOLD } from "./Tags.ts"

interface Rational {
  readonly p: bigint
  readonly q: bigint
}

const abs = (x: bigint): bigint => (x < 0n ? -x : x)
const gcd = (a: bigint, b: bigint): bigint => {
  let x = abs(a)
  let y = abs(b)
  while (y !== 0n) [x, y] = [y, x % y]
  return x
}
const rat = (p: bigint, q: bigint): Rational => {
  const s = q < 0n ? -1n : 1n
  const g = gcd(p, q) || 1n
  return { p: (s * p) / g, q: (s * q) / g }
}
const add = (a: Rational, b: Rational): Rational => rat(a.p * b.q + b.p * a.q, a.q * b.q)
const mul = (a: Rational, b: Rational): Rational => rat(a.p * b.p, a.q * b.q)
const int = (n: number): Rational => ({ p: BigInt(n), q: 1n })
const key = (r: Rational): string => `${r.p}/${r.q}`

type NumericStyle = "integer" | "decimal" | "fraction" | "slash"

const parseNumeric = (gold: string): { value: Rational; style: NumericStyle; decimals: number } | undefined => {
  const g = gold.trim()
  const dec = /^(-?)(\d+)(?:\.(\d+))?$/u.exec(g)
  if (dec) {
    const decimals = dec[3]?.length ?? 0
    const mantissa = BigInt(`${dec[1]}${dec[2]}${dec[3] ?? ""}`)
    return { value: rat(mantissa, 10n ** BigInt(decimals)), style: decimals > 0 ? "decimal" : "integer", decimals }
  }
  const frac = /^(-?)\\[dt]?frac\{(-?\d+)\}\{(\d+)\}$/u.exec(g) ?? /^(-?)\\[dt]?frac\s*(\d)(\d)$/u.exec(g)
  if (frac && BigInt(frac[3] ?? "0") !== 0n) {
    const sign = frac[1] === "-" ? -1n : 1n
    return { value: rat(sign * BigInt(frac[2] ?? "0"), BigInt(frac[3] ?? "1")), style: "fraction", decimals: 0 }
  }
  const slash = /^(-?\d+)\/(\d+)$/u.exec(g)
  if (slash && BigInt(slash[2] ?? "0") !== 0n) {
    return { value: rat(BigInt(slash[1] ?? "0"), BigInt(slash[2] ?? "1")), style: "slash", decimals: 0 }
  }
  return undefined
}

/** A terminating decimal with at least `decimals` places, or undefined if it does not terminate. */
const toDecimal = (r: Rational, decimals: number): string | undefined => {
  let d = decimals
  while (d <= 12) {
    const scale = 10n ** BigInt(d)
    if ((r.p * scale) % r.q === 0n) {
      const m = (r.p * scale) / r.q
      const neg = m < 0n
      const digits = abs(m)
        .toString()
        .padStart(d + 1, "0")
      const body = d === 0 ? digits : `${digits.slice(0, digits.length - d)}.${digits.slice(digits.length - d)}`
      return neg ? `-${body}` : body
    }
    d++
  }
  return undefined
}

const formatRational = (r: Rational, style: NumericStyle, decimals: number): string => {
  if (r.q === 1n) return style === "decimal" ? (toDecimal(r, decimals) ?? r.p.toString()) : r.p.toString()
  if (style === "decimal") {
    const d = toDecimal(r, decimals)
    if (d !== undefined) return d
  }
  if (style === "slash") return `${r.p}/${r.q}`
  return r.p < 0n ? `-\\frac{${-r.p}}{${r.q}}` : `\\frac{${r.p}}{${r.q}}`
}

const numericDistractors = (value: Rational, style: NumericStyle, decimals: number): Array<string> => {
  const half = rat(1n, 2n)
  const tenth = rat(1n, 10n)
  // slips first (off by one, doubled, sign, halved…), then wider misses
  const slips = [
    add(value, int(1)),
    add(value, int(-1)),
    mul(value, int(2)),
    mul(value, int(-1)),
    add(value, int(2)),
    mul(value, half),
    add(value, int(-2)),
    mul(value, int(3))
  ]
  const more = [add(value, int(10)), mul(value, int(10)), add(value, int(3)), add(value, int(-3)), mul(value, tenth)]
  for (let k = 4; k <= 80; k++) more.push(add(value, int(k)), add(value, int(-k)))
  const seen = new Set([key(value)])
  const out: Array<string> = []
  for (const r of [...slips, ...more]) {
    if (seen.has(key(r))) continue
    seen.add(key(r))
    out.push(formatRational(r, style, decimals))
  }
  return out
}

const choiceDistractors = (gold: string): Array<string> | undefined => {
  const m = /^(\\text\{)?(\(?)([A-E])(\)?)(\})?$/u.exec(gold.trim())
  if (!m || (m[1] === undefined) !== (m[5] === undefined) || (m[2] === "") !== (m[4] === "")) return undefined
  return ["A", "B", "C", "D", "E"].filter((c) => c !== m[3]).map((c) => `${m[1] ?? ""}${m[2]}${c}${m[4]}${m[5] ?? ""}`)
}

const structuralDistractors = (gold: string): Array<string> => {
  const out: Array<string> = []
  // a number in the exponent of a unit (`15\mbox{ cm}^2`) only changes the unit, which graders
  // strip: the variant would be the gold
  const numbers = [...gold.matchAll(/\d+/gu)]
    .filter((m) => !/\\(?:mbox|text)\{[^{}]*\}\^\{?$/u.test(gold.slice(0, m.index)))
    .slice(0, 3)
  for (const m of numbers) {
    const n = BigInt(m[0])
    const at = m.index
    const replacements = [n + 1n, n > 0n ? n - 1n : n + 3n, n > 0n ? 2n * n : n + 4n, n + 2n, n + 10n]
    for (const r of replacements) out.push(`${gold.slice(0, at)}${r}${gold.slice(at + m[0].length)}`)
  }
  out.push(`-(${gold})`, `2(${gold})`)
  for (let k = 1; k <= 80; k++) out.push(`${gold} + ${k}`)
  return out
}

const shuffleHead = <A>(xs: ReadonlyArray<A>, head: number, h: number): Array<A> => {
  const out = [...xs]
  const n = Math.min(head, out.length)
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(uniform(hash32(h, i), T_DISTRACTORS) * (i + 1))
    const t = out[i] as A
    out[i] = out[j] as A
    out[j] = t
  }
  return out
}

/**
 * The K distractor strings of a problem (distractor j is element j − 1), none equal to the gold.
 *
 * @example
 * makeDistractors("42", 4, 7) // e.g. ["84", "41", "-42", "43"] — order depends on the problem hash
 */
export const makeDistractors = (gold: string, K: number, ph: number): ReadonlyArray<string> => {
  const numeric = parseNumeric(gold)
  const choices = numeric ? undefined : choiceDistractors(gold)
  const pool = numeric
    ? numericDistractors(numeric.value, numeric.style, numeric.decimals)
    : [...(choices ?? []), ...structuralDistractors(gold)]
  // the plausible slips come first and are shuffled per problem: the other letters of a
  // multiple-choice gold, else the first eight
  const head = choices?.length ?? 8
  const seen = new Set([gold.trim()])
  const unique: Array<string> = []
  for (const s of pool) {
    if (seen.has(s)) continue
    seen.add(s)
    unique.push(s)
  }
  return shuffleHead(unique, head, hash32(ph, T_DISTRACTORS)).slice(0, K)
}

/**
 * The gold of a problem that has none: an integer from 2 to 999 drawn from the problem hash.
 *
 * @example
 * syntheticGold(12345) // e.g. "517"
 */
export const syntheticGold = (ph: number): string => String(2 + (hash32(ph, T_GOLD) % 998))
