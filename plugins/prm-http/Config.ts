/**
 * The prm-http verifier's configuration: where the reward model is served, how to ask it (vLLM's
 * pooling endpoint, or next-token logprobs through a completions endpoint), its prompt format, and
 * the usual limits and retries. JSON first, then `MULL_PRM_URL`, `MULL_PRM_MODEL` and
 * `MULL_PRM_API_KEY` through Effect `Config`.
 *
 * @since 0.1.0
 */
import { Config, Effect, Redacted, Schema } from "effect"
import { BackendConfigError, type ConfigIssue } from "../../src/services/Backend.ts"
import { decodeStrict, intField, nonNegativeField, optionalEnv } from "../../src/services/ConfigSchema.ts"
import { SYSTEM, TEMPLATES, type TemplateName } from "../../src/services/Prompt.ts"
import * as Retry from "../../src/services/Retry.ts"

/**
 * - `pooling`: vLLM's `/pooling` for token-classification PRMs (Qwen2.5-Math-PRM): steps joined by
 *   the model's step separator, the positive-class probability at each separator;
 * - `logprobs`: the probability of a "+" (vs "−") next token through `/v1/completions` with
 *   `logprobs` (Math-Shepherd, RLHFlow), one prompt per scored step.
 */
export const MODES = ["pooling", "logprobs"] as const
export type Mode = (typeof MODES)[number]

/** Prompt formats of logprob PRMs. */
export const FORMATS = ["math-shepherd", "rlhflow"] as const
export type Format = (typeof FORMATS)[number]

const int = intField
const nonNegative = nonNegativeField

export const PrmHttpConfig = Schema.Struct({
  baseUrl: Schema.optionalKey(
    Schema.NonEmptyString.annotate({ description: "the server, e.g. http://localhost:8001 (default: MULL_PRM_URL)" })
  ),
  model: Schema.optionalKey(
    Schema.NonEmptyString.annotate({ description: "the served PRM (default: MULL_PRM_MODEL)" })
  ),
  apiKey: Schema.optionalKey(Schema.String.annotate({ description: "bearer token (default: MULL_PRM_API_KEY)" })),
  mode: Schema.Literals(MODES).pipe(Schema.withDecodingDefaultKey(Effect.succeed<Mode>("pooling"))),
  template: Schema.optionalKey(
    Schema.Literals(TEMPLATES).annotate({
      description:
        'chat template of the PRM\'s prompt (default "chatml" for pooling, "llama-3" for rlhflow, "none" for math-shepherd)'
    })
  ),
  system: Schema.String.pipe(Schema.withDecodingDefaultKey(Effect.succeed(SYSTEM))),
  stepSeparator: Schema.NonEmptyString.annotate({
    description: "pooling: the token after each step (Qwen2.5-Math-PRM: <extra_0>)"
  }).pipe(Schema.withDecodingDefaultKey(Effect.succeed("<extra_0>"))),
  positiveIndex: int(1, 0, 1000, "pooling: the class whose probability is the step score"),
  poolingTask: Schema.optionalKey(
    Schema.NonEmptyString.annotate({ description: 'pooling: the "task" field (vLLM ≥ 0.11: "token_classify")' })
  ),
  format: Schema.Literals(FORMATS).pipe(Schema.withDecodingDefaultKey(Effect.succeed<Format>("math-shepherd"))),
  stepTag: Schema.NonEmptyString.annotate({ description: "math-shepherd: the tag after each step" }).pipe(
    Schema.withDecodingDefaultKey(Effect.succeed("ки"))
  ),
  goodToken: Schema.NonEmptyString.pipe(Schema.withDecodingDefaultKey(Effect.succeed("+"))),
  badToken: Schema.NonEmptyString.pipe(Schema.withDecodingDefaultKey(Effect.succeed("-"))),
  topLogprobs: int(20, 1, 20, "logprobs: top logprobs asked for (vLLM's default cap is 20)"),
  stepDelimiter: Schema.NonEmptyString.pipe(Schema.withDecodingDefaultKey(Effect.succeed("\n\n"))),
  maxBatch: int(16, 1, 100_000, "most candidates in one request"),
  concurrency: int(8, 1, 100_000, "concurrent requests"),
  timeoutMs: int(120_000, 1, 86_400_000, "per-request timeout"),
  retry: Schema.Struct({
    retries: int(Retry.defaults.retries, 0, 100, "retries after the first attempt"),
    baseDelayMs: nonNegative(Retry.defaults.baseDelayMs, "first backoff"),
    maxDelayMs: nonNegative(Retry.defaults.maxDelayMs, "longest wait")
  }).pipe(Schema.withDecodingDefaultKey(Effect.succeed({}))),
  params: nonNegative(0, "PRM parameters, for FLOPs")
}).annotate({ identifier: "PrmHttpConfig", description: "Configuration of the prm-http verifier" })

export type PrmHttpConfigInput = typeof PrmHttpConfig.Encoded

export interface ResolvedPrmHttpConfig {
  readonly baseUrl: string
  readonly model: string
  readonly apiKey: Redacted.Redacted<string> | undefined
  readonly mode: Mode
  readonly template: TemplateName
  readonly system: string
  readonly stepSeparator: string
  readonly positiveIndex: number
  readonly poolingTask: string | undefined
  readonly format: Format
  readonly stepTag: string
  readonly goodToken: string
  readonly badToken: string
  readonly topLogprobs: number
  readonly stepDelimiter: string
  readonly maxBatch: number
  readonly concurrency: number
  readonly timeoutMs: number
  readonly retry: Retry.RetryPolicy
  readonly params: number
}

/** The name prm-http's problems are reported under. */
const NAME = "prm-http"

/**
 * Decodes a configuration (unknown keys rejected), fills `baseUrl`, `model` and `apiKey` from
 * `MULL_PRM_URL`, `MULL_PRM_MODEL` and `MULL_PRM_API_KEY` when absent; both are then required.
 * Problems are a `BackendConfigError` (of "prm-http"), one per field.
 *
 * @example
 * const config = yield* resolveConfig({ baseUrl: "http://localhost:8001", model: "Qwen/Qwen2.5-Math-PRM-7B" })
 * config.mode // "pooling"
 */
export const resolveConfig = Effect.fn("prm-http.resolveConfig")(function* (input: unknown) {
  const c = yield* decodeStrict(NAME, PrmHttpConfig)(input)
  const baseUrl = c.baseUrl ?? (yield* optionalEnv(NAME, Config.String("MULL_PRM_URL")))
  const model = c.model ?? (yield* optionalEnv(NAME, Config.String("MULL_PRM_MODEL")))
  const apiKey =
    c.apiKey !== undefined ? Redacted.make(c.apiKey) : yield* optionalEnv(NAME, Config.Redacted("MULL_PRM_API_KEY"))
  const issues: Array<ConfigIssue> = []
  if (baseUrl === undefined || baseUrl === "")
    issues.push({
      path: ["baseUrl"],
      message: "missing (give --prm-url, baseUrl in the verifier config, or MULL_PRM_URL)"
    })
  if (model === undefined || model === "")
    issues.push({
      path: ["model"],
      message: "missing (give --prm-model, model in the verifier config, or MULL_PRM_MODEL)"
    })
  if (issues.length > 0) return yield* new BackendConfigError({ backend: NAME, issues })
  const resolved: ResolvedPrmHttpConfig = {
    baseUrl: (baseUrl ?? "").replace(/\/+$/u, ""),
    model: model ?? "",
    apiKey: apiKey === undefined || Redacted.value(apiKey) === "" ? undefined : apiKey,
    mode: c.mode,
    // Math-Shepherd reads plain text; RLHFlow's PRMs are Llama 3.1 chats; Qwen's PRMs are ChatML
    template: c.template ?? (c.mode === "pooling" ? "chatml" : c.format === "rlhflow" ? "llama-3" : "none"),
    system: c.system,
    stepSeparator: c.stepSeparator,
    positiveIndex: c.positiveIndex,
    poolingTask: c.poolingTask,
    format: c.format,
    stepTag: c.stepTag,
    goodToken: c.goodToken,
    badToken: c.badToken,
    topLogprobs: c.topLogprobs,
    stepDelimiter: c.stepDelimiter,
    maxBatch: c.maxBatch,
    concurrency: c.concurrency,
    timeoutMs: c.timeoutMs,
    retry: c.retry,
    params: c.params
  }
  return resolved
})
