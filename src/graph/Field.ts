/**
 * Numeric fields of graph nodes. In a document a numeric field is a number or an expression string
 * (`"N / M"`); decoding parses the string into a tree (`Expression.Expr`), once, and the plan keeps
 * that tree with the field's full path and its rule, so nothing re-parses it later. This module
 * holds the field's Schema, its rules (integer, range), and its compiled form, `NumField`.
 *
 * @since 0.2.0
 */
import { Effect, Schema, SchemaIssue, SchemaTransformation } from "effect"
import * as Expression from "./Expression.ts"

/** A numeric field as written: a number, or an expression over params, `budget.*`, `remaining.*` and `population.*`. */
export type Num = number | string

/** A numeric field as decoded: what was written, and its expression tree (a number is a `Num` leaf). */
export interface ParsedNum {
  readonly source: Num
  readonly expr: Expression.Expr
}

/** The text of a field as quoted in a problem line: at most 100 characters, so a huge value stays readable. */
export const quote = (text: string): string => (text.length > 100 ? `${text.slice(0, 100)}…` : text)

/**
 * The JSON form of a numeric field (what graph.schema.json describes). An expression string is
 * numbers, params, `budget.<meter>`, `remaining.<meter>`, `population.{size,active,done}`, `+ - * / ( )` and
 * `min max floor ceil sqrt round`; its syntax is checked when the field is decoded (`num`).
 */
export const Num = Schema.Union([Schema.Finite, Schema.String]).annotate({
  identifier: "Num",
  description: "A number or an expression string",
  message: "Expected a number or an expression string"
})

const ParsedNumSchema = Schema.declare(
  (u: unknown): u is ParsedNum => typeof u === "object" && u !== null && "source" in u && "expr" in u
)

/**
 * Parses a numeric field's value: a number is a leaf; a string is parsed, and a syntax error is the
 * field's problem (`invalid expression "N /": …`).
 *
 * @example
 * parseNum("N / M") // { ok: true, value: { source: "N / M", expr: … } }
 */
export const parseNum = (
  value: Num
): { readonly ok: true; readonly value: ParsedNum } | { readonly ok: false; readonly message: string } => {
  if (typeof value === "number") return { ok: true, value: { source: value, expr: { _tag: "Num", value } } }
  const r = Expression.parse(value)
  return r.ok
    ? { ok: true, value: { source: value, expr: r.expr } }
    : { ok: false, message: `invalid expression "${quote(value)}": ${r.message}` }
}

const parsing = SchemaTransformation.transformEffect<ParsedNum, Num>({
  decode: (value) => {
    const r = parseNum(value)
    return r.ok ? Effect.succeed(r.value) : Effect.fail(new SchemaIssue.InvalidValue({ message: r.message }, value))
  },
  encode: (parsed) => Effect.succeed(parsed.source)
})

/** A numeric field's Schema: its JSON form decoded to its parsed form. */
export const ParsedNumCodec = Num.pipe(Schema.decodeTo(ParsedNumSchema, parsing))

/**
 * A required numeric field of a node's Schema, with its key annotations (description, default).
 * The annotations sit on the JSON side, where graph.schema.json and docs/reference.md read them.
 *
 * @example
 * Schema.Struct({ n: num({ description: "How many" }) })
 */
export const num = (key: Schema.Annotations.Key<Num>) =>
  Num.annotateKey(key).pipe(Schema.decodeTo(ParsedNumSchema, parsing))

/**
 * An optional numeric field of a node's Schema, with its key annotations.
 *
 * @example
 * Schema.Struct({ temperature: optionalNum({ description: "Sampling temperature", default: 0.8 }) })
 */
export const optionalNum = (key: Schema.Annotations.Key<Num>) =>
  Schema.optionalKey(Num)
    .annotateKey(key)
    .pipe(Schema.decodeTo(Schema.optionalKey(ParsedNumSchema), parsing))

/** What a numeric field must be. */
export interface FieldRule {
  readonly integer: boolean
  readonly min: number
  /** the minimum is exclusive */
  readonly exclusive?: boolean
  /** the largest value allowed, when there is one */
  readonly max?: number
}

/** An integer ≥ 0. */
export const INT0: FieldRule = { integer: true, min: 0 }
/** An integer ≥ 1. */
export const INT1: FieldRule = { integer: true, min: 1 }
/** A number ≥ 0. */
export const NONNEG: FieldRule = { integer: false, min: 0 }
/** A number > 0. */
export const POSITIVE: FieldRule = { integer: false, min: 0, exclusive: true }
/** Any number (a `use` param, an `until` threshold). */
export const ANY: FieldRule = { integer: false, min: Number.NEGATIVE_INFINITY }

/**
 * Checks a value against a rule; returns a message, or `undefined` when it is fine.
 *
 * @example
 * checkRule(2.5, { integer: true, min: 0 }) // "expected an integer ≥ 0, got 2.5"
 */
export const checkRule = (value: number, rule: FieldRule): string | undefined => {
  // the rule's wording is built only for a value that breaks it: every field read at run time
  // checks its rule (a 256-branch fan-out reads two fields per branch)
  const what = () =>
    rule.max === undefined
      ? `${rule.integer ? "an integer" : "a number"} ${rule.exclusive ? ">" : "≥"} ${rule.min}`
      : `${rule.integer ? "an integer" : "a number"} in ${rule.min}..${rule.max}`
  if (Number.isNaN(value)) return `expected ${what()}, got NaN`
  if (rule.integer && Number.isFinite(value) && !Number.isInteger(value)) return `expected ${what()}, got ${value}`
  if (rule.integer && !Number.isFinite(value)) return `expected ${what()}, got ${value}`
  if (rule.exclusive ? value <= rule.min : value < rule.min) return `expected ${what()}, got ${value}`
  if (rule.max !== undefined && value > rule.max) return `expected ${what()}, got ${value}`
  return undefined
}

/** A numeric field of a plan node: parsed, with its full path and rule; a default is a constant. */
export interface NumField {
  /** the field's full path (`root.nodes.2.keep`; inside a used graph `root.nodes.0[beam-search].root.nodes.2.keep`) */
  readonly path: string
  readonly expr: Expression.Expr
  /** the expression as written, quoted in problems (`(from "N / M")`); `undefined` for a number */
  readonly text: string | undefined
  readonly rule: FieldRule
  /** the names the expression reads */
  readonly names: ReadonlyArray<string>
  /** it reads `population.*`, so it is known only when its node runs */
  readonly population: boolean
  /** the `budget.<meter>` meters it reads */
  readonly budget: ReadonlyArray<string>
  /** it reads `remaining.*` (what is left of the budget when its node starts), so it is known only then */
  readonly remaining: boolean
}

/**
 * The compiled form of a parsed numeric field.
 *
 * @example
 * field("root.nodes.2.keep", parsed, INT0).text // "N / M"
 */
export const field = (path: string, parsed: ParsedNum, rule: FieldRule): NumField => {
  const names = Expression.names(parsed.expr)
  return {
    path,
    expr: parsed.expr,
    text: typeof parsed.source === "string" ? parsed.source : undefined,
    rule,
    names,
    population: names.some((n) => n.startsWith("population.")),
    budget: names.filter((n) => n.startsWith("budget.")).map((n) => n.slice(7)),
    remaining: names.some((n) => n.startsWith("remaining."))
  }
}

/**
 * A field that was not written: its default, a constant.
 *
 * @example
 * constant("root.nodes.0.temperature", 0.8, NONNEG)
 */
export const constant = (path: string, value: number, rule: FieldRule): NumField => ({
  path,
  expr: { _tag: "Num", value },
  text: undefined,
  rule,
  names: [],
  population: false,
  budget: [],
  remaining: false
})

/**
 * An optional field: compiled when written, its default otherwise.
 *
 * @example
 * fieldOr("root.nodes.0.temperature", node.temperature, 0.8, NONNEG)
 */
export const fieldOr = (path: string, parsed: ParsedNum | undefined, fallback: number, rule: FieldRule): NumField =>
  parsed === undefined ? constant(path, fallback, rule) : field(path, parsed, rule)

/**
 * An optional field without a default the plan can know (a `maxTokens`: the backend's).
 *
 * @example
 * optionalField("root.nodes.0.maxTokens", node.maxTokens, INT1) // undefined when not written
 */
export const optionalField = (path: string, parsed: ParsedNum | undefined, rule: FieldRule): NumField | undefined =>
  parsed === undefined ? undefined : field(path, parsed, rule)

/** A problem with a field's value: the rule's message, quoting the expression it came from. */
export const valueProblem = (f: NumField, value: number): string | undefined => {
  const why = checkRule(value, f.rule)
  return why === undefined ? undefined : `${why}${f.text === undefined ? "" : ` (from "${f.text}")`}`
}
