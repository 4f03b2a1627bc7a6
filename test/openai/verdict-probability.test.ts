/**
 * ThinkPRM's P("yes") through the openai backend, against a loopback vLLM-format server: a
 * verification with `verdict: "probability"` asks for `logprobs`/`top_logprobs`; the score of a
 * sample is P(yes) / (P(yes) + P(no)) among the top log-probabilities at its final verdict token
 * (vLLM's chat `logprobs.content`, with `bytes`); a server that returns no log-probabilities fails
 * the node naming the field.
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

const bytes = (s: string) => [...new TextEncoder().encode(s)]

/**
 * vLLM's chat logprobs of a reply: BPE-like pieces (a word with its leading space, punctuation and
 * braces apart), each with top alternatives; at the final verdict token the alternatives are
 * `top` (the chosen word's included).
 */
const logprobsOf = (text: string, top: ReadonlyArray<readonly [string, number]>) => {
  const pieces: ReadonlyArray<string> = text.match(/\s?[A-Za-z0-9]+|\\[a-z]+|[^\sA-Za-z0-9]|\s/gu) ?? []
  const verdictAt = pieces.lastIndexOf("yes") >= 0 ? pieces.lastIndexOf("yes") : pieces.lastIndexOf("no")
  return {
    content: pieces.map((token, i) => {
      const alts: ReadonlyArray<readonly [string, number]> =
        i === verdictAt
          ? top
          : [
              [token, -0.05],
              ["the", -4]
            ]
      const own = alts.find(([t]) => t === token)?.[1] ?? -0.05
      return {
        token,
        logprob: own,
        bytes: bytes(token),
        top_logprobs: alts.map(([t, logprob]) => ({ token: t, logprob, bytes: bytes(t) }))
      }
    })
  }
}

/** A policy that solves 2+2, and a verifier whose sample i says yes when i is even — with P(yes) 0.7, and 0.4 when it says no. */
const world =
  (withLogprobs: boolean) =>
  (path: string, body: Record<string, unknown>): Action => {
    const n = typeof body.n === "number" ? body.n : 1
    if (path !== "/v1/chat/completions") return { status: 404, body: { error: { message: `no ${path}` } } }
    const verifying = userText(body).includes("Review and critique")
    return {
      body: {
        choices: Array.from({ length: n }, (_, index) => {
          const content = verifying ? (index % 2 === 0 ? YES : NO) : SOLUTION
          const top: ReadonlyArray<readonly [string, number]> =
            index % 2 === 0
              ? [
                  ["yes", Math.log(0.63)],
                  ["no", Math.log(0.27)],
                  [" maybe", Math.log(0.05)]
                ]
              : [
                  ["no", Math.log(0.54)],
                  ["Yes", Math.log(0.36)]
                ]
          return {
            index,
            message: { role: "assistant", content },
            ...(verifying && withLogprobs ? { logprobs: logprobsOf(content, top) } : {}),
            finish_reason: "stop",
            stop_reason: null
          }
        }),
        usage: { prompt_tokens: verifying ? 300 : 40, completion_tokens: (verifying ? 50 : 12) * n }
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
    return yield* Effect.exit(execute(loaded, problem, { seed: 1 }).pipe(Effect.provideService(Ledger.Ledger, ledger)))
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

describe("openai: ThinkPRM's P(yes) at the verdict token", () => {
  it.live("asks for top_logprobs and scores each sample by P(yes) / (P(yes) + P(no)) at its verdict token", () =>
    Effect.gen(function* () {
      server.handle(world(true))
      const before = server.requests.length
      const exit = yield* runDoc(doc({ style: "think", samples: 2, maxTokens: 300, verdict: "probability" }))
      if (Exit.isFailure(exit)) return assert.fail(`run failed: ${Cause.pretty(exit.cause)}`)
      const result = exit.value
      const sent = server.requests.slice(before)
      const verify = sent.filter((r) => userText(r.body).includes("Review and critique"))
      assert.strictEqual(verify.length, 2)
      for (const r of verify) {
        assert.strictEqual(r.body.logprobs, true)
        assert.strictEqual(r.body.top_logprobs, 20)
        assert.strictEqual(r.body.n, 2)
      }
      // the solutions are not asked for log-probabilities
      const samples = sent.filter((r) => !userText(r.body).includes("Review and critique"))
      assert.isTrue(samples.every((r) => r.body.logprobs === undefined))
      // sample 0 (yes): steps [1, 0.63 / 0.9 = 0.7]; sample 1 (no, step 1 incorrect): [0, 0.36 / 0.9 = 0.4]
      for (const c of result.population) {
        assert.strictEqual(c.stepScores?.length, 2)
        assert.closeTo(c.stepScores?.[0] ?? -1, 0.5, 1e-12)
        assert.closeTo(c.score ?? -1, (0.7 + 0.4) / 2, 1e-12)
      }
      assert.strictEqual(result.answer, "4")
      assert.strictEqual(result.usage.verifierCalls, 2)
      assert.strictEqual(result.usage.verifierTokens, 2 * (300 + 2 * 50))
    })
  )

  it.live("the parsed verdict of the same replies is 1 or 0 (the default)", () =>
    Effect.gen(function* () {
      server.handle(world(true))
      const exit = yield* runDoc(doc({ style: "think", samples: 2, maxTokens: 300 }))
      if (Exit.isFailure(exit)) return assert.fail(`run failed: ${Cause.pretty(exit.cause)}`)
      for (const c of exit.value.population) assert.strictEqual(c.score, 0.5)
    })
  )

  it.live("a server that returns no log-probabilities fails the node, naming the field", () =>
    Effect.gen(function* () {
      server.handle(world(false))
      const exit = yield* runDoc(doc({ style: "think", samples: 2, maxTokens: 300, verdict: "probability" }))
      assert.isTrue(Exit.isFailure(exit))
      if (Exit.isFailure(exit)) {
        const text = Cause.pretty(exit.cause)
        assert.include(text, "root.nodes.1.generative.verdict")
        assert.include(text, "which backend openai did not return")
      }
    })
  )
})
