/**
 * What the static cost bound of a plan node reads (its scope) and the arithmetic every node kind
 * shares: upper bounds of a population, numeric fields evaluated over intervals, and usage bounds
 * of generation and verifier calls. `Cost.ts` runs it over a plan; each node kind bounds itself.
 *
 * @since 0.2.0
 */
import type { Limits } from "../budget/Limits.ts"
import type { AnswerKind } from "../domain/AnswerKind.ts"
import * as Usage from "../domain/Usage.ts"
import * as Expression from "./Expression.ts"
import type { NumField } from "./Field.ts"
import type { Params } from "./Scope.ts"

/** Upper bounds of a population. */
export interface PopulationBound {
  readonly size: number
  readonly active: number
  readonly done: number
  /** distinct revision chains */
  readonly chains: number
}

export interface CostOptions {
  readonly params?: Params
  readonly limits?: Limits
  /** the backend's largest `maxTokens` of one call (nodes' own `maxTokens` are capped by it) */
  readonly maxTokens: number
  /** an upper bound on one generator call's prompt tokens, if known */
  readonly promptTokens?: number
  /** an upper bound on the tokens one verifier call reads, if known */
  readonly verifierTokens?: number
  /**
   * the answer kind of the problems (default `math`); with `free`, a voting `select` may make one
   * consistency-judge call (runtime/Judge.ts), and the bound counts it
   */
  readonly answerKind?: AnswerKind
}

/** Where a node is bounded. */
export interface BoundScope {
  /** the params of the node's document, as intervals (a used graph's params are expressions of the user's) */
  readonly params: { readonly [k: string]: Expression.Interval }
  /** the run's limits */
  readonly limits: Limits
  /** inside a `parallel` branch: `budget.<meter>` of a limited meter is a share, somewhere in `[0, limit]` */
  readonly share: boolean
  readonly options: CostOptions
}

/** A node's bound: its cost and the population it may leave. */
export interface Bounded {
  readonly cost: Usage.Usage
  readonly pop: PopulationBound
}

/** The empty population. */
export const EMPTY: PopulationBound = { size: 0, active: 0, done: 0, chains: 0 }

/**
 * The interval of a numeric field over the params' intervals, the budget and the population's bounds.
 *
 * @example
 * intervalOf(keep, scope, pop) // { lo: 4, hi: 4 }
 */
export const intervalOf = (f: NumField, scope: BoundScope, pop: PopulationBound): Expression.Interval => {
  if (f.expr._tag === "Num") return { lo: f.expr.value, hi: f.expr.value }
  const r = Expression.evaluateInterval(f.expr, (name) => {
    // own params only: `__proto__` (an unknown name) would otherwise read Object.prototype
    const p = Object.hasOwn(scope.params, name) ? scope.params[name] : undefined
    if (p !== undefined) return p
    if (name.startsWith("budget.")) {
      const meter = name.slice(7)
      if (!(Usage.METERS as ReadonlyArray<string>).includes(meter)) return undefined
      const limit = scope.limits[meter as Usage.Meter]
      if (limit === undefined) return { lo: Number.POSITIVE_INFINITY, hi: Number.POSITIVE_INFINITY }
      // a branch's share is what remains of the limit divided among the branches
      return scope.share ? { lo: 0, hi: limit } : { lo: limit, hi: limit }
    }
    if (name === "population.size") return { lo: 0, hi: pop.size }
    if (name === "population.active") return { lo: 0, hi: pop.active }
    if (name === "population.done") return { lo: 0, hi: pop.done }
    return undefined
  })
  return {
    lo: Number.isNaN(r.lo) ? Number.NEGATIVE_INFINITY : r.lo,
    hi: Number.isNaN(r.hi) ? Number.POSITIVE_INFINITY : r.hi
  }
}

/**
 * The upper end of a field's interval, at least 0.
 *
 * @example
 * hiOf(n, scope, pop) // 16
 */
export const hiOf = (f: NumField, scope: BoundScope, pop: PopulationBound): number =>
  Math.max(0, intervalOf(f, scope, pop).hi)

/**
 * The output tokens of one sequence, at most: the node's `maxTokens` (when written), capped by the backend's.
 *
 * @example
 * maxTokensBound(node.maxTokens, scope, pop) // 1024
 */
export const maxTokensBound = (f: NumField | undefined, scope: BoundScope, pop: PopulationBound): number =>
  Math.min(f === undefined ? scope.options.maxTokens : hiOf(f, scope, pop), scope.options.maxTokens)

/** A product of upper bounds: none of something unbounded, or unboundedly many free things, is 0 (not NaN). */
export const mul = (a: number, b: number): number => (a === 0 || b === 0 ? 0 : a * b)

const safe = (x: number) => (Number.isNaN(x) ? Number.POSITIVE_INFINITY : x)

/**
 * The bound of `calls` generation calls making `sequences` sequences of `outputTokens` in all.
 *
 * @example
 * generation(scope, 1, 16, 16 * 1024)
 */
export const generation = (scope: BoundScope, calls: number, sequences: number, outputTokens: number): Usage.Usage =>
  Usage.make({
    calls,
    sequences,
    outputTokens,
    inputTokens:
      scope.options.promptTokens === undefined
        ? calls > 0
          ? Number.POSITIVE_INFINITY
          : 0
        : mul(calls, scope.options.promptTokens)
  })

/**
 * The bound of scoring `n` candidates (at most one call each).
 *
 * @example
 * verification(scope, 16)
 */
export const verification = (scope: BoundScope, n: number): Usage.Usage =>
  Usage.make({
    calls: n,
    verifierCalls: n,
    verifierTokens:
      scope.options.verifierTokens === undefined
        ? n > 0
          ? Number.POSITIVE_INFINITY
          : 0
        : mul(n, scope.options.verifierTokens)
  })

/**
 * `k` times a bound (0 × ∞ is 0).
 *
 * @example
 * scaleBound(one, 4)
 */
export const scaleBound = (u: Usage.Usage, k: number): Usage.Usage =>
  Usage.make(Object.fromEntries(Usage.METERS.map((m) => [m, mul(u[m], k)])))

/**
 * The sum of two bounds (∞ − ∞ never arises; a NaN is unbounded).
 *
 * @example
 * addBound(a, b)
 */
export const addBound = (a: Usage.Usage, b: Usage.Usage): Usage.Usage => {
  const s = Usage.add(a, b)
  return Usage.make(Object.fromEntries(Usage.METERS.map((m) => [m, safe(s[m])])))
}

/**
 * The least bound of two populations' bounds.
 *
 * @example
 * joinPop(a, b).size // max(a.size, b.size)
 */
export const joinPop = (a: PopulationBound, b: PopulationBound): PopulationBound => ({
  size: Math.max(a.size, b.size),
  active: Math.max(a.active, b.active),
  done: Math.max(a.done, b.done),
  chains: Math.max(a.chains, b.chains)
})

/**
 * The bound a node gives when its cost is unbounded (every meter it may use is `Infinity`) and so
 * is its population.
 *
 * @example
 * unbounded(once.cost)
 */
export const unbounded = (cost: Usage.Usage): Bounded => ({
  cost: Usage.make(Object.fromEntries(Usage.METERS.map((m) => [m, cost[m] > 0 ? Number.POSITIVE_INFINITY : 0]))),
  pop: {
    size: Number.POSITIVE_INFINITY,
    active: Number.POSITIVE_INFINITY,
    done: Number.POSITIVE_INFINITY,
    chains: Number.POSITIVE_INFINITY
  }
})
