/**
 * One store, many processes (issue 17, item 7): the results store leases work — a problem is
 * claimed before it runs, the claim is renewed while it runs and expires (or is taken over at once
 * when its holder's process is gone) — so two `mull eval` processes on one store share a sweep.
 * Counted at the backend (a loopback OpenAI-compatible server): two concurrent processes make
 * exactly as many requests, for exactly as many sequences, as one process alone, and store the
 * same rows.
 */
import { spawn } from "node:child_process"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { createServer, type Server } from "node:http"
import type { AddressInfo } from "node:net"
import { hostname, tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { claimOwner, isAbandoned, parseOwner } from "../../src/eval/Claims.ts"
import * as Store from "../../src/eval/Store.ts"
import { packageRoot } from "../../src/paths.ts"

const withStore = <A, E>(path: string, f: (store: Store.StoreShape) => Effect.Effect<A, E>) =>
  Effect.runPromise(Effect.scoped(Effect.flatMap(Store.open(path), f)))

describe("claim owners", () => {
  it("name host, process and thread, and a dead local process's claims are abandoned", () => {
    const me = claimOwner()
    assert.deepStrictEqual(parseOwner(me), { host: hostname(), pid: process.pid, thread: 0 })
    assert.isFalse(isAbandoned(me), "this process is alive")
    const other = `mull/${hostname()}/4242/0/ab`
    assert.isTrue(isAbandoned(other, () => false))
    assert.isFalse(isAbandoned(other, () => true))
    // another host's process cannot be checked from here: its claim expires instead
    assert.isFalse(isAbandoned("mull/elsewhere/4242/0/ab", () => false))
    assert.isFalse(isAbandoned("someone", () => false))
  })
})

describe("claims in the SQLite store", () => {
  it("are exclusive until released, expired or abandoned; renewals keep them", async () => {
    const dir = mkdtempSync(join(tmpdir(), "mull-claims-"))
    try {
      const path = join(dir, "c.db")
      const never = () => false
      const steps = await withStore(path, (st) =>
        Effect.gen(function* () {
          const out: Array<boolean> = []
          out.push(yield* st.claim("p1", "a", 10_000, never)) // free → a
          out.push(yield* st.claim("p1", "b", 10_000, never)) // held by a
          out.push(yield* st.claim("p1", "a", 10_000, never)) // a again: its own
          out.push(yield* st.claim("p1", "b", 10_000, (h) => h === "a")) // a is dead → b
          yield* st.releaseClaim("p1", "a") // not a's any more: no effect
          out.push(yield* st.claim("p1", "c", 10_000, never)) // still b's
          yield* st.releaseClaim("p1", "b")
          out.push(yield* st.claim("p1", "c", 40, never)) // released → c, for 40 ms
          yield* Effect.sleep(20)
          yield* st.renewClaims("c", 40)
          yield* Effect.sleep(30)
          out.push(yield* st.claim("p1", "d", 40, never)) // renewed: still c's
          yield* Effect.sleep(60)
          out.push(yield* st.claim("p1", "d", 40, never)) // expired → d
          return out
        })
      )
      assert.deepStrictEqual(steps, [true, false, true, true, false, true, false, true])
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})

/** A dataset of questions whose answer is their index. */
const PROBLEMS = 12
const datasetLines = Array.from({ length: PROBLEMS }, (_, i) =>
  JSON.stringify({ id: `q${i}`, question: `What is ${i} + 0?`, answer: String(i) })
).join("\n")

/**
 * The backend: an OpenAI-compatible chat endpoint on loopback that counts requests and sequences.
 * Answers are deterministic in the request. It holds its first replies until 8 requests wait at
 * once (both processes' 2 workers × 2 problems in flight) or 30 s pass, so the two processes
 * really run side by side whatever their start-up times.
 */
let server: Server
let url = ""
const requests = { count: 0, sequences: 0 }
let gateOpen = false
let waiting: Array<() => void> = []
const openGate = () => {
  gateOpen = true
  for (const release of waiting) release()
  waiting = []
}

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Array<Buffer> = []
    req.on("data", (c: Buffer) => chunks.push(c))
    req.on("end", () => {
      const body = JSON.parse(Buffer.concat(chunks).toString("utf8") || "{}") as Record<string, unknown>
      const n = typeof body.n === "number" ? body.n : 1
      requests.count++
      requests.sequences += n
      const messages = (body.messages ?? []) as ReadonlyArray<{ content?: unknown }>
      const question = String(messages.at(-1)?.content ?? "")
      const k = Number(/What is (\d+)/u.exec(question)?.[1] ?? 0)
      const seed = typeof body.seed === "number" ? body.seed : 0
      const reply = JSON.stringify({
        choices: Array.from({ length: n }, (_, index) => ({
          index,
          message: { role: "assistant", content: `So $\\boxed{${(seed + index) % 3 === 0 ? k + 1 : k}}$.` },
          finish_reason: "stop"
        })),
        usage: { prompt_tokens: 20, completion_tokens: 6 * n }
      })
      const send = () =>
        setTimeout(() => {
          res.writeHead(req.url === "/v1/chat/completions" ? 200 : 404, { "content-type": "application/json" })
          res.end(reply)
        }, 40)
      if (gateOpen) send()
      else {
        waiting.push(send)
        if (waiting.length >= 8) openGate()
      }
    })
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`
})
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())))

const evalProcess = (dir: string, store: string) =>
  new Promise<{ code: number | null; out: string; err: string }>((resolve) => {
    const child = spawn(
      process.execPath,
      [
        "src/cli/main.ts",
        "eval",
        "--sweep",
        join(dir, "sweep.json"),
        "--store",
        store,
        "--workers",
        "2",
        "--base-url",
        url,
        "--model",
        "m"
      ],
      { cwd: packageRoot, stdio: ["ignore", "pipe", "pipe"] }
    )
    let out = ""
    let err = ""
    child.stdout.on("data", (d: Buffer) => {
      out += d.toString()
    })
    child.stderr.on("data", (d: Buffer) => {
      err += d.toString()
    })
    child.on("exit", (code) => resolve({ code, out, err }))
  })

/** Every run record, without when it was written or how long it took. */
const rows = async (store: string) =>
  (await withStore(store, (st) => st.runs("shared")))
    .map((r) =>
      JSON.stringify({ ...r, usage: { ...r.usage, wallMs: 0 }, backendUsage: { ...r.backendUsage, wallMs: 0 } })
    )
    .sort()

describe("two `mull eval` processes on one store", () => {
  it("make exactly as many backend requests as one, and store the same rows once", { timeout: 240_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), "mull-shared-"))
    try {
      writeFileSync(join(dir, "problems.jsonl"), datasetLines)
      writeFileSync(
        join(dir, "sweep.json"),
        JSON.stringify({
          name: "shared",
          dataset: {
            name: "jsonl",
            path: join(dir, "problems.jsonl"),
            mapping: { id: "id", question: "question", gold: "answer" }
          },
          backend: { name: "openai" },
          strategies: [{ label: "majority", graph: "majority", params: { N: "B" } }],
          budgets: [2, 4, 8],
          seeds: [0, 1, 2],
          concurrency: 2
        })
      )
      const alone = join(dir, "alone.db")
      openGate()
      const one = await evalProcess(dir, alone)
      assert.strictEqual(one.code, 0, one.err)
      const single = { ...requests }
      assert.isAbove(single.count, 0)
      requests.count = 0
      requests.sequences = 0

      const shared = join(dir, "shared.db")
      gateOpen = false
      const gate = setTimeout(openGate, 30_000)
      const [a, b] = await Promise.all([evalProcess(dir, shared), evalProcess(dir, shared)])
      clearTimeout(gate)
      assert.strictEqual(a?.code, 0, a?.err)
      assert.strictEqual(b?.code, 0, b?.err)
      assert.deepStrictEqual(requests, single, "the backend saw what one process alone sends")
      const expected = await rows(alone)
      assert.strictEqual(expected.length, PROBLEMS * 3 * 3)
      assert.deepStrictEqual(await rows(shared), expected)
      // both ran part of it, and printed the whole sweep's tables
      for (const p of [a, b]) {
        assert.match(p?.out ?? "", /sweep shared: [1-9]\d* runs now, [1-9]\d* by another process/u)
        assert.include(p?.out ?? "", "pass@N")
      }
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
