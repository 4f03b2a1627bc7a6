/**
 * Budgets against an OpenAI-compatible server on loopback (issue 15), through the CLI:
 *
 * - `calls` counts requests sent: against a server without `n`, `--budget calls=1` sends exactly one;
 * - a limit bounds what the provider may do: against a server that answers after the client's
 *   timeout, `--budget outputTokens=1000` never lets requests totalling more than 1,000 `max_tokens`
 *   out (each timed-out attempt is charged what it asked for, so its retry is not paid);
 * - usd and input-token limits work on a server without `/tokenize` (prompts reserved by their
 *   UTF-8 bytes, the reply's usage committed), with prices set.
 */
import * as NodeServices from "@effect/platform-node/NodeServices"
import { afterAll, afterEach, assert, beforeAll, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { TestConsole } from "effect/testing"
import { runCli } from "../../src/cli/main.ts"
import type * as Usage from "../../src/domain/Usage.ts"
import { type Action, type Loopback, startLoopback } from "./loopback.ts"

let server: Loopback
beforeAll(async () => {
  server = await startLoopback()
})
afterAll(() => server.close())
afterEach(() => {
  process.exitCode = undefined
})

const cli = (argv: ReadonlyArray<string>) =>
  Effect.gen(function* () {
    process.exitCode = undefined
    const outBefore = (yield* TestConsole.logLines).length
    const errBefore = (yield* TestConsole.errorLines).length
    yield* runCli(argv).pipe(Effect.provide(NodeServices.layer))
    const out = (yield* TestConsole.logLines).slice(outBefore).map(String)
    const err = (yield* TestConsole.errorLines).slice(errBefore).map(String)
    return { out: out.join("\n"), err: err.join("\n"), code: process.exitCode }
  })

/** A chat server that honours n and max_tokens: each choice is 20 tokens, cut at max_tokens. */
const chatServer =
  (delayMs = 0) =>
  (path: string, body: Record<string, unknown>): Action => {
    if (path !== "/v1/chat/completions") return { status: 404, body: { error: { message: `no ${path}` } } }
    const n = typeof body.n === "number" ? body.n : 1
    const cap = typeof body.max_tokens === "number" ? body.max_tokens : 20
    const tokens = Math.min(20, cap)
    const prompt = Math.ceil(JSON.stringify(body.messages).length / 4)
    return {
      delayMs,
      body: {
        choices: Array.from({ length: n }, (_, index) => ({
          index,
          message: {
            role: "assistant",
            content: tokens < 20 ? "Six times seven" : "Six times seven is $\\boxed{42}$."
          },
          finish_reason: tokens < 20 ? "length" : "stop"
        })),
        usage: { prompt_tokens: prompt, completion_tokens: n * tokens }
      }
    }
  }

const openai = (server: string) => ["--backend", "openai", "--base-url", `${server}/v1`, "--model", "my-model"]
const QUESTION = ["--question", "What is $6 \\cdot 7$?"]

interface JsonRun {
  readonly answer?: string
  readonly exhausted: boolean
  readonly usage: Usage.Usage
}

describe("budgets against an OpenAI-compatible server", () => {
  it.effect("calls = requests sent: a server without n gets exactly one request under calls=1", () =>
    Effect.gen(function* () {
      server.handle(chatServer())
      server.requests.length = 0
      const r = yield* cli([
        "run",
        "majority",
        ...openai(server.url),
        "--server",
        "llama.cpp",
        ...QUESTION,
        "--budget",
        "calls=1",
        "--json"
      ])
      assert.strictEqual(r.code, undefined, r.err)
      assert.strictEqual(server.requests.length, 1)
      const json = JSON.parse(r.out) as JsonRun
      assert.strictEqual(json.usage.calls, 1)
      assert.strictEqual(json.usage.sequences, 1)
      assert.strictEqual(json.answer, "42")
      assert.isTrue(json.exhausted)
      // unlimited, the same server gets one request per sample: 16 calls on the ledger
      server.requests.length = 0
      const free = JSON.parse(
        (yield* cli(["run", "majority", ...openai(server.url), "--server", "llama.cpp", ...QUESTION, "--json"])).out
      ) as JsonRun
      assert.strictEqual(server.requests.length, 16)
      assert.strictEqual(free.usage.calls, 16)
    })
  )

  // real time: the client's timeout must fire
  it.live("a server that answers after the timeout: requests totalling at most 1,000 max_tokens go out", () =>
    Effect.gen(function* () {
      for (const server_ of ["vllm", "llama.cpp", "openai"]) {
        server.handle(chatServer(600))
        server.requests.length = 0
        const r = yield* cli([
          "run",
          "majority",
          ...openai(server.url),
          "--server",
          server_,
          ...QUESTION,
          "--budget",
          "outputTokens=1000",
          "--backend-config",
          `${import.meta.dirname}/../fixtures/openai/timeout-300ms.json`,
          "--json"
        ])
        const asked = server.requests
          .filter((q) => q.path.endsWith("/completions"))
          .reduce((t, q) => t + Number(q.body.max_tokens ?? 0) * Number(q.body.n ?? 1), 0)
        assert.isAtLeast(server.requests.length, 1, server_)
        assert.isAtMost(asked, 1000, `${server_}: max_tokens asked for in all (${r.err})`)
        if (r.code === undefined) {
          const json = JSON.parse(r.out) as JsonRun
          // each timed-out attempt was charged what it asked for: what a provider may bill
          assert.isAtMost(json.usage.outputTokens, 1000)
          assert.strictEqual(json.usage.outputTokens, asked)
        }
      }
      // the slow replies arrive after the run: let them go before the next test
      yield* Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 700)))
    }).pipe(Effect.provide(TestConsole.layer))
  )

  it.effect("usd and input-token limits bind on a server without /tokenize, with prices set", () =>
    Effect.gen(function* () {
      server.handle(chatServer())
      const argv = [
        "run",
        "majority",
        ...openai(server.url),
        "--server",
        "openai",
        ...QUESTION,
        "--price-input",
        "1",
        "--price-output",
        "4",
        "--json"
      ]
      const first = yield* cli(argv)
      assert.strictEqual(first.code, undefined, first.err)
      const free = JSON.parse(first.out) as JsonRun
      assert.isAbove(free.usage.usd, 0)
      const usd = free.usage.usd / 2
      const inputTokens = free.usage.inputTokens * 10
      server.requests.length = 0
      const r = yield* cli([...argv, "--budget", `usd=${usd},inputTokens=${inputTokens}`])
      assert.strictEqual(r.code, undefined, r.err)
      const json = JSON.parse(r.out) as JsonRun
      assert.isTrue(json.exhausted)
      assert.isAtMost(json.usage.usd, usd)
      assert.isAtMost(json.usage.inputTokens, inputTokens)
      assert.isAbove(json.usage.usd, 0)
      assert.strictEqual(json.answer, "42")
      // a prompt is reserved by its UTF-8 bytes before the call: a limit below that bound pays for nothing
      const tight = yield* cli([...argv, "--budget", `inputTokens=${free.usage.inputTokens}`])
      assert.strictEqual(tight.code, 2)
      assert.include(tight.err, "budget.inputTokens: the first call needs")
      // a model in mull's price table needs no price flags
      const table = yield* cli([
        "run",
        "majority",
        "--backend",
        "openai",
        "--base-url",
        `${server.url}/v1`,
        "--model",
        "gpt-4o-mini",
        "--server",
        "openai",
        ...QUESTION,
        "--budget",
        "usd=0.0001",
        "--json"
      ])
      assert.strictEqual(table.code, undefined, table.err)
      assert.isAtMost((JSON.parse(table.out) as JsonRun).usage.usd, 0.0001)
    })
  )
})
