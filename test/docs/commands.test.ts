/**
 * The docs test (issue 10): every command in README.md and docs/*.md is exercised, so the docs
 * cannot rot. Every fenced shell block must be ```sh followed by a marker saying how:
 *
 * - `sh run` — each command (one per line; `\` continues a line; `# …` is a comment) runs in bash
 *   and must exit 0. The working directory is a scratch copy of the repository (its entries
 *   symlinked, its own `out/`, and `../shared` beside it), so files the commands write land in a
 *   temp folder. The blocks of one file run in order in the same folder (a later command may read
 *   what an earlier one wrote).
 * - `sh ci` — run by CI itself (`.ci/run`): only `npm ci`, `npm test`, `npm run test:cluster` and
 *   `bash .ci/run`.
 * - `sh external` — needs what this machine lacks (a GPU server, a network service, an API key):
 *   every command must name such a tool or host (vLLM, SGLang, llama.cpp's server, Ollama, OpenAI,
 *   `--backend openai`, the `MULL_*` server variables, a `postgres://` URL), so the marker cannot
 *   hide a command mull could run here.
 * - `sh server` — each command starts a long-running `mull serve … --port N`. The test runs it on
 *   a free port instead of N, waits for `/healthz`, and keeps the first server of each port running
 *   for the `sh run` blocks that follow in the same file (their `127.0.0.1:N` and `localhost:N`
 *   are rewritten to the free port); all are stopped at the end of the file.
 * - `sh slow with="ARGS"` — longer than a minute as written: each command runs with ARGS, which
 *   replace the command's flags of the same names and are appended (after `--` for npm scripts):
 *   `npm start` with `--every 100`, `npm run bench` with `--only none` (the bench starts, checks
 *   its flags and writes its files, but measures no figure).
 *
 * Fenced ```ts blocks are marked too: `ts check` blocks are complete programs, type-checked
 * together by `tsc` with `mull` mapped to src/index.ts; `ts illustrative` blocks are fragments
 * (they use names defined elsewhere) and are not compiled.
 *
 * `npm start`, `npm run mull -- …`, `npm run -s mull -- …` and `npm run sim:calibrate` run the CLI
 * in this process instead of starting Node for each (the CLI's module graph takes seconds to load
 * on a busy 2-core machine): a bash function `npm` passes the arguments, working directory and
 * `MULL_*` variables to `runCli` — what those scripts run (checked against package.json) — and
 * prints its output with its exit status. Redirections, quotes and environment assignments are
 * bash's. Every other command (`npm run bench`, `npm exec`, `curl`, `echo`, and the servers) is a
 * real process.
 */
import { type ChildProcess, spawn } from "node:child_process"
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync
} from "node:fs"
import { createServer, type Server } from "node:http"
import { createServer as createNetServer } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { format, isDeepStrictEqual } from "node:util"
import * as NodeServices from "@effect/platform-node/NodeServices"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Cause, Console, Effect, Exit, Schema } from "effect"
import { OpenAiConfig } from "../../plugins/openai/Config.ts"
import { runCli } from "../../src/cli/main.ts"
import { decodeSweep } from "../../src/eval/Sweep.ts"
import { fromRoot } from "../../src/paths.ts"
import { allBlocks, type Block, commandsOf, docFiles, SHELL, withArgs } from "./blocks.ts"

const KINDS = new Set(["run", "ci", "external", "server", "slow"])
const TS_KINDS = new Set(["check", "illustrative"])
const CI_COMMANDS = new Set(["npm ci", "npm test", "npm run test:cluster", "bash .ci/run"])
/** A GPU server, a network service (PostgreSQL included), an API key, or the results of a sweep against vLLM. */
const EXTERNAL =
  /\bvllm serve\b|\bsglang\b|\bllama-server\b|\bollama\b|--backend openai\b|api\.openai\.com|\bexport MULL_(BASE_URL|MODEL|API_KEY|PRM_URL|PRM_MODEL|CLUSTER|BUDGET_STORE)=|\bpaper-vllm\b|postgres(?:ql)?:\/\//u

const blocks = allBlocks()
const where = (b: { readonly file: string; readonly line: number }) => `${b.file}:${b.line}`

// ---------------------------------------------------------------------------------------------
// The scratch copy of the repository and the in-process CLI

let scratch = ""
let runner: Server | undefined
let runnerUrl = ""
const servers: Array<ChildProcess> = []

/** Runs the CLI in this process as `node src/cli/main.ts …argv` would, from `cwd`. */
const runInProcess = async (
  argv: ReadonlyArray<string>,
  cwd: string,
  env: ReadonlyArray<string>
): Promise<{ readonly out: string; readonly err: string; readonly code: number }> => {
  const out: Array<string> = []
  const err: Array<string> = []
  const capture: Console.Console = Object.assign(Object.create(console) as Console.Console, {
    log: (...a: ReadonlyArray<unknown>) => out.push(`${format(...a)}\n`),
    info: (...a: ReadonlyArray<unknown>) => out.push(`${format(...a)}\n`),
    warn: (...a: ReadonlyArray<unknown>) => err.push(`${format(...a)}\n`),
    error: (...a: ReadonlyArray<unknown>) => err.push(`${format(...a)}\n`)
  })
  const before = process.cwd()
  const saved = new Map<string, string | undefined>()
  for (const kv of env) {
    const at = kv.indexOf("=")
    const key = kv.slice(0, at)
    saved.set(key, process.env[key])
    process.env[key] = kv.slice(at + 1)
  }
  const write = process.stderr.write
  process.stderr.write = ((chunk: string | Uint8Array) => {
    err.push(typeof chunk === "string" ? chunk : Buffer.from(chunk).toString("utf8"))
    return true
  }) as typeof process.stderr.write
  process.chdir(cwd)
  process.exitCode = undefined
  try {
    const exit = await Effect.runPromiseExit(
      runCli(argv).pipe(Effect.provide(NodeServices.layer), Effect.provideService(Console.Console, capture))
    )
    if (Exit.isFailure(exit)) {
      err.push(`${Cause.pretty(exit.cause)}\n`)
      return { out: out.join(""), err: err.join(""), code: 1 }
    }
    const code = typeof process.exitCode === "number" ? process.exitCode : Number(process.exitCode ?? 0)
    return { out: out.join(""), err: err.join(""), code }
  } finally {
    process.exitCode = undefined
    process.chdir(before)
    process.stderr.write = write
    for (const [key, value] of saved) {
      if (value === undefined) delete process.env[key]
      else process.env[key] = value
    }
  }
}

/** The bash prelude: `npm start`, `npm run [-s] mull`, `npm run sim:calibrate` go to `runCli`. */
const PRELUDE = String.raw`
npm() {
  local fixed=() rest=()
  if [ "$1" = start ]; then fixed=(paper); rest=("${"$"}{@:2}")
  elif [ "$1" = run ]; then
    local args=("${"$"}{@:2}")
    [ "${"$"}{args[0]:-}" = -s ] && args=("${"$"}{args[@]:1}")
    case "${"$"}{args[0]:-}" in
      mull) fixed=() ;;
      sim:calibrate) fixed=(sim calibrate) ;;
      *) command npm "$@"; return ;;
    esac
    rest=("${"$"}{args[@]:1}")
  else command npm "$@"; return; fi
  [ "${"$"}{rest[0]:-}" = -- ] && rest=("${"$"}{rest[@]:1}")
  local dir; dir=$(mktemp -d)
  printf '%s\0' "$PWD" "${"$"}{fixed[@]}" "${"$"}{rest[@]}" > "$dir/argv"
  { env -0 | grep -z '^MULL_' || true; } > "$dir/env"
  local code
  code=$(curl -sS --fail --data-binary "$dir" "$MULL_DOCS_RUNNER") || { echo "docs test: the in-process CLI did not answer" >&2; return 99; }
  cat "$dir/out"; cat "$dir/err" >&2
  rm -rf "$dir"
  return "$code"
}
`

let queue: Promise<unknown> = Promise.resolve()

const startRunner = () =>
  new Promise<void>((resolve) => {
    runner = createServer((req, res) => {
      let body = ""
      req.on("data", (c: Buffer) => {
        body += c.toString("utf8")
      })
      req.on("end", () => {
        const dir = body.trim()
        const job = queue.then(async () => {
          const [cwd = ".", ...argv] = readFileSync(join(dir, "argv"), "utf8").split("\0").slice(0, -1)
          const env = readFileSync(join(dir, "env"), "utf8")
            .split("\0")
            .filter((kv) => kv.includes("="))
          const r = await runInProcess(argv, cwd, env)
          writeFileSync(join(dir, "out"), r.out)
          writeFileSync(join(dir, "err"), r.err)
          res.end(String(r.code))
        })
        queue = job.catch((e: unknown) => {
          res.statusCode = 500
          res.end(String(e))
        })
      })
    })
    runner.listen(0, "127.0.0.1", () => {
      const address = runner?.address()
      runnerUrl = `http://127.0.0.1:${typeof address === "object" && address !== null ? address.port : 0}/`
      resolve()
    })
  })

/** A scratch copy of the repository: every entry symlinked but `out/`, with `../shared` beside it. */
const makeScratch = (): string => {
  const base = mkdtempSync(join(tmpdir(), "mull-docs-"))
  const main = join(base, "main")
  mkdirSync(join(main, "out"), { recursive: true })
  for (const entry of readdirSync(fromRoot())) {
    if (entry === "out" || entry === ".git") continue
    symlinkSync(fromRoot(entry), join(main, entry))
  }
  const shared = fromRoot("..", "shared")
  if (existsSync(shared)) symlinkSync(realpathSync(shared), join(base, "shared"))
  return main
}

interface Ran {
  readonly code: number | null
  readonly output: string
}

/** Runs one command in bash in the scratch folder. */
const sh = (command: string, timeoutMs = 150_000) =>
  new Promise<Ran>((resolve) => {
    const child = spawn("bash", ["-o", "pipefail", "-c", `${PRELUDE}\n${command}`], {
      cwd: scratch,
      env: { ...process.env, MULL_DOCS_RUNNER: runnerUrl, NO_COLOR: "1" },
      stdio: ["ignore", "pipe", "pipe"]
    })
    let output = ""
    child.stdout.on("data", (c: Buffer) => {
      output += c.toString("utf8")
    })
    child.stderr.on("data", (c: Buffer) => {
      output += c.toString("utf8")
    })
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs)
    child.on("close", (code) => {
      clearTimeout(timer)
      resolve({ code, output })
    })
  })

const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const s = createNetServer()
    s.on("error", reject)
    s.listen(0, "127.0.0.1", () => {
      const address = s.address()
      const port = typeof address === "object" && address !== null ? address.port : 0
      s.close(() => resolve(port))
    })
  })

const waitHealthy = async (port: number, child: ChildProcess, log: () => string) => {
  const deadline = Date.now() + 90_000
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`the server exited (${child.exitCode}):\n${log()}`)
    try {
      const res = await fetch(`http://127.0.0.1:${port}/healthz`)
      if (res.ok) return
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 250))
  }
  throw new Error(`the server did not answer /healthz within 90 s:\n${log()}`)
}

const stop = (child: ChildProcess) =>
  new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return resolve()
    const timer = setTimeout(() => {
      try {
        process.kill(-(child.pid ?? 0), "SIGKILL")
      } catch {
        // gone
      }
    }, 15_000)
    child.on("exit", () => {
      clearTimeout(timer)
      resolve()
    })
    try {
      process.kill(-child.pid, "SIGTERM")
    } catch {
      clearTimeout(timer)
      resolve()
    }
  })

beforeAll(async () => {
  scratch = makeScratch()
  await startRunner()
})

afterAll(async () => {
  await Promise.all(servers.map(stop))
  runner?.close()
  if (scratch !== "") rmSync(join(scratch, ".."), { recursive: true, force: true })
})

// ---------------------------------------------------------------------------------------------

describe("the docs' code blocks", () => {
  it("every shell block is ```sh with a marker (run, ci, external, server, slow)", () => {
    const bad = blocks
      .filter((b) => SHELL.has(b.lang))
      .filter((b) => b.lang !== "sh" || b.kind === undefined || !KINDS.has(b.kind))
      .map((b) => `${where(b)}: \`\`\`${b.lang} ${b.kind ?? ""}`.trimEnd())
    expect(bad, 'mark each block: ```sh run | ci | external | server | slow with="…"').toEqual([])
  })

  it("every ts block is marked check or illustrative", () => {
    const bad = blocks
      .filter((b) => b.lang === "ts" || b.lang === "typescript")
      .filter((b) => b.kind === undefined || !TS_KINDS.has(b.kind))
      .map(where)
    expect(bad, "mark each block: ```ts check | illustrative").toEqual([])
  })

  it("ci blocks hold only what .ci/run runs", () => {
    const ci = readFileSync(fromRoot(".ci", "run"), "utf8")
    expect(ci).toMatch(/^npm ci$/mu)
    expect(ci).toMatch(/^npm test$/mu)
    expect(ci).toMatch(/^npm run test:cluster$/mu)
    const bad = blocks
      .filter((b) => b.lang === "sh" && b.kind === "ci")
      .flatMap((b) => commandsOf(b).filter((c) => !CI_COMMANDS.has(c.text.replace(/\s+/gu, " "))))
      .map((c) => c.text)
    expect(bad).toEqual([])
  })

  it("external blocks name the external tool or host they need", () => {
    const bad = blocks
      .filter((b) => b.lang === "sh" && b.kind === "external")
      .flatMap((b) => commandsOf(b).map((c) => ({ ...c, file: b.file })))
      .filter((c) => !EXTERNAL.test(c.text))
      .map((c) => `${where(c)}: ${c.text}`)
    expect(bad).toEqual([])
  })

  it("slow blocks say how they are cut down; server blocks start mull serve on a port", () => {
    const bad = blocks
      .filter((b) => b.lang === "sh")
      .filter(
        (b) =>
          (b.kind === "slow" && (b.attrs.with ?? "").trim() === "") ||
          (b.kind === "server" && commandsOf(b).some((c) => !/\bserve\b.*--port \d+/u.test(c.text)))
      )
      .map(where)
    expect(bad).toEqual([])
  })

  it("the README's documentation index links every page of docs/", () => {
    const readme = readFileSync(fromRoot("README.md"), "utf8")
    const missing = docFiles()
      .filter((f) => f.startsWith("docs/"))
      .filter((f) => !readme.includes(`](${f})`))
    expect(missing).toEqual([])
  })

  it("json blocks marked file=PATH are that file", () => {
    const bad = blocks
      .filter((b) => b.lang === "json" && b.attrs.file !== undefined)
      .filter((b) => {
        const file = b.attrs.file ?? ""
        return (
          !existsSync(fromRoot(file)) ||
          !isDeepStrictEqual(JSON.parse(b.body), JSON.parse(readFileSync(fromRoot(file), "utf8")))
        )
      })
      .map((b) => `${where(b)}: not equal to ${b.attrs.file}`)
    expect(bad).toEqual([])
  })

  it("the example sweeps and backend config decode", async () => {
    for (const file of ["docs/examples/my-sweep.json", "docs/examples/paper-vllm.json"]) {
      const json: unknown = JSON.parse(readFileSync(fromRoot(file), "utf8"))
      await Effect.runPromise(decodeSweep(json))
    }
    const vllm: unknown = JSON.parse(readFileSync(fromRoot("docs", "examples", "vllm.json"), "utf8"))
    await Effect.runPromise(Schema.decodeUnknownEffect(OpenAiConfig)(vllm))
  })

  it("the npm scripts the in-process CLI stands for run the CLI", () => {
    const scripts = (JSON.parse(readFileSync(fromRoot("package.json"), "utf8")) as { scripts: Record<string, string> })
      .scripts
    // `npm run mull` runs the JavaScript entry (no TypeScript stripper at start), which starts the
    // same program as `main.ts` run directly (test/cli/bundle.test.ts compares their output)
    expect(scripts.mull).toBe("node src/cli/mull.mjs")
    const entry = readFileSync(fromRoot("src/cli/mull.mjs"), "utf8")
    expect(entry).toContain('await import("./Start.ts")')
    expect(readFileSync(fromRoot("src/cli/main.ts"), "utf8")).toContain('await import("./Start.ts")')
    expect(scripts.start).toBe("node src/cli/main.ts paper")
    expect(scripts["sim:calibrate"]).toBe("node src/cli/main.ts sim calibrate")
  })

  it("ts check blocks type-check (mull = src/index.ts)", async () => {
    const checked = blocks.filter((b) => b.lang === "ts" && b.kind === "check")
    const dir = fromRoot("out", `docs-ts-${process.pid}`)
    rmSync(dir, { recursive: true, force: true })
    mkdirSync(dir, { recursive: true })
    try {
      for (const b of checked)
        writeFileSync(join(dir, `${b.file.replace(/[/.]/gu, "_")}_${b.line}.ts`), `${b.body}\nexport {}\n`)
      writeFileSync(
        join(dir, "tsconfig.json"),
        JSON.stringify({
          extends: "../../tsconfig.json",
          compilerOptions: { paths: { mull: ["../../src/index.ts"] }, noUnusedLocals: false },
          include: ["*.ts", "../../docs/examples/*.ts"]
        })
      )
      const r = await new Promise<Ran>((resolve) => {
        const child = spawn(fromRoot("node_modules", ".bin", "tsc"), ["-p", join(dir, "tsconfig.json")], {
          cwd: fromRoot(),
          stdio: ["ignore", "pipe", "pipe"]
        })
        let output = ""
        child.stdout.on("data", (c: Buffer) => {
          output += c.toString("utf8")
        })
        child.stderr.on("data", (c: Buffer) => {
          output += c.toString("utf8")
        })
        child.on("close", (code) => resolve({ code, output }))
      })
      expect(r.output).toBe("")
      expect(r.code).toBe(0)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  }, 120_000)
})

const done = new Map<string, Ran>()

describe.each(docFiles().filter((f) => blocks.some((b) => b.file === f && b.lang === "sh")))("%s", (file) => {
  it("its commands run", async () => {
    const ports = new Map<string, number>()
    const mine: Array<ChildProcess> = []
    try {
      for (const b of blocks.filter((x) => x.file === file && x.lang === "sh")) {
        if (b.kind === "server") await startServers(b, ports, mine)
        else if (b.kind === "run" || b.kind === "slow") {
          for (const c of commandsOf(b)) {
            let text: string = b.kind === "slow" ? withArgs(c.text, b.attrs.with ?? "") : c.text
            for (const [documented, actual] of ports)
              text = text.replace(new RegExp(`(127\\.0\\.0\\.1|localhost):${documented}\\b`, "gu"), `$1:${actual}`)
            const r = done.get(text) ?? (await sh(text))
            done.set(text, r)
            if (r.code !== 0)
              expect.fail(`${file}:${c.line}: \`${text}\` exited with ${r.code}:\n${r.output.slice(-3000)}`)
          }
        }
      }
    } finally {
      await Promise.all(mine.map(stop))
    }
  }, 240_000)
})

/** Starts the servers of a `sh server` block on free ports; the first per documented port is kept. */
const startServers = async (b: Block, ports: Map<string, number>, mine: Array<ChildProcess>) => {
  const started: Array<{ child: ChildProcess; port: number; documented: string; log: () => string }> = []
  for (const c of commandsOf(b)) {
    const documented = /--port (\d+)/u.exec(c.text)?.[1] ?? ""
    const port = await freePort()
    const child = spawn("bash", ["-c", c.text.replace(`--port ${documented}`, `--port ${port}`)], {
      cwd: scratch,
      env: { ...process.env, NO_COLOR: "1" },
      stdio: ["ignore", "pipe", "pipe"],
      detached: true
    })
    let log = ""
    child.stdout?.on("data", (d: Buffer) => {
      log += d.toString("utf8")
    })
    child.stderr?.on("data", (d: Buffer) => {
      log += d.toString("utf8")
    })
    servers.push(child)
    mine.push(child)
    started.push({ child, port, documented, log: () => `${where(b)}: ${c.text}\n${log.slice(-3000)}` })
  }
  for (const s of started) {
    await waitHealthy(s.port, s.child, s.log)
    if (!ports.has(s.documented)) ports.set(s.documented, s.port)
    else await stop(s.child)
  }
}
