/**
 * End to end over a real wire with a real model: `mull serve --backend llama-cpp` (stories260K,
 * the `passthrough` graph) in one process, and `mull run … --backend openai --base-url …` through
 * it in another. Same seed, same stories; the usage the client reports is what the server spent.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process"
import { promisify } from "node:util"
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { dataPath } from "../../src/data/DataPath.ts"
import { packageRoot } from "../../src/paths.ts"

const MODEL = dataPath("models", "stories260K.gguf")
const run = promisify(execFile)

interface RunJson {
  readonly population: ReadonlyArray<{ readonly text?: string; readonly steps?: ReadonlyArray<string> }>
  readonly usage: {
    readonly calls: number
    readonly sequences: number
    readonly outputTokens: number
    readonly inputTokens: number
  }
}

describe("mull run → mull serve → llama-cpp", () => {
  let server: ChildProcess
  let url = ""
  beforeAll(async () => {
    server = spawn(
      process.execPath,
      [
        "src/cli/main.ts",
        "serve",
        "--backend",
        "llama-cpp",
        "--model-path",
        MODEL,
        "--threads",
        "1",
        "--max-tokens",
        "24",
        "--port",
        "0"
      ],
      { cwd: packageRoot, stdio: ["ignore", "pipe", "pipe"] }
    )
    url = await new Promise<string>((resolve, reject) => {
      let out = ""
      const timer = setTimeout(() => reject(new Error(`mull serve did not start:\n${out}`)), 60_000)
      const onData = (chunk: Buffer) => {
        out += chunk.toString()
        const m = out.match(/Listening on (http:\/\/127\.0\.0\.1:\d+)/u)
        if (m?.[1] !== undefined) {
          clearTimeout(timer)
          resolve(m[1])
        }
      }
      server.stdout?.on("data", onData)
      server.stderr?.on("data", onData)
      server.on("exit", (code) => reject(new Error(`mull serve exited with ${code}:\n${out}`)))
    })
  }, 90_000)
  afterAll(async () => {
    const exited = new Promise((r) => server.once("exit", r))
    server.kill("SIGTERM")
    await exited
  })

  const client = (seed: number) =>
    run(
      process.execPath,
      [
        "src/cli/main.ts",
        "run",
        "majority",
        "--backend",
        "openai",
        "--base-url",
        `${url}/v1`,
        "--model",
        "mull/passthrough",
        "--server",
        "openai",
        "--question",
        "Once upon a time",
        "--param",
        "N=2",
        "--seed",
        String(seed),
        "--json"
      ],
      { cwd: packageRoot, timeout: 120_000, env: { ...process.env, MULL_API_KEY: "unused" } }
    ).then(({ stdout }) => JSON.parse(stdout) as RunJson)

  it("generates real stories through the service, deterministically, with the server's usage", {
    timeout: 180_000
  }, async () => {
    const a = await client(5)
    const b = await client(5)
    assert.strictEqual(a.population.length, 2)
    assert.deepStrictEqual(a.population, b.population, "same seed, same stories")
    assert.isAbove(a.usage.outputTokens, 0)
    assert.isAtMost(a.usage.outputTokens, 2 * 24)
    assert.isAbove(a.usage.inputTokens, 0)
    // the server's own metrics saw the same tokens
    const metrics = await (await fetch(`${url}/metrics`)).text()
    const spent = Number(metrics.match(/^mull_backend_spent_total\{meter="output_tokens"\} (\d+)$/mu)?.[1] ?? "0")
    assert.strictEqual(spent, a.usage.outputTokens + b.usage.outputTokens)
  })
})
