/** The openai plugin's pure parts: error mapping, retry-after, choices → generations, request bodies. */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as OpenAi from "../../plugins/openai/index.ts"
import * as Candidate from "../../src/domain/Candidate.ts"
import { makeProblem } from "../../src/domain/Problem.ts"
import * as Steps from "../../src/domain/Steps.ts"
import type { GenerateRequest } from "../../src/services/Generator.ts"
import { errorOfStatus, redact, retryAfterMs, serverMessage } from "../../src/services/HttpErrors.ts"
import { fixture } from "./loopback.ts"

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
const config = (input: Record<string, unknown> = {}) =>
  Effect.runSync(OpenAi.resolveConfig({ baseUrl: "http://x/v1", model: "m", ...input }))

describe("retry-after and error bodies", () => {
  it("parses delay-seconds and HTTP dates", () => {
    assert.strictEqual(retryAfterMs("2", 0), 2000)
    assert.strictEqual(retryAfterMs("0.25", 0), 250)
    const now = Date.parse("Wed, 21 Oct 2015 07:27:58 GMT")
    assert.strictEqual(retryAfterMs("Wed, 21 Oct 2015 07:28:00 GMT", now), 2000)
    assert.strictEqual(retryAfterMs("Wed, 21 Oct 2015 07:27:00 GMT", now), 0)
    assert.isUndefined(retryAfterMs("soon", 0))
    assert.isUndefined(retryAfterMs(undefined, 0))
    assert.isUndefined(retryAfterMs("-3", 0))
  })
  it("reads the server's message from OpenAI, vLLM and plain bodies", () => {
    assert.match(serverMessage(JSON.stringify(fixture("openai", "error-400.openai.json"))), /maximum context length/u)
    assert.match(serverMessage(JSON.stringify(fixture("openai", "error-400.vllm.json"))), /maximum context length/u)
    assert.strictEqual(serverMessage('{"error":"model not found"}'), "model not found")
    assert.strictEqual(serverMessage("Bad Gateway"), "Bad Gateway")
  })
  it("maps statuses to tagged errors", () => {
    const at = (status: number, retryAfter?: string) =>
      errorOfStatus({ backend: "openai", operation: "generate", status, retryAfter, body: "{}", nowMs: 0 })
    const limited = at(429, "3")
    assert.strictEqual(limited.reason._tag, "RateLimited")
    assert.strictEqual(limited.reason._tag === "RateLimited" ? limited.reason.retryAfterMs : undefined, 3000)
    for (const s of [500, 502, 503, 504, 408]) assert.strictEqual(at(s).reason._tag, "Unavailable")
    for (const s of [400, 401, 403, 404, 413, 422]) assert.strictEqual(at(s).reason._tag, "InvalidRequest")
  })
  it("redacts the key", () => {
    assert.strictEqual(redact("bad key sk-secret-1 given", "sk-secret-1"), "bad key *** given")
  })
})

describe("choices as generations", () => {
  const step = { until: "step" as const, delimiter: "\n\n", prefixText: "", keepsStop: true }
  it("a step that hit the delimiter (vLLM stop_reason, stop string kept)", () => {
    const g = OpenAi.toGeneration({ text: "First, $2+2=4$.\n\n", finishReason: "stop", stopReason: "\n\n" }, step, 9)
    assert.deepStrictEqual(
      g.steps.map((s) => s.text),
      ["First, $2+2=4$."]
    )
    assert.isFalse(g.done)
    assert.strictEqual(g.finishReason, "step")
    assert.strictEqual(g.steps[0]?.tokens, 9)
  })
  it("EOS without the delimiter ends the solution, with its answer", () => {
    const g = OpenAi.toGeneration(
      { text: "So $\\boxed{4}$.", finishReason: "stop", stopReason: null },
      { ...step, prefixText: "First, 2+2." },
      5
    )
    assert.isTrue(g.done)
    assert.strictEqual(g.answer, "4")
    assert.strictEqual(g.finishReason, "end")
  })
  it("a completed boxed answer ends the solution even at the delimiter", () => {
    const g = OpenAi.toGeneration({ text: "Thus $\\boxed{4}$.\n\n", finishReason: "stop", stopReason: "\n\n" }, step, 5)
    assert.isTrue(g.done)
    assert.strictEqual(g.answer, "4")
  })
  it("finish_reason length: cut, not done, no answer", () => {
    const g = OpenAi.toGeneration({ text: "Let me", finishReason: "length", stopReason: null }, step, 2)
    assert.isFalse(g.done)
    assert.strictEqual(g.finishReason, "length")
    assert.isUndefined(g.answer)
  })
  it("a server that trims stop strings and reports no stop_reason: non-empty text is a step, empty is the end", () => {
    const trims = { ...step, keepsStop: false }
    assert.isFalse(OpenAi.toGeneration({ text: "x = 1", finishReason: "stop", stopReason: undefined }, trims, 3).done)
    assert.isTrue(OpenAi.toGeneration({ text: "", finishReason: "stop", stopReason: undefined }, trims, 0).done)
  })
  it("whole solutions split into steps whose tokens add up", () => {
    const g = OpenAi.toGeneration(
      { text: "a\n\nbb\n\n$\\boxed{4}$", finishReason: "stop", stopReason: null },
      { ...step, until: "end" },
      10
    )
    assert.strictEqual(g.steps.length, 3)
    assert.strictEqual(
      g.steps.reduce((a, s) => a + s.tokens, 0),
      10
    )
    assert.isTrue(g.done)
    assert.strictEqual(g.answer, "4")
  })
  it("splits usage across choices, or uses per-choice counts that add up", () => {
    assert.deepStrictEqual(OpenAi.splitTotal(10, [1, 1, 2]), [3, 2, 5])
    assert.deepStrictEqual(
      OpenAi.outputTokensOf(
        [
          { text: "ab", tokens: undefined },
          { text: "abcd", tokens: undefined }
        ],
        6
      ),
      [2, 4]
    )
    assert.deepStrictEqual(
      OpenAi.outputTokensOf(
        [
          { text: "ab", tokens: 5 },
          { text: "abcd", tokens: 1 }
        ],
        6
      ),
      [5, 1]
    )
    assert.deepStrictEqual(OpenAi.splitTotal(5, [0, 0]), [3, 2])
  })
})

describe("request bodies", () => {
  it("whole solutions go to chat; steps and continuations to completions under the template", () => {
    const c = config()
    const chat = OpenAi.routeOf(c, request())
    assert.isTrue(!OpenAi.isRefusal(chat) && chat.kind === "chat")
    const prefix = {
      ...Candidate.make({ id: "s0", origin: { node: "n", round: 0 } }),
      steps: Steps.appendAll(undefined, [{ text: "First, 2+2.", tokens: 4 }])
    }
    const cont = OpenAi.routeOf(c, request({ prefix, until: "step" }))
    assert.isTrue(!OpenAi.isRefusal(cont) && cont.kind === "completion")
    if (!OpenAi.isRefusal(cont) && cont.kind === "completion") {
      assert.isTrue(cont.prompt.startsWith("<|im_start|>system\n"))
      assert.isTrue(cont.prompt.endsWith("<|im_start|>assistant\nFirst, 2+2.\n\n"))
    }
  })
  it("continue_final_message for vLLM chat continuation", () => {
    const c = config({ stepMode: "continue" })
    const prefix = {
      ...Candidate.make({ id: "s0", origin: { node: "n", round: 0 } }),
      steps: Steps.appendAll(undefined, [{ text: "First.", tokens: 2 }])
    }
    const route = OpenAi.routeOf(c, request({ prefix, until: "step" }))
    if (OpenAi.isRefusal(route)) throw new Error(route.message)
    const body = OpenAi.bodyOf(c, request({ prefix, until: "step" }), route, 2, 0) as unknown as Record<string, unknown>
    assert.strictEqual(body.continue_final_message, true)
    assert.strictEqual(body.add_generation_prompt, false)
  })
  it("servers without raw continuation refuse step requests", () => {
    const route = OpenAi.routeOf(config({ server: "openai" }), request({ until: "step" }))
    assert.isTrue(OpenAi.isRefusal(route))
  })
  it("vLLM step bodies: n, seed, stop kept, no extra BOS", () => {
    const c = config()
    const r = request({ until: "step", n: 4 })
    const route = OpenAi.routeOf(c, r)
    if (OpenAi.isRefusal(route)) throw new Error(route.message)
    const body = OpenAi.bodyOf(c, r, route, 4, 0) as unknown as Record<string, unknown>
    assert.strictEqual(body.n, 4)
    assert.strictEqual(body.seed, OpenAi.seedOf(7n, 0))
    assert.deepStrictEqual(body.stop, ["\n\n"])
    assert.strictEqual(body.include_stop_str_in_output, true)
    assert.strictEqual(body.add_special_tokens, false)
    assert.strictEqual(body.max_tokens, 256)
  })
  it("OpenAI bodies carry no seed (best effort there) and no vLLM fields", () => {
    const c = config({ server: "openai" })
    const r = request()
    const route = OpenAi.routeOf(c, r)
    if (OpenAi.isRefusal(route)) throw new Error(route.message)
    const body = OpenAi.bodyOf(c, r, route, 2, 0) as unknown as Record<string, unknown>
    assert.isUndefined(body.seed)
    assert.isUndefined(body.include_stop_str_in_output)
    assert.strictEqual(body.n, 2)
  })
  it("seeds are 31-bit and distinct per continuation", () => {
    const seeds = [0, 1, 2, 3].map((i) => OpenAi.seedOf(2n ** 63n + 5n, i))
    assert.strictEqual(new Set(seeds).size, 4)
    for (const s of seeds) assert.isTrue(Number.isInteger(s) && s >= 0 && s < 2 ** 31)
  })
  it("the prompt bound is never below the bytes of the prompt", () => {
    assert.strictEqual(OpenAi.promptBound({ kind: "completion", prompt: "abc" }), 131)
  })
  it("config: missing fields are named, environment fills them", () => {
    const exit = Effect.runSyncExit(OpenAi.resolveConfig({ model: "m", bogus: 1 }))
    assert.isTrue(exit._tag === "Failure")
    assert.match(String(exit._tag === "Failure" ? exit.cause : ""), /bogus/u)
  })
})
