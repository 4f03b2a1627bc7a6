/**
 * Sharded sweeps on effect/cluster over a real PostgreSQL (issue 21, acceptance 1 and 2): three
 * `mull runner` processes and `mull eval --cluster` run a slice of the `npm start` sweep
 * (test/fixtures/cluster/sweep.json, its nine strategies as issue 21 measured them; every
 * 50th MATH-500 problem, all nine strategies at N = 4 and 16, difficulty and larger-model
 * samples), and the PostgreSQL results store equals, row for row, the single-process SQLite
 * sweep's. Then runners are SIGKILLed at random points, twice: the sweep completes, no row is
 * missing or duplicated, and the results are unchanged.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { Effect, ManagedRuntime } from "effect"
import { SqlClient } from "effect/sql"
import * as PgStore from "../../src/eval/PgStore.ts"
import type { DifficultyRecord, RunRecord } from "../../src/eval/Record.ts"
import * as Store from "../../src/eval/Store.ts"
import { freePort, type Postgres, startPostgres } from "./postgres.ts"
import { type Child, killAll, sleep, start, until } from "./processes.ts"

let pg: Postgres
let dir: string
let sql: ManagedRuntime.ManagedRuntime<SqlClient.SqlClient, unknown>

beforeAll(async () => {
  pg = await startPostgres()
  dir = mkdtempSync(join(tmpdir(), "mull-cluster-"))
  sql = ManagedRuntime.make(PgStore.clientLayer(pg.url, { maxConnections: 2 }))
}, 180_000)

afterAll(async () => {
  await killAll()
  await sql?.dispose()
  await pg?.stop()
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true })
})

const query = <A extends object>(text: string, params: ReadonlyArray<unknown> = []): Promise<ReadonlyArray<A>> =>
  sql.runPromise(
    Effect.gen(function* () {
      const client = yield* SqlClient.SqlClient
      return yield* client.unsafe<A>(text, [...params])
    })
  )

/** `mull eval` flags for a subset of the `npm start` sweep, under its own name. */
const sweepArgs = (name: string, every: number) => [
  "eval",
  "--sweep",
  "test/fixtures/cluster/sweep.json",
  "--name",
  name,
  "--every",
  String(every),
  "--budgets",
  "4,16"
]

const startRunners = async (count: number): Promise<ReadonlyArray<Child>> => {
  const runners: Array<Child> = []
  for (let i = 0; i < count; i++) {
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
        "4",
        "--report-every",
        "1"
      ])
    )
  }
  await Promise.all(runners.map((r) => until(r, /listening on/u, 120_000)))
  return runners
}

/** The shards each runner says it holds now (its last "holds N of 300 shards" line). */
const held = (runners: ReadonlyArray<Child>): ReadonlyArray<number> =>
  runners.map((r) => {
    const all = [...r.output().matchAll(/holds (\d+) of 300 shards/gu)]
    return Number(all.at(-1)?.[1] ?? 0)
  })

/**
 * Waits until the runners share the shards (each holds some, together all) and the assignment has
 * held for 3 s: a problem whose shard moved mid-sweep redraws what its lost cache held, so
 * comparing what the backend spent needs a settled cluster.
 */
const settled = async (runners: ReadonlyArray<Child>): Promise<void> => {
  const deadline = Date.now() + 120_000
  let since = Date.now()
  let last = ""
  for (;;) {
    const now = held(runners)
    const key = now.join(",")
    if (key !== last) {
      last = key
      since = Date.now()
    }
    if (now.every((n) => n > 0) && now.reduce((a, n) => a + n, 0) === 300 && Date.now() - since >= 3000) return
    if (Date.now() > deadline) throw new Error(`shards never settled: ${key}`)
    await sleep(200)
  }
}

interface Stored {
  readonly runs: ReadonlyArray<RunRecord>
  readonly difficulties: ReadonlyArray<DifficultyRecord>
  readonly meta: ReadonlyArray<string | undefined>
}

const stored = (target: string, sweep: string): Promise<Stored> =>
  Effect.runPromise(
    Effect.scoped(
      Effect.gen(function* () {
        const store = yield* Store.open(target)
        const meta: Array<string | undefined> = []
        for (const k of ["spec", "backend", "backendConfig", "generatorParams", "largeParams", "largeConfig"])
          meta.push(yield* store.getMeta(`sweep:${sweep}:${k}`))
        return {
          runs: yield* store.runs(sweep),
          difficulties: [...(yield* store.difficulties(sweep)), ...(yield* store.difficulties(`${sweep}/large`))],
          meta
        }
      })
    )
  )

/** A row as text, without when it was written and how long it took (wall time is a meter). */
const row = (r: RunRecord, keep: { readonly backendUsage: boolean }) =>
  JSON.stringify({
    ...r,
    usage: { ...r.usage, wallMs: 0 },
    backendUsage: keep.backendUsage ? { ...r.backendUsage, wallMs: 0 } : undefined
  })

const local = async (name: string, every: number): Promise<Stored> => {
  const path = join(dir, `${name}.db`)
  const child = start([...sweepArgs(name, every), "--store", path])
  assert.strictEqual(await child.exited, 0, child.output())
  return stored(path, name)
}

describe("sharded sweeps", () => {
  it("three runners fill the PostgreSQL store with the single-process SQLite sweep's rows", {
    timeout: 900_000
  }, async () => {
    const name = "paper-cluster"
    const expected = await local(name, 50)
    // 10 problems × 9 strategies × 2 budgets, and 10 + 10 estimates
    assert.strictEqual(expected.runs.length, 180)
    assert.strictEqual(expected.difficulties.length, 20)
    const runners = await startRunners(3)
    await settled(runners)
    const submit = start([...sweepArgs(name, 50), "--cluster", pg.url])
    assert.strictEqual(await submit.exited, 0, submit.output())
    assert.match(submit.output(), /200 cells submitted to the cluster/u)
    assert.match(submit.output(), /sweep paper-cluster: 200 runs now/u)
    const got = await stored(pg.url, name)
    // every column, what the backend spent included: each problem ran on one entity, in order
    assert.deepStrictEqual(
      got.runs.map((r) => row(r, { backendUsage: true })).sort(),
      expected.runs.map((r) => row(r, { backendUsage: true })).sort()
    )
    assert.deepStrictEqual(
      got.difficulties.map((d) => JSON.stringify(d)).sort(),
      expected.difficulties.map((d) => JSON.stringify(d)).sort()
    )
    assert.deepStrictEqual(got.meta, expected.meta)
    // the work was shared: every runner ran cells
    await sleep(1500)
    const last = runners.map(
      (r) =>
        r
          .output()
          .split("\n")
          .filter((l) => l.includes("cells run"))
          .at(-1) ?? ""
    )
    for (const line of last) assert.match(line, /: [1-9]\d* cells run/u, last.join("\n"))
    // submitted again, nothing is sent: every cell is stored
    const again = start([...sweepArgs(name, 50), "--cluster", pg.url])
    assert.strictEqual(await again.exited, 0, again.output())
    assert.match(again.output(), /sweep paper-cluster: 0 runs now, 200 already stored/u)
    for (const r of runners) r.kill()
  })

  it("SIGKILL one runner at a random point, twice: the sweep completes, no row missing or duplicated, results unchanged", {
    timeout: 900_000
  }, async () => {
    const name = "paper-kill"
    const expected = await local(name, 25)
    const total = expected.runs.length
    assert.strictEqual(total, 360)
    const runners = await startRunners(3)
    const seed = Date.now()
    const random = (n: number) => Math.floor(((Math.sin(seed + n) + 1) / 2) * 1e6)
    // two points: in the first and second halves of the runs
    const points = [40 + (random(1) % 120), 200 + (random(2) % 120)]
    const victims = [random(3) % 3, (random(3) % 3) + 1 + (random(4) % 2)].map((v) => v % 3)
    const submit = start([...sweepArgs(name, 25), "--cluster", pg.url])
    const killed: Array<string> = []
    for (let k = 0; k < 2; k++) {
      const point = points[k] ?? 0
      for (;;) {
        const [c] = await query<{ n: string }>("SELECT count(*) AS n FROM mull.runs WHERE sweep = $1", [name])
        if (Number(c?.n ?? 0) >= point) break
        if (submit.process.exitCode !== null) break
        await sleep(25)
      }
      const victim = runners[victims[k] ?? 0]
      assert.isDefined(victim)
      const [c] = await query<{ n: string }>("SELECT count(*) AS n FROM mull.runs WHERE sweep = $1", [name])
      killed.push(`runner ${victims[k]} at ${c?.n} of ${total} runs`)
      victim?.kill()
    }
    const code = await submit.exited
    assert.strictEqual(code, 0, `seed ${seed}, ${killed.join(", ")}:\n${submit.output()}`)
    assert.isTrue(
      killed.every((k) => Number(/at (\d+)/u.exec(k)?.[1]) < total),
      `both kills happened mid-sweep: ${killed.join(", ")}`
    )
    const got = await stored(pg.url, name)
    const keys = got.runs.map((r) => r.key)
    assert.strictEqual(new Set(keys).size, keys.length, "no run stored twice")
    assert.deepStrictEqual(new Set(keys), new Set(expected.runs.map((r) => r.key)), "no run missing")
    // what the backend spent may differ: a killed runner's cache died with it
    assert.deepStrictEqual(
      got.runs.map((r) => row(r, { backendUsage: false })).sort(),
      expected.runs.map((r) => row(r, { backendUsage: false })).sort()
    )
    assert.deepStrictEqual(
      got.difficulties.map((d) => JSON.stringify(d)).sort(),
      expected.difficulties.map((d) => JSON.stringify(d)).sort()
    )
    for (const r of runners) r.kill()
  })

  it("a cell that fails on a runner stops the follow with its error; submitting again retries it", {
    timeout: 600_000
  }, async () => {
    // an OpenAI-compatible server that refuses (400) until told otherwise
    let refuse = true
    const server = createServer((req, res) => {
      req.resume()
      req.on("end", () => {
        res.writeHead(refuse ? 400 : 200, { "content-type": "application/json" })
        res.end(
          JSON.stringify(
            refuse
              ? { error: { message: "model m is not served here", type: "invalid_request_error" } }
              : {
                  choices: [
                    { index: 0, message: { role: "assistant", content: "So $\\boxed{2}$." }, finish_reason: "stop" }
                  ],
                  usage: { prompt_tokens: 10, completion_tokens: 5 }
                }
          )
        )
      })
    })
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r))
    try {
      const port = (server.address() as AddressInfo).port
      const data = join(dir, "two.jsonl")
      writeFileSync(
        data,
        `${JSON.stringify({ id: "a", question: "1+1?", answer: "2" })}\n${JSON.stringify({ id: "b", question: "4-2?", answer: "2" })}\n`
      )
      const sweepFile = join(dir, "fails.json")
      writeFileSync(
        sweepFile,
        JSON.stringify({
          name: "fails",
          dataset: { name: "jsonl", path: data, mapping: { id: "id", question: "question", gold: "answer" } },
          backend: { name: "openai", config: { baseUrl: `http://127.0.0.1:${port}/v1`, model: "m" } },
          strategies: [{ label: "majority", graph: "majority", params: { N: "B" } }],
          budgets: [1],
          seeds: [0]
        })
      )
      const runners = await startRunners(1)
      const first = start(["eval", "--sweep", sweepFile, "--cluster", pg.url])
      assert.notStrictEqual(await first.exited, 0)
      assert.match(first.output(), /cell\(s\) failed on the cluster/u)
      assert.match(first.output(), /InvalidRequest/u)
      refuse = false
      const second = start(["eval", "--sweep", sweepFile, "--cluster", pg.url])
      assert.strictEqual(await second.exited, 0, second.output())
      // the follow stops at the first failure; the other cell may still be running then and, the
      // server now answering, be stored before the second submission (so it is skipped)
      const summary = /sweep fails: (\d+) runs now, (\d+) already stored/u.exec(second.output())
      assert.ok(summary !== null, second.output())
      const [ran, skipped] = [Number(summary[1]), Number(summary[2])]
      assert.strictEqual(ran + skipped, 2, second.output())
      assert.ok(ran >= 1, `the failed cell runs again: ${second.output()}`)
      const got = await stored(pg.url, "fails")
      assert.strictEqual(got.runs.length, 2, "both cells stored once")
      for (const r of runners) r.kill()
    } finally {
      await new Promise<void>((r) => server.close(() => r()))
    }
  })

  it("the generation cache is shared through the database: a smaller budget's samples come from a larger one's, across runners", {
    timeout: 600_000
  }, async () => {
    const runners = await startRunners(2)
    const sweepFile = (name: string, budget: number) => {
      const path = join(dir, `${name}.json`)
      writeFileSync(
        path,
        JSON.stringify({
          name,
          dataset: { name: "math500", every: 100 },
          backend: { name: "simulated" },
          strategies: [{ label: "weighted", graph: "weighted-best-of-n", params: { N: "B" } }],
          budgets: [budget],
          seeds: [0, 1],
          cache: "store"
        })
      )
      return path
    }
    const big = start(["eval", "--sweep", sweepFile("cache-big", 16), "--cluster", pg.url])
    assert.strictEqual(await big.exited, 0, big.output())
    // another sweep: other entities (their in-memory caches are their own), on whichever runner
    const small = start(["eval", "--sweep", sweepFile("cache-small", 4), "--cluster", pg.url])
    assert.strictEqual(await small.exited, 0, small.output())
    const [entries] = await query<{ n: string }>("SELECT count(*) AS n FROM mull.cache")
    assert.isAbove(Number(entries?.n ?? 0), 0)
    const got = await stored(pg.url, "cache-small")
    assert.strictEqual(got.runs.length, 10)
    for (const r of got.runs) {
      assert.strictEqual(r.usage.sequences, 4, "the strategy is charged its samples")
      assert.strictEqual(r.backendUsage.sequences, 0, "the backend generated none: they came from the database")
      assert.strictEqual(r.backendUsage.verifierCalls, 0)
    }
    for (const r of runners) r.kill()
  })
})
