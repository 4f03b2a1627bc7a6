/**
 * Traces under attack and at their limits (issue 17): an unwritable trace folder never changes a
 * reply (the failure is counted and the stream still ends with `[DONE]`), a trace stops at its size
 * limit with a `TraceTruncated` line, retention deletes the oldest, and a request with `n ≥ 2`
 * renders one viewer page per choice.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import * as NodePath from "node:path"
import * as NodeServices from "@effect/platform-node/NodeServices"
import { afterAll, assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { TestConsole } from "effect/testing"
import { runCli } from "../../src/cli/main.ts"
import { splitRuns } from "../../src/trace/TraceEvent.ts"
import { chat, metric, post, start } from "./helpers.ts"

const Q = "What is $6 \\cdot 7$?"
const dirs: Array<string> = []
const tempDir = () => {
  const d = mkdtempSync(NodePath.join(tmpdir(), "mull-traces-"))
  dirs.push(d)
  return d
}
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true })
})

describe("traces", () => {
  it("an unwritable trace folder: the plain reply is a 200, the stream ends with [DONE], the failure is counted", async () => {
    const parent = tempDir()
    // a file where the folder should be: mkdir fails (ENOTDIR) even for root
    writeFileSync(NodePath.join(parent, "file"), "")
    const server = await start({ traces: NodePath.join(parent, "file", "traces") })
    try {
      const plain = await post(
        `${server.url}/v1/chat/completions`,
        chat("mull/best-of-n", Q, { params: { N: 2 }, trace: true })
      )
      assert.strictEqual(plain.status, 200)
      assert.include(
        ((await plain.json()) as { choices: Array<{ message: { content: string } }> }).choices[0]?.message.content ??
          "",
        "boxed"
      )
      const stream = await post(
        `${server.url}/v1/chat/completions`,
        chat("mull/best-of-n", Q, { params: { N: 2 }, trace: true }, { stream: true })
      )
      assert.strictEqual(stream.status, 200)
      assert.isTrue((await stream.text()).trimEnd().endsWith("data: [DONE]"))
      assert.strictEqual(await metric(server.url, "mull_trace_write_failures_total"), 2)
      assert.strictEqual(await metric(server.url, "mull_reservations_outstanding"), 0)
    } finally {
      await server.close()
    }
  })

  it("a trace stops at its size limit with a TraceTruncated line; retention keeps the newest", async () => {
    const dir = tempDir()
    const server = await start({ traces: dir, traceLimits: { maxBytes: 20_000, maxFiles: 2 } })
    try {
      const ids: Array<string> = []
      for (let i = 0; i < 4; i++) {
        const res = await post(
          `${server.url}/v1/chat/completions`,
          chat("mull/beam-search", Q, { params: { N: 16 }, trace: true, seed: i })
        )
        ids.push(((await res.json()) as { id: string }).id)
      }
      const files = readdirSync(dir).filter((f) => f.endsWith(".jsonl"))
      assert.strictEqual(files.length, 2, files.join(", "))
      assert.sameMembers(
        files,
        ids.slice(2).map((id) => `${id}.jsonl`)
      )
      const last = NodePath.join(dir, `${ids[3]}.jsonl`)
      assert.isAtMost(statSync(last).size, 20_000 + 200)
      const lines = (await (await fetch(`${server.url}/v1/traces/${ids[3]}`)).text()).trim().split("\n")
      assert.match(lines.at(-1) ?? "", /"_tag":"TraceTruncated"/u)
      // a truncated trace still renders
      assert.strictEqual((await fetch(`${server.url}/v1/traces/${ids[3]}/html`)).status, 200)
      assert.strictEqual((await fetch(`${server.url}/v1/traces/${ids[0]}`)).status, 404)
      assert.isAtLeast(await metric(server.url, "mull_traces_deleted_total"), 2)
    } finally {
      await server.close()
    }
  })

  it("n = 3: one trace file, one run per choice; each renders, and a fourth is a 404", async () => {
    const dir = tempDir()
    mkdirSync(dir, { recursive: true })
    const server = await start({ traces: dir })
    try {
      const res = await post(
        `${server.url}/v1/chat/completions`,
        chat("mull/beam-search", Q, { params: { N: 4 }, trace: true }, { n: 3 })
      )
      const { id } = (await res.json()) as { id: string }
      const text = await (await fetch(`${server.url}/v1/traces/${id}`)).text()
      const runs = splitRuns(text)
      assert.strictEqual(runs.length, 3)
      for (const run of runs) assert.strictEqual(run.split("\n").filter((l) => l.includes('"RunStarted"')).length, 1)
      for (const choice of [0, 1, 2]) {
        const page = await fetch(`${server.url}/v1/traces/${id}/html?choice=${choice}`)
        assert.strictEqual(page.status, 200, `choice ${choice}`)
        assert.include(await page.text(), "<svg")
      }
      assert.strictEqual((await fetch(`${server.url}/v1/traces/${id}/html`)).status, 200)
      const none = await fetch(`${server.url}/v1/traces/${id}/html?choice=3`)
      assert.strictEqual(none.status, 404)
      assert.match(((await none.json()) as { error: { message: string } }).error.message, /has 3 choices/u)
      // `mull trace` writes one page per choice
      const file = NodePath.join(dir, "copy.jsonl")
      writeFileSync(file, text)
      await Effect.runPromise(
        runCli(["trace", file]).pipe(Effect.provide(NodeServices.layer), Effect.provide(TestConsole.layer))
      )
      for (const choice of [0, 1, 2]) assert.isTrue(existsSync(NodePath.join(dir, `copy.choice-${choice}.html`)))
    } finally {
      await server.close()
    }
  })
})
