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
  /** the backend's largest `maxTokens` of one call: the solution cap (nodes' own `maxTokens` are capped by it) */
  readonly maxTokens: number
  /** the backend's default `maxTokens` of a step-wise call (absent: `maxTokens`) */
  readonly stepTokens?: number
  /** the most steps a solution of the backend has (a step-length model), if it says */
  readonly maxSteps?: number
  /** the most candidates one verifier call scores (absent: all of a node's in one call) */
  readonly maxBatch?: number
  /** the generator may think on calls that do not ask to (`GeneratorShape.thinks`): their output tokens bound thinking tokens */
  readonly thinks?: boolean
  /** an upper bound on one generator request's prompt tokens, if known */
  readonly promptTokens?: number
  /** an upper bound on the tokens the verifier reads for one candidate, if known */
  readonly verifierTokens?: number
  /**
   * the answer kind of the problems (default `math`); with `free`, a voting `select` may make one
   * consistency-judge call (runtime/Judge.ts), and the bound counts it
   */
  readonly answerKind?: AnswerKind
  /**
   * whose calls the `calls` meter counts: both backends' (default), or the generator's alone — the
   * verifier's calls (`verification`) then count none, so the bound is one of the calls a run can
   * have in flight on the generator (a run takes no generator permits when it is within the cap)
   */
  readonly callsOf?: "generator"
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

/**
 * The first generation call a node may make before anything else: its least cost (one sequence at
 * its cap), whether it writes a step or a whole solution, and whether it is made inside a
 * `parallel` branch (which pays from a share, not from the run's budget directly).
 */
export interface FirstCall {
  readonly usage: Usage.Usage
  readonly until: "step" | "end"
  readonly shared: boolean
}

/**
 * The first call of a node that starts with one fresh sampling call (`sample`, `waves`, `deepconf`,
 * `rebase`, `mcts`): one call of one sequence up to `maxTokens`, or none when `count` is 0 at most.
 *
 * @example
 * firstCall: (scope) => Bound.freshCall(f.n, f.maxTokens, f.until, scope)
 */
export const freshCall = (
  count: NumField,
  maxTokens: NumField | undefined,
  until: "step" | "end",
  scope: BoundScope
): FirstCall | undefined =>
  hiOf(count, scope, EMPTY) === 0
    ? undefined
    : {
        usage: thinkingOf(
          scope,
          Usage.make({ calls: 1, sequences: 1, outputTokens: maxTokensBound(maxTokens, scope, EMPTY, until) })
        ),
        until,
        shared: false
      }

/** What the reserve to finish is made of, besides the backend's solution cap. */
export interface FinishBounds {
  /** the backend's solution cap (`maxTokens`) */
  readonly maxTokens: number
  /** an upper bound of the prompt of a call that completes a candidate (the question and a prefix up to the cap) */
  readonly completionPrompt: number
  /** an upper bound of the tokens the verifier reads for one complete candidate */
  readonly verifierRead: number
}

/**
 * What a run keeps back to finish one candidate (docs/concepts.md#anytime-behaviour): one request
 * of one sequence up to the solution cap — to complete the best partial candidate, or to sample a
 * whole one — unless the graph's first call already writes whole solutions in the run's own
 * frame; and one verifier call on it, if the graph scores.
 *
 * @example
 * finishReserve({ usage, until: "step", shared: false }, true, { maxTokens: 4096, completionPrompt: 9000, verifierRead: 9000 })
 * // { calls: 2, sequences: 1, outputTokens: 4096, inputTokens: 9000, verifierCalls: 1, verifierTokens: 9000, … }
 */
export const finishReserve = (first: FirstCall | undefined, scores: boolean, b: FinishBounds): Usage.Usage => {
  const generation =
    first !== undefined && (first.until === "step" || first.shared)
      ? Usage.make({ calls: 1, sequences: 1, outputTokens: b.maxTokens, inputTokens: b.completionPrompt })
      : Usage.zero
  const scoring = scores ? Usage.make({ calls: 1, verifierCalls: 1, verifierTokens: b.verifierRead }) : Usage.zero
  return Usage.add(generation, scoring)
}

/**
 * A bound of plain generation with its thinking tokens: as many as its output tokens when the
 * generator may think unasked (`CostOptions.thinks`), else none.
 *
 * @example
 * thinkingOf(scope, Usage.make({ outputTokens: 4096 })).thinkingTokens // 4096 on a reasoning model, else 0
 */
export const thinkingOf = (scope: BoundScope, u: Usage.Usage): Usage.Usage =>
  scope.options.thinks === true ? { ...u, thinkingTokens: u.outputTokens } : u

/** The empty population. */
export const EMPTY: PopulationBound = { size: 0, active: 0, done: 0, chains: 0 }

/**
 * The interval of a numeric field over the params' intervals, the budget and the population's bounds.
 *
 * @example
 * intervalOf(keep, scope, pop) // { lo: 4, hi: 4 }
 */
export const intervalOf = (
  f: NumField,
  scope: BoundScope,
  pop: PopulationBound,
  /** ranges of names a node adds for its own fields (a candidate's, `runtime/Where.ts`), read first */
  extra?: (name: string) => Expression.Interval | undefined
): Expression.Interval => {
  if (f.expr._tag === "Num") return { lo: f.expr.value, hi: f.expr.value }
  const r = Expression.evaluateInterval(f.expr, (name) => {
    const own = extra?.(name)
    if (own !== undefined) return own
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
    if (name.startsWith("remaining.")) {
      const meter = name.slice(10)
      if (!(Usage.METERS as ReadonlyArray<string>).includes(meter)) return undefined
      const limit = scope.limits[meter as Usage.Meter]
      if (limit === undefined) return { lo: Number.POSITIVE_INFINITY, hi: Number.POSITIVE_INFINITY }
      // what remains when the node starts: anything from nothing to the whole limit
      return { lo: 0, hi: limit }
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
export const hiOf = (
  f: NumField,
  scope: BoundScope,
  pop: PopulationBound,
  extra?: (name: string) => Expression.Interval | undefined
): number => Math.max(0, intervalOf(f, scope, pop, extra).hi)

/**
 * The output tokens of one sequence, at most: the node's `maxTokens` (when written), else the
 * backend's default for a step or a whole solution; never more than the solution cap.
 *
 * @example
 * maxTokensBound(node.maxTokens, scope, pop, "step") // 512
 */
export const maxTokensBound = (
  f: NumField | undefined,
  scope: BoundScope,
  pop: PopulationBound,
  until: "step" | "end" = "end"
): number => {
  const o = scope.options
  const fallback = until === "step" ? (o.stepTokens ?? o.maxTokens) : o.maxTokens
  return Math.min(f === undefined ? fallback : hiOf(f, scope, pop), o.maxTokens)
}

/** A product of upper bounds: none of something unbounded, or unboundedly many free things, is 0 (not NaN). */
export const mul = (a: number, b: number): number => (a === 0 || b === 0 ? 0 : a * b)

const safe = (x: number) => (Number.isNaN(x) ? Number.POSITIVE_INFINITY : x)

/**
 * The bound of generation calls making `sequences` sequences of `outputTokens` in all. A call paid
 * in parts under a binding budget (or sent as one request per sequence) makes a request per
 * sequence at most, so requests — and the prompts read — are bounded by the sequences.
 * `extraPrompt` is what each request's prompt may carry beyond the problem and its prefix (a
 * revision's previous attempts).
 *
 * @example
 * generation(scope, 16, 16 * 1024)
 */
export const generation = (scope: BoundScope, sequences: number, outputTokens: number, extraPrompt = 0): Usage.Usage =>
  Usage.make({
    calls: sequences,
    sequences,
    outputTokens,
    ...(scope.options.thinks === true ? { thinkingTokens: outputTokens } : {}),
    inputTokens:
      scope.options.promptTokens === undefined
        ? sequences > 0
          ? Number.POSITIVE_INFINITY
          : 0
        : mul(sequences, scope.options.promptTokens + extraPrompt)
  })

/**
 * The bound of scoring `n` candidates: one call per batch (the verifier's `maxBatch`, else all at once).
 *
 * @example
 * verification(scope, 16)
 */
export const verification = (scope: BoundScope, n: number): Usage.Usage => {
  const batch = scope.options.maxBatch
  const calls = n === 0 ? 0 : batch === undefined ? 1 : Math.ceil(n / Math.max(1, Math.floor(batch)))
  return Usage.make({
    calls: scope.options.callsOf === "generator" ? 0 : Number.isFinite(n) ? calls : n,
    verifierCalls: n,
    verifierTokens:
      scope.options.verifierTokens === undefined
        ? n > 0
          ? Number.POSITIVE_INFINITY
          : 0
        : mul(n, scope.options.verifierTokens)
  })
}

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
