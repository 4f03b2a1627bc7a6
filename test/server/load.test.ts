/**
 * Load on loopback: 200 concurrent chat completions with simulated latency all succeed, and
 * afterwards no reservation is outstanding. Prints p50/p99 latency. Stops by itself.
 */
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { chat, metric, post, type Started, simulated, start } from "./helpers.ts"

const CONCURRENT = Number(process.env.MULL_LOAD_REQUESTS ?? 200)

const quantile = (sorted: ReadonlyArray<number>, q: number): number =>
  sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN

describe("mull serve under load", () => {
  let server: Started
  beforeAll(async () => {
    server = await start({}, { backend: simulated({ fixedMs: 20 }) })
  })
  afterAll(() => server.close())

  it(`${CONCURRENT} concurrent chat completions all succeed; nothing stays reserved`, {
    timeout: 120_000
  }, async () => {
    const t0 = performance.now()
    const outcomes = await Promise.all(
      Array.from({ length: CONCURRENT }, async (_, i) => {
        const started = performance.now()
        const res = await post(
          `${server.url}/v1/chat/completions`,
          chat(i % 2 === 0 ? "mull/weighted-best-of-n" : "mull/beam-search", `What is $${i} + ${i}$?`, {
            params: { N: 4 },
            seed: i
          })
        )
        const body = (await res.json()) as {
          choices?: Array<{ message: { content: string } }>
          usage?: { total_tokens: number }
        }
        return { status: res.status, ms: performance.now() - started, body }
      })
    )
    const wall = performance.now() - t0
    const failed = outcomes.filter((o) => o.status !== 200)
    assert.deepStrictEqual(
      failed.map((o) => o.status),
      [],
      "every request succeeds"
    )
    for (const o of outcomes) {
      assert.include(o.body.choices?.[0]?.message.content ?? "", "boxed")
      assert.isAbove(o.body.usage?.total_tokens ?? 0, 0)
    }
    assert.strictEqual(await metric(server.url, "mull_reservations_outstanding"), 0)
    assert.strictEqual(await metric(server.url, "mull_runs_in_flight"), 0)
    const ms = outcomes.map((o) => o.ms).sort((a, b) => a - b)
    console.log(
      `load: ${CONCURRENT} concurrent requests in ${(wall / 1000).toFixed(2)} s; latency p50 ${quantile(ms, 0.5).toFixed(0)} ms, p99 ${quantile(ms, 0.99).toFixed(0)} ms, max ${(ms.at(-1) ?? 0).toFixed(0)} ms`
    )
  })
})
