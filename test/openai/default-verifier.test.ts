/**
 * Issue 14's default-verifier bug: a `score` node without a `verifier` field scores with the
 * default verifier (`prm`), and must be checked against the backend exactly as a named one. On an
 * `openai` backend with no reward model configured, `mull validate` refuses the graph
 * `sample → score (no verifier) → select`, and `mull run` refuses it too — before any request
 * reaches the server (it used to pay for a generation, then exit 2).
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import * as NodePath from "node:path"
import * as NodeServices from "@effect/platform-node/NodeServices"
import { afterAll, afterEach, assert, beforeAll, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { TestConsole } from "effect/testing"
import { runCli } from "../../src/cli/main.ts"
import { fixture, type Loopback, startLoopback } from "./loopback.ts"

let server: Loopback
let dir: string
let graph: string

beforeAll(async () => {
  server = await startLoopback()
  // were a request sent, it would be answered (so a run could go on and spend)
  server.handle(() => ({ body: fixture("openai", "chat-n2.vllm.json") }))
  dir = await mkdtemp(NodePath.join(tmpdir(), "mull-default-verifier-"))
  graph = NodePath.join(dir, "default-verifier.json")
  await writeFile(
    graph,
    JSON.stringify({
      name: "default-verifier",
      description: "sample, score with the default verifier, select",
      params: { N: 2 },
      root: {
        type: "sequence",
        nodes: [{ type: "sample", n: "N", until: "end" }, { type: "score" }, { type: "select", method: "weighted" }]
      }
    })
  )
})
afterAll(async () => {
  await server.close()
  await rm(dir, { recursive: true, force: true })
})
afterEach(() => {
  process.exitCode = undefined
})

/** Runs the CLI; returns its stderr lines and the exit code it set. */
const cli = (argv: ReadonlyArray<string>) =>
  Effect.gen(function* () {
    process.exitCode = undefined
    const before = (yield* TestConsole.errorLines).length
    yield* runCli(argv).pipe(Effect.provide(NodeServices.layer))
    const err = (yield* TestConsole.errorLines).slice(before).map(String).join("\n")
    return { err, code: process.exitCode }
  })

const openai = () => ["--backend", "openai", "--base-url", `${server.url}/v1`, "--model", "Qwen/Qwen2.5-Math-1.5B"]

describe("a score node without a verifier field, on openai with no reward model", () => {
  it.effect("mull validate refuses it, naming the default verifier", () =>
    Effect.gen(function* () {
      const { err, code } = yield* cli(["validate", graph, ...openai()])
      assert.strictEqual(code, 2)
      assert.include(err, 'root.nodes.1.verifier: backend "openai" has no verifier "prm", the default')
      assert.strictEqual(server.requests.length, 0, "nothing was sent")
    })
  )

  it.effect("mull run refuses it before any request is sent", () =>
    Effect.gen(function* () {
      const { err, code } = yield* cli(["run", graph, ...openai(), "--question", "What is $2+2$?"])
      assert.strictEqual(code, 2)
      assert.include(err, 'root.nodes.1.verifier: backend "openai" has no verifier "prm", the default')
      assert.strictEqual(server.requests.length, 0, "nothing was sent")
    })
  )
})
