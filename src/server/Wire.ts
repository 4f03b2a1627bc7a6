/**
 * The service's wire format: OpenAI's chat-completion request (the fields mull reads; others are
 * ignored, as OpenAI-compatible servers do), mull's extension `mull: { params, budget, seed, trace,
 * answer }`,
 * and the replies — a `chat.completion`, `chat.completion.chunk`s for streaming, and OpenAI-style
 * error bodies.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"
import { LimitsSchema } from "../budget/Limits.ts"
import { AnswerSpec } from "../domain/AnswerKind.ts"
import type { RankedAnswer } from "../domain/RunResult.ts"
import type { Usage } from "../domain/Usage.ts"

const ContentPart = Schema.Struct({ type: Schema.String, text: Schema.optionalKey(Schema.String) })

export const ChatMessage = Schema.Struct({
  role: Schema.String,
  content: Schema.Union([Schema.String, Schema.Array(ContentPart), Schema.Null])
})
export type ChatMessage = typeof ChatMessage.Type

const Params = Schema.Record(Schema.String, Schema.Finite)

/** mull's part of a request. */
export const MullOptions = Schema.Struct({
  /** graph params, over the alias's and the graph's defaults (capped by server policy) */
  params: Schema.optionalKey(Params),
  /** budget limits (capped by server policy) */
  budget: Schema.optionalKey(LimitsSchema),
  /** the run seed (also OpenAI's top-level `seed`) */
  seed: Schema.optionalKey(Schema.Int),
  /** write this request's run events as a trace the server keeps (`GET /v1/traces/:id`) */
  trace: Schema.optionalKey(Schema.Boolean),
  /**
   * the kind of answer the question expects — `{ "kind": "free" }`, `{ "kind": "choice", "options":
   * [...] }`, `number` or `math` (the default) — which decides extraction and voting (docs/grading.md)
   */
  answer: Schema.optionalKey(AnswerSpec)
})
export type MullOptions = typeof MullOptions.Type

/** A chat-completion request. */
export const ChatRequest = Schema.Struct({
  model: Schema.String.check(Schema.isMinLength(1)),
  messages: Schema.Array(ChatMessage).check(Schema.isMinLength(1)),
  stream: Schema.optionalKey(Schema.NullOr(Schema.Boolean)),
  n: Schema.optionalKey(Schema.NullOr(Schema.Int.check(Schema.isGreaterThanOrEqualTo(1)))),
  seed: Schema.optionalKey(Schema.NullOr(Schema.Int)),
  temperature: Schema.optionalKey(Schema.NullOr(Schema.Finite.check(Schema.isGreaterThanOrEqualTo(0)))),
  max_tokens: Schema.optionalKey(Schema.NullOr(Schema.Int.check(Schema.isGreaterThanOrEqualTo(1)))),
  max_completion_tokens: Schema.optionalKey(Schema.NullOr(Schema.Int.check(Schema.isGreaterThanOrEqualTo(1)))),
  /** decoded strictly on its own (`MullOptions`): unknown fields there are mistakes, not extensions */
  mull: Schema.optionalKey(Schema.Unknown)
})
export type ChatRequest = typeof ChatRequest.Type

/** A graph sent for validation or costing: a document, or the name of a graph the server serves. */
export const GraphRequest = Schema.Struct({
  graph: Schema.Union([Schema.String, Schema.Record(Schema.String, Schema.Unknown)]),
  params: Schema.optionalKey(Params),
  budget: Schema.optionalKey(LimitsSchema)
})
export type GraphRequest = typeof GraphRequest.Type

/**
 * The text of a message's content (text parts joined).
 *
 * @example
 * contentText({ role: "user", content: [{ type: "text", text: "2+2?" }] }) // "2+2?"
 */
export const contentText = (m: ChatMessage): string =>
  m.content === null
    ? ""
    : typeof m.content === "string"
      ? m.content
      : m.content
          .filter((p) => p.type === "text")
          .map((p) => p.text ?? "")
          .join("\n")

/** OpenAI's `usage`: the true sum over every internal call — generator and verifier tokens. */
export interface WireUsage {
  readonly prompt_tokens: number
  readonly completion_tokens: number
  readonly total_tokens: number
}

/**
 * OpenAI's `usage` of a run: prompt tokens are the generator's input tokens plus every token the
 * verifier read; completion tokens are the generator's output tokens.
 *
 * @example
 * wireUsage(result.usage).total_tokens
 */
export const wireUsage = (u: Usage): WireUsage => {
  const prompt = u.inputTokens + u.verifierTokens
  return { prompt_tokens: prompt, completion_tokens: u.outputTokens, total_tokens: prompt + u.outputTokens }
}

/** What mull adds to a reply: the strategy, the ledger, and whether the budget ran out. */
export interface MullReply {
  readonly strategy: string
  readonly params: { readonly [name: string]: number }
  readonly budget: { readonly [meter: string]: number }
  readonly seed: number
  readonly answers: ReadonlyArray<string | null>
  readonly exhausted: boolean
  /** logical usage, every meter (cache hits included) */
  readonly usage: Usage
  /** what the backends really spent */
  readonly backendUsage: Usage
  /** per-node attribution of `usage` */
  readonly ledger: ReadonlyArray<{ readonly node: string; readonly usage: Usage }>
  readonly ranking: ReadonlyArray<RankedAnswer>
  readonly trace?: string
}

export interface Choice {
  readonly content: string
  readonly finishReason: "stop" | "length"
}

/**
 * A `chat.completion` reply.
 *
 * @example
 * completion("chatcmpl-1", "mull/beam-search", 0, [{ content: "…", finishReason: "stop" }], usage, mull)
 */
export const completion = (
  id: string,
  model: string,
  created: number,
  choices: ReadonlyArray<Choice>,
  usage: WireUsage,
  mull: MullReply
) => ({
  id,
  object: "chat.completion" as const,
  created,
  model,
  system_fingerprint: "mull-0.1.0",
  choices: choices.map((c, index) => ({
    index,
    message: { role: "assistant" as const, content: c.content, refusal: null },
    logprobs: null,
    finish_reason: c.finishReason
  })),
  usage,
  mull
})

/**
 * A `chat.completion.chunk`. Progress chunks carry an empty delta and the run event in `mull`;
 * OpenAI clients ignore the extra field.
 *
 * @example
 * chunk("chatcmpl-1", "mull/beam-search", 0, [{ index: 0, delta: { content: "42" }, finish_reason: null }])
 */
export const chunk = (
  id: string,
  model: string,
  created: number,
  choices: ReadonlyArray<{
    readonly index: number
    readonly delta: { readonly role?: "assistant"; readonly content?: string }
    readonly finish_reason: "stop" | "length" | null
  }>,
  extra: { readonly usage?: WireUsage | null; readonly mull?: unknown } = {}
) => ({
  id,
  object: "chat.completion.chunk" as const,
  created,
  model,
  system_fingerprint: "mull-0.1.0",
  choices,
  ...extra
})

/** OpenAI's error types, by HTTP status. */
const errorType = (status: number): string =>
  status === 401
    ? "authentication_error"
    : status === 404
      ? "not_found_error"
      : status === 413
        ? "request_too_large"
        : status === 429
          ? "rate_limit_error"
          : status >= 500
            ? "server_error"
            : "invalid_request_error"

/**
 * An OpenAI-style error body.
 *
 * @example
 * errorBody(404, "unknown model mull/x", "model_not_found", "model")
 */
export const errorBody = (
  status: number,
  message: string,
  code: string | null = null,
  param: string | null = null
) => ({
  error: { message, type: errorType(status), param, code }
})
