/**
 * Load on loopback, the acceptance of issue 17: 1,000 concurrent chat completions against a server
 * admitting 64 at once (queueing 96 per tenant, 128 in all). Every request gets, within its client timeout, a
 * well-formed answer: a 200 chat completion, or a 429/503 OpenAI-style error with `Retry-After`;
 * every admitted request completes; `/healthz` answers 200 throughout; afterwards nothing is
 * reserved. Prints the outcome counts and latency. Stops by itself.
 */
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { openSocket, parseRaw, type Raw, readAll, watchHealth } from "./attack.ts"
import { chat, metric, type Started, simulated, start } from "./helpers.ts"

const CONCURRENT = Number(process.env.MULL_LOAD_REQUESTS ?? 1000)
const CLIENT_TIMEOUT_MS = 60_000

const quantile = (sorted: ReadonlyArray<number>, q: number): number =>
  sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN

describe("mull serve under load", () => {
  let server: Started
  beforeAll(async () => {
    server = await start(
      {
        admission: {
          maxConcurrent: 64,
          maxQueued: 128,
          perTenantConcurrent: 64,
          perTenantQueued: 96,
          queueTimeoutMs: 20_000
        },
        timeouts: { maxConnections: 2048 }
      },
      { backend: simulated({ fixedMs: 20 }) }
    )
  })
  afterAll(() => server.close())

  it(`${CONCURRENT} concurrent requests, 64 at once: each a 200 or a 429/503 with Retry-After, in time`, {
    timeout: 180_000
  }, async () => {
    const watch = watchHealth(server.url, { everyMs: 200, timeoutMs: 10_000 })
    // connections first (in waves, as the kernel's accept queue takes them), then every request
    // written in one go: the server sees 1,000 requests at once, not as fast as a client makes them
    const sockets: Array<Raw> = []
    for (let i = 0; i < CONCURRENT; i += 200)
      sockets.push(
        ...(await Promise.all(Array.from({ length: Math.min(200, CONCURRENT - i) }, () => openSocket(server.url))))
      )
    const t0 = performance.now()
    const pending = sockets.map(async (raw, i) => {
      const body = JSON.stringify(
        chat(i % 2 === 0 ? "mull/weighted-best-of-n" : "mull/beam-search", `What is $${i} + ${i}$?`, {
          params: { N: 4 },
          seed: i
        })
      )
      raw.socket.write(
        `POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\ncontent-type: application/json\r\nconnection: close\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`
      )
      const r = await readAll(raw, CLIENT_TIMEOUT_MS)
      const ms = performance.now() - t0
      if (!r.closed)
        return { status: -1, retryAfter: null, body: { error: { message: "no reply in time", type: "client" } }, ms }
      const reply = parseRaw(r.text)
      const retry = /^retry-after: *(\S+)/imu.exec(reply.headers)?.[1] ?? null
      let parsed: { choices?: Array<{ message: { content: string } }>; error?: { message: string; type: string } }
      try {
        parsed = JSON.parse(reply.body) as typeof parsed
      } catch {
        parsed = { error: { message: `not JSON: ${reply.body.slice(0, 100)}`, type: "client" } }
      }
      return { status: reply.status, retryAfter: retry, body: parsed, ms }
    })
    const outcomes = await Promise.all(pending)
    const wall = performance.now() - t0
    const health = await watch.stop()
    const byStatus = new Map<number, number>()
    for (const o of outcomes) byStatus.set(o.status, (byStatus.get(o.status) ?? 0) + 1)
    for (const o of outcomes) {
      assert.include([200, 429, 503], o.status, JSON.stringify(o.body).slice(0, 300))
      assert.isAtMost(o.ms, CLIENT_TIMEOUT_MS)
      if (o.status === 200) assert.include(o.body.choices?.[0]?.message.content ?? "", "boxed")
      else {
        assert.isNotNull(o.retryAfter, "a refusal says when to retry")
        assert.isAtLeast(Number(o.retryAfter), 1)
        assert.isNotEmpty(o.body.error?.message ?? "")
      }
    }
    assert.isAtLeast(byStatus.get(200) ?? 0, 64, "at least the admitted ones complete")
    assert.isAbove(CONCURRENT - (byStatus.get(200) ?? 0), 0, "the limits were reached: some requests were refused")
    assert.deepStrictEqual(health.failures, [], "healthz failed under load")
    assert.strictEqual(await metric(server.url, "mull_reservations_outstanding"), 0)
    assert.strictEqual(await metric(server.url, "mull_runs_in_flight"), 0)
    const ok = outcomes
      .filter((o) => o.status === 200)
      .map((o) => o.ms)
      .sort((a, b) => a - b)
    const refused = outcomes
      .filter((o) => o.status !== 200)
      .map((o) => o.ms)
      .sort((a, b) => a - b)
    console.log(
      [
        `load: ${CONCURRENT} concurrent requests (64 admitted at once, 96 queued) in ${(wall / 1000).toFixed(1)} s: ${[...byStatus].map(([s, n]) => `${n}× ${s}`).join(", ")}`,
        `  completed: p50 ${quantile(ok, 0.5).toFixed(0)} ms, p99 ${quantile(ok, 0.99).toFixed(0)} ms; refused: p50 ${quantile(refused, 0.5).toFixed(0)} ms, max ${(refused.at(-1) ?? 0).toFixed(0)} ms`,
        `  /healthz: ${health.polls} polls, all 200, slowest ${health.slowestMs} ms`
      ].join("\n")
    )
  })
})
