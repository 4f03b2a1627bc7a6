/**
 * The names an expression may read, and their values: the graph's params, `budget.<meter>` (the
 * limit of the ledger the node pays from — the run's, or inside a `parallel` branch the branch's
 * share; `Infinity` when unlimited), `remaining.<meter>` (what is left of that budget for the
 * graph's nodes when the node starts: the limit less what is spent, reserved and kept back to
 * finish; `Infinity` when unlimited) and `population.size|active|done` (the population entering
 * the node). Also a document's effective params (declared, with overrides applied).
 *
 * @since 0.1.0
 */
import type { Limits } from "../budget/Limits.ts"
import type { Counts } from "../domain/Population.ts"
import { METERS } from "../domain/Usage.ts"
import * as Expression from "./Expression.ts"

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
  if (name.startsWith("remaining.")) {
    return (METERS as ReadonlyArray<string>).includes(name.slice(10))
      ? undefined
      : `unknown name "${name}" (remaining meters: ${METERS.join(", ")})`
  }
  if (name.startsWith("population.")) {
    return (POPULATION as ReadonlyArray<string>).includes(name)
      ? undefined
      : `unknown name "${name}" (population counts: ${POPULATION.join(", ")})`
  }
  const known = Object.keys(params)
  return `unknown param "${name}" (${known.length === 0 ? "this graph has no params" : `params: ${known.join(", ")}`})`
}

/**
 * Whether an expression reads the population (so it can only be evaluated when the node runs).
 *
 * @example
 * readsPopulation(Expression.parseOrThrow("population.active / 2")) // true
 */
export const readsPopulation = (expr: Expression.Expr): boolean =>
  Expression.names(expr).some((n) => n.startsWith("population."))

/**
 * Whether an expression reads what remains of the budget (so it can only be evaluated when the node runs).
 *
 * @example
 * readsRemaining(Expression.parseOrThrow("remaining.sequences / 4")) // true
 */
export const readsRemaining = (expr: Expression.Expr): boolean =>
  Expression.names(expr).some((n) => n.startsWith("remaining."))

/**
 * A lookup for `Expression.evaluate`: `limits` are those of the ledger the node pays from;
 * `remaining` (read only if the expression asks) what is left of them.
 *
 * @example
 * Expression.evaluate(expr, lookup({ N: 16 }, { sequences: 10 }, counts, () => ({ sequences: 4 })))
 */
export const lookup =
  (params: Params, limits: Limits, counts?: Counts, remaining?: () => Limits) =>
  (name: string): number | undefined => {
    if (Object.hasOwn(params, name)) return params[name]
    if (name.startsWith("budget.")) {
      const meter = name.slice(7)
      if (!(METERS as ReadonlyArray<string>).includes(meter)) return undefined
      return limits[meter as keyof Limits] ?? Number.POSITIVE_INFINITY
    }
    if (name.startsWith("remaining.") && remaining !== undefined) {
      const meter = name.slice(10)
      if (!(METERS as ReadonlyArray<string>).includes(meter)) return undefined
      return remaining()[meter as keyof Limits] ?? Number.POSITIVE_INFINITY
    }
    if (counts !== undefined) {
      if (name === "population.size") return counts.size
      if (name === "population.active") return counts.active
      if (name === "population.done") return counts.done
    }
    return undefined
  }

/**
 * The effective params of a document: its declared params with overrides applied. An override of
 * an undeclared param is a problem.
 *
 * @example
 * effectiveParams({ params: { N: 16 } }, { N: 64 }) // { params: { N: 64 }, problems: [] }
 */
export const effectiveParams = (
  doc: { readonly params?: Params | undefined },
  overrides: Params = {},
  where = "params"
): { readonly params: Params; readonly problems: ReadonlyArray<string> } => {
  const declared = doc.params ?? {}
  const problems: Array<string> = []
  // a Map, not `params[k] = v`: a param named `__proto__` would hit the prototype setter
  const params = new Map(Object.entries(declared))
  for (const [k, v] of Object.entries(overrides)) {
    if (!Object.hasOwn(declared, k)) {
      const known = Object.keys(declared)
      problems.push(
        `${where}.${k}: unknown param "${k}" (${known.length === 0 ? "this graph has no params" : `params: ${known.join(", ")}`})`
      )
    } else if (!Number.isFinite(v)) problems.push(`${where}.${k}: expected a finite number, got ${v}`)
    else params.set(k, v)
  }
  return { params: Object.fromEntries(params), problems }
}
