/**
 * Answer equivalence: `equivalent(a, b)` for voting, `grade(answer, gold)` for accuracy, and the
 * cheap `answerKey` that groups the common spellings of one answer in O(1) each.
 *
 * `equivalent` compares shapes (see `Structures`) part by part:
 * - equal keys are equivalent (so equal normalised strings are);
 * - numbers by exact value, decimals by the rounding rule of `Numbers`; `x\%` also matches `x`
 *   and `x/100`;
 * - tuples and intervals in order, with their brackets (open and closed intervals differ); sets,
 *   bare lists and unions as sets (any order, a repeated element once); a one-element set is its
 *   element; a column or row vector matches a parenthesised tuple; matrices element-wise;
 * - words case-insensitively, never by the CAS; a whole answer in number words is its number;
 * - a decimal against a constant expression by value (`37.699` ≈ `12\pi`), other expressions by
 *   `Symbolic.identical`;
 * - equations up to a nonzero factor (`Symbolic.proportional`), and an equation against the value
 *   it gives one of its variables; inequalities flipped with the sides negated, and a one-variable
 *   inequality against the interval it defines (`x > 2` ≡ `(2,\infty)`).
 *
 * It is reflexive and symmetric (the pair is put in a canonical order first), pure, synchronous,
 * and bounded in work (see `Symbolic`).
 *
 * @since 0.1.0
 */
import { shape } from "./Normalize.ts"
import { matchesValue, type NumberLiteral, numberKey, parseNumber, percentOf, sameNumber } from "./Numbers.ts"
import { isTexty } from "./Rules.ts"
import type { Answer, Relation, Scalar } from "./Structures.ts"
import { relationInterval, render } from "./Structures.ts"
import { constantValue, fingerprint, identical, proportional, sameRelation } from "./Symbolic.ts"

/** Collections larger than this are compared by key only. */
const MAX_ITEMS = 64

const ANALYSIS_CACHE_SIZE = 4096
const analyses = new Map<string, Answer>()
// voting keys: a vote keys every ballot (256 at best-of-256), and exact numbers cost BigInt arithmetic
const keys = new Map<string, string>()

/** The settled shape of an answer, memoised (voting compares the same strings again and again). */
const shapeOf = (answer: string): Answer => {
  const hit = analyses.get(answer)
  if (hit !== undefined) return hit
  const a = shape(answer)
  if (analyses.size >= ANALYSIS_CACHE_SIZE) analyses.clear()
  analyses.set(answer, a)
  return a
}

const isLetter = (s: string): boolean => /^[a-zA-Z]$/.test(s)

/** Words and single letters (multiple-choice letters) compare without case, as in both reference graders. */
const caseless = (text: string): boolean => (isTexty(text) && !text.includes("\\")) || isLetter(text)

const scalarKey = (s: Scalar): string => {
  const n = parseNumber(s.text)
  if (n !== undefined) return `#${numberKey(n)}`
  return caseless(s.text) ? s.text.toLowerCase() : s.text
}

const keyOf = (a: Answer): string => {
  switch (a._tag) {
    case "Scalar":
      return scalarKey(a)
    case "Tuple":
      return `${a.open}${a.items.map(keyOf).join(",")}${a.close}`
    case "Set": {
      const items = [...new Set(a.items.map(keyOf))].sort()
      return items.length === 1 && items[0] !== undefined ? items[0] : `{${items.join(",")}}`
    }
    case "Union":
      return `U{${[...new Set(a.items.map(keyOf))].sort().join(",")}}`
    case "Matrix":
      return `M[${a.rows.map((r) => r.map(keyOf).join("&")).join(";")}]`
    case "Relation":
      return render(a)
  }
}

/**
 * The voting key of an answer: equal keys mean equivalent answers. It is the normalised form with
 * every number replaced by its exact value (`0.5`, `\frac{1}{2}`, `1/2`, `\dfrac12` → `#1/2`),
 * percent signs dropped (`50\%` groups with `50`), sets and lists sorted, and words in lower case.
 * It never calls the CAS, so grouping n answers by key is O(n).
 *
 * @example
 * answerKey("\\frac12") === answerKey("0.5") // true
 * answerKey("\\{3, 1\\}") === answerKey("1,3") // true
 */
export const answerKey = (answer: string): string => {
  const hit = keys.get(answer)
  if (hit !== undefined) return hit
  const key = keyOf(shapeOf(answer))
  if (keys.size >= ANALYSIS_CACHE_SIZE) keys.clear()
  keys.set(answer, key)
  return key
}

/**
 * Width of a value cell, in `asinh` of the value (about relative for large values, absolute near
 * 0). Equivalent answers' values differ by float rounding only (`identical` samples agree within
 * 1e-9 relative), far less than a cell, so they lie in the same or adjacent cells.
 */
const CELL_WIDTH = 1e-6
const cellMemo = new Map<string, ReadonlyArray<string> | null>()

const cellsOfValue = (v: number): ReadonlyArray<string> | undefined => {
  const t = Math.asinh(v)
  if (!Number.isFinite(t)) return undefined
  const k = Math.floor(t / CELL_WIDTH)
  // a value near a cell edge: its neighbour's answers share the cell `k + 1` or `k`
  return [`v${k}`, `v${k + 1}`]
}

const cellsOf = (a: Answer): ReadonlyArray<string> | undefined => {
  // only single scalars whose equivalence is exact numbers or `identical`; everything else
  // (decimals, percents, words, letters, sets, tuples, relations) has no cells
  if (a._tag !== "Scalar" || a.percent) return undefined
  const text = a.text
  if (text === "" || isTexty(text) || isLetter(text)) return undefined
  const n = parseNumber(text)
  if (n !== undefined) {
    // a decimal matches by its rounding rule, not by value
    if (n.ulp !== undefined) return undefined
    return cellsOfValue(Number(n.value.num) / Number(n.value.den))
  }
  const f = fingerprint(text)
  return f === undefined ? undefined : cellsOfValue(f.re)
}

/**
 * The value cells of an answer, for bucketing a vote: two answers `equivalent` calls equal share
 * a cell. A single number or expression lies in the two cells around its value at a fixed point
 * (`Symbolic.fingerprint`); `undefined` for every answer whose equivalence is not decided by
 * value alone (decimals, percents, words, letters, sets, tuples, relations), which a vote then
 * compares with every group.
 *
 * @example
 * answerCells("(x+1)^2") // shares a cell with answerCells("x^2+2x+1")
 * answerCells("0.5") // undefined: a decimal matches by rounding
 */
export const answerCells = (answer: string): ReadonlyArray<string> | undefined => {
  const hit = cellMemo.get(answer)
  if (hit !== undefined) return hit ?? undefined
  let cells: ReadonlyArray<string> | undefined
  try {
    cells = cellsOf(shapeOf(answer))
  } catch {
    cells = undefined
  }
  if (cellMemo.size >= ANALYSIS_CACHE_SIZE) cellMemo.clear()
  cellMemo.set(answer, cells ?? null)
  return cells
}

/** A number's exact value as LaTeX, for the CAS: `\frac{-1}{2}`, `3`. */
const literalLatex = (lit: NumberLiteral): string =>
  lit.value.den === 1n ? lit.value.num.toString() : `\\frac{${lit.value.num}}{${lit.value.den}}`

/** A number against a constant expression: exact numbers by the CAS, decimals by value. */
const numberMatches = (lit: NumberLiteral, text: string): boolean => {
  if (lit.ulp === undefined) return identical(literalLatex(lit), text)
  const v = constantValue(text)
  return v !== undefined && matchesValue(lit, v)
}

const sameText = (x: string, y: string): boolean => {
  if (x === y) return true
  const nx = parseNumber(x)
  const ny = parseNumber(y)
  if (nx !== undefined && ny !== undefined) return sameNumber(nx, ny)
  if (x === "" || y === "") return false
  if (isTexty(x) || isTexty(y) || (isLetter(x) && isLetter(y))) return x.toLowerCase() === y.toLowerCase()
  if (nx !== undefined) return numberMatches(nx, y)
  if (ny !== undefined) return numberMatches(ny, x)
  return identical(x, y)
}

const sameScalar = (a: Scalar, b: Scalar): boolean => {
  if (sameText(a.text, b.text)) return true
  if (a.percent === b.percent) return false
  // x% is x/100 too (Qwen2.5-Math accepts both readings; PRM800K only drops the sign)
  const [p, q] = a.percent ? [a, b] : [b, a]
  const np = parseNumber(p.text)
  const nq = parseNumber(q.text)
  return np !== undefined && nq !== undefined && sameNumber(percentOf(np), nq)
}

/**
 * Two unordered collections hold the same answers: each element of one has an equivalent in the
 * other (a set, so a repeated element counts once, as in Math-Verify's `FiniteSet`).
 */
const sameMultiset = (xs: ReadonlyArray<Answer>, ys: ReadonlyArray<Answer>): boolean => {
  if (xs.length > MAX_ITEMS || ys.length > MAX_ITEMS) return false
  const memo = new Map<string, boolean>()
  const pair = (i: number, j: number): boolean => {
    const k = `${i},${j}`
    let v = memo.get(k)
    if (v === undefined) {
      const x = xs[i]
      const y = ys[j]
      v = x !== undefined && y !== undefined && same(x, y)
      memo.set(k, v)
    }
    return v
  }
  return xs.every((_, i) => ys.some((_, j) => pair(i, j))) && ys.every((_, j) => xs.some((_, i) => pair(i, j)))
}

const sameSequence = (xs: ReadonlyArray<Answer>, ys: ReadonlyArray<Answer>): boolean =>
  xs.length === ys.length &&
  xs.length <= MAX_ITEMS &&
  xs.every((x, i) => {
    const y = ys[i]
    return y !== undefined && same(x, y)
  })

const vectorItems = (m: Answer): ReadonlyArray<Answer> | undefined => {
  if (m._tag !== "Matrix") return undefined
  if (m.rows.every((r) => r.length === 1)) return m.rows.flat()
  if (m.rows.length === 1) return m.rows[0]
  return undefined
}

const FLIP: Readonly<Record<Relation["op"], Relation["op"]>> = {
  "=": "=",
  "\\ne": "\\ne",
  "<": ">",
  ">": "<",
  "\\le": "\\ge",
  "\\ge": "\\le"
}

const sameRelations = (a: Relation, b: Relation): boolean => {
  // equations with the same solutions: one side minus the other equal up to a nonzero factor
  if (a.op === "=") return b.op === "=" && proportional(a, b)
  if (a.op === "\\ne") return a.op === b.op && (sameRelation(a, b, false) || sameRelation(a, b, true))
  if (a.op === b.op && sameRelation(a, b, false)) return true
  return FLIP[a.op] === b.op && sameRelation(a, b, true)
}

/**
 * Whether `value` is what the equation gives for one of its variables (`y = value` has the same
 * solutions), the way Math-Verify compares `y=-\frac{1}{2}x+\frac{3}{4}` with `2x+4y-3=0`. The
 * value must have a variable of its own (`0` is not what `a+3z=0` is solved for) and must not
 * contain the variable it stands for.
 */
const solvedFor = (r: Relation, value: Scalar): boolean => {
  const letters = (t: string): Array<string> => t.replace(/\\[a-zA-Z]+/g, " ").match(/[a-zA-Z]/g) ?? []
  if (r.op !== "=" || isTexty(value.text) || letters(value.text).length === 0) return false
  const own = new Set(letters(value.text))
  const candidates = [...new Set(letters(`${r.lhs} ${r.rhs}`))].filter((v) => v !== "e" && v !== "i" && !own.has(v))
  return candidates.slice(0, 4).some((v) => proportional(r, { lhs: v, rhs: value.text }))
}

/**
 * `3,5` written with a decimal comma: a bare list of an integer and one digit, read as the number
 * it would be with a decimal point (`-2,1` is -2.1), for comparison with a single number. A lone
 * number with two or more decimals (`1,22`) is read as a decimal by extraction already; one digit
 * is ambiguous with a list of two answers, so it is not rewritten, only compared both ways.
 */
const decimalCommaValue = (a: Answer): NumberLiteral | undefined => {
  if (a._tag !== "Set" || a.braces || a.items.length !== 2) return undefined
  const [x, y] = a.items
  if (x?._tag !== "Scalar" || y?._tag !== "Scalar" || x.percent || y.percent) return undefined
  if (!/^-?\d+$/.test(x.text) || !/^\d$/.test(y.text)) return undefined
  return parseNumber(`${x.text}.${y.text}`)
}

const same = (a: Answer, b: Answer): boolean => {
  if (keyOf(a) === keyOf(b)) return true
  const comma = decimalCommaValue(a) ?? decimalCommaValue(b)
  if (comma !== undefined) {
    const other = decimalCommaValue(a) === undefined ? a : b
    const n = other._tag === "Scalar" && !other.percent ? parseNumber(other.text) : undefined
    if (n !== undefined) return sameNumber(comma, n)
  }
  if (a._tag === "Set" && a.items.length === 1 && a.items[0] !== undefined) return same(a.items[0], b)
  if (b._tag === "Set" && b.items.length === 1 && b.items[0] !== undefined) return same(a, b.items[0])
  // an inequality in one variable is the interval it defines: `x > 2` is `(2,\infty)`; an
  // equation is the value of the variable it is solved for: `2x+4y-3=0` and `-\frac12x+\frac34`
  if (a._tag === "Relation" && b._tag !== "Relation") {
    const interval = relationInterval(a)
    if (interval !== undefined) return same(interval, b)
    return b._tag === "Scalar" && solvedFor(a, b)
  }
  if (b._tag === "Relation" && a._tag !== "Relation") return same(b, a)
  switch (a._tag) {
    case "Scalar":
      return b._tag === "Scalar" && sameScalar(a, b)
    case "Tuple": {
      if (b._tag === "Tuple") return a.open === b.open && a.close === b.close && sameSequence(a.items, b.items)
      const v = vectorItems(b)
      return v !== undefined && a.open === "(" && a.close === ")" && sameSequence(a.items, v)
    }
    case "Set":
      return b._tag === "Set" && sameMultiset(a.items, b.items)
    case "Union":
      return b._tag === "Union" && sameMultiset(a.items, b.items)
    case "Matrix": {
      if (b._tag === "Tuple") return same(b, a)
      if (b._tag !== "Matrix" || a.rows.length !== b.rows.length) return false
      return a.rows.every((r, i) => {
        const s = b.rows[i]
        return s !== undefined && sameSequence(r, s)
      })
    }
    case "Relation":
      return b._tag === "Relation" && sameRelations(a, b)
  }
}

// Verdicts by (canonically ordered) pair: every vote of a sweep over a problem compares the same
// answers again, and a comparison through the CAS costs up to milliseconds (#17 of MATH-500: 136
// comparisons, ~150 ms a vote). The first verdict stands for the process, so a comparison the
// CAS's time limit cut short is not decided differently by a later vote.
const VERDICT_CACHE_SIZE = 16384
const verdicts = new Map<string, boolean>()

/**
 * Whether two answers are the same answer (see the module doc for the rules). Reflexive,
 * symmetric, pure and synchronous; never throws; bounded work.
 *
 * @example
 * equivalent("\\frac{1}{2}", "0.5") // true
 * equivalent("(1,2]", "(1,2)") // false
 * equivalent("x^2+2x+1", "(x+1)^2") // true
 * equivalent("1 \\pm \\sqrt{19}", "1-\\sqrt{19}, 1+\\sqrt{19}") // true
 */
export const equivalent = (a: string, b: string): boolean => {
  if (a === b) return true
  const [x, y] = a <= b ? [a, b] : [b, a]
  const pair = `${x.length}:${x}${y}`
  const hit = verdicts.get(pair)
  if (hit !== undefined) return hit
  let verdict: boolean
  try {
    verdict = same(shapeOf(x), shapeOf(y))
  } catch {
    verdict = false
  }
  if (verdicts.size >= VERDICT_CACHE_SIZE) verdicts.clear()
  verdicts.set(pair, verdict)
  return verdict
}

/**
 * Grades an extracted answer against the gold answer: `false` when there is no answer (an
 * empty one included), otherwise `equivalent`.
 *
 * @example
 * grade("\\dfrac{1}{9}", "\\frac19") // true
 * grade(undefined, "3") // false
 */
export const grade = (answer: string | undefined, gold: string): boolean =>
  answer !== undefined && answer.trim() !== "" && equivalent(answer, gold)
