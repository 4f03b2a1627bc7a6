/**
 * A free-text question through `mull serve` against a loopback OpenAI-format backend: the chat
 * request declares `mull.answer.kind: "free"`, the candidates' answers differ in words, and
 * `mull/majority` returns the answer the consistency judge chose (universal self-consistency),
 * with the judge's tokens in `usage` and its call on the verifier meters.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { backendLayer } from "../../src/backends/Registry.ts"
import { type Loopback, startLoopback } from "../openai/loopback.ts"
import { chat, post, type Started, start } from "./helpers.ts"

const ANSWERS = [
  "The capital of France is Paris.\n\nAnswer: Paris",
  "I recall Lyon.\n\nAnswer: Lyon",
  "It is the largest city.\n\nAnswer: The capital is Paris",
  "Answer: Marseille"
]
const JUDGE_PROMPT_TOKENS = 111
const JUDGE_OUTPUT_TOKENS = 17

let backend: Loopback
let server: Started
beforeAll(async () => {
  backend = await startLoopback()
  backend.handle((path, body) => {
    if (path !== "/v1/chat/completions") return { status: 404, body: { error: { message: `no ${path}` } } }
    const messages = body.messages as ReadonlyArray<{ readonly content: string }>
    const last = messages.at(-1)?.content ?? ""
    if (last.startsWith("I have generated the following responses"))
      return {
        body: {
          choices: [
            {
              index: 0,
              message: {
                role: "assistant",
                content: "The most consistent response is Response 3.\nAgreeing: 1, 3"
              },
              finish_reason: "stop"
            }
          ],
          usage: { prompt_tokens: JUDGE_PROMPT_TOKENS, completion_tokens: JUDGE_OUTPUT_TOKENS }
        }
      }
    const n = typeof body.n === "number" ? body.n : 1
    return {
      body: {
        choices: Array.from({ length: n }, (_, index) => ({
          index,
          message: { role: "assistant", content: ANSWERS[index % ANSWERS.length] },
          finish_reason: "stop"
        })),
        usage: { prompt_tokens: 40, completion_tokens: 10 * n }
      }
    }
  })
  server = await start(
    {},
    { backend: backendLayer("openai", { baseUrl: `${backend.url}/v1`, model: "m", server: "vllm", timeoutMs: 5000 }) }
  )
})
afterAll(async () => {
  await server.close()
  await backend.close()
})

interface Reply {
  readonly choices: ReadonlyArray<{ readonly message: { readonly content: string } }>
  readonly usage: { readonly prompt_tokens: number; readonly completion_tokens: number }
  readonly mull: {
    readonly answers: ReadonlyArray<string | null>
    readonly usage: { readonly verifierCalls: number; readonly verifierTokens: number; readonly calls: number }
    readonly ledger: ReadonlyArray<{ readonly node: string; readonly usage: { readonly verifierTokens: number } }>
  }
}

describe("free text through mull serve", () => {
  it("mull/majority returns the judge-chosen answer, the judge's tokens in usage", async () => {
    const before = backend.requests.length
    const res = await post(
      `${server.url}/v1/chat/completions`,
      chat("mull/majority", "What is the capital of France?", { params: { N: 4 }, answer: { kind: "free" } })
    )
    expect(res.status).toBe(200)
    const reply = (await res.json()) as Reply
    // the judge chose response 3 (and 1 agrees): its answer, not the first of four one-vote answers
    expect(reply.mull.answers).toEqual(["The capital is Paris"])
    expect(reply.choices[0]?.message.content).toContain("Answer: The capital is Paris")
    expect(reply.mull.usage.verifierCalls).toBe(1)
    expect(reply.mull.usage.verifierTokens).toBe(JUDGE_PROMPT_TOKENS + JUDGE_OUTPUT_TOKENS)
    expect(reply.usage.prompt_tokens).toBe(40 + JUDGE_PROMPT_TOKENS + JUDGE_OUTPUT_TOKENS)
    expect(reply.mull.ledger.find((e) => e.usage.verifierTokens > 0)?.node).toMatch(/^root\.nodes\.\d+$/u)
    // the judge read the four answers, numbered, with the question
    const judged = backend.requests.slice(before).find((r) => JSON.stringify(r.body).includes("most consistent"))
    const prompt = JSON.stringify(judged?.body)
    expect(prompt).toContain("What is the capital of France?")
    expect(prompt).toContain("Response 4: Marseille")
    // the candidates were asked for a free-text answer line, not a box
    const generation = backend.requests.slice(before).find((r) => !JSON.stringify(r.body).includes("most consistent"))
    expect(JSON.stringify(generation?.body)).toContain("Finish with a line")
    expect(JSON.stringify(generation?.body)).not.toContain("boxed")
  })

  it("without the answer kind the question is math: no judge, no verifier call", async () => {
    const res = await post(
      `${server.url}/v1/chat/completions`,
      chat("mull/majority", "What is the capital of France?", { params: { N: 4 } })
    )
    const reply = (await res.json()) as Reply
    expect(reply.mull.usage.verifierCalls).toBe(0)
  })

  it("a multiple-choice request groups by letter", async () => {
    const res = await post(
      `${server.url}/v1/chat/completions`,
      chat("mull/majority", "Which city is the capital of France?", {
        params: { N: 4 },
        answer: { kind: "choice", options: ["Lyon", "Paris", "Marseille"] }
      })
    )
    const reply = (await res.json()) as Reply
    // the answers read as letters by option text: Paris B, Lyon A, Marseille C ("The capital is Paris"
    // names no option); one vote each, the first seen wins, as letters and not as words
    expect(reply.mull.answers).toEqual(["B"])
    expect(reply.mull.usage.verifierCalls).toBe(0)
  })
})
