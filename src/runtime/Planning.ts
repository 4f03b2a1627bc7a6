/**
 * A run's plan before it runs, as `mull cost` and `POST /v1/graphs/cost` give it: per meter the
 * worst case, the worst case under the budget (never above a limit), the answer minimum, and —
 * from a dry run (`Expected.ts`) — the expected spend with its spread and the meter that binds
 * first.
 *
 * @since 0.2.0
 */
import type * as Limits from "../budget/Limits.ts"
import * as Pricing from "../budget/Pricing.ts"
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
export const planOf = (
  loaded: LoadedGraph,
  options: CostOptions,
  backend: string,
  pricing: Pricing.Pricing = Pricing.free
): StaticPlan => {
  const bound = staticCost(loaded, options)
  const unset = new Set(pricing.unset ?? [])
  // FLOPs and USD follow from the token meters where the prices (or parameter counts) are set
  const priced = (u: Usage.Usage): Usage.Usage => {
    // 0 × ∞ is 0 here (a free meter), not NaN
    const m = (a: number, b: number) => (a === 0 || b === 0 ? 0 : a * b)
    const d = {
      flops:
        2 * (m(pricing.generatorParams, u.inputTokens) + m(pricing.generatorParams, u.outputTokens)) +
        2 * m(pricing.verifierParams, u.verifierTokens),
      usd:
        (m(pricing.usdPerMillionInput, u.inputTokens) +
          m(pricing.usdPerMillionOutput, u.outputTokens) +
          m(pricing.usdPerMillionVerifier, u.verifierTokens)) /
        1e6
    }
    return {
      ...u,
      flops: unset.has("generatorParams") ? Number.POSITIVE_INFINITY : d.flops,
      usd: unset.has("input") || unset.has("output") ? Number.POSITIVE_INFINITY : d.usd
    }
  }
  const worst = priced(bound.usage)
  return {
    backend,
    maxTokens: options.maxTokens,
    stepTokens: options.stepTokens,
    worst,
    underBudget: underBudget(worst, options.limits ?? {}, options.maxTokens),
    answerMinimum: priced(answerMinimum(loaded, options)),
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
