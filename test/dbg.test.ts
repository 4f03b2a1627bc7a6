import { it } from "@effect/vitest"
import { openSocket } from "./server/attack.ts"
import { chat, metric, simulated, start } from "./server/helpers.ts"

it("dbg", async () => {
  const big = {
    calls: 1e7,
    sequences: 1e6,
    inputTokens: 1e11,
    outputTokens: 1e10,
    verifierCalls: 1e7,
    verifierTokens: 1e11
  }
  const server = await start(
    {
      timeouts: {
        headersMs: 1000,
        bodyMs: 1000,
        idleMs: 1000,
        maxConnections: 256,
        streamStallMs: 500,
        streamBuffer: 16
      },
      admission: { perTenantConcurrent: 32 },
      maxParams: { N: 4096 },
      maxBudget: big
    },
    { backend: simulated({ fixedMs: 2 }) }
  )
  const body = JSON.stringify(
    chat("mull/beam-search", "What is 2+2?", { params: { N: 1024, rounds: 40 } }, { stream: true })
  )
  const t0 = Date.now()
  const raws = await Promise.all(
    Array.from({ length: 20 }, async () => {
      const raw = await openSocket(server.url)
      raw.socket.write(
        `POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`
      )
      raw.socket.pause()
      return raw
    })
  )
  for (let i = 0; i < 60; i++) {
    await new Promise((r) => setTimeout(r, 1000))
    const d = await metric(server.url, "mull_streams_dropped_total")
    console.log(
      "T",
      Date.now() - t0,
      "inflight",
      await metric(server.url, "mull_runs_in_flight"),
      "dropped",
      d,
      "res",
      await metric(server.url, "mull_reservations_outstanding"),
      "adm",
      JSON.stringify(server.parts.admission.load()),
      "conn",
      server.parts.metrics.connectionsOpen.value
    )
    if (d >= 20) break
  }
  await server.close()
}, 120000)
