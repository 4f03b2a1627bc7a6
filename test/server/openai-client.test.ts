/**
 * The official `openai` npm client against `mull serve`, with no adaptation: a plain and a
 * streaming chat completion, reading the answer and `usage`.
 */
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import OpenAI from "openai"
import { type Started, start } from "./helpers.ts"

describe("the official openai client", () => {
  let server: Started
  let client: OpenAI
  beforeAll(async () => {
    server = await start({}, { token: "client-test-token" })
    client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: "client-test-token", maxRetries: 0 })
  })
  afterAll(() => server.close())

  it("lists the graphs as models", async () => {
    const ids: Array<string> = []
    for await (const m of client.models.list()) ids.push(m.id)
    assert.include(ids, "mull/beam-search")
  })

  it("reads the answer and usage of a plain completion", async () => {
    // mull's extension rides along as an extra body field
    const params = {
      model: "mull/weighted-best-of-n",
      messages: [{ role: "user" as const, content: "What is $6 \\cdot 7$?" }],
      mull: { params: { N: 8 } }
    }
    const completion = await client.chat.completions.create(params)
    assert.strictEqual(completion.object, "chat.completion")
    assert.include(completion.choices[0]?.message.content ?? "", "\\boxed")
    assert.isAbove(completion.usage?.total_tokens ?? 0, 0)
    assert.strictEqual(
      completion.usage?.total_tokens,
      (completion.usage?.prompt_tokens ?? 0) + (completion.usage?.completion_tokens ?? 0)
    )
  })

  it("streams: the answer arrives in deltas and usage in the last chunk", async () => {
    const params = {
      model: "mull/beam-search",
      messages: [{ role: "user" as const, content: "What is $6 \\cdot 7$?" }],
      stream: true as const,
      stream_options: { include_usage: true },
      mull: { params: { N: 4 } }
    }
    const stream = await client.chat.completions.create(params)
    let content = ""
    let usage: OpenAI.CompletionUsage | undefined
    let finish: string | null = null
    let chunks = 0
    for await (const chunk of stream) {
      chunks++
      content += chunk.choices[0]?.delta?.content ?? ""
      finish = chunk.choices[0]?.finish_reason ?? finish
      if (chunk.usage) usage = chunk.usage
    }
    assert.isAbove(chunks, 10)
    assert.include(content, "\\boxed")
    assert.strictEqual(finish, "stop")
    assert.isAbove(usage?.completion_tokens ?? 0, 0)
  })

  it("surfaces errors as the client's typed errors", async () => {
    const bad = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: "wrong", maxRetries: 0 })
    const e = await bad.chat.completions
      .create({ model: "mull/best-of-n", messages: [{ role: "user", content: "hi" }] })
      .then(
        () => undefined,
        (err: unknown) => err
      )
    assert.instanceOf(e, OpenAI.AuthenticationError)
    const missing = await client.chat.completions
      .create({ model: "mull/nope", messages: [{ role: "user", content: "hi" }] })
      .then(
        () => undefined,
        (err: unknown) => err
      )
    assert.instanceOf(missing, OpenAI.NotFoundError)
  })
})
