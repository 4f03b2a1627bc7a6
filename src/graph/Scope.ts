/**
 * The names an expression may read, and their values: the graph's params, `budget.<meter>` (the
 * run's limit on that meter, `Infinity` when unlimited) and `population.size|active|done` (the
 * population entering the node).
 *
 * @since 0.1.0
 */
import type { Limits } from "../budget/Limits.ts"
import type { Counts } from "../domain/Population.ts"
import { METERS } from "../domain/Usage.ts"
import * as Expression from "./Expression.ts"
import type { Num } from "./Graph.ts"

export type Params = { readonly [name: string]: number }

const POPULATION = ["population.size", "population.active", "population.done"] as const

/**
 * Why a name cannot be read, or `undefined` when it can.
 *
 * @example
 * unknownName("budget.tokens", { N: 4 }) // 'unknown name "budget.tokens" (budget meters: calls, sequences, …)'
 */
export const unknownName = (name: string, params: Params): string | undefined => {
  if (Object.hasOwn(params, name)) return undefined
  if (name.startsWith("budget.")) {
    return (METERS as ReadonlyArray<string>).includes(name.slice(7))
      ? undefined
      : `unknown name "${name}" (budget meters: ${METERS.join(", ")})`
  }
  if (name.startsWith("population.")) {
    return (POPULATION as ReadonlyArray<string>).includes(name)
      ? undefined
      : `unknown name "${name}" (population counts: ${POPULATION.join(", ")})`
  }
  const known = Object.keys(params)
  return `unknown param "${name}" (${known.length === 0 ? "this graph has no params" : `params: ${known.join(", ")}`})`
}

/** Whether an expression reads the population (so it can only be evaluated when the node runs). */
export const readsPopulation = (expr: Expression.Expr): boolean =>
  Expression.names(expr).some((n) => n.startsWith("population."))

/**
 * A lookup for `Expression.evaluate`.
 *
 * @example
 * Expression.evaluate(expr, lookup({ N: 16 }, { sequences: 10 }, counts))
 */
export const lookup =
  (params: Params, limits: Limits, counts?: Counts) =>
  (name: string): number | undefined => {
    if (Object.hasOwn(params, name)) return params[name]
    if (name.startsWith("budget.")) {
      const meter = name.slice(7)
      if (!(METERS as ReadonlyArray<string>).includes(meter)) return undefined
      return limits[meter as keyof Limits] ?? Number.POSITIVE_INFINITY
    }
    if (counts !== undefined) {
      if (name === "population.size") return counts.size
      if (name === "population.active") return counts.active
      if (name === "population.done") return counts.done
    }
    return undefined
  }

const cache = new Map<string, Expression.Expr>()

/**
 * The parsed form of a numeric field (parsed once per distinct text). Throws only for text the
 * schema has not validated — decoding guarantees expressions parse.
 *
 * @example
 * exprOf("N / M")
 */
export const exprOf = (value: Num): Expression.Expr => {
  if (typeof value === "number") return { _tag: "Num", value }
  const hit = cache.get(value)
  if (hit !== undefined) return hit
  const expr = Expression.parseOrThrow(value)
  if (cache.size > 10_000) cache.clear()
  cache.set(value, expr)
  return expr
}

/**
 * Evaluates a numeric field.
 *
 * @example
 * evaluate("N / M", { N: 16, M: 4 }, {}) // 4
 */
export const evaluate = (value: Num, params: Params, limits: Limits, counts?: Counts): number =>
  typeof value === "number" ? value : Expression.evaluate(exprOf(value), lookup(params, limits, counts))
