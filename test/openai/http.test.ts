/**
 * The openai generator against a loopback server answering with recorded vLLM and OpenAI bodies
 * and scripted faults: parsing, error mapping (one attempt per call), timeouts, n without server
 * support, /tokenize counts, and the API key kept out of every error.
 */
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { Cause, Effect, Exit } from "effect"
import { FetchHttpClient } from "effect/http"
import * as OpenAi from "../../plugins/openai/index.ts"
import { seedOf } from "../../plugins/openai/Request.ts"
import * as Candidate from "../../src/domain/Candidate.ts"
import { makeProblem } from "../../src/domain/Problem.ts"
import * as Steps from "../../src/domain/Steps.ts"
import type { BackendError } from "../../src/services/BackendError.ts"
import type { GenerateRequest } from "../../src/services/Generator.ts"
import { fixture, type Loopback, startLoopback } from "./loopback.ts"

let server: Loopback
beforeAll(async () => {
  server = await startLoopback()
})
afterAll(() => server.close())

const KEY = "sk-test-SECRET-0123456789"
const problem = makeProblem({ id: "p1", question: "What is $2+2$?", gold: "4" })
const request = (fields: Partial<GenerateRequest> = {}): GenerateRequest => ({
  problem,
  prefix: undefined,
  n: 2,
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
      apiKey: KEY,
      // generous: a loopback reply on a loaded 2-core machine can take well over 300 ms (the
      // timeout test sets its own)
      timeoutMs: 10_000,
      ...input
    })
    return (yield* OpenAi.make(config)).generator
  }).pipe(Effect.provide(FetchHttpClient.layer))

/** The typed failure of an effect (never a defect). */
const failureOf = <A>(self: Effect.Effect<A, BackendError>) =>
  Effect.map(Effect.exit(self), (exit) => {
    if (Exit.isSuccess(exit)) throw new Error("expected a failure")
    assert.isFalse(Cause.hasDies(exit.cause), "a defect")
    const e = Cause.findErrorOption(exit.cause)
    if (e._tag === "None") throw new Error("no typed error")
    assert.notInclude(e.value.message, KEY)
    assert.notInclude(JSON.stringify(e.value), KEY)
    return e.value
  })

describe("openai generator over HTTP", () => {
  it.live("chat n = 2 (vLLM body): answers, usage, bearer key, seed", () =>
    Effect.gen(function* () {
      server.handle(() => ({ body: fixture("openai", "chat-n2.vllm.json") }))
      const gen = yield* generatorOf()
      const result = yield* gen.generate(request())
      assert.strictEqual(result.generations.length, 2)
      assert.deepStrictEqual(
        result.generations.map((g) => g.answer),
        ["4", "5"]
      )
      assert.isTrue(result.generations.every((g) => g.done && g.finishReason === "end"))
      assert.strictEqual(result.inputTokens, 41)
      assert.strictEqual(
        result.generations.reduce((a, g) => a + g.outputTokens, 0),
        36
      )
      assert.isUndefined(result.spent)
      const sent = server.requests[0]
      assert.strictEqual(sent?.path, "/v1/chat/completions")
      assert.strictEqual(sent?.headers.authorization, `Bearer ${KEY}`)
      assert.strictEqual(sent?.body.n, 2)
      assert.isNumber(sent?.body.seed)
    })
  )

  it.live("chat logprobs (OpenAI body): per-choice token counts", () =>
    Effect.gen(function* () {
      server.handle(() => ({ body: fixture("openai", "chat-logprobs.openai.json") }))
      const gen = yield* generatorOf({ server: "openai", logprobs: 1 })
      const result = yield* gen.generate(request({ n: 1 }))
      assert.strictEqual(result.generations[0]?.outputTokens, 3)
      assert.strictEqual(result.generations[0]?.answer, "4")
      assert.strictEqual(server.requests[0]?.body.logprobs, true)
      assert.strictEqual(server.requests[0]?.body.top_logprobs, 1)
    })
  )

  it.live("step continuation through /v1/completions: step, EOS and length in one reply", () =>
    Effect.gen(function* () {
      server.handle(() => ({ body: fixture("openai", "completion-step.vllm.json") }))
      const gen = yield* generatorOf()
      const prefix = {
        ...Candidate.make({ id: "s0", origin: { node: "n", round: 0 } }),
        steps: Steps.appendAll(undefined, [{ text: "We need $2+2$.", tokens: 6 }])
      }
      const result = yield* gen.generate(request({ n: 3, until: "step", prefix }))
      const [a, b, c] = result.generations
      assert.deepStrictEqual(
        a?.steps.map((s) => s.text),
        ["First, $2 + 2 = 4$."]
      )
      assert.strictEqual(a?.finishReason, "step")
      assert.isTrue(b?.done)
      assert.strictEqual(b?.answer, "4")
      assert.strictEqual(c?.finishReason, "length")
      assert.isFalse(c?.done)
      assert.strictEqual(
        result.generations.reduce((s, g) => s + g.outputTokens, 0),
        30
      )
      const body = server.requests[0]?.body
      assert.strictEqual(server.requests[0]?.path, "/v1/completions")
      assert.isTrue(String(body?.prompt).endsWith("<|im_start|>assistant\nWe need $2+2$.\n\n"))
      assert.deepStrictEqual(body?.stop, ["\n\n"])
      assert.strictEqual(body?.include_stop_str_in_output, true)
    })
  )

  it.live("completion logprobs give exact per-choice tokens", () =>
    Effect.gen(function* () {
      server.handle(() => ({ body: fixture("openai", "completion-logprobs.vllm.json") }))
      const gen = yield* generatorOf({ logprobs: 1 })
      const result = yield* gen.generate(request({ n: 1, until: "step" }))
      assert.strictEqual(result.generations[0]?.outputTokens, 5)
      assert.strictEqual(server.requests[0]?.body.logprobs, 1)
    })
  )

  it.live("429 with retry-after (seconds and HTTP date) → RateLimited", () =>
    Effect.gen(function* () {
      server.handle(() => ({
        status: 429,
        headers: { "retry-after": "2" },
        body: fixture("openai", "error-429.openai.json")
      }))
      const gen = yield* generatorOf()
      const e = yield* failureOf(gen.generate(request()))
      assert.strictEqual(e.reason._tag, "RateLimited")
      assert.strictEqual(e.reason._tag === "RateLimited" ? e.reason.retryAfterMs : undefined, 2000)
      assert.match(e.message, /Rate limit reached/u)
      const date = new Date(Date.now() + 5000).toUTCString()
      server.handle(() => ({ status: 429, headers: { "retry-after": date }, body: {} }))
      const d = yield* failureOf(gen.generate(request()))
      const wait = d.reason._tag === "RateLimited" ? (d.reason.retryAfterMs ?? 0) : 0
      assert.isTrue(wait > 2000 && wait <= 5000, String(wait))
      assert.strictEqual(server.requests.length, 1, "one attempt per call: the runtime retries")
    })
  )

  it.live("500, connection reset, a body cut off, and a closed port → Unavailable", () =>
    Effect.gen(function* () {
      const gen = yield* generatorOf()
      server.handle(() => ({ status: 500, body: { object: "error", message: "Internal Server Error", code: 500 } }))
      assert.strictEqual((yield* failureOf(gen.generate(request()))).reason._tag, "Unavailable")
      server.handle(() => ({ destroy: true }))
      assert.strictEqual((yield* failureOf(gen.generate(request()))).reason._tag, "Unavailable")
      server.handle(() => ({ cutBody: JSON.stringify(fixture("openai", "chat-n2.vllm.json")) }))
      assert.strictEqual((yield* failureOf(gen.generate(request()))).reason._tag, "Unavailable")
      const closed = yield* generatorOf({ baseUrl: "http://127.0.0.1:9/v1" })
      assert.strictEqual((yield* failureOf(closed.generate(request()))).reason._tag, "Unavailable")
    })
  )

  it.live("truncated JSON, a wrong shape, fewer choices than n, missing usage → BadResponse", () =>
    Effect.gen(function* () {
      const gen = yield* generatorOf()
      const text = JSON.stringify(fixture("openai", "chat-n2.vllm.json"))
      server.handle(() => ({ raw: text.slice(0, text.length - 40) }))
      const truncated = yield* failureOf(gen.generate(request()))
      assert.strictEqual(truncated.reason._tag, "BadResponse")
      assert.match(truncated.message, /not JSON/u)
      server.handle(() => ({ body: { choices: "nope", usage: { prompt_tokens: 1, completion_tokens: 1 } } }))
      assert.strictEqual((yield* failureOf(gen.generate(request()))).reason._tag, "BadResponse")
      server.handle(() => ({ body: fixture("openai", "chat-n2.vllm.json") }))
      const fewer = yield* failureOf(gen.generate(request({ n: 3 })))
      assert.strictEqual(fewer.reason._tag, "BadResponse")
      assert.match(fewer.message, /asked for 3 choices, got 2/u)
      const { usage: _, ...noUsage } = fixture("openai", "chat-n2.vllm.json")
      server.handle(() => ({ body: noUsage }))
      assert.strictEqual((yield* failureOf(gen.generate(request()))).reason._tag, "BadResponse")
    })
  )

  it.live("a slow reply beyond the timeout → Timeout", () =>
    Effect.gen(function* () {
      server.handle(() => ({ body: fixture("openai", "chat-n2.vllm.json"), delayMs: 1000 }))
      const gen = yield* generatorOf({ timeoutMs: 100 })
      const e = yield* failureOf(gen.generate(request()))
      assert.strictEqual(e.reason._tag, "Timeout")
      assert.strictEqual(e.reason._tag === "Timeout" ? e.reason.timeoutMs : 0, 100)
    })
  )

  it.live("400 and 401 → InvalidRequest with the server's message, the echoed key redacted", () =>
    Effect.gen(function* () {
      const gen = yield* generatorOf()
      server.handle(() => ({ status: 400, body: fixture("openai", "error-400.vllm.json") }))
      const bad = yield* failureOf(gen.generate(request()))
      assert.strictEqual(bad.reason._tag, "InvalidRequest")
      assert.match(bad.message, /maximum context length/u)
      server.handle(() => ({
        status: 401,
        body: {
          error: {
            message: `Incorrect API key provided: ${KEY}.`,
            type: "invalid_request_error",
            code: "invalid_api_key"
          }
        }
      }))
      const auth = yield* failureOf(gen.generate(request()))
      assert.strictEqual(auth.reason._tag, "InvalidRequest")
      assert.include(auth.message, "***")
    })
  )

  it.live("a server without n: n concurrent requests with distinct seeds, each prompt read counted", () =>
    Effect.gen(function* () {
      server.handle((_, body) => ({
        body: {
          choices: [{ index: 0, message: { content: `Seed ${body.seed}: $\\boxed{4}$` }, finish_reason: "stop" }],
          usage: { prompt_tokens: 20, completion_tokens: 7 }
        }
      }))
      const gen = yield* generatorOf({ server: "llama.cpp" })
      assert.isFalse(gen.capabilities.has("nSampling"))
      const result = yield* gen.generate(request({ n: 3 }))
      assert.strictEqual(result.generations.length, 3)
      assert.strictEqual(server.requests.length, 3)
      assert.isTrue(server.requests.every((r) => r.body.n === undefined))
      assert.strictEqual(new Set(server.requests.map((r) => r.body.seed)).size, 3)
      // three requests read the prompt three times: what the ledger charges (calls = requests sent)
      assert.strictEqual(result.inputTokens, 60)
      assert.isUndefined(result.spent)
      // continuations from an index (a call paid in parts) take the seeds of those continuations
      const seeds = new Set(server.requests.map((r) => r.body.seed))
      server.requests.length = 0
      const rest = request({ n: 2 })
      yield* gen.generate({ ...rest, index: 1 })
      const later = server.requests.map((r) => r.body.seed)
      assert.deepStrictEqual(
        [...later].sort(),
        [seedOf(rest.seed, 1), seedOf(rest.seed, 2)].sort(),
        "continuations 1 and 2 of the seed"
      )
      assert.isTrue(later.every((x) => seeds.has(x)))
    })
  )

  it.live("/tokenize: a bound before the first count, exact counts for continuations", () =>
    Effect.gen(function* () {
      server.handle((path, body) =>
        path === "/tokenize"
          ? { body: { ...fixture("openai", "tokenize.vllm.json"), count: String(body.prompt).length } }
          : { body: fixture("openai", "completion-step.vllm.json") }
      )
      const gen = yield* generatorOf()
      const count = gen.promptTokens
      if (count === undefined) throw new Error("vLLM has a tokenizer")
      const first = request({ n: 3, until: "step" })
      const bound = count(first)
      assert.isTrue(bound > 52)
      const result = yield* gen.generate(first)
      assert.strictEqual(count(first), 52, "the reply's prompt_tokens is remembered")
      // the continuation of the first generation was counted by /tokenize as soon as it existed
      const g = result.generations[0]
      const next = request({
        n: 2,
        until: "step",
        prefix: {
          ...Candidate.make({ id: "s0", origin: { node: "n", round: 0 } }),
          steps: Steps.appendAll(undefined, g?.steps ?? [])
        }
      })
      const tokenized = server.requests.filter((r) => r.path === "/tokenize")
      assert.strictEqual(tokenized.length, 2, "the two unfinished generations")
      assert.strictEqual(tokenized[0]?.body.add_special_tokens, false)
      const prompt = String(
        tokenized.find((r) => String(r.body.prompt).endsWith("First, $2 + 2 = 4$.\n\n"))?.body.prompt
      )
      assert.strictEqual(count(next), prompt.length)
      // without /tokenize the prompt is bounded by its UTF-8 bytes (+128), which no byte-level
      // tokenizer exceeds, so input-token and USD budgets still work
      const openai = yield* generatorOf({ server: "openai" })
      const bounded = openai.promptTokens
      if (bounded === undefined) throw new Error("every openai generator bounds its prompts")
      assert.isAtLeast(bounded(request({ n: 1 })), new TextEncoder().encode(first.problem.question).length + 128)
      assert.isFalse(openai.capabilities.has("tokenizer"))
    })
  )
})
