/**
 * Figure 6 of `npm run bench`: a latency-bound sweep sharded on effect/cluster (issue 21), one
 * runner against three. An embedded PostgreSQL, `mull runner --cluster` processes (each running 2
 * cells at once) and `mull eval --cluster` on a sweep whose every backend call takes 50 ms (the
 * simulated backend's latency): sequential revisions at N = 8 on every 2nd MATH-500 problem, cache
 * off — nine calls one after another per cell, 450 ms of waiting against some 60 ms of CPU (the
 * simulator, grading, the cluster's bookkeeping). Two cells at once per runner keep the three
 * runners' CPU under one core, so on a 2-core machine the sweep stays bound by the backend's
 * latency, which is what the figure is about (docs/scale-out.md has the figures at 4 at once). The time is the sweep's own, as `mull eval` reports it:
 * from the first cell sent to the last one stored — process start-up and shard assignment are
 * outside it, and the runners' shards have settled before it starts.
 *
 * @since 0.2.0
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { freePort, startPostgres } from "../test/cluster/postgres.ts"
import { type Child, killAll, sleep, start, until } from "../test/cluster/processes.ts"

export interface ClusterTiming {
  readonly runners: number
  readonly cells: number
  /** the sweep's time as `mull eval --cluster` measured it */
  readonly seconds: number
}

const held = (runners: ReadonlyArray<Child>): ReadonlyArray<number> =>
  runners.map((r) => Number([...r.output().matchAll(/holds (\d+) of 300 shards/gu)].at(-1)?.[1] ?? 0))

/** Waits until every runner holds shards, all 300 are held, and that has lasted 3 s. */
const settled = async (runners: ReadonlyArray<Child>): Promise<void> => {
  const deadline = Date.now() + 120_000
  let since = Date.now()
  let last = ""
  for (;;) {
    const now = held(runners)
    if (now.join(",") !== last) {
      last = now.join(",")
      since = Date.now()
    }
    if (now.every((n) => n > 0) && now.reduce((a, n) => a + n, 0) === 300 && Date.now() - since >= 3000) return
    if (Date.now() > deadline) throw new Error(`shards never settled: ${last}`)
    await sleep(200)
  }
}

/**
 * Runs the latency-bound sweep on `counts` runners each (a fresh sweep name per run, one database).
 *
 * @example
 * const [one, three] = await clusterSpeedup([1, 3], { every: 2 })
 */
export const clusterSpeedup = async (
  counts: ReadonlyArray<number>,
  options: { readonly every: number; readonly concurrency?: number; readonly latencyMs?: number }
): Promise<ReadonlyArray<ClusterTiming>> => {
  const pg = await startPostgres()
  const dir = mkdtempSync(join(tmpdir(), "mull-bench-cluster-"))
  const out: Array<ClusterTiming> = []
  try {
    const latency = { fixedMs: options.latencyMs ?? 50 }
    writeFileSync(join(dir, "latency.json"), JSON.stringify({ generator: { latency }, verifier: { latency } }))
    for (const [i, count] of counts.entries()) {
      const runners: Array<Child> = []
      for (let k = 0; k < count; k++) {
        const port = await freePort()
        runners.push(
          start([
            "runner",
            "--cluster",
            pg.url,
            "--host",
            "127.0.0.1",
            "--port",
            String(port),
            "--concurrency",
            String(options.concurrency ?? 2),
            "--report-every",
            "0"
          ])
        )
      }
      await Promise.all(runners.map((r) => until(r, /listening on/u, 120_000)))
      await settled(runners)
      // a warm-up sweep (30 problems, so every runner gets some): each runner loads the dataset, the
      // graph and the grader once, as a runner that has been up for a while has
      const warm = join(dir, `warm-${i}.json`)
      writeFileSync(
        warm,
        JSON.stringify({
          name: `warm-${i}-${count}`,
          dataset: { name: "math500", every: options.every, limit: 30 },
          backend: { name: "simulated" },
          strategies: [{ label: "sequential revisions", graph: "sequential-revisions", params: { N: "B" } }],
          budgets: [2],
          seeds: [0],
          cache: "off"
        })
      )
      const warming = start(["eval", "--sweep", warm, "--cluster", pg.url])
      if ((await warming.exited) !== 0) throw new Error(`the warm-up sweep failed:\n${warming.output()}`)
      const name = `latency-${i}-${count}`
      const sweep = join(dir, `${name}.json`)
      writeFileSync(
        sweep,
        JSON.stringify({
          name,
          dataset: { name: "math500", every: options.every },
          backend: { name: "simulated", config: { generator: { latency }, verifier: { latency } } },
          strategies: [{ label: "sequential revisions", graph: "sequential-revisions", params: { N: "B" } }],
          budgets: [8],
          seeds: [0],
          cache: "off"
        })
      )
      const submit = start(["eval", "--sweep", sweep, "--cluster", pg.url])
      const code = await submit.exited
      if (code !== 0) throw new Error(`mull eval --cluster failed (${code}):\n${submit.output()}`)
      const m = /sweep \S+: (\d+) runs now, .*? · ([\d.]+) s ·/u.exec(submit.output())
      if (m === null) throw new Error(`no summary line in:\n${submit.output()}`)
      out.push({ runners: count, cells: Number(m[1]), seconds: Number(m[2]) })
      for (const r of runners) r.kill()
      await Promise.all(runners.map((r) => r.exited))
    }
    return out
  } finally {
    await killAll()
    await pg.stop()
    rmSync(dir, { recursive: true, force: true })
  }
}
