/**
 * Field readers for recorded pools, in the style of `src/data/Dataset.ts`: each returns a value or
 * a `FieldProblem` naming the (dotted) field and what is wrong with it, so a bad line becomes a
 * `DatasetError` with its file, line and field.
 *
 * @since 0.1.0
 */
import { type FieldProblem, getPath } from "../../src/data/Dataset.ts"

const show = (value: unknown): string => {
  const s = JSON.stringify(value)
  return s === undefined ? String(value) : s.length > 60 ? `${s.slice(0, 57)}...` : s
}

/**
 * A list at a dotted path, optionally of an exact length.
 *
 * @example
 * listField({ pred: ["1", "2"] }, "pred", 2) // ["1", "2"]
 */
export const listField = (record: unknown, path: string, length?: number): ReadonlyArray<unknown> | FieldProblem => {
  const value = getPath(record, path)
  if (value === undefined) return { field: path, reason: "missing" }
  if (!Array.isArray(value)) return { field: path, reason: `expected a list, got ${show(value)}` }
  if (length !== undefined && value.length !== length)
    return { field: path, reason: `expected ${length} entries (one per response), got ${value.length}` }
  return value
}

/**
 * A reward: a finite number, or a (possibly nested) list of them whose last entry is the outcome
 * reward (reward models that score every step or token report lists; replay serves the last).
 *
 * @example
 * rewardValue([[3.5]], "pred_score.0") // 3.5
 */
export const rewardValue = (value: unknown, field: string): number | FieldProblem => {
  let v = value
  while (Array.isArray(v)) {
    if (v.length === 0) return { field, reason: "expected a number or a non-empty list of numbers, got []" }
    v = v[v.length - 1]
  }
  if (typeof v === "number" && Number.isFinite(v)) return v
  return { field, reason: `expected a finite number, got ${show(value)}` }
}

/**
 * A string entry of a list.
 *
 * @example
 * stringValue("420", "pred.0") // "420"
 */
export const stringValue = (value: unknown, field: string): string | FieldProblem =>
  typeof value === "string" ? value : { field, reason: `expected a string, got ${show(value)}` }

/**
 * A boolean entry (also 0/1, as some recordings write labels).
 *
 * @example
 * booleanValue(1, "score.0") // true
 */
export const booleanValue = (value: unknown, field: string): boolean | FieldProblem =>
  typeof value === "boolean"
    ? value
    : value === 0 || value === 1
      ? value === 1
      : { field, reason: `expected true or false, got ${show(value)}` }
