/**
 * `mull trace` on bad input: a line that is not JSON, an unknown event, a trace without
 * RunStarted, a missing file — each exits with status 2 and one line per problem naming the file
 * and the line, never a stack trace; a good trace writes the page next to it by default.
 */
import { existsSync } from "node:fs"
import { mkdtemp, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import * as NodePath from "node:path"
import * as NodeServices from "@effect/platform-node/NodeServices"
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { TestConsole } from "effect/testing"
import { runCli } from "../../src/cli/main.ts"

let dir = ""
beforeAll(async () => {
  dir = await mkdtemp(NodePath.join(tmpdir(), "mull-trace-cli-"))
})
afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
  process.exitCode = undefined
})

const cli = (argv: ReadonlyArray<string>) =>
  Effect.gen(function* () {
    process.exitCode = undefined
    yield* runCli(argv).pipe(Effect.provide(NodeServices.layer))
    const err = (yield* TestConsole.errorLines).flatMap((l) => String(l).split("\n")).filter((l) => l !== "")
    const out = (yield* TestConsole.logLines).map(String)
    const code = process.exitCode
    process.exitCode = undefined
    return { err, out, code }
  })

const START = JSON.stringify({
  _tag: "RunStarted",
  problemId: "p",
  graph: "g",
  params: {},
  limits: {},
  seed: "0"
})

const file = async (name: string, text: string) => {
  const path = NodePath.join(dir, name)
  await writeFile(path, text)
  return path
}

describe("mull trace: bad input exits 2 with one line per problem", () => {
  it.effect("a line that is not JSON and an unknown event", () =>
    Effect.gen(function* () {
      const path = yield* Effect.promise(() => file("bad.jsonl", `${START}\nnot json\n{"_tag":"Teleported"}\n`))
      const { err, code } = yield* cli(["trace", path])
      assert.strictEqual(code, 2)
      assert.strictEqual(err.length, 2)
      assert.match(err[0] ?? "", new RegExp(`^${path}: line 2: not JSON`, "u"))
      assert.match(err[1] ?? "", new RegExp(`^${path}: line 3: unknown event "Teleported"`, "u"))
      assert.isFalse(existsSync(path.replace(/\.jsonl$/u, ".html")))
    })
  )

  it.effect("a trace without RunStarted", () =>
    Effect.gen(function* () {
      const path = yield* Effect.promise(() =>
        file(
          "headless.jsonl",
          '{"_tag":"NodeEntered","node":"root","type":"sequence","round":0,"population":{"size":0,"active":0,"done":0}}\n'
        )
      )
      const { err, code } = yield* cli(["trace", path])
      assert.strictEqual(code, 2)
      assert.deepStrictEqual(err, [`${path}: line 1: NodeEntered before RunStarted; a trace begins with RunStarted`])
    })
  )

  it.effect("a missing file", () =>
    Effect.gen(function* () {
      const { err, code } = yield* cli(["trace", NodePath.join(dir, "nope.jsonl")])
      assert.strictEqual(code, 2)
      assert.strictEqual(err.length, 1)
      assert.match(err[0] ?? "", /nope\.jsonl: cannot read/u)
    })
  )

  it.effect("a good trace writes <name>.html beside it and says what it holds", () =>
    Effect.gen(function* () {
      const path = yield* Effect.promise(() => file("ok.jsonl", `${START}\n`))
      const { out, code } = yield* cli(["trace", path])
      assert.isUndefined(code)
      assert.isTrue(existsSync(NodePath.join(dir, "ok.html")))
      assert.match(out.join("\n"), /ok\.html: g on p, 0 candidates/u)
    })
  )
})
