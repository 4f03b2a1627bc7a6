/**
 * A generative verifier through the openai backend, against a loopback vLLM-format server: the
 * verification request is one user message carrying the question and the numbered steps, with
 * `n` = the samples; the replies' verdicts become the candidates' scores (the mean over the
 * samples); the call is charged to the verifier meters from the server's `usage` — and the
 * generator's meters hold only the samples.
 */
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { Cause, Effect, Exit, Layer } from "effect"
import { backendLayer } from "../../src/backends/Registry.ts"
import * as Ledger from "../../src/budget/Ledger.ts"
import { makeProblem } from "../../src/domain/Problem.ts"
import * as Loader from "../../src/graph/Loader.ts"
import { execute, pricingOf } from "../../src/runtime/Run.ts"
import * as RunEvents from "../../src/runtime/RunEvents.ts"
import { Generator } from "../../src/services/Generator.ts"
import { THINK_INSTRUCTION } from "../../src/services/GenVerify.ts"
import { Verifier } from "../../src/services/Verifier.ts"
import { type Action, type Loopback, startLoopback } from "./loopback.ts"

let server: Loopback
beforeAll(async () => {
  server = await startLoopback()
})
afterAll(() => server.close())

const problem = makeProblem({ id: "p/2+2", question: "What is $2+2$?", gold: "4" })

const SOLUTION = "Add: $2+2=4$.\n\nSo $\\boxed{4}$."
const YES =
  "Step 1: 2+2 is 4. \\boxed{correct}\nStep 2: the answer is boxed. \\boxed{correct}\nIs the solution correct? \\boxed{yes}"
const NO =
  "Step 1: 2+2 is 5. \\boxed{incorrect}\nStep 2: follows. \\boxed{correct}\nIs the solution correct? \\boxed{no}"

const userText = (body: Record<string, unknown>): string => {
  const messages = body.messages as ReadonlyArray<{ readonly role: string; readonly content: string }> | undefined
  return messages?.at(-1)?.content ?? ""
}

/** A policy that solves 2+2, and a verifier (the same model) whose sample i says yes when i is even. */
const world = (path: string, body: Record<string, unknown>): Action => {
  const n = typeof body.n === "number" ? body.n : 1
  if (path !== "/v1/chat/completions") return { status: 404, body: { error: { message: `no ${path}` } } }
  const verifying = userText(body).includes("Review and critique")
  const judging = userText(body).includes("impartial judge")
  return {
    body: {
      choices: Array.from({ length: n }, (_, index) => ({
        index,
        message: {
          role: "assistant",
          content: judging ? "Correct.\nRating: [[8]]" : verifying ? (index % 2 === 0 ? YES : NO) : SOLUTION
        },
        finish_reason: "stop",
        stop_reason: null
      })),
      usage: { prompt_tokens: verifying || judging ? 300 : 40, completion_tokens: (verifying ? 50 : 12) * n }
    }
  }
}

const doc = (generative: object) => ({
  name: "gv",
  description: "gv",
  root: {
    type: "sequence",
    nodes: [
      { type: "sample", n: 2, until: "end" },
      { type: "score", generative, aggregate: "last" },
      { type: "select", method: "weighted" }
    ]
  }
})

const runDoc = (graph: object) =>
  Effect.gen(function* () {
    const loaded = yield* Loader.fromJson(graph)
    const generator = yield* Generator
    const verifier = yield* Verifier
    const ledger = yield* Ledger.make({}, pricingOf(generator, verifier, undefined))
    const exit = yield* Effect.exit(
      execute(loaded, problem, { seed: 1 }).pipe(Effect.provideService(Ledger.Ledger, ledger))
    )
    if (Exit.isFailure(exit)) throw new Error(`run failed: ${Cause.pretty(exit.cause)}`)
    return { result: exit.value, snapshot: yield* ledger.snapshot }
  }).pipe(
    Effect.provide(
      Layer.mergeAll(
        backendLayer("openai", {
          baseUrl: `${server.url}/v1`,
          model: "Qwen/Qwen2.5-Math-1.5B-Instruct",
          timeoutMs: 2000
        }),
        RunEvents.layerSilent
      )
    )
  )

describe("openai: generative verifiers", () => {
  it.live("a verification chain of thought: prompt, n samples, verdicts averaged, verifier meters from usage", () =>
    Effect.gen(function* () {
      server.handle(world)
      const before = server.requests.length
      const { result, snapshot } = yield* runDoc(doc({ style: "think", samples: 2, maxTokens: 300 }))
      const sent = server.requests.slice(before)
      const verify = sent.filter((r) => userText(r.body).includes("Review and critique"))
      assert.strictEqual(verify.length, 2, "one verification request per candidate")
      for (const r of verify) {
        const messages = r.body.messages as ReadonlyArray<{ readonly role: string; readonly content: string }>
        assert.strictEqual(messages.length, 1)
        assert.strictEqual(messages[0]?.role, "user")
        const text = userText(r.body)
        assert.include(text, "Problem: What is $2+2$?")
        assert.include(text, "Step 1: Add: $2+2=4$.")
        assert.include(text, "Step 2: So $\\boxed{4}$.")
        assert.include(text, THINK_INSTRUCTION)
        assert.strictEqual(r.body.n, 2)
        assert.strictEqual(r.body.max_tokens, 300)
        assert.strictEqual(r.body.temperature, 0.6)
      }
      // sample 0 says yes, sample 1 says no (step 1 incorrect): steps [0.5, 0.5]
      for (const c of result.population) {
        assert.deepStrictEqual(c.stepScores, [0.5, 0.5])
        assert.strictEqual(c.score, 0.5)
      }
      assert.strictEqual(result.answer, "4")
      // the generator's meters: the one sample call; the verifier's: the two verification calls
      assert.strictEqual(result.usage.sequences, 2)
      assert.strictEqual(result.usage.inputTokens, 40)
      assert.strictEqual(result.usage.outputTokens, 24)
      assert.strictEqual(result.usage.calls, 3)
      assert.strictEqual(result.usage.verifierCalls, 2)
      assert.strictEqual(result.usage.verifierTokens, 2 * (300 + 2 * 50))
      assert.strictEqual(snapshot.reserved.calls, 0)
      assert.strictEqual(snapshot.reserved.verifierTokens, 0)
    })
  )

  it.live("LLM-as-a-judge: the rating becomes the score", () =>
    Effect.gen(function* () {
      server.handle(world)
      const { result } = yield* runDoc(doc({ style: "judge" }))
      for (const c of result.population) assert.strictEqual(c.score, 7 / 9)
      assert.strictEqual(result.usage.verifierCalls, 2)
      assert.strictEqual(result.usage.verifierTokens, 2 * (300 + 12))
    })
  )

  it.live("replies without a verdict leave the candidates unscored; the vote still answers", () =>
    Effect.gen(function* () {
      server.handle((path, body) =>
        userText(body).includes("Review and critique")
          ? {
              body: {
                choices: [{ index: 0, message: { role: "assistant", content: "Hmm." }, finish_reason: "length" }],
                usage: { prompt_tokens: 300, completion_tokens: 5 }
              }
            }
          : world(path, body)
      )
      const { result } = yield* runDoc(doc({ style: "think" }))
      assert.isTrue(result.population.every((c) => c.score === undefined))
      assert.strictEqual(result.usage.verifierCalls, 2)
      assert.strictEqual(result.answer, "4")
    })
  )
})
