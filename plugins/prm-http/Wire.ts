/**
 * The wire formats prm-http reads: vLLM's Pooling API reply (`/pooling`: one `data` entry per
 * input, its `data` a nested list — for a PRM one row of class probabilities per step separator)
 * and a legacy completions reply with `logprobs` (OpenAI's reference: `top_logprobs` is one
 * token → logprob map per generated token). Unknown fields are ignored.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"

const Usage = Schema.Struct({ prompt_tokens: Schema.Int.check(Schema.isGreaterThanOrEqualTo(0)) })

export const PoolingResponse = Schema.Struct({
  data: Schema.Array(Schema.Struct({ index: Schema.Int, data: Schema.Unknown })),
  usage: Usage
})
export type PoolingResponse = typeof PoolingResponse.Type

export const LogprobsResponse = Schema.Struct({
  choices: Schema.Array(
    Schema.Struct({
      index: Schema.Int,
      logprobs: Schema.NullOr(
        Schema.Struct({
          top_logprobs: Schema.NullOr(Schema.Array(Schema.NullOr(Schema.Record(Schema.String, Schema.Number))))
        })
      )
    })
  ),
  usage: Usage
})
export type LogprobsResponse = typeof LogprobsResponse.Type
