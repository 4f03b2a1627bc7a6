/**
 * Server policy: where graphs come from (named folders only), model aliases, and the caps on what
 * a request may ask for — params, budget, choices, body size. Pure functions that turn a request
 * into what will run, and say why when they cannot.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"
import * as Limits from "../budget/Limits.ts"
import { Prices } from "../budget/Pricing.ts"
import type { Params } from "../graph/Scope.ts"

const ParamsSchema = Schema.Record(Schema.String, Schema.Finite)

/** A model name that stands for a graph with params and a budget. */
export const Alias = Schema.Struct({
  graph: Schema.String,
  params: Schema.optionalKey(ParamsSchema),
  budget: Schema.optionalKey(Limits.LimitsSchema)
})
export type Alias = typeof Alias.Type

/** The service's configuration (a `--config` JSON file; CLI flags override its fields). */
export const ServerConfig = Schema.Struct({
  host: Schema.optionalKey(Schema.String),
  /** 0: any free port */
  port: Schema.optionalKey(Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 65535 }))),
  /** folders of graphs served by name (default: the built-in graphs) */
  graphs: Schema.optionalKey(Schema.Array(Schema.String)),
  aliases: Schema.optionalKey(Schema.Record(Schema.String, Alias)),
  /** largest request body, bytes (default 1 MiB) */
  maxBodyBytes: Schema.optionalKey(Schema.Int.check(Schema.isGreaterThanOrEqualTo(1))),
  /** largest value of each graph param a request may set (default { N: 1024, M: 256 }) */
  maxParams: Schema.optionalKey(ParamsSchema),
  /** the most a request may spend, per meter (default { sequences: 4096 }) */
  maxBudget: Schema.optionalKey(Limits.LimitsSchema),
  /** the budget of a request that sets none (default: `maxBudget`) */
  defaultBudget: Schema.optionalKey(Limits.LimitsSchema),
  /** most choices (`n`) per request (default 8) */
  maxChoices: Schema.optionalKey(Schema.Int.check(Schema.isGreaterThanOrEqualTo(1))),
  /** folder where requests that ask for a trace have it written (absent: traces are refused) */
  traces: Schema.optionalKey(Schema.String),
  /** how long shutdown waits for requests in flight, ms (default 10 s) */
  drainMs: Schema.optionalKey(Schema.Finite.check(Schema.isGreaterThanOrEqualTo(0))),
  /** USD per million tokens and parameter counts for every request (a usd budget needs prices) */
  prices: Schema.optionalKey(Prices)
})
export type ServerConfig = typeof ServerConfig.Type

export interface Policy {
  readonly host: string
  readonly port: number
  readonly graphs: ReadonlyArray<string>
  readonly aliases: { readonly [model: string]: Alias }
  readonly maxBodyBytes: number
  readonly maxParams: Params
  readonly maxBudget: Limits.Limits
  readonly defaultBudget: Limits.Limits
  readonly maxChoices: number
  readonly traces: string | undefined
  readonly drainMs: number
  /** the bearer token requests must present; absent: no authentication */
  readonly token: string | undefined
  /** prices and parameter counts of every request's run (absent: the backend's, then mull's table) */
  readonly prices: Prices | undefined
}

/**
 * A policy from a configuration, with defaults.
 *
 * @example
 * policyOf({ port: 0 }, [builtinDir], undefined).maxBodyBytes // 1048576
 */
export const policyOf = (config: ServerConfig, builtin: ReadonlyArray<string>, token: string | undefined): Policy => {
  const maxBudget = config.maxBudget ?? { sequences: 4096 }
  return {
    host: config.host ?? "127.0.0.1",
    port: config.port ?? 8080,
    graphs: config.graphs ?? builtin,
    aliases: config.aliases ?? {},
    maxBodyBytes: config.maxBodyBytes ?? 1024 * 1024,
    maxParams: config.maxParams ?? { N: 1024, M: 256 },
    maxBudget,
    defaultBudget: config.defaultBudget ?? maxBudget,
    maxChoices: config.maxChoices ?? 8,
    traces: config.traces,
    drainMs: config.drainMs ?? 10_000,
    token,
    prices: config.prices
  }
}

/** Graph names: letters, digits, `.`, `_`, `-` — never a path. */
export const GRAPH_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/u

/** What a model name resolves to. */
export type Resolved =
  | {
      readonly _tag: "Graph"
      readonly graph: string
      readonly params: Params
      readonly budget: Limits.Limits | undefined
    }
  | { readonly _tag: "Unknown"; readonly why: string }

/**
 * Resolves a request's `model`: an alias, or `mull/<graph>` with a graph name the server serves.
 *
 * @example
 * resolveModel(policy, "mull/beam-search", ["beam-search"]) // { _tag: "Graph", graph: "beam-search", … }
 */
export const resolveModel = (policy: Policy, model: string, available: ReadonlyArray<string>): Resolved => {
  const alias = Object.hasOwn(policy.aliases, model) ? policy.aliases[model] : undefined
  if (alias !== undefined)
    return { _tag: "Graph", graph: alias.graph, params: alias.params ?? {}, budget: alias.budget }
  const name = model.startsWith("mull/") ? model.slice(5) : undefined
  if (name === undefined || !GRAPH_NAME.test(name) || !available.includes(name))
    return {
      _tag: "Unknown",
      why: `unknown model "${model}"; available: ${[...available.map((g) => `mull/${g}`), ...Object.keys(policy.aliases)].join(", ")}`
    }
  return { _tag: "Graph", graph: name, params: {}, budget: undefined }
}

/**
 * The params a request runs with: the alias's, then the request's, each capped by the policy's
 * `maxParams`. Returns the params and the names that were capped.
 *
 * @example
 * capParams({ N: 1024 }, {}, { N: 5000 }) // { params: { N: 1024 }, capped: ["N"] }
 */
export const capParams = (
  maxParams: Params,
  base: Params,
  requested: Params
): { readonly params: Params; readonly capped: ReadonlyArray<string> } => {
  // a Map, not `params[name] = …`: a param named `__proto__` would hit the prototype setter and
  // vanish, instead of reaching validation as an undeclared param
  const params = new Map(Object.entries(base))
  const capped: Array<string> = []
  for (const [name, value] of Object.entries(requested)) {
    const cap = Object.hasOwn(maxParams, name) ? maxParams[name] : undefined
    if (cap !== undefined && value > cap) {
      params.set(name, cap)
      capped.push(name)
    } else params.set(name, value)
  }
  return { params: Object.fromEntries(params), capped }
}

/**
 * The budget a request runs with: the request's (or the alias's, or the policy's default), with
 * every meter capped by `maxBudget`.
 *
 * @example
 * capBudget({ sequences: 4096 }, { sequences: 256 }, { sequences: 10_000 }) // { sequences: 4096 }
 */
export const capBudget = (
  maxBudget: Limits.Limits,
  fallback: Limits.Limits,
  requested: Limits.Limits | undefined
): Limits.Limits => {
  const out: Partial<Record<keyof Limits.Limits, number>> = { ...(requested ?? fallback) }
  for (const [meter, cap] of Object.entries(maxBudget) as ReadonlyArray<[keyof Limits.Limits, number]>) {
    const asked = out[meter]
    out[meter] = asked === undefined ? cap : Math.min(asked, cap)
  }
  return out
}
