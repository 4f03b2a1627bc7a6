/**
 * The shape of an answer: a scalar, a tuple or interval, a set or list of answers, a union of
 * intervals, a matrix, or a relation (`5x-7y+11z+4=0`). `analyze` reads the shape from a raw
 * answer (applying the rewrite rules of `Rules`); `render` writes it back as normalised LaTeX.
 *
 * Reading order, each step on top-level text only (outside every bracket):
 * - `\cup` splits a union; commas split a list (and `or`/`and`, which `cleanup` made commas);
 * - a short left side goes: `x = 5` → `5`, `x \in [1,2]` → `[1,2]`, `(a,b) = (1,2)` → `(1,2)`,
 *   and a chain `a = b = 3` keeps its last side (Hendrycks);
 * - `\begin{pmatrix}…\end{pmatrix}` (after `bmatrix`/`array` became `pmatrix`) is a matrix;
 * - assignments that repeat their names (`p=5,q=2;p=7,q=2`) are one tuple per round;
 * - `\{…\}` is a set; brackets `(`/`[` … `)`/`]` around a top-level comma (or, with no comma, a
 *   semicolon: `(1;2)`) are a tuple or interval;
 * - a chain `a < x \le b` with a named middle is the interval `(a,b]`;
 * - one `\pm` in a list or at the top makes two answers: `1\pm\sqrt{19}` → `1+\sqrt{19},1-\sqrt{19}`;
 * - one relation symbol makes a relation; anything else is a scalar, with a trailing `%` noted.
 *
 * @since 0.1.0
 */
import { enclosed, splitTopLevel } from "./Latex.ts"
import { cleanup, isName, normalizeScalar } from "./Rules.ts"

export type Answer = Scalar | Tuple | AnswerSet | Union | Matrix | Relation

/** A single value: a number, an expression, or words. */
export interface Scalar {
  readonly _tag: "Scalar"
  /** normalised LaTeX, without a trailing `%` */
  readonly text: string
  /** the answer ended with a percent sign */
  readonly percent: boolean
}

/** An ordered tuple or an interval; the brackets tell `(1,2]` from `[1,2]`. */
export interface Tuple {
  readonly _tag: "Tuple"
  readonly open: "(" | "["
  readonly close: ")" | "]"
  readonly items: ReadonlyArray<Answer>
}

/** An unordered collection: a set `\{…\}` or a bare list `1, 2` (braces: whether it had `\{\}`). */
export interface AnswerSet {
  readonly _tag: "Set"
  readonly braces: boolean
  readonly items: ReadonlyArray<Answer>
}

/** A union of intervals (or sets), unordered. */
export interface Union {
  readonly _tag: "Union"
  readonly items: ReadonlyArray<Answer>
}

/** A matrix or vector, row by row. */
export interface Matrix {
  readonly _tag: "Matrix"
  readonly rows: ReadonlyArray<ReadonlyArray<Answer>>
}

export type RelationOp = "=" | "<" | ">" | "\\le" | "\\ge" | "\\ne"

/** An equation or inequality whose left side is not a mere name. */
export interface Relation {
  readonly _tag: "Relation"
  readonly op: RelationOp
  readonly lhs: string
  readonly rhs: string
}

const RELATIONS: ReadonlyArray<RelationOp> = ["\\le", "\\ge", "\\ne", "=", "<", ">"]

/**
 * One number written with thousands separators: `58,500`, `1,000,000`, and `1, 000` (a list has no
 * element `000`, so a comma and a space before a group that starts with 0 separate thousands too).
 * `0,500` and `32, 349` are not: the first is not a grouped number, the second is a list.
 */
export const THOUSANDS = /^[+-]?[1-9]\d{0,2}(?:,(?: (?=0))?\d{3})+(?:\.\d+)?%?$/
/** Nesting beyond this is read as a scalar, so no input recurses deeply. */
const MAX_DEPTH = 6

/** No variable in it: `\\frac{1}{2}`, `3\\sqrt{2}`, `\\pi`. */
const isConstant = (side: string): boolean =>
  side.trim() !== "" &&
  !/[a-zA-Z]/.test(side.replace(/\\(?:[dt]?frac|sqrt|pi|cdot|times|div|left|right|[dt]?binom)(?![a-zA-Z])/g, ""))

/** `x = 5` → `5`; `x \in S` → `S`; `a = b = 3` → `3`. Returns the text unchanged otherwise. */
const stripBinding = (s: string): string => {
  const inMatch = /^\s*(?:[a-zA-Z]|\\[a-zA-Z]+)(?:_\{?\w+\}?)?\s*\\in(?![a-zA-Z])\s*/.exec(s)
  if (inMatch !== null) return s.slice(inMatch[0].length)
  const sides = splitTopLevel(s, ["="])
  if (sides.length >= 3) return sides.at(-1) ?? s
  const [lhs = "", rhs = ""] = sides
  if (sides.length === 2 && rhs.trim() !== "" && (isName(lhs) || (isConstant(lhs) && isConstant(rhs)))) return rhs
  return s
}

const scalar = (raw: string): Scalar => {
  let text = raw.trim()
  let percent = false
  while (text.endsWith("%")) {
    percent = true
    text = text.slice(0, -1).trim()
  }
  return { _tag: "Scalar", text: normalizeScalar(text), percent }
}

/** Bare lists inside a list are flattened into it (`1\pm2, 5` is three answers). */
const flatten = (items: ReadonlyArray<Answer>): Array<Answer> =>
  items.flatMap((a) => (a._tag === "Set" && !a.braces ? a.items : [a]))

const plusMinus = (s: string): [string, string] | undefined => {
  const parts = splitTopLevel(s, ["\\pm", "\\mp"])
  if (parts.length !== 2) return undefined
  const [a = "", b = ""] = parts
  const head = a.trim() === "" ? "" : a
  return [`${head}+${b}`, `${head}-${b}`]
}

const matrix = (s: string, depth: number): Matrix | undefined => {
  // brackets around a matrix, as in \left[\begin{array}…\end{array}\right]
  const m = /^[([]?\s*\\begin\{pmatrix\}([\s\S]*)\\end\{pmatrix\}\s*[)\]]?$/.exec(s)
  if (m === null) return undefined
  const body = m[1] ?? ""
  if (body.includes("\\begin{pmatrix}")) return undefined
  const rows = body
    .split(/\\\\(?:\[[^\]]*\])?/)
    .map((r) => r.trim())
    .filter((r) => r !== "")
    .map((r) => r.split("&").map((cell) => analyzeAt(cell, depth + 1, false)))
  return rows.length === 0 ? undefined : { _tag: "Matrix", rows }
}

/** The relation symbols between consecutive sides of `s`, in order. */
const operators = (s: string, sides: ReadonlyArray<string>): Array<RelationOp> => {
  const ops: Array<RelationOp> = []
  let at = 0
  for (const side of sides.slice(0, -1)) {
    at += side.length
    const op = RELATIONS.find((r) => s.startsWith(r, at))
    if (op === undefined) return []
    ops.push(op)
    at += op.length
  }
  return ops
}

const LOWER: ReadonlyArray<RelationOp> = ["<", "\\le"]
const UPPER: ReadonlyArray<RelationOp> = [">", "\\ge"]

/** `a < x \le b` (or `b \ge x > a`) with a named middle is the interval `(a,b]`. */
const chainInterval = (s: string, sides: ReadonlyArray<string>, depth: number): Tuple | undefined => {
  if (sides.length !== 3 || !isName(sides[1] ?? "")) return undefined
  const [o1, o2] = operators(s, sides)
  if (o1 === undefined || o2 === undefined) return undefined
  const rising = LOWER.includes(o1) && LOWER.includes(o2)
  if (!rising && !(UPPER.includes(o1) && UPPER.includes(o2))) return undefined
  const [lo, hi, loOp, hiOp] = rising ? [sides[0], sides[2], o1, o2] : [sides[2], sides[0], o2, o1]
  return {
    _tag: "Tuple",
    open: loOp === "<" || loOp === ">" ? "(" : "[",
    close: hiOp === "<" || hiOp === ">" ? ")" : "]",
    items: [analyzeAt(lo ?? "", depth + 1, false), analyzeAt(hi ?? "", depth + 1, false)]
  }
}

/**
 * The interval a one-variable inequality stands for: `x > 2` is `(2,\infty)`, `k \le 5` is
 * `(-\infty,5]`, and the same with the sides swapped. `undefined` for equations and for relations
 * whose sides are not a name and a value.
 *
 * @example
 * relationInterval({ _tag: "Relation", op: ">", lhs: "x", rhs: "2" }) // (2,\infty)
 */
export const relationInterval = (r: Relation): Tuple | undefined => {
  if (r.op === "=" || r.op === "\\ne") return undefined
  const named = isName(r.lhs) && !isName(r.rhs)
  if (!named && !(isName(r.rhs) && !isName(r.lhs))) return undefined
  // read as `name op value`
  const op = named ? r.op : ({ "<": ">", ">": "<", "\\le": "\\ge", "\\ge": "\\le" } as const)[r.op]
  const value = scalar(named ? r.rhs : r.lhs)
  const infinity = (sign: string): Scalar => ({ _tag: "Scalar", text: `${sign}\\infty`, percent: false })
  return op === ">" || op === "\\ge"
    ? { _tag: "Tuple", open: op === ">" ? "(" : "[", close: ")", items: [value, infinity("")] }
    : { _tag: "Tuple", open: "(", close: op === "<" ? ")" : "]", items: [infinity("-"), value] }
}

/**
 * Assignments that repeat their names, `p=5,q=2,p=7,q=2` (also `p=5,q=2;p=7,q=2`), are one tuple
 * per round of names: `(5,2),(7,2)`. `undefined` when the parts are not such a cycle.
 */
const assignmentTuples = (parts: ReadonlyArray<string>, depth: number): Array<Answer> | undefined => {
  const pairs = parts.map((p) => {
    const sides = splitTopLevel(p, ["="])
    return sides.length === 2 && isName(sides[0] ?? "") && (sides[1] ?? "").trim() !== ""
      ? { name: (sides[0] ?? "").replace(/\s+/g, ""), value: sides[1] ?? "" }
      : undefined
  })
  if (pairs.length < 4 || pairs.some((x) => x === undefined)) return undefined
  const names = pairs.map((x) => x?.name ?? "")
  const period = names.indexOf(names[0] ?? "", 1)
  if (period < 2 || names.length % period !== 0 || names.some((n, i) => n !== names[i % period])) return undefined
  const tuples: Array<Answer> = []
  for (let i = 0; i < pairs.length; i += period)
    tuples.push({
      _tag: "Tuple",
      open: "(",
      close: ")",
      items: pairs.slice(i, i + period).map((x) => analyzeAt(x?.value ?? "", depth + 1, false))
    })
  return tuples
}

const analyzeAt = (input: string, depth: number, list: boolean): Answer => {
  const s = input.trim()
  if (depth > MAX_DEPTH) return scalar(s)
  if (list) {
    const pieces = splitTopLevel(s, ["\\cup"])
    if (pieces.length > 1) return { _tag: "Union", items: pieces.map((p) => analyzeAt(p, depth + 1, false)) }
    if (THOUSANDS.test(s)) return scalar(s.replace(/,\s?/g, ""))
    const parts = splitTopLevel(s, [",", ";"])
    if (parts.length > 1) {
      const tuples = assignmentTuples(parts, depth)
      if (tuples !== undefined) return { _tag: "Set", braces: false, items: tuples }
      return { _tag: "Set", braces: false, items: flatten(parts.map((p) => analyzeAt(p, depth + 1, true))) }
    }
  }
  const bound = stripBinding(s)
  if (bound !== s) return analyzeAt(bound, depth + 1, list)
  const mat = matrix(s, depth)
  if (mat !== undefined) return mat
  if (s.startsWith("\\{") && s.endsWith("\\}") && enclosed(s)) {
    const inner = s.slice(2, -2).trim()
    const items = inner === "" ? [] : flatten(splitTopLevel(inner, [","]).map((p) => analyzeAt(p, depth + 1, true)))
    return { _tag: "Set", braces: true, items }
  }
  const open = s[0]
  const close = s.at(-1)
  if ((open === "(" || open === "[") && (close === ")" || close === "]") && enclosed(s)) {
    // `(1;2)` is the pair `(1,2)`: semicolons separate the coordinates when no comma does
    let inner = splitTopLevel(s.slice(1, -1), [","])
    if (inner.length === 1) inner = splitTopLevel(s.slice(1, -1), [";"])
    if (inner.length > 1) return { _tag: "Tuple", open, close, items: inner.map((p) => analyzeAt(p, depth + 1, false)) }
  }
  if (list) {
    const pm = plusMinus(s)
    if (pm !== undefined) return { _tag: "Set", braces: false, items: pm.map((p) => analyzeAt(p, depth + 1, false)) }
  }
  const sides = splitTopLevel(s, RELATIONS)
  const interval = chainInterval(s, sides, depth)
  if (interval !== undefined) return interval
  if (sides.length === 2) {
    const [lhs = "", rhs = ""] = sides
    const op = RELATIONS.find((r) => s.slice(lhs.length).startsWith(r)) ?? "="
    const l = normalizeScalar(lhs)
    const r = normalizeScalar(rhs)
    if (l !== "" && r !== "") return { _tag: "Relation", op, lhs: l, rhs: r }
  }
  return scalar(s)
}

/**
 * Reads the shape of a raw answer (already extracted, e.g. the content of `\boxed{}`).
 *
 * @example
 * analyze("\\left( 3, \\frac{\\pi}{2} \\right)")
 * // { _tag: "Tuple", open: "(", close: ")", items: [Scalar "3", Scalar "\\frac{\\pi}{2}"] }
 */
export const analyze = (raw: string): Answer => analyzeAt(cleanup(raw), 0, true)

const renderRelation = (r: Relation): string =>
  `${r.lhs}${r.op}${r.op.startsWith("\\") && /^[a-zA-Z]/.test(r.rhs) ? " " : ""}${r.rhs}`

/**
 * Writes an answer back as normalised LaTeX (`render(analyze(s))` is one step of `normalize`),
 * without percent signs unless `percent` asks to keep them.
 *
 * @example
 * render(analyze("x \\in [-2,7]")) // "[-2,7]"
 */
export const render = (a: Answer, options?: { readonly percent?: boolean | undefined }): string => {
  const part = (x: Answer): string => render(x, options)
  switch (a._tag) {
    case "Scalar":
      return options?.percent === true && a.percent ? `${a.text}\\%` : a.text
    case "Tuple":
      return `${a.open}${a.items.map(part).join(",")}${a.close}`
    case "Set": {
      if (a.braces) return `\\{${a.items.map(part).join(",")}\\}`
      const joined = a.items.map(part).join(",")
      // a list that would read back as one grouped number (`32,349`) keeps a space: `32, 349`
      return THOUSANDS.test(joined) ? a.items.map(part).join(", ") : joined
    }
    case "Union":
      return a.items.map(part).join("\\cup ")
    case "Matrix":
      return `\\begin{pmatrix}${a.rows.map((r) => r.map(part).join("&")).join("\\\\")}\\end{pmatrix}`
    case "Relation":
      return renderRelation(a)
  }
}
