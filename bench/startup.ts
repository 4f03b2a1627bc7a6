/**
 * Cold starts of the CLI (issue 20 item 4): whole `mull` processes, each a new Node process, timed
 * by the CPU (user + system) and peak memory the process itself reports when it exits (a small
 * `--import` hook writes `process.resourceUsage()` to a file). One warm-up run first, so Node's
 * module compile cache (turned on by `src/cli/main.ts`) is filled, as it is after a first use.
 * Node runs `src/cli/mull.mjs`, as `npm run mull` does. The CLI starts from its bundle (`src/cli/Bundle.ts`), built first if it is missing or stale, as
 * `npm ci` builds it; `{ bundle: false }` measures the start from the sources (`MULL_CLI_BUNDLE=0`).
 *
 * @since 0.4.0
 */
import { spawnSync } from "node:child_process"
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { pathToFileURL } from "node:url"
import { buildBundle } from "../src/cli/BuildBundle.ts"
import { defaultRoot, freshBundle } from "../src/cli/Bundle.ts"
import { packageRoot } from "../src/paths.ts"

export interface StartupCase {
  readonly label: string
  readonly argv: ReadonlyArray<string>
}

export interface StartupResult {
  readonly label: string
  /** CPU seconds (user + system) per process: median, min, max */
  readonly cpu: { readonly median: number; readonly min: number; readonly max: number }
  /** peak resident memory, MiB (median) */
  readonly maxRssMiB: number
}

export const STARTUP_CASES: ReadonlyArray<StartupCase> = [
  { label: "mull graphs", argv: ["graphs"] },
  {
    label: "mull run beam-search --param N=16",
    argv: ["run", "beam-search", "--param", "N=16", "--question", "What is $6 \\cdot 7$?"]
  }
]

const HOOK = `
import { writeFileSync } from "node:fs"
process.on("exit", () => {
  const u = process.resourceUsage()
  writeFileSync(process.env.MULL_BENCH_USAGE, JSON.stringify({ cpuUs: u.userCPUTime + u.systemCPUTime, maxRssKiB: u.maxRSS }))
})
`

/**
 * Builds the CLI's bundle unless it is fresh (what `npm ci` leaves), so the bench measures the start
 * a user gets.
 *
 * @example
 * await ensureBundle()
 */
export const ensureBundle = async (): Promise<void> => {
  if (freshBundle(defaultRoot()) === undefined) await buildBundle()
}

/**
 * Runs each case `reps` times (after one warm-up) and reports its CPU and memory. Call
 * `ensureBundle()` first to measure the start from the bundle.
 *
 * @example
 * const [graphs] = measureStartup(5); graphs.cpu.median < 1 // true
 */
export const measureStartup = (
  reps = 5,
  options: {
    readonly compileCache?: boolean
    readonly bundle?: boolean
    /** the file Node runs: `src/cli/mull.mjs` (what `npm run mull` runs) or `src/cli/main.ts` */
    readonly entry?: string
  } = {}
): ReadonlyArray<StartupResult> => {
  const dir = mkdtempSync(join(tmpdir(), "mull-startup-"))
  const hook = join(dir, "usage.mjs")
  const usage = join(dir, "usage.json")
  writeFileSync(hook, HOOK)
  const env: NodeJS.ProcessEnv = { ...process.env, MULL_BENCH_USAGE: usage }
  if (options.compileCache === false) env.NODE_DISABLE_COMPILE_CACHE = "1"
  if (options.bundle === false) env.MULL_CLI_BUNDLE = "0"
  try {
    return STARTUP_CASES.map((c) => {
      const once = () => {
        const r = spawnSync(
          process.execPath,
          ["--import", pathToFileURL(hook).href, join(packageRoot, options.entry ?? "src/cli/mull.mjs"), ...c.argv],
          { cwd: packageRoot, env, stdio: ["ignore", "ignore", "pipe"] }
        )
        if (r.status !== 0) throw new Error(`${c.label}: exit ${r.status}\n${r.stderr.toString()}`)
        return JSON.parse(readFileSync(usage, "utf8")) as { cpuUs: number; maxRssKiB: number }
      }
      once()
      const runs = Array.from({ length: reps }, once)
      const cpu = runs.map((r) => r.cpuUs / 1e6).sort((a, b) => a - b)
      const rss = runs.map((r) => r.maxRssKiB / 1024).sort((a, b) => a - b)
      return {
        label: c.label,
        cpu: {
          median: cpu[Math.floor(cpu.length / 2)] ?? Number.NaN,
          min: cpu[0] ?? Number.NaN,
          max: cpu.at(-1) ?? Number.NaN
        },
        maxRssMiB: rss[Math.floor(rss.length / 2)] ?? Number.NaN
      }
    })
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

if (import.meta.main) {
  const reps = Number(process.argv[2] ?? 5)
  await ensureBundle()
  console.log(JSON.stringify({ bundle: true, compileCache: true, results: measureStartup(reps) }))
  console.log(
    JSON.stringify({ bundle: true, compileCache: false, results: measureStartup(reps, { compileCache: false }) })
  )
  console.log(JSON.stringify({ bundle: false, compileCache: true, results: measureStartup(reps, { bundle: false }) }))
  const entry = "src/cli/main.ts"
  console.log(JSON.stringify({ bundle: true, compileCache: true, entry, results: measureStartup(reps, { entry }) }))
}
