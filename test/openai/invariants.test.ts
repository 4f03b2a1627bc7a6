/**
 * The budget invariants with the openai backend (issue 6: "budget invariants hold with every
 * backend"): random built-in graphs × random params × random limits on every meter the backend can
 * enforce, against a loopback vLLM policy and pooling PRM (with /tokenize, so input-token limits
 * are enforceable). Every run: committed ≤ limit on every limited meter, nothing stays reserved,
 * the ledger's total is the sum of its per-node entries, usage within the static bound, and it
 * answers or is refused up front (`BudgetTooSmall`) — never a defect.
 */
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { Cause, Effect, Exit, Layer } from "effect"
import fc from "fast-check"
import { backendLayer } from "../../src/backends/Registry.ts"
import * as Ledger from "../../src/budget/Ledger.ts"
import type { Limits } from "../../src/budget/Limits.ts"
import { makeProblem } from "../../src/domain/Problem.ts"
import * as Usage from "../../src/domain/Usage.ts"
import { staticCost } from "../../src/graph/Cost.ts"
import * as Loader from "../../src/graph/Loader.ts"
import { execute, pricingOf } from "../../src/runtime/Run.ts"
import * as RunEvents from "../../src/runtime/RunEvents.ts"
import { Generator } from "../../src/services/Generator.ts"
import { Verifier } from "../../src/services/Verifier.ts"
import { over, watched } from "../runtime/harness.ts"
import { type Action, type Loopback, startLoopback } from "./loopback.ts"

let server: Loopback
beforeAll(async () => {
  server = await startLoopback()
  server.handle(world)
})
afterAll(() => server.close())

const problem = makeProblem({ id: "p/6*7", question: "What is $6 \\cdot 7$?", gold: "42" })
const tokens = (text: string) => text.length

/** A policy that writes three steps then a boxed answer (which varies with the seed), and a PRM. */
function world(path: string, body: Record<string, unknown>): Action {
  const n = typeof body.n === "number" ? body.n : 1
  const seed = typeof body.seed === "number" ? body.seed : 0
  // a server honours max_tokens: a reply longer than it is cut there, finish_reason "length"
  const cap = typeof body.max_tokens === "number" ? body.max_tokens : Number.POSITIVE_INFINITY
  const reply = (text: string, tokens: number) =>
    tokens <= cap
      ? { text, tokens, cut: false }
      : { text: text.slice(0, Math.max(0, Math.floor(cap))), tokens: Math.max(0, Math.floor(cap)), cut: true }
  const answer = (i: number) => String(40 + ((seed + i) % 4))
  if (path === "/tokenize")
    return {
      body: { count: tokens(String(body.prompt ?? JSON.stringify(body.messages))), max_model_len: 8192, tokens: [] }
    }
  if (path === "/pooling") {
    const input = body.input as ReadonlyArray<string>
    return {
      body: {
        object: "list",
        data: input.map((text, index) => ({
          index,
          object: "pooling",
          data: Array.from({ length: text.split("<extra_0>").length - 1 }, (_, j) => [
            0.3,
            0.5 + ((index + j) % 5) / 10
          ])
        })),
        usage: { prompt_tokens: input.reduce((a, t) => a + tokens(t), 0), total_tokens: 0 }
      }
    }
  }
  if (path === "/v1/chat/completions")
    return {
      body: {
        choices: Array.from({ length: n }, (_, index) => {
          const r = reply(`Multiply.\n\nSo $\\boxed{${answer(index)}}$.`, 9)
          return {
            index,
            message: { role: "assistant", content: r.text },
            finish_reason: r.cut ? "length" : "stop",
            stop_reason: null
          }
        }),
        usage: { prompt_tokens: 50, completion_tokens: n * reply("", 9).tokens }
      }
    }
  if (path === "/v1/completions") {
    const prompt = String(body.prompt)
    const partial = prompt.slice(prompt.lastIndexOf("<|im_start|>assistant\n") + "<|im_start|>assistant\n".length)
    const done = partial.split("\n\n").length - 1
    const step = body.stop !== undefined
    return {
      body: {
        choices: Array.from({ length: n }, (_, index) => {
          const r = reply(step && done < 3 ? `Step ${done + 1}: work.\n\n` : `So $\\boxed{${answer(index)}}$.`, 6)
          return {
            index,
            text: r.text,
            finish_reason: r.cut ? "length" : "stop",
            stop_reason: r.cut ? null : step && done < 3 ? "\n\n" : null
          }
        }),
        usage: { prompt_tokens: tokens(prompt), completion_tokens: n * reply("", 6).tokens }
      }
    }
  }
  return { status: 404, body: { error: { message: `no ${path}` } } }
}

const backend = () =>
  Layer.mergeAll(
    backendLayer("openai", {
      baseUrl: `${server.url}/v1`,
      model: "Qwen/Qwen2.5-Math-1.5B-Instruct",
      maxTokens: 64,
      timeoutMs: 5000,
      verifier: { baseUrl: server.url, model: "Qwen/Qwen2.5-Math-PRM-7B" }
    }),
    RunEvents.layerSilent
  )

const GRAPHS = [
  "best-of-n",
  "weighted-best-of-n",
  "majority",
  "beam-search",
  "dvts",
  "particle-filter",
  "sequential-revisions"
]
const METERS = ["calls", "sequences", "inputTokens", "outputTokens", "verifierCalls"] as const

const caseArb = fc.record({
  graph: fc.constantFrom(...GRAPHS),
  N: fc.integer({ min: 1, max: 8 }),
  seed: fc.integer({ min: 0, max: 100 }),
  limits: fc
    .subarray([...METERS], { maxLength: 3 })
    .chain((meters) =>
      fc
        .tuple(
          ...meters.map((m) =>
            fc.integer({ min: 0, max: m === "inputTokens" ? 20_000 : m === "outputTokens" ? 1500 : 40 })
          )
        )
        .map((values): Limits => Object.fromEntries(meters.map((m, i) => [m, values[i] ?? 0])))
    )
})

describe("budget invariants with the openai backend", () => {
  it("random graphs, params and limits: within limits, nothing reserved, within the static bound", {
    timeout: 120_000
  }, async () => {
    let answered = 0
    let exhausted = 0
    let refused = 0
    await fc.assert(
      fc.asyncProperty(caseArb, (c) =>
        Effect.runPromise(
          Effect.gen(function* () {
            const loaded = yield* Loader.load(c.graph)
            const generator = yield* Generator
            const verifier = yield* Verifier
            const violations: Array<string> = []
            const inner = yield* Ledger.make(c.limits, pricingOf(generator, verifier, undefined))
            const params = c.graph === "particle-filter" ? { N: c.N, rounds: 4 } : { N: c.N }
            const exit = yield* Effect.exit(
              execute(loaded, problem, { params, seed: c.seed }).pipe(
                Effect.provideService(Ledger.Ledger, watched(inner, violations, []))
              )
            )
            const s = yield* inner.snapshot
            assert.deepStrictEqual(violations, [], "a limit was passed at some moment")
            assert.deepStrictEqual(over(s.committed, c.limits), [])
            assert.strictEqual(s.open, 0, "open reservations")
            const sum = Usage.sum(s.byNode.map((e) => e.usage))
            for (const m of METERS) assert.strictEqual(sum[m], s.committed[m], `byNode sums to ${m}`)
            if (Exit.isFailure(exit)) {
              assert.isFalse(Cause.hasDies(exit.cause), Cause.pretty(exit.cause))
              const e = Cause.squash(exit.cause) as { _tag?: string }
              assert.strictEqual(e._tag, "BudgetTooSmall", Cause.pretty(exit.cause))
              assert.strictEqual(s.committed.calls, 0)
              refused++
              return
            }
            answered++
            if (exit.value.exhausted) exhausted++
            const bound = staticCost(loaded, { params, limits: c.limits, maxTokens: generator.maxTokens })
            for (const m of ["calls", "sequences", "outputTokens", "verifierCalls"] as const)
              assert.isAtMost(exit.value.usage[m], bound.usage[m], `${m} within the static bound`)
          }).pipe(Effect.provide(backend()))
        )
      ),
      { numRuns: Math.round(120 * (Number(process.env.MULL_PROPERTY_SCALE ?? "1") || 1)) }
    )
    console.log(`openai invariants: ${answered} answered (${exhausted} exhausted), ${refused} refused up front`)
    assert.isAbove(answered, 0)
    assert.isAbove(exhausted, 0, "some budgets bind")
  })
})
