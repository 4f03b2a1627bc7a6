/**
 * Server policy: where graphs come from (named folders only), model aliases, the ceilings on what a
 * request may ask for (every meter of its budget, every param that drives a graph's cost, choices,
 * body size), admission control, timeouts, trace limits and who may call. Pure: a configuration
 * becomes a `Policy` with every default filled in, and `policyProblems` says what a server must
 * refuse to start with.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"
import * as Limits from "../budget/Limits.ts"
import { Prices } from "../budget/Pricing.ts"
import type { Params } from "../graph/Scope.ts"

const ParamsSchema = Schema.Record(Schema.String, Schema.Finite)
const Count = Schema.Int.check(Schema.isGreaterThanOrEqualTo(1))
const Millis = Schema.Finite.check(Schema.isGreaterThanOrEqualTo(1))

/** A model name that stands for a graph with params and a budget; a request may lower both, never raise them. */
export const Alias = Schema.Struct({
  graph: Schema.String,
  params: Schema.optionalKey(ParamsSchema),
  budget: Schema.optionalKey(Limits.LimitsSchema)
})
export type Alias = typeof Alias.Type

/** Admission control: how many requests run at once, how many wait, per server and per tenant. */
export const AdmissionConfig = Schema.Struct({
  /** requests running at once, over every tenant (default 64) */
  maxConcurrent: Schema.optionalKey(Count),
  /** requests waiting for a slot, over every tenant (default 256); beyond: 503 */
  maxQueued: Schema.optionalKey(Schema.Int.check(Schema.isGreaterThanOrEqualTo(0))),
  /** requests one tenant runs at once (default 16) */
  perTenantConcurrent: Schema.optionalKey(Count),
  /** requests one tenant has waiting (default 64); beyond: 429 */
  perTenantQueued: Schema.optionalKey(Schema.Int.check(Schema.isGreaterThanOrEqualTo(0))),
  /** the longest a request waits for a slot, ms (default 10 s); then 503 */
  queueTimeoutMs: Schema.optionalKey(Millis)
})
export type AdmissionConfig = typeof AdmissionConfig.Type

/** Connection and time limits of the HTTP edge. */
export const TimeoutsConfig = Schema.Struct({
  /** time to receive a request's headers, ms (default 10 s) */
  headersMs: Schema.optionalKey(Millis),
  /** time to receive a whole request body, ms (default 30 s); then 408 */
  bodyMs: Schema.optionalKey(Millis),
  /** how long a keep-alive connection may sit idle between requests, ms (default 5 s) */
  idleMs: Schema.optionalKey(Millis),
  /** how long a stream may wait on a client that does not read, ms (default 10 s); then it is dropped */
  streamStallMs: Schema.optionalKey(Millis),
  /** open connections at most (default 1024); past it the oldest idle one is closed, or the new one */
  maxConnections: Schema.optionalKey(Count),
  /** server-sent chunks a stream buffers for a slow client (default 256) */
  streamBuffer: Schema.optionalKey(Count)
})
export type TimeoutsConfig = typeof TimeoutsConfig.Type

/** Limits of `POST /v1/graphs/validate` and `/cost`, whose work grows with the document. */
export const GraphApiConfig = Schema.Struct({
  /** largest body, bytes (default 64 KiB) */
  maxBodyBytes: Schema.optionalKey(Count),
  /** most plan nodes a document may compile to, its `use`d graphs included (default 2000) */
  maxPlanNodes: Schema.optionalKey(Count),
  /** validations and costings at once (default 2); the rest wait in the admission queue */
  maxConcurrent: Schema.optionalKey(Count),
  /** the cost route's dry runs stop after this long, ms (default 15 s); the reply then says so */
  dryRunMs: Schema.optionalKey(Count)
})
export type GraphApiConfig = typeof GraphApiConfig.Type

/** Limits of the traces a server keeps. */
export const TraceLimitsConfig = Schema.Struct({
  /** largest trace, bytes (default 4 MiB); past it events are dropped and a `TraceTruncated` line ends it */
  maxBytes: Schema.optionalKey(Count),
  /** traces kept at most (default 1000); the oldest are deleted */
  maxFiles: Schema.optionalKey(Count),
  /** traces older than this are deleted, hours (default 24) */
  maxAgeHours: Schema.optionalKey(Schema.Finite.check(Schema.isGreaterThan(0)))
})
export type TraceLimitsConfig = typeof TraceLimitsConfig.Type

/** The service's configuration (a `--config` JSON file; CLI flags override its fields). */
export const ServerConfig = Schema.Struct({
  host: Schema.optionalKey(Schema.String),
  /** 0: any free port */
  port: Schema.optionalKey(Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 65535 }))),
  /** folders of graphs served by their `name`, in addition to the built-in graphs */
  graphs: Schema.optionalKey(Schema.Array(Schema.String)),
  /** serve the built-in graphs (default true; `--no-builtin` sets false) */
  builtin: Schema.optionalKey(Schema.Boolean),
  /** refuse to start when a graph does not load or validate, or an alias names no served graph */
  strict: Schema.optionalKey(Schema.Boolean),
  aliases: Schema.optionalKey(Schema.Record(Schema.String, Alias)),
  /** largest request body, bytes (default 1 MiB) */
  maxBodyBytes: Schema.optionalKey(Count),
  /**
   * ceilings of params by name, over the derived ones: a param drives cost when raising it raises
   * the graph's static cost bound, and its ceiling is otherwise its default × `paramHeadroom`
   */
  maxParams: Schema.optionalKey(ParamsSchema),
  /** how far above its default a request may raise a cost-driving param (default 16×) */
  paramHeadroom: Schema.optionalKey(Schema.Finite.check(Schema.isGreaterThanOrEqualTo(1))),
  /** the most a request may spend, per meter (defaults: `DEFAULT_MAX_BUDGET`); `wallMs` is a deadline */
  maxBudget: Schema.optionalKey(Limits.LimitsSchema),
  /** the budget of a request that sets none (default: `maxBudget`) */
  defaultBudget: Schema.optionalKey(Limits.LimitsSchema),
  /** most choices (`n`) per request (default 8) */
  maxChoices: Schema.optionalKey(Count),
  /** folder where requests that ask for a trace have it written (absent: traces are refused) */
  traces: Schema.optionalKey(Schema.String),
  traceLimits: Schema.optionalKey(TraceLimitsConfig),
  /** how long shutdown waits for requests in flight, ms (default 10 s); then they get a 503 */
  drainMs: Schema.optionalKey(Schema.Finite.check(Schema.isGreaterThanOrEqualTo(0))),
  admission: Schema.optionalKey(AdmissionConfig),
  timeouts: Schema.optionalKey(TimeoutsConfig),
  graphApi: Schema.optionalKey(GraphApiConfig),
  /** more `Host` names a server without a token accepts (beside localhost, 127.0.0.1 and [::1]) */
  allowedHosts: Schema.optionalKey(Schema.Array(Schema.String)),
  /** more `Origin`s a server without a token accepts (beside its own) */
  allowedOrigins: Schema.optionalKey(Schema.Array(Schema.String)),
  /** USD per million tokens and parameter counts for every request (a usd budget needs prices) */
  prices: Schema.optionalKey(Prices)
})
export type ServerConfig = typeof ServerConfig.Type

/** A bearer token and the tenant it stands for (its admission slots are the tenant's). */
export interface Token {
  readonly tenant: string
  readonly secret: string
}

export interface Policy {
  readonly host: string
  readonly port: number
  readonly graphs: ReadonlyArray<string>
  readonly strict: boolean
  readonly aliases: { readonly [model: string]: Alias }
  readonly maxBodyBytes: number
  readonly maxParams: Params
  readonly paramHeadroom: number
  readonly maxBudget: Limits.Limits
  readonly defaultBudget: Limits.Limits
  readonly maxChoices: number
  readonly traces: string | undefined
  readonly traceLimits: Required<TraceLimitsConfig>
  readonly drainMs: number
  readonly admission: Required<AdmissionConfig>
  readonly timeouts: Required<TimeoutsConfig>
  readonly graphApi: Required<GraphApiConfig>
  readonly allowedHosts: ReadonlyArray<string>
  readonly allowedOrigins: ReadonlyArray<string>
  /** the bearer tokens requests must present; empty: no authentication (loopback only) */
  readonly tokens: ReadonlyArray<Token>
  /** the first token's secret (`undefined` without tokens) */
  readonly token: string | undefined
  /** prices and parameter counts of every request's run (absent: the backend's, then mull's table) */
  readonly prices: Prices | undefined
}

/**
 * The most one request may spend when the configuration says nothing: a ceiling on every meter a
 * run counts before a call (FLOPs and USD follow from the token meters), and a deadline.
 */
export const DEFAULT_MAX_BUDGET: Limits.Limits = {
  calls: 8192,
  sequences: 4096,
  inputTokens: 8_000_000,
  outputTokens: 2_000_000,
  verifierCalls: 16_384,
  verifierTokens: 16_000_000,
  wallMs: 120_000
}

/**
 * Tokens from `MULL_SERVE_TOKEN`: one secret, or several separated by commas, each optionally
 * `tenant:secret` (a tenant's requests share its admission slots; a bare secret is its own tenant).
 *
 * @example
 * parseTokens("alice:s3cret,bob:t0ken") // [{ tenant: "alice", secret: "s3cret" }, { tenant: "bob", secret: "t0ken" }]
 */
export const parseTokens = (text: string | undefined): ReadonlyArray<Token> => {
  if (text === undefined) return []
  const out: Array<Token> = []
  for (const [i, raw] of text.split(",").entries()) {
    const part = raw.trim()
    if (part === "") continue
    const colon = part.indexOf(":")
    out.push(
      colon > 0
        ? { tenant: part.slice(0, colon), secret: part.slice(colon + 1) }
        : { tenant: `token-${i + 1}`, secret: part }
    )
  }
  return out
}

/**
 * A policy from a configuration, with defaults; `builtin` is the folder of mull's own graphs,
 * served first unless `config.builtin` is false.
 *
 * @example
 * policyOf({ port: 0 }, builtinDir, undefined).maxBodyBytes // 1048576
 */
export const policyOf = (config: ServerConfig, builtin: string, token: string | undefined): Policy => {
  const maxBudget = { ...DEFAULT_MAX_BUDGET, ...config.maxBudget }
  const tokens = parseTokens(token)
  const admission = config.admission ?? {}
  const timeouts = config.timeouts ?? {}
  const graphApi = config.graphApi ?? {}
  const traceLimits = config.traceLimits ?? {}
  return {
    host: config.host ?? "127.0.0.1",
    port: config.port ?? 8080,
    graphs: [...(config.builtin === false ? [] : [builtin]), ...(config.graphs ?? [])],
    strict: config.strict ?? false,
    aliases: config.aliases ?? {},
    maxBodyBytes: config.maxBodyBytes ?? 1024 * 1024,
    maxParams: config.maxParams ?? {},
    paramHeadroom: config.paramHeadroom ?? 16,
    maxBudget,
    defaultBudget: config.defaultBudget ?? maxBudget,
    maxChoices: config.maxChoices ?? 8,
    traces: config.traces,
    traceLimits: {
      maxBytes: traceLimits.maxBytes ?? 4 * 1024 * 1024,
      maxFiles: traceLimits.maxFiles ?? 1000,
      maxAgeHours: traceLimits.maxAgeHours ?? 24
    },
    drainMs: config.drainMs ?? 10_000,
    admission: {
      maxConcurrent: admission.maxConcurrent ?? 64,
      maxQueued: admission.maxQueued ?? 256,
      perTenantConcurrent: admission.perTenantConcurrent ?? 16,
      perTenantQueued: admission.perTenantQueued ?? 64,
      queueTimeoutMs: admission.queueTimeoutMs ?? 10_000
    },
    timeouts: {
      headersMs: timeouts.headersMs ?? 10_000,
      bodyMs: timeouts.bodyMs ?? 30_000,
      idleMs: timeouts.idleMs ?? 5_000,
      streamStallMs: timeouts.streamStallMs ?? 10_000,
      maxConnections: timeouts.maxConnections ?? 1024,
      streamBuffer: timeouts.streamBuffer ?? 256
    },
    graphApi: {
      maxBodyBytes: graphApi.maxBodyBytes ?? 64 * 1024,
      maxPlanNodes: graphApi.maxPlanNodes ?? 2000,
      maxConcurrent: graphApi.maxConcurrent ?? 2,
      dryRunMs: graphApi.dryRunMs ?? 15_000
    },
    allowedHosts: config.allowedHosts ?? [],
    allowedOrigins: config.allowedOrigins ?? [],
    tokens,
    token: tokens[0]?.secret,
    prices: config.prices
  }
}

/**
 * Whether a host name or address is this machine's loopback: `localhost`, `127.0.0.0/8` or `::1`.
 *
 * @example
 * isLoopback("127.0.0.1") // true
 * isLoopback("0.0.0.0") // false
 */
export const isLoopback = (host: string): boolean => {
  const h = host.toLowerCase().replace(/^\[|\]$/gu, "")
  return h === "localhost" || h === "::1" || /^127(\.\d{1,3}){3}$/u.test(h)
}

/**
 * What a server must refuse to start with, one `field: message` line each: a non-loopback bind
 * without a token, a token too short to be a secret.
 *
 * @example
 * policyProblems(policyOf({ host: "0.0.0.0" }, builtinDir, undefined))
 * // ["host: 0.0.0.0 is not a loopback address; set MULL_SERVE_TOKEN to serve beyond this machine"]
 */
export const policyProblems = (policy: Policy): ReadonlyArray<string> => {
  const out: Array<string> = []
  if (policy.tokens.length === 0 && !isLoopback(policy.host))
    out.push(`host: ${policy.host} is not a loopback address; set MULL_SERVE_TOKEN to serve beyond this machine`)
  for (const t of policy.tokens)
    if (t.secret.length < 8)
      out.push(`MULL_SERVE_TOKEN: the token of tenant "${t.tenant}" is shorter than 8 characters`)
  return out
}

/** Graph names: letters, digits, `.`, `_`, `-` — never a path. */
export const GRAPH_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/u

/** What a model name resolves to. */
export type Resolved =
  | {
      readonly _tag: "Graph"
      readonly graph: string
      /** the alias's params: base values and ceilings */
      readonly params: Params
      /** the alias's budget: a ceiling per meter */
      readonly budget: Limits.Limits | undefined
    }
  | { readonly _tag: "Unknown"; readonly why: string }

/**
 * Resolves a request's `model`: a served alias, or `mull/<graph>` with a graph name the server serves.
 *
 * @example
 * resolveModel(new Map(), "mull/beam-search", ["beam-search"]) // { _tag: "Graph", graph: "beam-search", … }
 */
export const resolveModel = (
  aliases: ReadonlyMap<string, Alias>,
  model: string,
  available: ReadonlyArray<string>
): Resolved => {
  const alias = aliases.get(model)
  if (alias !== undefined)
    return { _tag: "Graph", graph: alias.graph, params: alias.params ?? {}, budget: alias.budget }
  const name = model.startsWith("mull/") ? model.slice(5) : undefined
  if (name === undefined || !GRAPH_NAME.test(name) || !available.includes(name))
    return {
      _tag: "Unknown",
      why: `unknown model "${model.slice(0, 200)}"; available: ${[...available.map((g) => `mull/${g}`), ...aliases.keys()].join(", ")}`
    }
  return { _tag: "Graph", graph: name, params: {}, budget: undefined }
}
