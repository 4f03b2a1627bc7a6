/**
 * The service's cost per request (issue 20 item 8): `mull serve` on the simulated backend in a
 * child process, sent chat completions one after another over one keep-alive connection, for the
 * `passthrough` graph and a small one (`best-of-n` with N = 4). Reported: requests per second, the
 * server's CPU per request (its `/proc` counters, Linux), and the run's own CPU per request (the
 * same graph and question through `makeRunner` in this process), so what HTTP and JSON add shows.
 *
 * @since 0.4.0
 */
import { type ChildProcess, spawn } from "node:child_process"
import { readFileSync } from "node:fs"
import http from "node:http"
import { makeRunner } from "../src/Mull.ts"
import { packageRoot } from "../src/paths.ts"

export interface ServiceCase {
  readonly graph: string
  readonly params: { readonly [name: string]: number }
}

export interface ServiceResult {
  readonly graph: string
  /** requests per second, one at a time */
  readonly perSecond: number
  /** the server process's CPU µs per request (NaN where /proc is missing) */
  readonly serverCpuUs: number
  /** CPU µs per run of the same request through `makeRunner`, in this process */
  readonly runCpuUs: number
}

export const SERVICE_CASES: ReadonlyArray<ServiceCase> = [
  { graph: "passthrough", params: {} },
  { graph: "best-of-n", params: { N: 4 } }
]

const QUESTION = "What is $6 \\cdot 7$?"

/** utime + stime of a process in µs, from /proc (Linux); NaN elsewhere. */
const cpuOf = (pid: number): number => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8")
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
    // fields 14 and 15 of stat (utime, stime), in clock ticks (100 per second on Linux)
    return ((Number(fields[11]) + Number(fields[12])) * 1e6) / 100
  } catch {
    return Number.NaN
  }
}

const startServer = (): Promise<{ child: ChildProcess; url: URL }> =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["src/cli/main.ts", "serve", "--port", "0"], {
      cwd: packageRoot,
      stdio: ["ignore", "pipe", "inherit"],
      env: { ...process.env, MULL_SERVE_TOKEN: "" }
    })
    let out = ""
    const timer = setTimeout(() => reject(new Error(`mull serve printed no banner:\n${out}`)), 60_000)
    child.stdout?.on("data", (c: Buffer) => {
      out += c.toString()
      const m = /mull serve: (http:\/\/127\.0\.0\.1:\d+)\/v1/u.exec(out)
      if (m?.[1] !== undefined) {
        clearTimeout(timer)
        resolve({ child, url: new URL(m[1]) })
      }
    })
    child.on("exit", (code) => reject(new Error(`mull serve exited with ${code}:\n${out}`)))
  })

const agent = new http.Agent({ keepAlive: true, maxSockets: 1 })

const post = (url: URL, body: string): Promise<number> =>
  new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: url.hostname,
        port: url.port,
        path: "/v1/chat/completions",
        method: "POST",
        agent,
        headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) }
      },
      (res) => {
        res.resume()
        res.on("end", () => resolve(res.statusCode ?? 0))
      }
    )
    req.on("error", reject)
    req.end(body)
  })

const median = (xs: Array<number>) => xs.sort((x, y) => x - y)[Math.floor(xs.length / 2)] ?? Number.NaN

/**
 * Medians over `blocks` blocks of `requests` requests per case.
 *
 * @example
 * const rows = await measureService(); rows[0].perSecond > 0 // true
 */
export const measureService = async (blocks = 5, requests = 300): Promise<ReadonlyArray<ServiceResult>> => {
  const { child, url } = await startServer()
  const runner = makeRunner({ backend: "simulated" })
  const out: Array<ServiceResult> = []
  try {
    for (const c of SERVICE_CASES) {
      const body = JSON.stringify({
        model: `mull/${c.graph}`,
        messages: [{ role: "user", content: QUESTION }],
        mull: { params: c.params }
      })
      const once = async () => {
        const status = await post(url, body)
        if (status !== 200) throw new Error(`${c.graph}: HTTP ${status}`)
      }
      const run = () => runner.run({ graph: c.graph, problem: { question: QUESTION }, params: c.params })
      for (let i = 0; i < requests; i++) await once()
      for (let i = 0; i < requests; i++) await run()
      const rates: Array<number> = []
      const server: Array<number> = []
      const own: Array<number> = []
      for (let b = 0; b < blocks; b++) {
        const cpu0 = cpuOf(child.pid ?? 0)
        const t0 = performance.now()
        for (let i = 0; i < requests; i++) await once()
        const ms = performance.now() - t0
        server.push((cpuOf(child.pid ?? 0) - cpu0) / requests)
        rates.push((requests * 1000) / ms)
        const u0 = process.cpuUsage()
        for (let i = 0; i < requests; i++) await run()
        const u = process.cpuUsage(u0)
        own.push((u.user + u.system) / requests)
      }
      out.push({ graph: c.graph, perSecond: median(rates), serverCpuUs: median(server), runCpuUs: median(own) })
    }
  } finally {
    agent.destroy()
    await runner.dispose()
    child.kill("SIGTERM")
  }
  return out
}

if (import.meta.main)
  console.log(JSON.stringify(await measureService(Number(process.argv[2] ?? 5), Number(process.argv[3] ?? 300))))
