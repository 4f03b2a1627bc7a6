/**
 * The openai backend's configuration: where the server is, which model, what kind of server
 * (which decides the honest defaults of what it can do), sampling knobs, limits and retries. JSON
 * (`--backend-config`, CLI flags merged in) first, then the environment (`MULL_BASE_URL`,
 * `MULL_MODEL`, `MULL_API_KEY`, `MULL_SERVER`) through Effect `Config`.
 *
 * @since 0.1.0
 */
import { Config, Effect, Redacted, Result, Schema } from "effect"
import { BackendConfigError, type ConfigIssue } from "../../src/services/Backend.ts"
import { decodeStrict, intField, nonNegativeField, optionalEnv, PricesConfig } from "../../src/services/ConfigSchema.ts"
import { SYSTEM, TEMPLATES, type TemplateName } from "../../src/services/Prompt.ts"
import * as Retry from "../../src/services/Retry.ts"
import type { ResolvedPrmHttpConfig } from "../prm-http/index.ts"
import * as PrmHttp from "../prm-http/index.ts"

/** The servers mull knows; each sets the defaults of the knobs below (docs/backends.md). */
/** The name openai's problems are reported under. */
const NAME = "openai"

export const SERVERS = ["vllm", "sglang", "llama.cpp", "ollama", "openai"] as const
export type ServerKind = (typeof SERVERS)[number]

/** How a partial solution is continued: a raw completion under a chat template, vLLM's chat `continue_final_message`, or not at all. */
export const STEP_MODES = ["completions", "continue", "none"] as const
export type StepMode = (typeof STEP_MODES)[number]

/** What a kind of server supports, as documented by its project (see docs/backends.md). */
export interface ServerProfile {
  /** `n` > 1 in one request */
  readonly n: boolean
  /** `seed` reproduces an output */
  readonly seed: boolean
  /** vLLM's `/tokenize` */
  readonly tokenize: boolean
  readonly stepMode: StepMode
  /** the request field that keeps the stop string in the output, if any */
  readonly keepStop: "include_stop_str_in_output" | "no_stop_trim" | undefined
}

export const PROFILES: Readonly<Record<ServerKind, ServerProfile>> = {
  vllm: { n: true, seed: true, tokenize: true, stepMode: "completions", keepStop: "include_stop_str_in_output" },
  sglang: { n: true, seed: false, tokenize: false, stepMode: "completions", keepStop: "no_stop_trim" },
  "llama.cpp": { n: false, seed: true, tokenize: false, stepMode: "completions", keepStop: undefined },
  ollama: { n: false, seed: true, tokenize: false, stepMode: "none", keepStop: undefined },
  // OpenAI: seed is best effort ("determinism is not guaranteed"); no raw completions for chat models
  openai: { n: true, seed: false, tokenize: false, stepMode: "none", keepStop: undefined }
}

const int = intField
const nonNegative = nonNegativeField

export const RetryConfig = Schema.Struct({
  retries: int(Retry.defaults.retries, 0, 100, "retries after the first attempt"),
  baseDelayMs: nonNegative(Retry.defaults.baseDelayMs, "first backoff; doubles each retry (with jitter)"),
  maxDelayMs: nonNegative(Retry.defaults.maxDelayMs, "longest wait, retry-after included")
}).annotate({ description: "how the runtime retries 429, 5xx, timeouts and connection errors" })

export const OpenAiConfig = Schema.Struct({
  baseUrl: Schema.optionalKey(
    Schema.NonEmptyString.annotate({
      description: "the OpenAI-compatible API root, e.g. http://localhost:8000/v1 (default: MULL_BASE_URL)"
    })
  ),
  model: Schema.optionalKey(Schema.NonEmptyString.annotate({ description: "the served model (default: MULL_MODEL)" })),
  apiKey: Schema.optionalKey(
    Schema.String.annotate({ description: "bearer token (default: MULL_API_KEY); never logged" })
  ),
  server: Schema.optionalKey(
    Schema.Literals(SERVERS).annotate({
      description: 'the kind of server; sets what it supports (default: MULL_SERVER, else "vllm")'
    })
  ),
  template: Schema.Literals(TEMPLATES)
    .annotate({ description: "the model's chat template, for raw completions (chatml = Qwen)" })
    .pipe(Schema.withDecodingDefaultKey(Effect.succeed<TemplateName>("chatml"))),
  stepMode: Schema.optionalKey(
    Schema.Literals(STEP_MODES).annotate({ description: "how partial solutions are continued (default by server)" })
  ),
  nSampling: Schema.optionalKey(Schema.Boolean.annotate({ description: "send n in one request (default by server)" })),
  seeded: Schema.optionalKey(Schema.Boolean.annotate({ description: "seed reproduces outputs (default by server)" })),
  tokenize: Schema.optionalKey(
    Schema.Boolean.annotate({ description: "count prompt tokens with vLLM's /tokenize (default by server)" })
  ),
  system: Schema.String.annotate({ description: "the system instruction" }).pipe(
    Schema.withDecodingDefaultKey(Effect.succeed(SYSTEM))
  ),
  topP: Schema.optionalKey(Schema.Finite.check(Schema.isBetween({ minimum: 0, maximum: 1 }))),
  logprobs: Schema.optionalKey(
    Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 20 })).annotate({
      description: "ask for this many top logprobs per token (they give exact per-sequence token counts)"
    })
  ),
  stepDelimiter: Schema.NonEmptyString.pipe(Schema.withDecodingDefaultKey(Effect.succeed("\n\n"))),
  thinkTags: Schema.Struct({
    open: Schema.NonEmptyString.annotate({ description: "what opens a reasoning model's thinking" }).pipe(
      Schema.withDecodingDefaultKey(Effect.succeed("<think>"))
    ),
    close: Schema.NonEmptyString.annotate({ description: "what ends it (the answer follows)" }).pipe(
      Schema.withDecodingDefaultKey(Effect.succeed("</think>"))
    )
  })
    .annotate({
      description:
        "the thinking delimiters of a reasoning model: thinking is read from reasoning_content (or reasoning), else from between these tags in the content; budget forcing writes them"
    })
    .pipe(Schema.withDecodingDefaultKey(Effect.succeed({}))),
  reasoning: Schema.Boolean.annotate({
    description:
      "the model may think on any call (a reasoning model): every call reserves thinkingTokens as output tokens (default true; false for a model that never thinks)"
  }).pipe(Schema.withDecodingDefaultKey(Effect.succeed(true))),
  maxTokens: int(4096, 1, 10_000_000, "default and largest max_tokens of one call: the solution cap"),
  stepTokens: Schema.optionalKey(
    Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 10_000_000 })).annotate({
      description: "default max_tokens of a step-wise call (default: min(1024, maxTokens))"
    })
  ),
  concurrency: int(16, 1, 100_000, "concurrent HTTP requests to the server"),
  timeoutMs: int(120_000, 1, 86_400_000, "per-request timeout"),
  retry: RetryConfig.pipe(Schema.withDecodingDefaultKey(Effect.succeed({}))),
  params: nonNegative(0, "model parameters, for FLOPs (2·params·tokens)"),
  prices: PricesConfig,
  verifier: Schema.optionalKey(
    Schema.Unknown.annotate({ description: "a prm-http configuration: the verifier of this backend" })
  )
}).annotate({ identifier: "OpenAiConfig", description: "Configuration of the openai backend" })

export type OpenAiConfigInput = typeof OpenAiConfig.Encoded

/** A configuration with every default resolved. */
export interface ResolvedOpenAiConfig {
  readonly baseUrl: string
  readonly model: string
  readonly apiKey: Redacted.Redacted<string> | undefined
  readonly server: ServerKind
  readonly template: TemplateName
  readonly stepMode: StepMode
  readonly nSampling: boolean
  readonly seeded: boolean
  readonly tokenize: boolean
  readonly keepStop: ServerProfile["keepStop"]
  readonly system: string
  readonly topP: number | undefined
  readonly logprobs: number | undefined
  readonly stepDelimiter: string
  /** a reasoning model's thinking delimiters */
  readonly thinkTags: { readonly open: string; readonly close: string }
  /** the model may think on any call */
  readonly reasoning: boolean
  readonly maxTokens: number
  readonly stepTokens: number
  readonly concurrency: number
  readonly timeoutMs: number
  readonly retry: Retry.RetryPolicy
  readonly params: number
  /** USD per million tokens, when the configuration sets them (else mull's price table, else none) */
  readonly prices: { readonly input?: number; readonly output?: number; readonly verifier?: number } | undefined
  /** the verifier: a prm-http reward model, when configured (`verifier`, or `MULL_PRM_URL`) */
  readonly verifier: ResolvedPrmHttpConfig | undefined
}

/**
 * Decodes a configuration (unknown keys are rejected so a typo names itself), fills `baseUrl`,
 * `model`, `apiKey` and `server` from `MULL_BASE_URL`, `MULL_MODEL`, `MULL_API_KEY` and
 * `MULL_SERVER` when absent, and resolves the server's defaults. `baseUrl` and `model` are required.
 * The verifier is decoded as a prm-http configuration when given — or, when `MULL_PRM_URL` is set,
 * from the environment alone; without either there is none. Problems are one `BackendConfigError`,
 * the verifier's at `verifier.<field>`.
 *
 * @example
 * const config = yield* resolveConfig({ baseUrl: "http://localhost:8000/v1", model: "Qwen/Qwen2.5-Math-1.5B-Instruct" })
 * config.nSampling // true (vLLM)
 */
export const resolveConfig = Effect.fn("openai.resolveConfig")(function* (input: unknown) {
  const c = yield* decodeStrict(NAME, OpenAiConfig)(input)
  const baseUrl = c.baseUrl ?? (yield* optionalEnv(NAME, Config.String("MULL_BASE_URL")))
  const model = c.model ?? (yield* optionalEnv(NAME, Config.String("MULL_MODEL")))
  const apiKey =
    c.apiKey !== undefined ? Redacted.make(c.apiKey) : yield* optionalEnv(NAME, Config.Redacted("MULL_API_KEY"))
  const serverText = c.server ?? (yield* optionalEnv(NAME, Config.String("MULL_SERVER"))) ?? "vllm"
  const issues: Array<ConfigIssue> = []
  if (baseUrl === undefined || baseUrl === "")
    issues.push({
      path: ["baseUrl"],
      message: "missing (give --base-url, baseUrl in --backend-config, or MULL_BASE_URL)"
    })
  if (model === undefined || model === "")
    issues.push({ path: ["model"], message: "missing (give --model, model in --backend-config, or MULL_MODEL)" })
  if (!(SERVERS as ReadonlyArray<string>).includes(serverText))
    issues.push({
      path: ["server"],
      message: `expected one of ${SERVERS.join(", ")}, got ${JSON.stringify(serverText)}`
    })
  // the verifier: given, or configured by the environment alone
  const prmFromEnv = (yield* optionalEnv(NAME, Config.String("MULL_PRM_URL"))) !== undefined
  const verifier =
    c.verifier === undefined && !prmFromEnv
      ? undefined
      : yield* Effect.result(PrmHttp.verifier.decode(c.verifier ?? {}))
  if (verifier !== undefined && Result.isFailure(verifier)) issues.push(...verifier.failure.within("verifier").issues)
  if (issues.length > 0) return yield* new BackendConfigError({ backend: NAME, issues })
  const server = serverText as ServerKind
  const profile = PROFILES[server]
  const resolved: ResolvedOpenAiConfig = {
    baseUrl: (baseUrl ?? "").replace(/\/+$/u, ""),
    model: model ?? "",
    apiKey: apiKey === undefined || Redacted.value(apiKey) === "" ? undefined : apiKey,
    server,
    template: c.template,
    stepMode: c.stepMode ?? profile.stepMode,
    nSampling: c.nSampling ?? profile.n,
    seeded: c.seeded ?? profile.seed,
    tokenize: c.tokenize ?? profile.tokenize,
    keepStop: profile.keepStop,
    system: c.system,
    topP: c.topP,
    logprobs: c.logprobs,
    stepDelimiter: c.stepDelimiter,
    thinkTags: c.thinkTags,
    reasoning: c.reasoning,
    maxTokens: c.maxTokens,
    stepTokens: Math.min(c.stepTokens ?? 1024, c.maxTokens),
    concurrency: c.concurrency,
    timeoutMs: c.timeoutMs,
    retry: c.retry,
    params: c.params,
    prices: c.prices,
    verifier: verifier === undefined || Result.isFailure(verifier) ? undefined : verifier.success
  }
  return resolved
})
