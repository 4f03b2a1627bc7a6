/**
 * Soak: `mull serve` under sustained concurrent load with injected backend faults (10% of attempts:
 * 429 with retry-after, 500, connection reset, timeouts, latency spikes, malformed output, bad
 * verifier scores). Every response is well-formed — a chat completion, or an OpenAI-style error
 * (502 naming the backend's error) — reservations outstanding return to 0, and the heap returns to
 * its baseline after a GC. Prints requests, failures by kind, p50/p99 latency and heap before/after.
 * `MULL_SOAK_REQUESTS` (default 800; 2000 for the full soak) and `MULL_SOAK_CONCURRENCY` (default 100) size it.
 */
import { setFlagsFromString } from "node:v8"
import { runInNewContext } from "node:vm"
import { assert, describe, it } from "@effect/vitest"
import { chat, metric, post, simulated, start } from "./helpers.ts"

const REQUESTS = Number(process.env.MULL_SOAK_REQUESTS ?? 800)
const CONCURRENCY = Number(process.env.MULL_SOAK_CONCURRENCY ?? 100)

setFlagsFromString("--expose-gc")
const gc = runInNewContext("gc") as () => void

const heapAfterGc = (): number => {
  for (let i = 0; i < 3; i++) gc()
  return process.memoryUsage().heapUsed
}

const quantile = (sorted: ReadonlyArray<number>, q: number): number =>
  sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN

const MODELS = [
  "mull/weighted-best-of-n",
  "mull/beam-search",
  "mull/majority",
  "mull/dvts",
  "mull/sequential-revisions"
]

describe("mull serve soak", () => {
  it(`${REQUESTS} requests at concurrency ${CONCURRENCY} with 10% injected faults`, { timeout: 600_000 }, async () => {
    const server = await start(
      // every request comes from one client: its slots must cover the soak's concurrency
      { maxChoices: 2, admission: { perTenantConcurrent: CONCURRENCY, perTenantQueued: CONCURRENCY } },
      {
        backend: simulated({
          fixedMs: 2,
          faults: {
            schedule: {
              seed: 7,
              generator: {
                rateLimited: 0.03,
                unavailable: 0.02,
                reset: 0.01,
                timeout: 0.01,
                spike: 0.02,
                malformed: 0.01
              },
              verifier: {
                rateLimited: 0.03,
                unavailable: 0.02,
                timeout: 0.01,
                spike: 0.02,
                nan: 0.01,
                outOfRange: 0.01
              },
              retryAfterMs: 5,
              timeoutMs: 20,
              spikeMs: 50
            },
            retry: { retries: 2, baseDelayMs: 5, maxDelayMs: 50 }
          }
        })
      }
    )
    try {
      // warm up (JIT, lazily loaded modules), then take the baseline
      await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          post(
            `${server.url}/v1/chat/completions`,
            chat(MODELS[i % 5] ?? "", "What is $2+2$?", { params: { N: 4 }, seed: i })
          ).then((r) => r.text())
        )
      )
      const before = heapAfterGc()
      const outcomes: Array<{ status: number; kind: string; ms: number }> = []
      let next = 0
      const t0 = performance.now()
      const worker = async () => {
        while (next < REQUESTS) {
          const i = next++
          const started = performance.now()
          const stream = i % 10 === 0
          const res = await post(
            `${server.url}/v1/chat/completions`,
            chat(
              MODELS[i % MODELS.length] ?? "",
              `What is $${i} + 1$?`,
              { params: { N: 4 + (i % 3) * 2 }, seed: i },
              stream ? { stream: true } : { n: 1 + (i % 2) }
            )
          )
          const text = await res.text()
          let kind: string
          if (stream) {
            // a stream is well-formed when it ends with [DONE], after the answer or an error event
            assert.strictEqual(res.status, 200)
            assert.isTrue(text.trimEnd().endsWith("data: [DONE]"), "a stream ends with [DONE]")
            const errorEvent = text.split("\n\n").find((e) => e.startsWith('data: {"error"'))
            kind =
              errorEvent === undefined
                ? "ok (stream)"
                : `error event: ${(JSON.parse(errorEvent.slice(6)) as { error: { message: string } }).error.message.match(/\((\w+)\)/u)?.[1] ?? "?"}`
          } else {
            const body = JSON.parse(text) as {
              choices?: Array<{ message: { content: string } }>
              error?: { message: string }
            }
            if (res.status === 200) {
              assert.isAbove(body.choices?.length ?? 0, 0)
              kind = "ok"
            } else {
              assert.strictEqual(res.status, 502, text)
              assert.isNotEmpty(body.error?.message ?? "")
              kind = `502: ${body.error?.message.match(/\((\w+)\)/u)?.[1] ?? "?"}`
            }
          }
          outcomes.push({ status: res.status, kind, ms: performance.now() - started })
        }
      }
      await Promise.all(Array.from({ length: CONCURRENCY }, worker))
      const wall = (performance.now() - t0) / 1000
      assert.strictEqual(outcomes.length, REQUESTS)
      assert.strictEqual(await metric(server.url, "mull_reservations_outstanding"), 0)
      assert.strictEqual(await metric(server.url, "mull_runs_in_flight"), 0)
      const after = heapAfterGc()
      const kinds = new Map<string, number>()
      for (const o of outcomes) kinds.set(o.kind, (kinds.get(o.kind) ?? 0) + 1)
      const ms = outcomes.map((o) => o.ms).sort((a, b) => a - b)
      const mib = (b: number) => (b / 2 ** 20).toFixed(1)
      console.log(
        [
          `soak: ${REQUESTS} requests at concurrency ${CONCURRENCY} in ${wall.toFixed(1)} s (${(REQUESTS / wall).toFixed(0)} req/s)`,
          `  outcomes: ${[...kinds]
            .sort((a, b) => b[1] - a[1])
            .map(([k, n]) => `${k} ${n}`)
            .join(", ")}`,
          `  latency p50 ${quantile(ms, 0.5).toFixed(0)} ms, p99 ${quantile(ms, 0.99).toFixed(0)} ms`,
          `  heap after GC: before ${mib(before)} MiB, after ${mib(after)} MiB`
        ].join("\n")
      )
      assert.isAbove(kinds.get("ok") ?? 0, REQUESTS / 2, "most requests succeed despite the faults (retries)")
      assert.isAtMost(after, before * 1.25 + 16 * 2 ** 20, "the heap returns to its baseline")
    } finally {
      await server.close()
    }
  })
})
