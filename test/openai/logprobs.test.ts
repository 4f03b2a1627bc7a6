/**
 * Token log-probabilities through the openai backend, against a loopback server speaking vLLM's
 * formats: a request that asks for them sends `logprobs` (completions: a count; chat: `logprobs:
 * true` and `top_logprobs`), and each step of the reply carries DeepConf's token confidences
 * (−mean of the top log-probabilities at each position) and the chosen tokens' log-probability.
 */
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { FetchHttpClient } from "effect/http"
import * as OpenAi from "../../plugins/openai/index.ts"
import * as Confidence from "../../src/domain/Confidence.ts"
import { makeProblem } from "../../src/domain/Problem.ts"
import type { GenerateRequest } from "../../src/services/Generator.ts"
import { type Loopback, startLoopback } from "./loopback.ts"

let server: Loopback
beforeAll(async () => {
  server = await startLoopback()
})
afterAll(() => server.close())

const problem = makeProblem({ id: "p1", question: "What is $2+2$?", gold: "4" })
const request = (fields: Partial<GenerateRequest> = {}): GenerateRequest => ({
  problem,
  prefix: undefined,
  n: 1,
  until: "end",
  temperature: 0.8,
  maxTokens: 256,
  seed: 7n,
  ...fields
})
const generatorOf = (input: Record<string, unknown> = {}) =>
  Effect.gen(function* () {
    const config = yield* OpenAi.resolveConfig({
      baseUrl: `${server.url}/v1`,
      model: "Qwen/Qwen2.5-Math-1.5B-Instruct",
      timeoutMs: 10_000,
      ...input
    })
    return (yield* OpenAi.make(config)).generator
  }).pipe(Effect.provide(FetchHttpClient.layer))

// a step-wise continuation on the completions route (vLLM) that ends the solution in two steps: "Add 2 and 2." then "So \boxed{4}." (vLLM completions format, top 2 per token)
const TOKENS = ["Add", " 2", " and", " 2", ".", "\n\n", "So", " \\boxed{4}", "."]
const CHOSEN = [-0.1, -0.05, -0.3, -0.02, -0.4, -0.01, -1.2, -0.7, -0.05]
const SECOND = [-3, -4, -2, -5, -1.5, -6, -0.8, -1.1, -4]
const completion = {
  id: "cmpl-1",
  object: "text_completion",
  created: 1,
  model: "Qwen/Qwen2.5-Math-1.5B-Instruct",
  choices: [
    {
      index: 0,
      text: TOKENS.join(""),
      logprobs: {
        text_offset: TOKENS.map((_, i) => TOKENS.slice(0, i).join("").length),
        token_logprobs: CHOSEN,
        tokens: TOKENS,
        top_logprobs: TOKENS.map((t, i) => ({ [t]: CHOSEN[i], [`alt${i}`]: SECOND[i] }))
      },
      finish_reason: "stop",
      stop_reason: null
    }
  ],
  usage: { prompt_tokens: 20, total_tokens: 29, completion_tokens: 9 }
}

describe("openai: token log-probabilities", () => {
  it.live("a vLLM completions reply: logprobs requested, token confidences per step", () =>
    Effect.gen(function* () {
      server.handle(() => ({ body: completion }))
      const gen = yield* generatorOf({ server: "vllm" })
      assert.isTrue(gen.capabilities.has("logprobs"))
      const result = yield* gen.generate(request({ logprobs: 2, until: "step" }))
      const body = server.requests.at(-1)?.body
      assert.strictEqual(body?.logprobs, 2)
      const g = result.generations[0]
      assert.isDefined(g)
      assert.strictEqual(g?.outputTokens, 9)
      const steps = g?.steps ?? []
      assert.strictEqual(steps.length, 2)
      const values = steps.flatMap((s) => s.confidence?.values ?? [])
      const expected = CHOSEN.map((c, i) => Confidence.tokenConfidence([c, SECOND[i] ?? 0]))
      assert.strictEqual(values.length, 9)
      values.forEach((v, i) => {
        assert.closeTo(v, expected[i] ?? Number.NaN, 1e-12)
      })
      const logprob = steps.reduce((a, s) => a + (s.confidence?.logprob ?? 0), 0)
      assert.closeTo(
        logprob,
        CHOSEN.reduce((a, b) => a + b, 0),
        1e-12
      )
      // each step holds as many confidences as its tokens, the last takes the rest
      assert.strictEqual(steps[0]?.confidence?.values.length, steps[0]?.tokens)
    })
  )

  it.live("a chat reply: logprobs: true and top_logprobs sent; top_logprobs parsed", () =>
    Effect.gen(function* () {
      server.handle(() => ({
        body: {
          id: "chat-1",
          object: "chat.completion",
          created: 1,
          model: "m",
          choices: [
            {
              index: 0,
              message: { role: "assistant", content: "So \\boxed{4}." },
              logprobs: {
                content: [
                  {
                    token: "So",
                    logprob: -0.5,
                    top_logprobs: [
                      { token: "So", logprob: -0.5 },
                      { token: "Thus", logprob: -1 }
                    ]
                  },
                  {
                    token: " \\boxed{4}.",
                    logprob: -0.1,
                    top_logprobs: [
                      { token: " \\boxed{4}.", logprob: -0.1 },
                      { token: "x", logprob: -5 }
                    ]
                  }
                ]
              },
              finish_reason: "stop"
            }
          ],
          usage: { prompt_tokens: 10, total_tokens: 12, completion_tokens: 2 }
        }
      }))
      const gen = yield* generatorOf({ server: "openai" })
      const result = yield* gen.generate(request({ logprobs: 2 }))
      const body = server.requests.at(-1)?.body
      assert.strictEqual(body?.logprobs, true)
      assert.strictEqual(body?.top_logprobs, 2)
      const c = result.generations[0]?.steps[0]?.confidence
      assert.deepStrictEqual(c?.values, [0.75, 2.55])
      assert.closeTo(c?.logprob ?? 0, -0.6, 1e-12)
    })
  )

  it.live("a request that does not ask gets no confidences and sends no logprobs", () =>
    Effect.gen(function* () {
      server.handle(() => ({ body: completion }))
      const gen = yield* generatorOf({ server: "vllm" })
      const result = yield* gen.generate(request({ until: "step" }))
      assert.isUndefined(server.requests.at(-1)?.body.logprobs)
      assert.isTrue(result.generations[0]?.steps.every((s) => s.confidence === undefined))
    })
  )
})
