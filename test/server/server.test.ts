/**
 * `mull serve` over real HTTP on loopback: chat completions through graphs, streaming, the graph
 * API, metrics, policy caps, traces, and every error with its exact status and message.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import * as NodePath from "node:path"
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { Effect, Stream } from "effect"
import { Sse } from "effect/encoding"
import { chat, eventually, metric, post, type Started, simulated, start } from "./helpers.ts"

const Q = "What is $6 \\cdot 7$?"

interface Chunk {
  readonly choices: ReadonlyArray<{
    readonly index: number
    readonly delta: { content?: string; role?: string }
    readonly finish_reason: string | null
  }>
  readonly usage?: { readonly prompt_tokens: number; readonly completion_tokens: number; readonly total_tokens: number }
  readonly mull?: {
    readonly event?: { readonly _tag: string }
    readonly exhausted?: boolean
    readonly usage?: Record<string, number>
  }
}

/** Parses a server-sent event stream with Effect's SSE decoder: the data of every event, in order. */
const sseData = (text: string): Promise<ReadonlyArray<string>> =>
  Effect.runPromise(
    Stream.make(text).pipe(
      Stream.pipeThroughChannel(Sse.decode()),
      Stream.map((e) => e.data),
      Stream.runCollect
    )
  ).then((c) => [...c])

describe("mull serve", () => {
  let server: Started
  let traces: string
  beforeAll(async () => {
    traces = mkdtempSync(NodePath.join(tmpdir(), "mull-traces-"))
    server = await start({
      traces,
      maxParams: { N: 64 },
      maxBudget: { sequences: 2000 },
      maxBodyBytes: 64 * 1024,
      aliases: { "math-small": { graph: "weighted-best-of-n", params: { N: 4 } } }
    })
  })
  afterAll(async () => {
    await server.close()
    rmSync(traces, { recursive: true, force: true })
  })

  it("answers a chat completion through mull/beam-search with the true usage", async () => {
    const res = await post(`${server.url}/v1/chat/completions`, chat("mull/beam-search", Q, { params: { N: 8 } }))
    assert.strictEqual(res.status, 200)
    const body = (await res.json()) as {
      object: string
      model: string
      choices: Array<{ message: { role: string; content: string }; finish_reason: string }>
      usage: { prompt_tokens: number; completion_tokens: number; total_tokens: number }
      mull: {
        strategy: string
        params: Record<string, number>
        usage: Record<string, number>
        ledger: Array<{ node: string; usage: Record<string, number> }>
        answers: Array<string | null>
        exhausted: boolean
      }
    }
    assert.strictEqual(body.object, "chat.completion")
    assert.strictEqual(body.model, "mull/beam-search")
    assert.strictEqual(body.choices.length, 1)
    assert.strictEqual(body.choices[0]?.message.role, "assistant")
    assert.include(body.choices[0]?.message.content ?? "", "\\boxed")
    assert.strictEqual(body.mull.strategy, "beam-search")
    assert.strictEqual(body.mull.params.N, 8)
    // usage is the sum over every internal call: generator input + verifier tokens, and output tokens
    const u = body.mull.usage
    assert.strictEqual(body.usage.prompt_tokens, (u.inputTokens ?? 0) + (u.verifierTokens ?? 0))
    assert.strictEqual(body.usage.completion_tokens, u.outputTokens)
    assert.strictEqual(body.usage.total_tokens, body.usage.prompt_tokens + body.usage.completion_tokens)
    const byNode = body.mull.ledger.reduce((a, e) => a + (e.usage.calls ?? 0), 0)
    assert.strictEqual(byNode, u.calls)
    assert.isAbove(u.calls ?? 0, 10)
    assert.isFalse(body.mull.exhausted)
  })

  it("streams progress and then the answer as chunks that end with [DONE]", async () => {
    const res = await post(
      `${server.url}/v1/chat/completions`,
      chat("mull/beam-search", Q, { params: { N: 4 } }, { stream: true })
    )
    assert.strictEqual(res.status, 200)
    assert.include(res.headers.get("content-type") ?? "", "text/event-stream")
    const data = await sseData(await res.text())
    assert.strictEqual(data.at(-1), "[DONE]")
    const chunks = data.slice(0, -1).map((d) => JSON.parse(d) as Chunk)
    assert.strictEqual(chunks[0]?.choices[0]?.delta.role, "assistant")
    const tags = new Set(chunks.flatMap((c) => (c.mull?.event === undefined ? [] : [c.mull.event._tag])))
    for (const t of [
      "RunStarted",
      "NodeEntered",
      "CandidateCreated",
      "CandidateScored",
      "Charged",
      "Selected",
      "RunFinished"
    ])
      assert.isTrue(tags.has(t), `progress has ${t}`)
    const content = chunks.flatMap((c) => c.choices.map((x) => x.delta.content ?? "")).join("")
    assert.include(content, "\\boxed")
    assert.isTrue(chunks.some((c) => c.choices[0]?.finish_reason === "stop"))
    const last = chunks.at(-1)
    assert.isDefined(last?.usage)
    assert.strictEqual(last?.usage?.completion_tokens, last?.mull?.usage?.outputTokens)
  })

  it("serves n choices from one budget", async () => {
    const res = await post(
      `${server.url}/v1/chat/completions`,
      chat("mull/best-of-n", Q, { params: { N: 4 }, budget: { sequences: 6 } }, { n: 2 })
    )
    const body = (await res.json()) as {
      choices: Array<unknown>
      mull: { usage: { sequences: number }; exhausted: boolean }
    }
    assert.strictEqual(body.choices.length, 2)
    assert.isAtMost(body.mull.usage.sequences, 6)
    assert.isTrue(body.mull.exhausted)
  })

  it("resolves aliases, and lists graphs and aliases as models", async () => {
    const res = await post(`${server.url}/v1/chat/completions`, chat("math-small", Q))
    const body = (await res.json()) as { mull: { strategy: string; params: Record<string, number> } }
    assert.strictEqual(body.mull.strategy, "weighted-best-of-n")
    assert.strictEqual(body.mull.params.N, 4)
    const models = (await (await fetch(`${server.url}/v1/models`)).json()) as { data: Array<{ id: string }> }
    const ids = models.data.map((m) => m.id)
    for (const id of ["mull/beam-search", "mull/passthrough", "math-small"]) assert.include(ids, id)
  })

  it("caps params and budget by server policy", async () => {
    const res = await post(
      `${server.url}/v1/chat/completions`,
      chat("mull/best-of-n", Q, { params: { N: 500 }, budget: { sequences: 1_000_000 } })
    )
    const body = (await res.json()) as {
      mull: { params: { N: number }; budget: { sequences: number }; usage: { sequences: number } }
    }
    assert.strictEqual(body.mull.params.N, 64)
    assert.strictEqual(body.mull.budget.sequences, 2000)
    assert.strictEqual(body.mull.usage.sequences, 64)
  })

  it("writes a trace when asked, served by id", async () => {
    const res = await post(
      `${server.url}/v1/chat/completions`,
      chat("mull/beam-search", Q, { params: { N: 4 }, trace: true })
    )
    const body = (await res.json()) as { id: string; mull: { trace: string } }
    assert.strictEqual(body.mull.trace, body.id)
    const trace = await fetch(`${server.url}/v1/traces/${body.id}`)
    assert.strictEqual(trace.status, 200)
    const lines = (await trace.text()).trim().split("\n")
    assert.strictEqual((JSON.parse(lines[0] ?? "{}") as { _tag: string })._tag, "RunStarted")
    assert.strictEqual((JSON.parse(lines.at(-1) ?? "{}") as { _tag: string })._tag, "RunFinished")
    const page = await fetch(`${server.url}/v1/traces/${body.id}/html`)
    assert.strictEqual(page.status, 200)
    assert.include(page.headers.get("content-type") ?? "", "text/html")
    const html = await page.text()
    assert.include(html, "<svg")
    assert.notMatch(html, /(src|href)="https?:/u, "self-contained: no network at view time")
  })

  it("validates and costs graphs", async () => {
    const ok = await post(`${server.url}/v1/graphs/validate`, { graph: "beam-search", params: { N: 16 } })
    assert.deepStrictEqual(await ok.json(), { valid: true, problems: [] })
    const bad = await post(`${server.url}/v1/graphs/validate`, {
      graph: {
        name: "x",
        description: "",
        root: { type: "sequence", nodes: [{ type: "sample", n: -1, until: "end" }] }
      }
    })
    const badBody = (await bad.json()) as { valid: boolean; problems: Array<string> }
    assert.isFalse(badBody.valid)
    assert.isTrue(
      badBody.problems.some((p) => p.startsWith("root.nodes.0.n")),
      badBody.problems.join("\n")
    )
    const cost = await post(`${server.url}/v1/graphs/cost`, { graph: "best-of-n", params: { N: 16 } })
    const costBody = (await cost.json()) as { bound: { sequences: number; calls: number } }
    assert.strictEqual(costBody.bound.sequences, 16)
    const path = await post(`${server.url}/v1/graphs/validate`, {
      graph: { name: "x", description: "", root: { type: "use", graph: "/etc/passwd" } }
    })
    const pathBody = (await path.json()) as { valid: boolean; problems: Array<string> }
    assert.isFalse(pathBody.valid)
    assert.match(pathBody.problems.join("\n"), /root\.graph/u)
  })

  it("serves health, an OpenAPI document and Prometheus metrics", async () => {
    assert.deepInclude(await (await fetch(`${server.url}/healthz`)).json(), { status: "ok" })
    const api = (await (await fetch(`${server.url}/openapi.json`)).json()) as {
      openapi: string
      paths: Record<string, unknown>
    }
    assert.strictEqual(api.openapi, "3.1.0")
    assert.containsAllKeys(api.paths, [
      "/v1/chat/completions",
      "/v1/models",
      "/v1/graphs/validate",
      "/v1/graphs/cost",
      "/metrics"
    ])
    const text = await (await fetch(`${server.url}/metrics`)).text()
    assert.match(text, /^mull_requests_total\{route="\/v1\/chat\/completions",status="200"\} \d+$/mu)
    assert.match(text, /^mull_request_duration_seconds_count\{route="\/v1\/chat\/completions"\} \d+$/mu)
    assert.match(text, /^mull_reservations_outstanding 0$/mu)
    assert.match(text, /^mull_backend_spent_total\{meter="output_tokens"\} \d+$/mu)
  })

  describe("errors: exact status and a clear message", () => {
    const expectError = async (res: Response, status: number, pattern: RegExp) => {
      assert.strictEqual(res.status, status)
      const body = (await res.json()) as { error: { message: string; type: string } }
      assert.match(body.error.message, pattern)
      return body
    }

    it("404 for an unknown model, listing the available ones", async () => {
      const body = await expectError(
        await post(`${server.url}/v1/chat/completions`, chat("mull/nope", Q)),
        404,
        /unknown model "mull\/nope"; available: .*mull\/beam-search/u
      )
      assert.strictEqual(body.error.type, "not_found_error")
    })

    it("404 for a model that names a path", async () => {
      await expectError(
        await post(`${server.url}/v1/chat/completions`, chat("mull/../../etc/passwd", Q)),
        404,
        /unknown model/u
      )
    })

    it("400 for a body that is not JSON", async () => {
      await expectError(await post(`${server.url}/v1/chat/completions`, "{not json"), 400, /not JSON/u)
    })

    it("400 naming the field of a malformed body", async () => {
      const body = await expectError(
        await post(`${server.url}/v1/chat/completions`, { model: "mull/best-of-n", messages: "hi" }),
        400,
        /messages/u
      )
      assert.strictEqual(body.error.type, "invalid_request_error")
      await expectError(
        await post(`${server.url}/v1/chat/completions`, chat("mull/best-of-n", Q, { budget: { sequencez: 3 } })),
        400,
        /mull\.budget\.sequencez/u
      )
    })

    it("400 for a question-less chat, too many choices, an undeclared param, a trace nobody keeps", async () => {
      await expectError(
        await post(`${server.url}/v1/chat/completions`, {
          model: "mull/best-of-n",
          messages: [{ role: "system", content: "x" }]
        }),
        400,
        /no user message/u
      )
      await expectError(
        await post(`${server.url}/v1/chat/completions`, chat("mull/best-of-n", Q, undefined, { n: 99 })),
        400,
        /n: at most 8/u
      )
      await expectError(
        await post(`${server.url}/v1/chat/completions`, chat("mull/best-of-n", Q, { params: { K: 3 } })),
        400,
        /params\.K/u
      )
      await expectError(
        await post(
          `${server.url}/v1/chat/completions`,
          chat("mull/best-of-n", Q, { params: { K: 3 } }, { stream: true })
        ),
        400,
        /params\.K/u
      )
    })

    it("413 for a body over the limit", async () => {
      await expectError(
        await post(`${server.url}/v1/chat/completions`, chat("mull/best-of-n", "x".repeat(100 * 1024))),
        413,
        /larger than the limit of 65536 bytes/u
      )
    })

    it("404 for an unknown route and an unknown trace", async () => {
      await expectError(await fetch(`${server.url}/v2/nothing`), 404, /no route GET/u)
      await expectError(await fetch(`${server.url}/v1/traces/..%2F..%2Fetc%2Fpasswd`), 404, /no trace/u)
    })
  })
})

describe("mull serve: policy and failures", () => {
  it("401 without the bearer token, 200 with it; health stays open", async () => {
    const server = await start({}, { token: "s3cret-token" })
    try {
      const none = await post(`${server.url}/v1/chat/completions`, chat("mull/best-of-n", Q))
      assert.strictEqual(none.status, 401)
      assert.match(((await none.json()) as { error: { message: string } }).error.message, /bearer token/u)
      const wrong = await post(`${server.url}/v1/chat/completions`, chat("mull/best-of-n", Q), {
        authorization: "Bearer nope"
      })
      assert.strictEqual(wrong.status, 401)
      assert.strictEqual((await fetch(`${server.url}/metrics`)).status, 401)
      assert.strictEqual((await fetch(`${server.url}/v1/models`)).status, 401)
      const ok = await post(`${server.url}/v1/chat/completions`, chat("mull/best-of-n", Q, { params: { N: 2 } }), {
        authorization: "Bearer s3cret-token"
      })
      assert.strictEqual(ok.status, 200)
      assert.strictEqual((await fetch(`${server.url}/healthz`)).status, 200)
    } finally {
      await server.close()
    }
  })

  it("400 when a trace is asked of a server that keeps none", async () => {
    const server = await start({})
    try {
      const res = await post(`${server.url}/v1/chat/completions`, chat("mull/best-of-n", Q, { trace: true }))
      assert.strictEqual(res.status, 400)
      assert.match(
        ((await res.json()) as { error: { message: string } }).error.message,
        /mull\.trace: this server keeps no traces/u
      )
    } finally {
      await server.close()
    }
  })

  it("502 with the backend's error when the backend fails; nothing stays reserved", async () => {
    const server = await start(
      {},
      { backend: simulated({ faults: { schedule: { seed: 1, generator: { unavailable: 1 } } } }) }
    )
    try {
      const res = await post(`${server.url}/v1/chat/completions`, chat("mull/best-of-n", Q))
      assert.strictEqual(res.status, 502)
      assert.match(
        ((await res.json()) as { error: { message: string } }).error.message,
        /simulated backend failed \(Unavailable\) during generate/u
      )
      assert.strictEqual(await metric(server.url, "mull_reservations_outstanding"), 0)
    } finally {
      await server.close()
    }
  })

  it("a client that disconnects mid-stream interrupts its run and releases its reservations", async () => {
    const server = await start({}, { backend: simulated({ fixedMs: 30 }) })
    try {
      const controller = new AbortController()
      const res = await fetch(`${server.url}/v1/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(chat("mull/beam-search", Q, { params: { N: 16 } }, { stream: true })),
        signal: controller.signal
      })
      const reader = res.body?.getReader()
      let seen = ""
      while (!seen.includes("Charged")) {
        const { value, done } = (await reader?.read()) ?? { done: true, value: undefined }
        if (done) break
        seen += new TextDecoder().decode(value)
      }
      assert.isAbove(await metric(server.url, "mull_runs_in_flight"), 0)
      controller.abort()
      await eventually(async () => (await metric(server.url, "mull_runs_in_flight")) === 0)
      assert.strictEqual(await metric(server.url, "mull_reservations_outstanding"), 0)
      const text = await (await fetch(`${server.url}/metrics`)).text()
      assert.match(text, /mull_runs_total\{outcome="interrupted"\} 1/u)
    } finally {
      await server.close()
    }
  })

  it("a client that gives up on a plain request interrupts its run too", async () => {
    const server = await start({}, { backend: simulated({ fixedMs: 30 }) })
    try {
      const controller = new AbortController()
      const pending = fetch(`${server.url}/v1/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(chat("mull/beam-search", Q, { params: { N: 16 } })),
        signal: controller.signal
      }).catch((e: unknown) => e)
      await eventually(async () => (await metric(server.url, "mull_reservations_outstanding")) > 0)
      controller.abort()
      assert.instanceOf(await pending, Error)
      await eventually(async () => (await metric(server.url, "mull_runs_in_flight")) === 0)
      assert.strictEqual(await metric(server.url, "mull_reservations_outstanding"), 0)
      assert.match(await (await fetch(`${server.url}/metrics`)).text(), /mull_runs_total\{outcome="interrupted"\} 1/u)
    } finally {
      await server.close()
    }
  })

  it("shutdown drains requests in flight", async () => {
    const server = await start({}, { backend: simulated({ fixedMs: 40 }) })
    const pending = post(`${server.url}/v1/chat/completions`, chat("mull/beam-search", Q, { params: { N: 4 } }))
    await eventually(async () => (await metric(server.url, "mull_runs_in_flight")) > 0)
    const closing = server.close()
    const res = await pending
    assert.strictEqual(res.status, 200)
    assert.include(
      ((await res.json()) as { choices: Array<{ message: { content: string } }> }).choices[0]?.message.content ?? "",
      "boxed"
    )
    await closing
  })
})
