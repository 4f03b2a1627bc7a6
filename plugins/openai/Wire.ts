/**
 * The wire formats of OpenAI-compatible servers, as documented by OpenAI's API reference (chat
 * completions, completions) and vLLM's OpenAI-compatible server (its extra parameters, `stop_reason`,
 * `/tokenize`). The response Schemas list only the fields mull reads; unknown fields are ignored.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"
import type { Message } from "../../src/services/Prompt.ts"

/** Sampling fields shared by chat and completion requests. */
export interface SamplingBody {
  readonly model: string
  readonly n?: number
  readonly temperature: number
  readonly top_p?: number
  readonly max_tokens: number
  readonly seed?: number
  readonly stop?: ReadonlyArray<string>
  /** vLLM: keep the matched stop string at the end of the text */
  readonly include_stop_str_in_output?: boolean
  /** SGLang: the same */
  readonly no_stop_trim?: boolean
}

/** `POST /v1/chat/completions`. */
export interface ChatBody extends SamplingBody {
  readonly messages: ReadonlyArray<Message>
  readonly logprobs?: boolean
  readonly top_logprobs?: number
  /** vLLM: continue the last (assistant) message instead of opening a new turn */
  readonly continue_final_message?: boolean
  readonly add_generation_prompt?: boolean
}

/** `POST /v1/completions` (raw prompt continuation). */
export interface CompletionBody extends SamplingBody {
  readonly prompt: string
  readonly logprobs?: number
  /** vLLM: do not add a BOS token (the rendered template already has one) */
  readonly add_special_tokens?: boolean
}

/** `usage` of OpenAI's reference; every server mull supports reports it on non-streamed replies. */
export const Usage = Schema.Struct({
  prompt_tokens: Schema.Int.check(Schema.isGreaterThanOrEqualTo(0)),
  completion_tokens: Schema.Int.check(Schema.isGreaterThanOrEqualTo(0)),
  /** OpenAI and vLLM: of `completion_tokens`, the tokens a reasoning model spent thinking */
  completion_tokens_details: Schema.optionalKey(
    Schema.NullOr(
      Schema.Struct({
        reasoning_tokens: Schema.optionalKey(Schema.NullOr(Schema.Int.check(Schema.isGreaterThanOrEqualTo(0))))
      })
    )
  )
})

const FinishReason = Schema.NullOr(Schema.String)
/** vLLM: the stop string or token id that ended the sequence; null for EOS or the length cap. */
const StopReason = Schema.optionalKey(Schema.NullOr(Schema.Union([Schema.String, Schema.Number])))

/** Chat logprobs: one entry per generated token. */
const ChatLogprobs = Schema.NullOr(
  Schema.Struct({
    content: Schema.NullOr(
      Schema.Array(
        Schema.Struct({
          token: Schema.String,
          logprob: Schema.Number,
          top_logprobs: Schema.optionalKey(
            Schema.NullOr(Schema.Array(Schema.Struct({ token: Schema.String, logprob: Schema.Number })))
          )
        })
      )
    )
  })
)

export const ChatResponse = Schema.Struct({
  choices: Schema.Array(
    Schema.Struct({
      index: Schema.Int,
      message: Schema.Struct({
        content: Schema.optionalKey(Schema.NullOr(Schema.String)),
        /** vLLM's and DeepSeek's reasoning parser: the thinking, apart from the answer */
        reasoning_content: Schema.optionalKey(Schema.NullOr(Schema.String)),
        /** the same under the name newer vLLM and OpenRouter use */
        reasoning: Schema.optionalKey(Schema.NullOr(Schema.String))
      }),
      finish_reason: FinishReason,
      stop_reason: StopReason,
      logprobs: Schema.optionalKey(ChatLogprobs)
    })
  ),
  usage: Usage
})
export type ChatResponse = typeof ChatResponse.Type

/** Legacy completions logprobs: parallel arrays, one entry per token. */
const CompletionLogprobs = Schema.NullOr(
  Schema.Struct({
    tokens: Schema.Array(Schema.String),
    token_logprobs: Schema.Array(Schema.NullOr(Schema.Number)),
    top_logprobs: Schema.optionalKey(
      Schema.NullOr(Schema.Array(Schema.NullOr(Schema.Record(Schema.String, Schema.Number))))
    )
  })
)

export const CompletionResponse = Schema.Struct({
  choices: Schema.Array(
    Schema.Struct({
      index: Schema.Int,
      text: Schema.String,
      finish_reason: FinishReason,
      stop_reason: StopReason,
      logprobs: Schema.optionalKey(CompletionLogprobs)
    })
  ),
  usage: Usage
})
export type CompletionResponse = typeof CompletionResponse.Type

/** vLLM `POST /tokenize`: `{ model, prompt }` or `{ model, messages, add_generation_prompt }`. */
export type TokenizeBody =
  | { readonly model: string; readonly prompt: string; readonly add_special_tokens?: boolean }
  | {
      readonly model: string
      readonly messages: ReadonlyArray<Message>
      readonly add_generation_prompt?: boolean
      readonly continue_final_message?: boolean
    }

export const TokenizeResponse = Schema.Struct({
  count: Schema.Int.check(Schema.isGreaterThanOrEqualTo(0))
})
