/**
 * Key leaks (issue 17): an OpenAI-compatible server that echoes the API key it rejected — at the
 * point where a message is cut to length, inside a JSON string (so a key with `"` or `\` is
 * escaped), in a reply that is not JSON, in a reply of the wrong shape — and `mull serve` in front
 * of it. No 502 body carries six consecutive characters of the key, in any form.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { Layer } from "effect"
import { backendLayer } from "../../src/backends/Registry.ts"
import { redact, serverMessage } from "../../src/services/HttpErrors.ts"
import { type Loopback, startLoopback } from "../openai/loopback.ts"
import { chat, metric, post, type Started, start } from "./helpers.ts"

/** 37 characters, with a quote and a backslash. */
const KEY = 'sk-Zq"7\\Wv9Kp2Lx8Rt4Nb6Jc3Hd5Fg1Ms0Yu'

/** Every run of six characters of the key, as is and JSON-escaped. */
const fragments = (key: string): ReadonlyArray<string> => {
  const out = new Set<string>()
  for (const form of [key, JSON.stringify(key).slice(1, -1)])
    for (let i = 0; i + 6 <= form.length; i++) out.add(form.slice(i, i + 6))
  return [...out]
}

const leaks = (text: string): ReadonlyArray<string> => fragments(KEY).filter((f) => text.includes(f))

describe("redaction before truncation (pure)", () => {
  it("a key straddling the 500-character cut leaves no part of itself", () => {
    for (const at of [480, 490, 495, 499, 500]) {
      const m = serverMessage(JSON.stringify({ error: { message: `${"x".repeat(at)}${KEY} rejected` } }), KEY)
      assert.deepStrictEqual(leaks(m), [], `key at ${at}`)
    }
  })

  it("a key with a quote and a backslash, echoed inside JSON, is found in its escaped form", () => {
    const body = JSON.stringify({ error: `Incorrect API key provided: ${KEY}` })
    assert.include(body, JSON.stringify(KEY).slice(1, -1))
    assert.deepStrictEqual(leaks(redact(body, KEY)), [])
    assert.deepStrictEqual(leaks(serverMessage(body, KEY)), [])
  })
})

describe("no part of the key reaches a client through mull serve", () => {
  let upstream: Loopback
  let server: Started
  let traces: string
  beforeAll(async () => {
    upstream = await startLoopback()
    const backend = backendLayer("openai", {
      baseUrl: `${upstream.url}/v1`,
      model: "m",
      apiKey: KEY,
      timeoutMs: 2000,
      retry: { retries: 0 },
      tokenize: false
    })
    traces = mkdtempSync(join(tmpdir(), "mull-redaction-"))
    server = await start({ traces }, { backend: Layer.orDie(backend) })
  })
  afterAll(async () => {
    await server.close()
    await upstream.close()
    rmSync(traces, { recursive: true, force: true })
  })

  const cases: ReadonlyArray<readonly [string, () => ReturnType<Parameters<Loopback["handle"]>[0]>]> = [
    [
      "401 echoing the key at the cut",
      () => ({ status: 401, body: { error: { message: `${"x".repeat(490)}${KEY}` } } })
    ],
    ["401 echoing the key at 480", () => ({ status: 401, body: { error: { message: `${"x".repeat(480)}${KEY}` } } })],
    [
      "401 with the key inside a JSON string",
      () => ({ status: 401, body: { error: `Incorrect API key provided: ${KEY}` } })
    ],
    ["500, not JSON, the key at the 120 cut", () => ({ status: 500, raw: `${"y".repeat(100)}${KEY} upstream error` })],
    ["200, not JSON, the key at the 120 cut", () => ({ status: 200, raw: `${"y".repeat(110)}${KEY}` })],
    [
      "200 of the wrong shape quoting the key",
      () => ({ status: 200, body: { choices: [{ message: KEY, index: KEY }] } })
    ]
  ]

  for (const [name, action] of cases)
    it(name, async () => {
      upstream.handle(action)
      const res = await post(
        `${server.url}/v1/chat/completions`,
        chat("mull/passthrough", "Once upon a time", { trace: true })
      )
      const text = await res.text()
      assert.strictEqual(res.status, 502, text)
      assert.match(text, /the openai backend failed/u)
      assert.deepStrictEqual(leaks(text), [], text)
      assert.strictEqual(await metric(server.url, "mull_reservations_outstanding"), 0)
      // the other places a request leaves text: its trace (which today records no error text: this
      // guards against that changing) and the metrics
      const written = readdirSync(traces).map((f) => readFileSync(join(traces, f), "utf8"))
      assert.isNotEmpty(written, "the failed request's trace was written")
      for (const trace of written) assert.deepStrictEqual(leaks(trace), [], trace.slice(0, 500))
      assert.deepStrictEqual(leaks(await (await fetch(`${server.url}/metrics`)).text()), [])
    })
})
