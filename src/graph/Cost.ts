/**
 * The static cost of a plan, before anything runs (`mull cost`):
 *
 * - the **worst case** (`staticCost`): an upper bound on every meter, by abstract interpretation of
 *   the plan over upper bounds of the population (size, active, done, revision chains): each node
 *   kind bounds itself (`bound` in `src/nodes/<kind>.ts`); numeric fields are evaluated over
 *   intervals, population counts ranging over `[0, bound]`, `budget.<meter>` inside a `parallel`
 *   branch and `remaining.<meter>` over `[0, limit]`. Invariant (property-tested): a run's actual
 *   usage never exceeds it;
 * - the worst case **under the budget** (`underBudget`): the worst case capped by each limit (and
 *   output tokens by the sequences that can be paid, each at most the solution cap);
 * - the **first call** (`minimumCost`): the least the graph must pay before it produces anything —
 *   a run whose budget cannot pay it is refused;
 * - the **answer minimum** (`answerMinimum`): the least a budget must pay for the run to be sure of
 *   an answer — the first call (unless it is made in a parallel branch) and the run's reserve to
 *   finish one candidate (`finishReserve`). With a budget at least this, a run returns an answer.
 *
 * Input tokens, verifier tokens, FLOPs and USD depend on prompt lengths, which the graph does not
 * know: they are bounded only when a bound on one call's prompt is given (`promptTokens`, e.g.
 * the question plus the longest prefix the backend accepts); otherwise they are `Infinity`.
 *
 * @since 0.1.0
 */
import type { Limits } from "../budget/Limits.ts"
import * as Usage from "../domain/Usage.ts"
import type { PlanNode } from "../nodes/Kind.ts"
import {
  type BoundScope,
  type CostOptions,
  EMPTY,
  type FirstCall,
  finishReserve,
  type PopulationBound
} from "./Bound.ts"
import type { LoadedGraph } from "./Loader.ts"
import { effectiveParams } from "./Scope.ts"

export type { CostOptions, FinishBounds, FirstCall, PopulationBound } from "./Bound.ts"
export { finishReserve } from "./Bound.ts"

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
 * The worst case under a budget: each limited meter capped by its limit, and output tokens by the
 * sequences that can be paid at most the solution cap each. Never above a limit.
 *
 * @example
 * underBudget(staticCost(loaded, options).usage, { sequences: 200 }, 4096).sequences // ≤ 200
 */
export const underBudget = (worst: Usage.Usage, limits: Limits, maxTokens: number): Usage.Usage => {
  const out: Record<Usage.Meter, number> = { ...worst }
  for (const meter of Usage.METERS) {
    const limit = limits[meter]
    if (limit !== undefined) out[meter] = Math.min(out[meter], limit)
  }
  out.outputTokens = Math.min(out.outputTokens, out.sequences * maxTokens)
  return out
}

/**
 * The first generation call of the graph (one call, one sequence, its `maxTokens`), found in
 * execution order, with whether it writes a step or a whole solution and whether a parallel branch
 * makes it; `undefined` if the graph never generates.
 *
 * @example
 * firstCall(loaded, { maxTokens: 4096 })?.until // "step" for beam search
 */
export const firstCall = (loaded: LoadedGraph, options: CostOptions): FirstCall | undefined =>
  loaded.plan.root.firstCall(rootScope(loaded, options))

/**
 * The least a run must be able to pay for to produce anything: the first generation call of the
 * graph; zero if the graph never generates. The runtime refuses a run whose budget cannot pay this.
 *
 * @example
 * minimumCost(loaded, { maxTokens: 1024 }) // { calls: 1, sequences: 1, outputTokens: 1024, … }
 */
export const minimumCost = (loaded: LoadedGraph, options: CostOptions): Usage.Usage =>
  firstCall(loaded, options)?.usage ?? Usage.zero

/**
 * Whether a plan calls a verifier anywhere (a `score`, a `route`'s estimate).
 *
 * @example
 * usesVerifier(loaded.plan.root) // true for beam search, false for majority
 */
export const usesVerifier = (node: PlanNode): boolean => node.scores || node.children.some(usesVerifier)

/**
 * The answer minimum: the first call (when the run's own frame makes it) plus the reserve to
 * finish one candidate. A budget that can pay it always gets an answer; `mull cost` prints it.
 * Input and verifier tokens are `Infinity` unless `promptTokens` and `verifierTokens` bound them.
 *
 * @example
 * answerMinimum(loaded, { maxTokens: 4096, stepTokens: 512 }).sequences // 2 for beam search
 */
export const answerMinimum = (loaded: LoadedGraph, options: CostOptions): Usage.Usage => {
  const first = firstCall(loaded, options)
  const inf = Number.POSITIVE_INFINITY
  const reserve = finishReserve(first, usesVerifier(loaded.plan.root), {
    maxTokens: options.maxTokens,
    completionPrompt: options.promptTokens ?? inf,
    verifierRead: options.verifierTokens ?? inf
  })
  const own =
    first === undefined || first.shared
      ? Usage.zero
      : Usage.add(first.usage, Usage.make({ inputTokens: options.promptTokens ?? inf }))
  return Usage.add(own, reserve)
}
