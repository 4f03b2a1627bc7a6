/**
 * A run's plan before it runs, as `mull cost` and `POST /v1/graphs/cost` give it: per meter the
 * worst case, the worst case under the budget (never above a limit), the answer minimum, and —
 * from a dry run (`Expected.ts`) — the expected spend with its spread and the meter that binds
 * first.
 *
 * @since 0.2.0
 */
import type * as Limits from "../budget/Limits.ts"
import * as Usage from "../domain/Usage.ts"
import { answerMinimum, type CostOptions, staticCost, underBudget } from "../graph/Cost.ts"
import type { LoadedGraph } from "../graph/Loader.ts"
import type { Params } from "../graph/Scope.ts"
import type { Expected } from "./Expected.ts"

/** The static part of a plan. */
export interface StaticPlan {
  readonly backend: string
  readonly maxTokens: number
  readonly stepTokens: number | undefined
  /** an upper bound per meter (`Infinity`: not bounded by the graph alone) */
  readonly worst: Usage.Usage
  /** the worst case capped by the limits */
  readonly underBudget: Usage.Usage
  /** what a budget must pay to be sure of an answer */
  readonly answerMinimum: Usage.Usage
  /** an upper bound of the final population */
  readonly population: number
}

/**
 * The static plan of a graph with params and limits on a backend (its cost options).
 *
 * @example
 * planOf(loaded, { params: { N: 16 }, limits: { sequences: 200 }, maxTokens: 4096 }, "simulated").underBudget.sequences // ≤ 200
 */
export const planOf = (loaded: LoadedGraph, options: CostOptions, backend: string): StaticPlan => {
  const bound = staticCost(loaded, options)
  return {
    backend,
    maxTokens: options.maxTokens,
    stepTokens: options.stepTokens,
    worst: bound.usage,
    underBudget: underBudget(bound.usage, options.limits ?? {}, options.maxTokens),
    answerMinimum: answerMinimum(loaded, options),
    population: bound.population.size
  }
}

/** A usage with `null` for what is unbounded (JSON has no Infinity). */
const finite = (u: Usage.Usage): Record<string, number | null> =>
  Object.fromEntries(Usage.METERS.map((m) => [m, Number.isFinite(u[m]) ? u[m] : null]))

/**
 * A plan as JSON: per meter worst case, under budget, limit, answer minimum, expected mean and sd.
 *
 * @example
 * JSON.stringify(planJson("beam-search", { N: 16 }, limits, plan, expected))
 */
export const planJson = (
  graph: string,
  params: Params,
  limits: Limits.Limits,
  plan: StaticPlan,
  expected: Expected | undefined
) => ({
  graph,
  params,
  backend: plan.backend,
  limits,
  worst: finite(plan.worst),
  underBudget: finite(plan.underBudget),
  answerMinimum: finite(plan.answerMinimum),
  population: Number.isFinite(plan.population) ? plan.population : null,
  ...(expected === undefined
    ? {}
    : {
        expected: {
          runs: expected.runs,
          mean: finite(expected.mean),
          sd: finite(expected.sd),
          answered: expected.answered,
          exhausted: expected.exhausted
        },
        binds: expected.binds[0]?.meter ?? "none"
      })
})
