/**
 * The static cost bound: an upper bound on every meter of a run, computed from the plan, its
 * params, the budget and the backend's `maxTokens` before anything runs (`mull cost`). It is an
 * abstract interpretation of the plan over upper bounds of the population (size, active, done,
 * revision chains): each node kind bounds itself (`bound` in `src/nodes/<kind>.ts`); numeric
 * fields are evaluated over intervals, population counts ranging over `[0, bound]`, and inside a
 * `parallel` branch `budget.<meter>` over `[0, limit]` (the branch's share). Invariant
 * (property-tested): a run's actual usage never exceeds it.
 *
 * Input tokens, verifier tokens, FLOPs and USD depend on prompt lengths, which the graph does not
 * know: they are bounded only when a bound on one call's prompt is given (`promptTokens`, e.g.
 * the question plus the longest prefix the backend accepts); otherwise they are `Infinity`.
 *
 * @since 0.1.0
 */
import * as Usage from "../domain/Usage.ts"
import { type BoundScope, type CostOptions, EMPTY, type PopulationBound } from "./Bound.ts"
import type { LoadedGraph } from "./Loader.ts"
import { effectiveParams } from "./Scope.ts"

export type { CostOptions, PopulationBound } from "./Bound.ts"

export interface CostBound {
  /** upper bound per meter (`Infinity` where unbounded); FLOPs, USD and wall time are not bounded here */
  readonly usage: Usage.Usage
  /** upper bound of the final population */
  readonly population: PopulationBound
}

/** The scope of a plan's root: its effective params as points, the run's limits. */
const rootScope = (loaded: LoadedGraph, options: CostOptions): BoundScope => {
  const { params } = effectiveParams(loaded.plan, options.params ?? {})
  return {
    params: Object.fromEntries(Object.entries(params).map(([k, v]) => [k, { lo: v, hi: v }])),
    limits: options.limits ?? {},
    share: false,
    options
  }
}

/**
 * The static upper bound on every meter of a run.
 *
 * @example
 * staticCost(loaded, { params: { N: 16 }, maxTokens: 1024 }).usage.sequences // e.g. 16 × rounds …
 */
export const staticCost = (loaded: LoadedGraph, options: CostOptions): CostBound => {
  const r = loaded.plan.root.bound(rootScope(loaded, options), EMPTY)
  return {
    usage: {
      ...r.cost,
      flops: Number.POSITIVE_INFINITY,
      usd: Number.POSITIVE_INFINITY,
      wallMs: Number.POSITIVE_INFINITY
    },
    population: r.pop
  }
}

/**
 * The least a run must be able to pay for to produce anything: the first generation call of the
 * graph (one call, one sequence, its `maxTokens`), found in execution order; zero if the graph
 * never generates. The runtime refuses a run whose budget cannot pay this.
 *
 * @example
 * minimumCost(loaded, { maxTokens: 1024 }) // { calls: 1, sequences: 1, outputTokens: 1024, … }
 */
export const minimumCost = (loaded: LoadedGraph, options: CostOptions): Usage.Usage =>
  loaded.plan.root.firstCall(rootScope(loaded, options)) ?? Usage.zero
