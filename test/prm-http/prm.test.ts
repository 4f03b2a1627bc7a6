/**
 * The prm-http verifier: prompt formats, score extraction, and scoring over a loopback server
 * answering with recorded vLLM pooling and completions-logprobs bodies — step scores land on the
 * right steps of the right candidates.
 */
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { Cause, Effect, Exit, Result } from "effect"
import { FetchHttpClient } from "effect/http"
import * as PrmHttp from "../../plugins/prm-http/index.ts"
import * as Candidate from "../../src/domain/Candidate.ts"
import { makeProblem } from "../../src/domain/Problem.ts"
import * as Steps from "../../src/domain/Steps.ts"
import { fixture, type Loopback, startLoopback } from "../openai/loopback.ts"

let server: Loopback
beforeAll(async () => {
  server = await startLoopback()
})
afterAll(() => server.close())

const problem = makeProblem({ id: "p1", question: "What is $2+2$?", gold: "4" })
const candidate = (id: string, steps: ReadonlyArray<string>) => ({
  ...Candidate.make({ id, origin: { node: "n", round: 0 } }),
  steps: Steps.appendAll(
    undefined,
    steps.map((text) => ({ text, tokens: 3 }))
  )
})
// a generous timeout: a loopback reply on a loaded 2-core machine can take well over 300 ms; the
// fault test sets its own short one
const configOf = (input: Record<string, unknown> = {}) =>
  Effect.runSync(
    PrmHttp.resolveConfig({ baseUrl: server.url, model: "Qwen/Qwen2.5-Math-PRM-7B", timeoutMs: 10_000, ...input })
  )
const verifierOf = (input: Record<string, unknown> = {}) =>
  PrmHttp.make(configOf(input)).pipe(Effect.provide(FetchHttpClient.layer))

describe("prm-http prompts and scores (pure)", () => {
  it("Qwen2.5-Math-PRM input: system, question, steps each followed by <extra_0>", () => {
    const input = PrmHttp.poolingInput(configOf(), problem, ["a", "b"])
    assert.strictEqual(
      input,
      "<|im_start|>system\nPlease reason step by step, and put your final answer within \\boxed{}.<|im_end|>\n" +
        "<|im_start|>user\nWhat is $2+2$?<|im_end|>\n<|im_start|>assistant\na<extra_0>b<extra_0><|im_end|>\n"
    )
  })
  it("Math-Shepherd and RLHFlow prompts end where the +/- token is predicted", () => {
    const shepherd = configOf({ mode: "logprobs" })
    assert.strictEqual(PrmHttp.logprobPrompt(shepherd, problem, ["a", "b"], 1), "What is $2+2$? a ки\nb ки")
    const rlhflow = configOf({ mode: "logprobs", format: "rlhflow" })
    const p = PrmHttp.logprobPrompt(rlhflow, problem, ["a", "b"], 1)
    assert.isTrue(
      p.startsWith("<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nWhat is $2+2$? a<|eot_id|>")
    )
    assert.include(
      p,
      "<|start_header_id|>assistant<|end_header_id|>\n\n+<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nb<|eot_id|>"
    )
    assert.isTrue(p.endsWith("<|start_header_id|>assistant<|end_header_id|>\n\n"))
  })
  it("pooling rows → positive-class probabilities; a row count off the step count fails", () => {
    assert.deepStrictEqual(
      PrmHttp.poolingScores(
        [
          [0.1, 0.9],
          [0.7, 0.3]
        ],
        2,
        1
      ),
      Result.succeed([0.9, 0.3])
    )
    assert.isTrue(Result.isFailure(PrmHttp.poolingScores([[0.1, 0.9]], 2, 1)))
    assert.isTrue(Result.isFailure(PrmHttp.poolingScores([[0.1, 1.9]], 1, 1)))
  })
  it("P(+) among + and -, tokens compared without spaces", () => {
    const p = PrmHttp.plusProbability({ "+": Math.log(0.6), " -": Math.log(0.2) }, "+", "-")
    assert.isTrue(Result.isSuccess(p) && Math.abs(p.success - 0.75) < 1e-12)
    assert.isTrue(Result.isFailure(PrmHttp.plusProbability({ x: -1 }, "+", "-")))
  })
})

describe("prm-http over HTTP", () => {
  it.live("pooling (vLLM body): one request per batch, scores on the right steps", () =>
    Effect.gen(function* () {
      server.handle(() => ({ body: fixture("prm-http", "pooling-qwen-prm.vllm.json") }))
      const v = yield* verifierOf()
      const result = yield* v.score({
        problem,
        candidates: [candidate("good", ["2+2=4.", "$\\boxed{4}$"]), candidate("bad", ["2+2=5.", "$\\boxed{5}$"])],
        verifier: "prm"
      })
      assert.deepStrictEqual(result.stepScores, [
        [0.9727, 0.9874],
        [0.2815, 0.0789]
      ])
      assert.strictEqual(result.inputTokens, 196)
      assert.strictEqual(server.requests.length, 1)
      assert.strictEqual(server.requests[0]?.path, "/pooling")
      const input = server.requests[0]?.body.input as ReadonlyArray<string>
      assert.strictEqual(input.length, 2)
      assert.include(input[1] ?? "", "2+2=5.<extra_0>$\\boxed{5}$<extra_0>")
    })
  )

  it.live("pooling: results out of order are matched by index; a missing separator row is a BadResponse", () =>
    Effect.gen(function* () {
      const body = fixture("prm-http", "pooling-qwen-prm.vllm.json")
      const data = body.data as ReadonlyArray<unknown>
      server.handle(() => ({ body: { ...body, data: [data[1], data[0]] } }))
      const v = yield* verifierOf()
      const candidates = [candidate("good", ["a", "b"]), candidate("bad", ["c", "d"])]
      const result = yield* v.score({ problem, candidates, verifier: "prm" })
      assert.strictEqual(result.stepScores[0]?.[0], 0.9727)
      server.handle(() => ({
        body: {
          ...body,
          data: [
            { index: 0, data: [[0.1, 0.9]] },
            {
              index: 1,
              data: [
                [0.2, 0.8],
                [0.3, 0.7]
              ]
            }
          ]
        }
      }))
      const exit = yield* Effect.exit(v.score({ problem, candidates, verifier: "prm" }))
      assert.isTrue(Exit.isFailure(exit) && !Cause.hasDies(exit.cause))
      const e = Exit.isFailure(exit) ? Cause.findErrorOption(exit.cause) : undefined
      assert.strictEqual(e?._tag === "Some" ? e.value.reason._tag : "", "BadResponse")
      assert.match(e?._tag === "Some" ? e.value.message : "", /candidate good: expected 2 rows/u)
    })
  )

  it.live("ORM mode: the whole solution is one step, one score", () =>
    Effect.gen(function* () {
      server.handle(() => ({
        body: { data: [{ index: 0, object: "pooling", data: [[0.2, 0.8]] }], usage: { prompt_tokens: 90 } }
      }))
      const v = yield* verifierOf()
      const result = yield* v.score({ problem, candidates: [candidate("s0", ["a", "b", "c"])], verifier: "orm" })
      assert.deepStrictEqual(result.stepScores, [[0.8]])
      assert.include(
        String((server.requests[0]?.body.input as ReadonlyArray<string> | undefined)?.[0]),
        "a\n\nb\n\nc<extra_0>"
      )
    })
  )

  it.live("logprobs (Math-Shepherd): one prompt per step, P(+) per step, in order", () =>
    Effect.gen(function* () {
      server.handle(() => ({ body: fixture("prm-http", "logprobs-math-shepherd.vllm.json") }))
      const v = yield* verifierOf({ mode: "logprobs", model: "peiyi9979/math-shepherd-mistral-7b-prm" })
      const result = yield* v.score({
        problem,
        candidates: [candidate("a", ["x", "y"]), candidate("b", ["z"])],
        verifier: "prm"
      })
      const [first, second] = result.stepScores
      assert.closeTo(first?.[0] ?? 0, 0.9 / (0.9 + 0.1), 1e-3)
      assert.closeTo(first?.[1] ?? 0, 0.2 / (0.2 + 0.8), 1e-3)
      assert.closeTo(second?.[0] ?? 0, 1, 1e-2)
      const sent = server.requests[0]?.body
      assert.strictEqual(server.requests[0]?.path, "/v1/completions")
      assert.deepStrictEqual(sent?.prompt, ["What is $2+2$? x ки", "What is $2+2$? x ки\ny ки", "What is $2+2$? z ки"])
      assert.strictEqual(sent?.max_tokens, 1)
      assert.strictEqual(sent?.logprobs, 20)
      assert.strictEqual(result.inputTokens, 120)
    })
  )

  it.live("faults map to tagged errors, never defects", () =>
    Effect.gen(function* () {
      const v = yield* verifierOf({ timeoutMs: 300 })
      const tagOf = (action: Parameters<Loopback["handle"]>[0]) =>
        Effect.gen(function* () {
          server.handle(action)
          const exit = yield* Effect.exit(v.score({ problem, candidates: [candidate("s", ["a"])], verifier: "prm" }))
          if (Exit.isSuccess(exit) || Cause.hasDies(exit.cause)) return "not a typed failure"
          const e = Cause.findErrorOption(exit.cause)
          return e._tag === "Some" ? e.value.reason._tag : "none"
        })
      assert.strictEqual(
        yield* tagOf(() => ({ status: 429, headers: { "retry-after": "1" }, body: {} })),
        "RateLimited"
      )
      assert.strictEqual(yield* tagOf(() => ({ status: 503, body: {} })), "Unavailable")
      assert.strictEqual(yield* tagOf(() => ({ destroy: true })), "Unavailable")
      assert.strictEqual(yield* tagOf(() => ({ raw: '{"data": [{"index": 0, "data": [[0.1' })), "BadResponse")
      assert.strictEqual(yield* tagOf(() => ({ body: {}, delayMs: 1000 })), "Timeout")
      assert.strictEqual(
        yield* tagOf(() => ({ status: 400, body: { object: "error", message: "pooling not supported", code: 400 } })),
        "InvalidRequest"
      )
    })
  )
})
