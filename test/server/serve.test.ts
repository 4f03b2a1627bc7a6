/**
 * The smaller findings of issue 17: choices the budget starved say so (`finish_reason: "length"`);
 * a request cut by shutdown gets a JSON 503 (a stream: an error event and `[DONE]`); only valid
 * graphs are served, by their `name`, from folders added to the built-ins (`--no-builtin`
 * replaces them, `--strict` refuses to start, a missing folder is an error); `mull serve --port 0`
 * prints the port it got; a non-loopback bind needs a token.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import * as NodePath from "node:path"
import * as NodeServices from "@effect/platform-node/NodeServices"
import { afterAll, assert, describe, it } from "@effect/vitest"
import { Effect, Exit } from "effect"
import { TestConsole } from "effect/testing"
import { runCli } from "../../src/cli/main.ts"
import { builtinDir } from "../../src/graph/Loader.ts"
import { packageRoot } from "../../src/paths.ts"
import { policyOf } from "../../src/server/Policy.ts"
import * as Server from "../../src/server/Server.ts"
import { chat, eventually, metric, post, simulated, start } from "./helpers.ts"

const Q = "What is $6 \\cdot 7$?"
const dirs: Array<string> = []
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true })
})

/** A folder of graphs: one valid under a name that is not its file's, one using it by name, one broken. */
const graphFolder = (): string => {
  const dir = mkdtempSync(NodePath.join(tmpdir(), "mull-graphs-"))
  dirs.push(dir)
  const select = { type: "select", method: "majority" }
  writeFileSync(
    NodePath.join(dir, "file-name.json"),
    JSON.stringify({
      name: "custom-vote",
      description: "a custom vote",
      params: { K: 3 },
      root: { type: "sequence", nodes: [{ type: "sample", n: "K", until: "end" }, select] }
    })
  )
  writeFileSync(
    NodePath.join(dir, "wrapper.json"),
    JSON.stringify({ name: "wrapper", description: "uses custom-vote", root: { type: "use", graph: "custom-vote" } })
  )
  writeFileSync(
    NodePath.join(dir, "broken.json"),
    JSON.stringify({ name: "broken", description: "", root: { type: "sample", n: -1, until: "end" } })
  )
  return dir
}

const parts = (config: Parameters<typeof policyOf>[0]) =>
  Effect.runPromiseExit(Server.makeParts(policyOf(config, builtinDir, undefined)).pipe(Effect.provide(simulated())))

describe("honest replies", () => {
  it("choices the budget cut short end with finish_reason length, not stop", async () => {
    const server = await start({})
    try {
      // each of the 3 choices pays from an equal share of 60 output tokens: none can finish
      const res = await post(
        `${server.url}/v1/chat/completions`,
        chat("mull/best-of-n", Q, { params: { N: 4 }, budget: { outputTokens: 60 } }, { n: 3 })
      )
      assert.strictEqual(res.status, 200)
      const body = (await res.json()) as {
        choices: Array<{ message: { content: string }; finish_reason: string }>
        mull: { exhausted: boolean; answers: ReadonlyArray<string | null> }
      }
      assert.strictEqual(body.choices.length, 3)
      assert.isTrue(body.mull.exhausted)
      body.choices.forEach((c, i) => {
        // a choice with no answer was cut by the budget: never a plain "stop"
        if (body.mull.answers[i] === null) assert.strictEqual(c.finish_reason, "length", `choice ${i}`)
      })
      assert.include(
        body.mull.answers.map((a) => a === null),
        true,
        "the budget cut at least one choice"
      )
    } finally {
      await server.close()
    }
  })

  it("a request cut by shutdown gets a JSON 503; a stream gets an error event and [DONE]", async () => {
    const server = await start({ drainMs: 300 }, { backend: simulated({ fixedMs: 200 }) })
    const plain = post(`${server.url}/v1/chat/completions`, chat("mull/beam-search", Q, { params: { N: 16 } }))
    const stream = post(
      `${server.url}/v1/chat/completions`,
      chat("mull/beam-search", Q, { params: { N: 16 } }, { stream: true })
    )
    await eventually(async () => (await metric(server.url, "mull_runs_in_flight")) === 2)
    const closing = server.close()
    const res = await plain
    assert.strictEqual(res.status, 503)
    const body = (await res.json()) as { error: { code: string; message: string } }
    assert.strictEqual(body.error.code, "shutting_down")
    assert.match(body.error.message, /shutting down/u)
    const events = (await (await stream).text()).trim().split("\n\n")
    assert.strictEqual(events.at(-1), "data: [DONE]")
    assert.match(events.at(-2) ?? "", /"code":"shutting_down"/u)
    await closing
  })
})

describe("the graphs served", () => {
  it("only valid graphs, by their names, beside the built-ins; a use resolves by name", async () => {
    const dir = graphFolder()
    const server = await start({ graphs: [dir] })
    try {
      const models = (
        (await (await fetch(`${server.url}/v1/models`)).json()) as { data: Array<{ id: string }> }
      ).data.map((m) => m.id)
      for (const id of ["mull/custom-vote", "mull/wrapper", "mull/beam-search"]) assert.include(models, id)
      for (const id of ["mull/broken", "mull/file-name"]) assert.notInclude(models, id)
      assert.isTrue(server.parts.catalog.problems.some((p) => p.includes("broken.json") && p.includes("root.n")))
      const res = await post(`${server.url}/v1/chat/completions`, chat("mull/wrapper", Q))
      assert.strictEqual(res.status, 200)
      const broken = await post(`${server.url}/v1/chat/completions`, chat("mull/broken", Q))
      assert.strictEqual(broken.status, 404)
    } finally {
      await server.close()
    }
  })

  it("--no-builtin serves the folder alone; --strict refuses to start; a missing folder is an error", async () => {
    const dir = graphFolder()
    const only = await parts({ graphs: [dir], builtin: false })
    assert.isTrue(Exit.isSuccess(only))
    if (Exit.isSuccess(only)) assert.sameMembers([...only.value.catalog.graphs.keys()], ["custom-vote", "wrapper"])
    const strict = await parts({ graphs: [dir], strict: true })
    assert.isTrue(Exit.isFailure(strict))
    assert.match(String(Exit.isFailure(strict) ? strict.cause : ""), /broken\.json/u)
    const missing = await parts({ graphs: [NodePath.join(dir, "nope")] })
    assert.isTrue(Exit.isFailure(missing))
    assert.match(String(Exit.isFailure(missing) ? missing.cause : ""), /cannot read folder/u)
  })
})

describe("mull serve on the command line", () => {
  it("--port 0 prints the port it got", async () => {
    const child: ChildProcess = spawn(process.execPath, ["src/cli/main.ts", "serve", "--port", "0"], {
      cwd: packageRoot,
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, MULL_SERVE_TOKEN: "" }
    })
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let out = ""
        const timer = setTimeout(() => reject(new Error(`no banner:\n${out}`)), 30_000)
        child.stdout?.on("data", (c: Buffer) => {
          out += c.toString()
          const m = /mull serve: (http:\/\/127\.0\.0\.1:(\d+))\/v1/u.exec(out)
          if (m?.[1] !== undefined) {
            clearTimeout(timer)
            resolve(m[1])
          }
        })
        child.on("exit", (code) => reject(new Error(`exited with ${code}:\n${out}`)))
      })
      assert.notMatch(url, /:0$/u)
      assert.strictEqual((await fetch(`${url}/healthz`)).status, 200)
    } finally {
      child.kill("SIGTERM")
    }
  })

  it.effect("a non-loopback bind without a token is refused (exit 2)", () =>
    Effect.gen(function* () {
      process.exitCode = undefined
      const saved = process.env.MULL_SERVE_TOKEN
      delete process.env.MULL_SERVE_TOKEN
      yield* runCli(["serve", "--host", "0.0.0.0", "--port", "0"]).pipe(Effect.provide(NodeServices.layer))
      if (saved !== undefined) process.env.MULL_SERVE_TOKEN = saved
      const err = (yield* TestConsole.errorLines).map(String).join("\n")
      assert.match(err, /host: 0\.0\.0\.0 is not a loopback address; set MULL_SERVE_TOKEN/u)
      assert.strictEqual(process.exitCode, 2)
      process.exitCode = undefined
    })
  )
})
