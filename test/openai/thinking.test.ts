/**
 * Reasoning models through the openai backend, against a loopback server speaking vLLM's formats:
 * the thinking is read from `reasoning_content` (vLLM's reasoning parser) or from a `<think>` block
 * in the content; the answer only from what follows it; thinking tokens from
 * `completion_tokens_details.reasoning_tokens` when reported (exact), else estimated; and s1's
 * budget forcing through raw completions — "Wait" appended, the end of thinking forced at the cap.
 */
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { Cause, Effect, Exit, Layer } from "effect"
import { FetchHttpClient } from "effect/http"
import { splitThinking } from "../../plugins/openai/Generations.ts"
import * as OpenAi from "../../plugins/openai/index.ts"
import { backendLayer } from "../../src/backends/Registry.ts"
import * as Ledger from "../../src/budget/Ledger.ts"
import type { Limits } from "../../src/budget/Limits.ts"
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

const problem = makeProblem({ id: "p/2+2", question: "What is $2+2$?", gold: "4" })
const TAGS = { open: "<think>", close: "</think>" }

/**
 * A chat reply of a reasoning model whose thinking boxes a wrong answer and whose answer states the
 * right one unboxed: read over the whole text, the boxed 5 would win.
 */
const chat = (n: number, form: "reasoning_content" | "tags"): Action => ({
  body: {
    choices: Array.from({ length: n }, (_, index) => ({
      index,
      message:
        form === "reasoning_content"
          ? {
              role: "assistant",
              reasoning_content: "Is it $\\boxed{5}$? No: 2+2 is 4.",
              content: "So the answer is $4$."
            }
          : {
              role: "assistant",
              content: "<think>\nIs it $\\boxed{5}$? No: 2+2 is 4.\n</think>\n\nSo the answer is $4$."
            },
      finish_reason: "stop",
      stop_reason: null
    })),
    usage: {
      prompt_tokens: 40,
      completion_tokens: 30 * n,
      ...(form === "reasoning_content" ? { completion_tokens_details: { reasoning_tokens: 20 * n } } : {})
    }
  }
})

const config = (extra: Record<string, unknown> = {}) => ({
  baseUrl: `${server.url}/v1`,
  model: "Qwen/QwQ-32B",
  timeoutMs: 2000,
  tokenize: false,
  retry: { retries: 0, baseDelayMs: 1, maxDelayMs: 5 },
  ...extra
})

const runGraph = (
  graph: string | object,
  params: Record<string, number>,
  limits: Limits = {},
  extra: Record<string, unknown> = {}
) =>
  Effect.gen(function* () {
    const loaded = typeof graph === "string" ? yield* Loader.load(graph) : yield* Loader.fromJson(graph)
    const generator = yield* Generator
    const verifier = yield* Verifier
    const ledger = yield* Ledger.make(limits, pricingOf(generator, verifier, undefined))
    return yield* Effect.exit(
      execute(loaded, problem, { params, seed: 1 }).pipe(Effect.provideService(Ledger.Ledger, ledger))
    )
  }).pipe(Effect.provide(Layer.mergeAll(backendLayer("openai", config(extra)), RunEvents.layerSilent)))

const succeeded = <A, E>(exit: Exit.Exit<A, E>): A => {
  if (Exit.isFailure(exit)) throw new Error(`run failed: ${Cause.pretty(exit.cause)}`)
  return exit.value
}

describe("openai: thinking split from the answer (pure)", () => {
  it("reasoning content, a think block, an unclosed block, an open tag in the prompt, none", () => {
    assert.deepStrictEqual(splitThinking("So 4.", "hmm", TAGS), { thinking: "hmm", content: "So 4." })
    assert.deepStrictEqual(splitThinking("<think>\nhmm\n</think>\n\nSo 4.", undefined, TAGS), {
      thinking: "hmm",
      content: "So 4."
    })
    assert.deepStrictEqual(splitThinking("<think>\nhmm, \\boxed{5}", null, TAGS), {
      thinking: "hmm, \\boxed{5}",
      content: ""
    })
    assert.deepStrictEqual(splitThinking("hmm\n</think>\n\nSo 4.", undefined, TAGS), {
      thinking: "hmm",
      content: "So 4."
    })
    assert.deepStrictEqual(splitThinking("So 4.", undefined, TAGS), { thinking: undefined, content: "So 4." })
  })
})

describe("openai: reasoning models", () => {
  for (const form of ["reasoning_content", "tags"] as const)
    it.live(`${form}: the answer is what follows the thinking; thinking tokens counted in both meters`, () =>
      Effect.gen(function* () {
        server.handle((path, body) =>
          path === "/v1/chat/completions"
            ? chat(typeof body.n === "number" ? body.n : 1, form)
            : { status: 404, body: { error: { message: `no ${path}` } } }
        )
        const result = succeeded(yield* runGraph("majority", { N: 3 }))
        assert.strictEqual(result.answer, "4")
        for (const c of result.population) assert.strictEqual(c.answer, "4")
        // meters from usage: completion tokens are output; the reported reasoning tokens are thinking
        assert.strictEqual(result.usage.outputTokens, 90)
        if (form === "reasoning_content") assert.strictEqual(result.usage.thinkingTokens, 60)
        else {
          // estimated from the lengths of the thinking and of the answer (no count reported)
          assert.isAbove(result.usage.thinkingTokens, 30)
          assert.isBelow(result.usage.thinkingTokens, 90)
        }
        // the answer's steps hold no thinking
        for (const c of result.population) assert.notInclude(c.steps?.step.text ?? "", "boxed{5}")
      })
    )

  it.live("a thinking block the cap cuts has no answer (not one read from inside the thinking)", () =>
    Effect.gen(function* () {
      server.handle(() => ({
        body: {
          choices: [
            {
              index: 0,
              message: { role: "assistant", content: "<think>\nIs it $\\boxed{5}$? Let me check" },
              finish_reason: "length",
              stop_reason: null
            }
          ],
          usage: { prompt_tokens: 40, completion_tokens: 16 }
        }
      }))
      const config = yield* OpenAi.resolveConfig({ baseUrl: `${server.url}/v1`, model: "m", timeoutMs: 2000 })
      const { generator } = yield* OpenAi.make(config)
      const r = yield* generator.generate({
        problem,
        prefix: undefined,
        n: 1,
        until: "end",
        temperature: 0.8,
        maxTokens: 16,
        seed: 1n
      })
      const g = r.generations[0]
      assert.isUndefined(g?.answer)
      assert.isFalse(g?.done)
      assert.strictEqual(g?.finishReason, "length")
      assert.strictEqual(g?.thinkingTokens, 16)
    }).pipe(Effect.provide(FetchHttpClient.layer))
  )
})

/** A vLLM completions reply. */
const completion = (text: string, finish: "stop" | "length", tokens: number, stop: string | null): Action => ({
  body: {
    choices: [{ index: 0, text, finish_reason: finish, stop_reason: stop }],
    usage: { prompt_tokens: 50, completion_tokens: tokens }
  }
})

/**
 * A reasoning model behind raw completions: in a think phase (no close tag in the prompt) it
 * thinks 8 tokens and ends its thinking — or, when `capAt` is set and the request's max_tokens is
 * at most it, is cut at the cap; in the answer phase it answers.
 */
const reasoner =
  (capAt?: number) =>
  (path: string, body: Record<string, unknown>): Action => {
    if (path !== "/v1/completions") return { status: 404, body: { error: { message: `no ${path}` } } }
    const prompt = String(body.prompt)
    if (prompt.endsWith("</think>\n\n")) return completion("So $\\boxed{4}$.", "stop", 6, null)
    const max = Number(body.max_tokens)
    if (capAt !== undefined && max <= capAt) return completion(" and so on", "length", max, null)
    return completion(" 2+2 is 4, maybe $\\boxed{5}$.", "stop", 8, "</think>")
  }

const forcing = (fields: Record<string, unknown>) => ({
  name: "bf",
  description: "bf",
  root: {
    type: "sequence",
    nodes: [
      { type: "budget-forcing", n: 1, ...fields },
      { type: "select", method: "majority" }
    ]
  }
})

describe("openai: budget forcing through raw completions", () => {
  it.live("ends before minThinking are suppressed with Wait; the answer closes the thinking", () =>
    Effect.gen(function* () {
      server.handle(reasoner())
      const result = succeeded(yield* runGraph(forcing({ maxThinking: 100, minThinking: 50, waits: 2 }), {}))
      const prompts = server.requests.map((r) => String(r.body.prompt))
      assert.strictEqual(prompts.length, 4)
      // three think phases (two Waits), each stopped at the close tag, then the answer
      assert.deepStrictEqual(
        prompts.map((p) => p.split("Wait").length - 1),
        [0, 1, 2, 2]
      )
      for (const r of server.requests.slice(0, 3)) assert.deepStrictEqual(r.body.stop, ["</think>"])
      assert.isTrue(prompts[0]?.endsWith("<|im_start|>assistant\n<think>\n"))
      assert.isTrue(prompts[3]?.endsWith("Wait 2+2 is 4, maybe $\\boxed{5}$.\n</think>\n\n"))
      assert.strictEqual(server.requests[3]?.body.stop, undefined)
      // the answer is what follows the thinking, not the box inside it
      assert.strictEqual(result.answer, "4")
      assert.strictEqual(result.usage.thinkingTokens, 24)
      assert.strictEqual(result.usage.outputTokens, 30)
      assert.strictEqual(result.usage.calls, 4)
    })
  )

  it.live("at the cap the end of thinking is forced", () =>
    Effect.gen(function* () {
      server.handle(reasoner(40))
      const result = succeeded(yield* runGraph(forcing({ maxThinking: 40, minThinking: 0 }), {}))
      const prompts = server.requests.map((r) => String(r.body.prompt))
      assert.strictEqual(prompts.length, 2)
      assert.strictEqual(server.requests[0]?.body.max_tokens, 40)
      assert.isTrue(prompts[1]?.endsWith("<think>\n and so on\n</think>\n\n"))
      assert.strictEqual(result.answer, "4")
      assert.strictEqual(result.usage.thinkingTokens, 40)
    })
  )

  it.live("a server that cannot continue a partial answer refuses budget forcing before any call", () =>
    Effect.gen(function* () {
      server.handle(reasoner())
      const exit = yield* runGraph(forcing({ maxThinking: 40 }), {}, {}, { server: "openai" })
      assert.isTrue(Exit.isFailure(exit))
      const text = Exit.isFailure(exit) ? Cause.pretty(exit.cause) : ""
      assert.match(text, /root\.nodes\.0/u)
      assert.match(text, /thinking/u)
      assert.strictEqual(server.requests.length, 0)
    })
  )
})
