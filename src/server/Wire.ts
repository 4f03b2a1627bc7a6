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
import { type Usage, UsageSchema } from "../domain/Usage.ts"

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
}).annotate({
  identifier: "MullOptions",
  description:
    "mull's extension of a chat request (decoded strictly: an unknown key is a 400). params and budget are lowered to the server's ceilings, never raised"
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
}).annotate({ identifier: "ChatRequestWire" })
export type ChatRequest = typeof ChatRequest.Type

/** A graph sent for validation or costing: a document, or the name of a graph the server serves. */
export const GraphRequest = Schema.Struct({
  graph: Schema.Union([Schema.String, Schema.Record(Schema.String, Schema.Unknown)]),
  params: Schema.optionalKey(Params),
  budget: Schema.optionalKey(LimitsSchema)
}).annotate({ identifier: "GraphRequest" })
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
export const WireUsage = Schema.Struct({
  prompt_tokens: Schema.Finite,
  completion_tokens: Schema.Finite,
  total_tokens: Schema.Finite
}).annotate({
  identifier: "ChatUsage",
  description:
    "prompt: the generator's input tokens plus every token the verifier read; completion: the generator's output tokens"
})
export type WireUsage = typeof WireUsage.Type

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

const Numbers = Schema.Record(Schema.String, Schema.Finite)

/** One answer of the final vote. */
export const RankedAnswerSchema = Schema.Struct({
  answer: Schema.String,
  weight: Schema.Finite,
  count: Schema.Finite,
  best: Schema.String.annotate({ description: "the highest-scored candidate with this answer" })
}).annotate({ identifier: "RankedAnswer" })

/** What mull adds to a reply: the strategy, the ledger, and whether the budget ran out. */
export const MullReply = Schema.Struct({
  strategy: Schema.String.annotate({ description: "the graph that ran" }),
  params: Numbers.annotate({ description: "the params it ran with, after the alias's and the ceilings" }),
  budget: Numbers.annotate({ description: "the budget it ran with, per meter, after the ceilings" }),
  capped: Schema.optionalKey(
    Schema.Array(Schema.String).annotate({ description: "params asked above their ceilings, run at the ceiling" })
  ),
  seed: Schema.Int,
  answers: Schema.Array(Schema.NullOr(Schema.String)).annotate({ description: "each choice's answer" }),
  exhausted: Schema.Boolean.annotate({
    description: "the budget refused a call: the answer comes from what could be paid for"
  }),
  usage: UsageSchema.annotateKey({ description: "logical usage, every meter (cache hits included)" }),
  backendUsage: UsageSchema.annotateKey({ description: "what the backends really spent" }),
  ledger: Schema.Array(Schema.Struct({ node: Schema.String, usage: UsageSchema })).annotate({
    description: "per-node attribution of usage"
  }),
  ranking: Schema.Array(RankedAnswerSchema),
  trace: Schema.optionalKey(Schema.String.annotate({ description: "the trace's id (GET /v1/traces/{id})" }))
}).annotate({ identifier: "MullReply", description: "mull's extension of a reply" })
export type MullReply = typeof MullReply.Type

export interface Choice {
  readonly content: string
  readonly finishReason: "stop" | "length"
}

const FinishReason = Schema.Literals(["stop", "length"]).annotate({
  description: "length: the shown candidate did not finish, or the budget paid for none"
})

/** A `chat.completion` reply. */
export const ChatCompletion = Schema.Struct({
  id: Schema.String,
  object: Schema.Literal("chat.completion"),
  created: Schema.Int,
  model: Schema.String,
  system_fingerprint: Schema.String,
  choices: Schema.Array(
    Schema.Struct({
      index: Schema.Int,
      message: Schema.Struct({ role: Schema.Literal("assistant"), content: Schema.String, refusal: Schema.Null }),
      logprobs: Schema.Null,
      finish_reason: FinishReason
    })
  ),
  usage: WireUsage,
  mull: MullReply
}).annotate({ identifier: "ChatCompletion" })
export type ChatCompletion = typeof ChatCompletion.Type

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
): ChatCompletion => ({
  id,
  object: "chat.completion",
  created,
  model,
  system_fingerprint: "mull-0.1.0",
  choices: choices.map((c, index) => ({
    index,
    message: { role: "assistant", content: c.content, refusal: null },
    logprobs: null,
    finish_reason: c.finishReason
  })),
  usage,
  mull
})

/** One server-sent `chat.completion.chunk` (the data of each event before `data: [DONE]`). */
export const ChatCompletionChunk = Schema.Struct({
  id: Schema.String,
  object: Schema.Literal("chat.completion.chunk"),
  created: Schema.Int,
  model: Schema.String,
  system_fingerprint: Schema.String,
  choices: Schema.Array(
    Schema.Struct({
      index: Schema.Int,
      delta: Schema.Struct({
        role: Schema.optionalKey(Schema.Literal("assistant")),
        content: Schema.optionalKey(Schema.String)
      }),
      finish_reason: Schema.NullOr(FinishReason)
    })
  ),
  usage: Schema.optionalKey(Schema.NullOr(WireUsage)),
  mull: Schema.optionalKey(
    Schema.Unknown.annotate({
      description:
        "a progress chunk's run event ({ event, choice? }), or the last chunk's MullReply; OpenAI clients ignore it"
    })
  )
}).annotate({ identifier: "ChatCompletionChunk" })
export type ChatCompletionChunk = typeof ChatCompletionChunk.Type

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
  choices: ChatCompletionChunk["choices"],
  extra: { readonly usage?: WireUsage | null; readonly mull?: unknown } = {}
): ChatCompletionChunk => ({
  id,
  object: "chat.completion.chunk",
  created,
  model,
  system_fingerprint: "mull-0.1.0",
  choices,
  ...extra
})

/** An OpenAI-style error body. */
export const ErrorBody = Schema.Struct({
  error: Schema.Struct({
    message: Schema.String.annotate({ description: "what went wrong; a bad field is named by its path" }),
    type: Schema.String,
    param: Schema.NullOr(Schema.String),
    code: Schema.NullOr(Schema.String)
  })
}).annotate({ identifier: "Error" })
export type ErrorBody = typeof ErrorBody.Type

/** OpenAI's error types, by HTTP status. */
const errorType = (status: number): string => {
  switch (status) {
    case 401:
      return "authentication_error"
    case 403:
      return "permission_error"
    case 404:
      return "not_found_error"
    case 413:
      return "request_too_large"
    case 429:
      return "rate_limit_error"
    case 503:
      return "overloaded_error"
    default:
      return status >= 500 ? "server_error" : "invalid_request_error"
  }
}

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
): ErrorBody => ({
  error: { message, type: errorType(status), param, code }
})

/** `GET /v1/models`. */
export const ModelList = Schema.Struct({
  object: Schema.Literal("list"),
  data: Schema.Array(
    Schema.Struct({
      id: Schema.String.annotate({ description: "mull/<graph>, or an alias" }),
      object: Schema.Literal("model"),
      created: Schema.Int,
      owned_by: Schema.String,
      description: Schema.String
    })
  )
}).annotate({ identifier: "ModelList" })

/** `POST /v1/graphs/validate`. */
export const ValidateReply = Schema.Struct({
  valid: Schema.Boolean,
  problems: Schema.Array(Schema.String).annotate({ description: "one `path: message` line per problem" })
}).annotate({ identifier: "ValidateReply" })

const Bound = Schema.Record(Schema.String, Schema.NullOr(Schema.Finite)).annotate({
  description: "per meter; null where unbounded"
})

/** `POST /v1/graphs/cost`: the plan of a graph under a budget (what `mull cost` prints). */
export const CostReply = Schema.Struct({
  graph: Schema.String,
  /** the effective params (the graph's defaults with the request's) */
  params: Schema.Record(Schema.String, Schema.Finite),
  /** the backend whose cost options bound the calls */
  backend: Schema.String,
  /** the request's budget */
  limits: LimitsSchema,
  /** per meter, the worst case of a run (`null`: unbounded) */
  worst: Bound,
  /** per meter, the worst case under the budget */
  underBudget: Bound,
  /** per meter, what a budget must pay to get an answer */
  answerMinimum: Bound,
  /** the largest population a run holds (`null`: unbounded) */
  population: Schema.NullOr(Schema.Finite),
  /** the expected spend from dry runs on a simulator (present when the server has one) */
  expected: Schema.optionalKey(
    Schema.Struct({
      runs: Schema.Int,
      mean: Bound,
      sd: Bound,
      answered: Schema.Int,
      exhausted: Schema.Int
    })
  ),
  /** the meter that refused first in most dry runs (`none`: the budget never refused) */
  binds: Schema.optionalKey(Schema.String),
  /** why there is no `expected`, when the server has a simulator to dry-run on */
  expectedSkipped: Schema.optionalKey(Schema.String),
  /** the same as `worst` (kept for clients of the first version) */
  bound: Bound,
  /** per meter, the cost of the graph's first call */
  minimum: Bound
}).annotate({ identifier: "CostReply" })

/** `GET /healthz`. */
export const Health = Schema.Struct({
  status: Schema.Literal("ok"),
  graphs: Schema.Int,
  runsInFlight: Schema.Int,
  admission: Schema.Struct({ running: Schema.Int, queued: Schema.Int })
}).annotate({ identifier: "Health" })
export type Health = typeof Health.Type
