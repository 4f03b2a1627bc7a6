/**
 * Real graphs (best-of-n, beam-search) through the runtime against a loopback vLLM policy and a
 * Qwen-style pooling PRM: answers, the ledger (calls including retries, tokens from `usage`),
 * budget limits honoured, nothing left reserved, the API key in no error, and refusals at load.
 */
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { Cause, Effect, Exit, Layer, Option } from "effect"
import { backendLayer } from "../../src/backends/Registry.ts"
import * as Ledger from "../../src/budget/Ledger.ts"
import type { Limits } from "../../src/budget/Limits.ts"
import { withBackendOptions } from "../../src/cli/Inputs.ts"
import { makeProblem } from "../../src/domain/Problem.ts"
import * as Loader from "../../src/graph/Loader.ts"
import { execute, pricingOf } from "../../src/runtime/Run.ts"
import * as RunEvents from "../../src/runtime/RunEvents.ts"
import { Generator } from "../../src/services/Generator.ts"
import { Verifier } from "../../src/services/Verifier.ts"
import { type Action, type Loopback, startLoopback } from "./loopback.ts"

let server: Loopback
beforeAll(async () => {
  server = await startLoopback()
})
afterAll(() => server.close())

const KEY = "sk-run-SECRET-abcdef"
const problem = makeProblem({ id: "p/2+2", question: "What is $2+2$?", gold: "4" })
// one token per character: never more than the bytes, so the backend's first (bound) reservation holds
const tokens = (text: string) => text.length

/** A tiny policy and PRM: two steps, then the boxed answer; every step scored 0.8. */
const world = (path: string, body: Record<string, unknown>): Action => {
  const n = typeof body.n === "number" ? body.n : 1
  if (path === "/tokenize")
    return {
      body: { count: tokens(String(body.prompt ?? JSON.stringify(body.messages))), max_model_len: 4096, tokens: [] }
    }
  if (path === "/pooling") {
    const input = body.input as ReadonlyArray<string>
    return {
      body: {
        object: "list",
        model: "prm",
        data: input.map((text, index) => ({
          index,
          object: "pooling",
          data: Array.from({ length: text.split("<extra_0>").length - 1 }, () => [0.2, 0.8])
        })),
        usage: { prompt_tokens: input.reduce((a, t) => a + tokens(t), 0), total_tokens: 0 }
      }
    }
  }
  if (path === "/v1/chat/completions")
    return {
      body: {
        choices: Array.from({ length: n }, (_, index) => ({
          index,
          message: { role: "assistant", content: "Add: $2+2=4$.\n\nSo $\\boxed{4}$." },
          finish_reason: "stop",
          stop_reason: null
        })),
        usage: { prompt_tokens: 40, completion_tokens: 12 * n }
      }
    }
  if (path === "/v1/completions") {
    const prompt = String(body.prompt)
    const partial = prompt.slice(prompt.lastIndexOf("<|im_start|>assistant\n") + "<|im_start|>assistant\n".length)
    const done = partial.split("\n\n").length - 1
    const step = body.stop !== undefined
    const text = !step ? "Finish.\n\nSo $\\boxed{4}$." : done < 2 ? `Step ${done + 1}: think.\n\n` : "So $\\boxed{4}$."
    return {
      body: {
        choices: Array.from({ length: n }, (_, index) => ({
          index,
          text,
          finish_reason: "stop",
          stop_reason: step && done < 2 ? "\n\n" : null
        })),
        usage: { prompt_tokens: tokens(prompt), completion_tokens: 5 * n }
      }
    }
  }
  return { status: 404, body: { error: { message: `no ${path}` } } }
}

const config = (extra: Record<string, unknown> = {}) => ({
  baseUrl: `${server.url}/v1`,
  model: "Qwen/Qwen2.5-Math-1.5B-Instruct",
  apiKey: KEY,
  timeoutMs: 2000,
  retry: { retries: 3, baseDelayMs: 1, maxDelayMs: 20 },
  verifier: {
    baseUrl: server.url,
    model: "Qwen/Qwen2.5-Math-PRM-7B",
    retry: { retries: 2, baseDelayMs: 1, maxDelayMs: 5 }
  },
  ...extra
})

/** Runs a graph with its own ledger, returning the result (or the failure) and the ledger's final state. */
const runGraph = (
  graph: string,
  params: Record<string, number>,
  limits: Limits = {},
  extra: Record<string, unknown> = {}
) =>
  Effect.gen(function* () {
    const loaded = yield* Loader.load(graph)
    const generator = yield* Generator
    const verifier = yield* Verifier
    const ledger = yield* Ledger.make(limits, pricingOf(generator, verifier, undefined))
    const exit = yield* Effect.exit(
      execute(loaded, problem, { params, seed: 1 }).pipe(Effect.provideService(Ledger.Ledger, ledger))
    )
    return { exit, snapshot: yield* ledger.snapshot }
  }).pipe(Effect.provide(Layer.mergeAll(backendLayer("openai", config(extra)), RunEvents.layerSilent)))

const succeeded = <A, E>(exit: Exit.Exit<A, E>): A => {
  if (Exit.isFailure(exit)) throw new Error(`run failed: ${Cause.pretty(exit.cause)}`)
  return exit.value
}

describe("graphs on the openai backend", () => {
  it.live("best-of-n: answer, usage from `usage`, verifier tokens, nothing left reserved", () =>
    Effect.gen(function* () {
      server.handle(world)
      const { exit, snapshot } = yield* runGraph("best-of-n", { N: 4 })
      const result = succeeded(exit)
      assert.strictEqual(result.answer, "4")
      assert.isFalse(result.exhausted)
      assert.strictEqual(result.usage.calls, 2)
      assert.strictEqual(result.usage.sequences, 4)
      assert.strictEqual(result.usage.inputTokens, 40)
      assert.strictEqual(result.usage.outputTokens, 48)
      assert.strictEqual(result.usage.verifierCalls, 4)
      assert.isTrue(result.usage.verifierTokens > 0)
      assert.strictEqual(snapshot.reserved.calls, 0)
      assert.strictEqual(snapshot.reserved.outputTokens, 0)
      // verifier tokens are only known after the call (no verifier tokenizer): recorded, never limited
      assert.deepStrictEqual(
        snapshot.overruns.filter((o) => o.meter !== "verifierTokens"),
        []
      )
      assert.strictEqual(server.requests.filter((r) => r.path === "/pooling").length, 1)
    })
  )

  it.live("retries: a 500 then a 429 with retry-after, each attempt a call on the ledger", () =>
    Effect.gen(function* () {
      server.handle((path, body, index) =>
        index === 0
          ? { status: 500, body: { object: "error", message: "engine dead", code: 500 } }
          : index === 1
            ? { status: 429, headers: { "retry-after": "0.01" }, body: { error: { message: "slow down" } } }
            : world(path, body)
      )
      const { exit, snapshot } = yield* runGraph("best-of-n", { N: 2 })
      const result = succeeded(exit)
      assert.strictEqual(result.answer, "4")
      assert.strictEqual(result.usage.calls, 4, "3 generation attempts + 1 verifier call")
      assert.strictEqual(server.requests.filter((r) => r.path === "/v1/chat/completions").length, 3)
      assert.strictEqual(snapshot.reserved.calls, 0)
    })
  )

  it.live("a server that keeps failing: retries stop at the calls budget; the run answers exhausted", () =>
    Effect.gen(function* () {
      server.handle(() => ({ status: 503, body: { error: { message: "overloaded" } } }))
      const { exit, snapshot } = yield* runGraph(
        "best-of-n",
        { N: 2 },
        { calls: 3 },
        {
          retry: { retries: 10, baseDelayMs: 1, maxDelayMs: 2 }
        }
      )
      const result = succeeded(exit)
      assert.isTrue(result.exhausted)
      assert.isUndefined(result.answer)
      assert.strictEqual(result.usage.calls, 3)
      assert.strictEqual(server.requests.length, 3)
      assert.strictEqual(snapshot.reserved.calls, 0)
    })
  )

  it.live("retries exhausted: the run fails with the typed error, the key in no message, nothing reserved", () =>
    Effect.gen(function* () {
      server.handle(() => ({ status: 500, body: { error: { message: `upstream rejected key ${KEY}` } } }))
      const { exit, snapshot } = yield* runGraph("best-of-n", { N: 2 })
      assert.isTrue(Exit.isFailure(exit))
      if (Exit.isFailure(exit)) {
        assert.isFalse(Cause.hasDies(exit.cause))
        const e = Cause.findErrorOption(exit.cause)
        assert.strictEqual(
          Option.isSome(e) && e.value._tag === "BackendError" ? e.value.reason._tag : "",
          "Unavailable"
        )
        assert.notInclude(Cause.pretty(exit.cause), KEY)
      }
      assert.strictEqual(server.requests.length, 4, "1 attempt + 3 retries")
      assert.strictEqual(snapshot.committed.calls, 4)
      assert.strictEqual(snapshot.reserved.calls, 0)
    })
  )

  it.live("a malformed reply is not retried: BadResponse fails the run", () =>
    Effect.gen(function* () {
      server.handle(() => ({ raw: '{"choices": [{"index": 0, "message": {"content": "So' }))
      const { exit } = yield* runGraph("best-of-n", { N: 2 })
      const e = Exit.isFailure(exit) ? Cause.findErrorOption(exit.cause) : Option.none()
      assert.strictEqual(Option.isSome(e) && e.value._tag === "BackendError" ? e.value.reason._tag : "", "BadResponse")
      assert.strictEqual(server.requests.length, 1)
    })
  )

  it.live("beam search through /v1/completions and /pooling; an input-token limit holds with /tokenize", () =>
    Effect.gen(function* () {
      server.handle(world)
      const { exit, snapshot } = yield* runGraph("beam-search", { N: 4, M: 2, rounds: 6 })
      const result = succeeded(exit)
      assert.strictEqual(result.answer, "4")
      assert.isTrue(result.population.some((c) => c.done && (c.steps?.length ?? 0) === 3))
      const completions = server.requests.filter((r) => r.path === "/v1/completions")
      const prompts = completions.reduce((a, r) => a + tokens(String(r.body.prompt)), 0)
      assert.strictEqual(result.usage.inputTokens, prompts, "prompt tokens from usage, once per call")
      assert.deepStrictEqual(
        snapshot.overruns.filter((o) => o.meter === "inputTokens"),
        []
      )
      assert.strictEqual(snapshot.reserved.inputTokens, 0)
      const limit = Math.floor(prompts / 2)
      const limited = yield* runGraph("beam-search", { N: 4, M: 2, rounds: 6 }, { inputTokens: limit })
      const r2 = succeeded(limited.exit)
      assert.isTrue(r2.exhausted)
      assert.isTrue(r2.usage.inputTokens <= limit)
      assert.deepStrictEqual(
        limited.snapshot.overruns.filter((o) => o.meter === "inputTokens"),
        []
      )
    })
  )

  it.live(
    "refusals at load: step search on OpenAI, scoring without a verifier, usd without prices, a prompt over the input limit",
    () =>
      Effect.gen(function* () {
        server.handle(world)
        const exitOf = (graph: string, limits: Limits, extra: Record<string, unknown>) =>
          Effect.map(runGraph(graph, { N: 2 }, limits, extra), (r) =>
            Exit.isFailure(r.exit) ? Cause.pretty(r.exit.cause) : "ran"
          )
        assert.match(yield* exitOf("beam-search", {}, { server: "openai" }), /needs capability "stepwise"/u)
        assert.match(yield* exitOf("best-of-n", {}, { verifier: undefined }), /no verifier "prm"/u)
        assert.match(
          yield* exitOf("majority", { usd: 1 }, { server: "openai", model: "my-local-model" }),
          /limits\.usd: cannot be enforced: no USD price is set for generator input tokens \(--price-input\), generated tokens \(--price-output\)/u
        )
        // without /tokenize the prompt is bounded by its bytes: a limit below that bound pays for nothing
        assert.match(
          yield* exitOf("majority", { inputTokens: 100 }, { server: "openai" }),
          /budget\.inputTokens: the first call needs/u
        )
        assert.strictEqual(server.requests.length, 0, "nothing was sent")
      })
  )
})

describe("CLI connection flags", () => {
  it.effect("merge into the openai config (flags win), refuse other backends", () =>
    Effect.gen(function* () {
      const none = Option.none()
      const flags = {
        baseUrl: Option.some("http://h:1/v1"),
        model: Option.some("m"),
        server: none,
        apiKey: none,
        prmUrl: Option.some("http://h:2"),
        prmModel: none
      }
      const merged = yield* withBackendOptions("openai", { model: "old", verifier: { model: "prm" } }, flags)
      assert.deepStrictEqual(merged, {
        model: "m",
        baseUrl: "http://h:1/v1",
        verifier: { model: "prm", baseUrl: "http://h:2" }
      })
      const refused = yield* Effect.exit(withBackendOptions("simulated", undefined, flags))
      assert.isTrue(Exit.isFailure(refused))
    })
  )
})
