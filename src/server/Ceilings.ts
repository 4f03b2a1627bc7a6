/**
 * The ceilings a request runs under, derived from the plan rather than from a list of names. A
 * param *drives cost* when raising it raises the graph's static cost bound (`graph/Cost.ts`) on
 * some meter or its population; such a param has a ceiling — the operator's `maxParams` entry,
 * else its default times `paramHeadroom` — and an alias's value for it is a ceiling too. Every
 * meter of the budget has a ceiling: the policy's `maxBudget`, and an alias's budget below it. A
 * request may lower any of them, never raise one. Pure functions.
 *
 * @since 0.2.0
 */
import * as Limits from "../budget/Limits.ts"
import { METERS, type Meter, type Usage } from "../domain/Usage.ts"
import { staticCost } from "../graph/Cost.ts"
import type { LoadedGraph } from "../graph/Loader.ts"
import type { Params } from "../graph/Scope.ts"

/** Meters compared when probing the bound: the ones it counts before a call. */
const PROBED: ReadonlyArray<Meter> = [
  "calls",
  "sequences",
  "inputTokens",
  "outputTokens",
  "thinkingTokens",
  "verifierCalls",
  "verifierTokens"
]

/** A finite prompt bound for probing, so that input-token bounds compare as numbers. */
const PROBE_PROMPT = 1

const grew = (after: Usage, before: Usage, popAfter: number, popBefore: number): boolean =>
  PROBED.some((m) => after[m] > before[m]) || popAfter > popBefore

const drivers = new WeakMap<LoadedGraph, ReadonlyArray<string>>()

/** How far the second probe point raises every param: a param may matter only once others are raised. */
const PROBE_SCALE = 8

/**
 * The params of a graph that drive its cost: those whose doubling (0 → 1) raises the static bound
 * of some meter or of the final population — probed at the graph's defaults and again with every
 * param raised ×8 (a revision's `context` matters only once chains are long enough). Memoised per
 * loaded graph.
 *
 * @example
 * costDrivers(beamSearch, 1024) // ["M", "N", "rounds"]: never "temperature"
 */
export const costDrivers = (loaded: LoadedGraph, maxTokens: number): ReadonlyArray<string> => {
  const known = drivers.get(loaded)
  if (known !== undefined) return known
  const defaults = loaded.plan.params
  const options = { maxTokens, promptTokens: PROBE_PROMPT, verifierTokens: PROBE_PROMPT }
  const raise = (v: number, by: number) => (v <= 0 ? 1 : v * by)
  const scaled = Object.fromEntries(Object.entries(defaults).map(([k, v]) => [k, raise(v, PROBE_SCALE)]))
  const out: Array<string> = []
  for (const point of [defaults, scaled]) {
    const base = staticCost(loaded, { ...options, params: point })
    for (const [name, value] of Object.entries(point)) {
      if (out.includes(name)) continue
      const probe = staticCost(loaded, { ...options, params: { ...point, [name]: raise(value, 2) } })
      if (grew(probe.usage, base.usage, probe.population.size, base.population.size)) out.push(name)
    }
  }
  out.sort()
  drivers.set(loaded, out)
  return out
}

/** What the ceilings of one request come from. */
export interface CeilingSources {
  /** the operator's ceilings by param name */
  readonly maxParams: Params
  /** how far above its default a cost-driving param may go */
  readonly paramHeadroom: number
  /** the alias's params (ceilings of the cost-driving ones), when the model is an alias */
  readonly alias: Params
}

/**
 * The ceiling of each cost-driving param of a graph: the operator's `maxParams` entry, else its
 * default × headroom (at least the headroom itself); an alias's value lowers it.
 *
 * @example
 * paramCeilings(bestOfN, ["N"], { maxParams: {}, paramHeadroom: 16, alias: {} }) // { N: 256 } for a default of 16
 */
export const paramCeilings = (
  loaded: LoadedGraph,
  costDriving: ReadonlyArray<string>,
  sources: CeilingSources
): Params => {
  const out = new Map<string, number>()
  for (const name of costDriving) {
    const byPolicy = Object.hasOwn(sources.maxParams, name) ? sources.maxParams[name] : undefined
    const fallback = Math.max(1, loaded.plan.params[name] ?? 1) * sources.paramHeadroom
    const byAlias = Object.hasOwn(sources.alias, name) ? sources.alias[name] : undefined
    out.set(name, Math.min(byPolicy ?? fallback, byAlias ?? Number.POSITIVE_INFINITY))
  }
  return Object.fromEntries(out)
}

/**
 * The params a request runs with: the alias's, then the request's, each cost-driving one capped by
 * its ceiling. Returns the params and the names that were capped.
 *
 * @example
 * capParams({ N: 1024 }, {}, { N: 5000, temperature: 0.5 }) // { params: { N: 1024, temperature: 0.5 }, capped: ["N"] }
 */
export const capParams = (
  ceilings: Params,
  base: Params,
  requested: Params
): { readonly params: Params; readonly capped: ReadonlyArray<string> } => {
  // a Map, not `params[name] = …`: a param named `__proto__` would hit the prototype setter and
  // vanish, instead of reaching validation as an undeclared param
  const params = new Map(Object.entries(base))
  const capped: Array<string> = []
  for (const [name, value] of Object.entries(requested)) {
    const cap = Object.hasOwn(ceilings, name) ? ceilings[name] : undefined
    if (cap !== undefined && value > cap) {
      params.set(name, cap)
      capped.push(name)
    } else params.set(name, value)
  }
  return { params: Object.fromEntries(params), capped }
}

/**
 * The budget a request runs with, per meter: the request's (where it sets none, the alias's, else
 * the policy's default), never above the alias's budget nor the policy's `maxBudget`.
 *
 * @example
 * capBudget({ sequences: 4096 }, { sequences: 256 }, { sequences: 4 }, { sequences: 10_000 }) // { sequences: 4 }
 */
export const capBudget = (
  maxBudget: Limits.Limits,
  fallback: Limits.Limits,
  alias: Limits.Limits | undefined,
  requested: Limits.Limits | undefined
): Limits.Limits => {
  const out: Partial<Record<Meter, number>> = {}
  for (const meter of METERS) {
    const wanted = requested?.[meter] ?? alias?.[meter] ?? fallback[meter]
    const values = [wanted, alias?.[meter], maxBudget[meter]].filter((v): v is number => v !== undefined)
    if (values.length > 0) out[meter] = Math.min(...values)
  }
  return out
}

/** A budget split by how each meter is enforced. */
export interface SplitBudget {
  /** the meters the ledger enforces before each call */
  readonly ledger: Limits.Limits
  /** meters the backend cannot count before a call: no call is granted once they are spent */
  readonly soft: Limits.Limits
  /** the run's deadline, ms from its start */
  readonly wallMs: number | undefined
}

/**
 * Splits a budget: `wallMs` becomes a deadline; a meter the ledger cannot enforce only because a
 * backend cannot count prompt tokens before a call is enforced after the fact; the rest (and a
 * meter that cannot be enforced for another reason, such as `usd` without prices, which the
 * request's checks then refuse) stay with the ledger.
 *
 * @example
 * splitBudget({ sequences: 8, inputTokens: 1e6, wallMs: 60_000 }, { generatorInput: false, verifierInput: true, scores: false, unset: [] })
 * // { ledger: { sequences: 8 }, soft: { inputTokens: 1e6 }, wallMs: 60000 }
 */
export const splitBudget = (budget: Limits.Limits, knowable: Limits.Knowable): SplitBudget => {
  const ledger: Partial<Record<Meter, number>> = {}
  const soft: Partial<Record<Meter, number>> = {}
  const counted: Limits.Knowable = { ...knowable, generatorInput: true, verifierInput: true }
  for (const meter of METERS) {
    const limit = budget[meter]
    if (limit === undefined || meter === "wallMs") continue
    const one = { [meter]: limit }
    if (Limits.check(one, knowable).length > 0 && Limits.check(one, counted).length === 0) soft[meter] = limit
    else ledger[meter] = limit
  }
  return { ledger, soft, wallMs: budget.wallMs }
}
