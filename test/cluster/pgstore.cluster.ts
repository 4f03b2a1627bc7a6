/**
 * The PostgreSQL results store against a real server: the same answers as the SQLite store for the
 * same operations (records, estimates, cache, metadata, sweeps, claims), a run inserted twice is
 * stored once, a whole sweep run into it holds the SQLite sweep's rows, and `mull report`,
 * `mull optimize` and `mull exchange` print and write the same from either store.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { registry } from "../../src/backends/Registry.ts"
import { zero } from "../../src/domain/Usage.ts"
import type { RunRecord } from "../../src/eval/Record.ts"
import { runSweep } from "../../src/eval/Runner.ts"
import * as Store from "../../src/eval/Store.ts"
import { decodeSweep } from "../../src/eval/Sweep.ts"
import { type Postgres, startPostgres } from "./postgres.ts"
import { killAll, start } from "./processes.ts"

let pg: Postgres
let dir: string

beforeAll(async () => {
  pg = await startPostgres()
  dir = mkdtempSync(join(tmpdir(), "mull-pgstore-"))
}, 180_000)

afterAll(async () => {
  await killAll()
  await pg?.stop()
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true })
})

const withStore = <A, E>(target: string, f: (store: Store.StoreShape) => Effect.Effect<A, E>) =>
  Effect.runPromise(Effect.scoped(Effect.flatMap(Store.open(target), f)))

const record = (key: string, over: Partial<RunRecord> = {}): RunRecord => ({
  key,
  sweep: "ops",
  strategy: "beam",
  graph: "beam-search",
  params: { N: 4, M: 2 },
  budget: 4,
  seed: 0,
  problemId: `p-${key}`,
  level: 3,
  answer: "\\frac{1}{2}",
  gold: "0.5",
  correct: true,
  exhausted: false,
  usage: { ...zero, calls: 3, sequences: 4, outputTokens: 812.5 },
  backendUsage: { ...zero, calls: 1 },
  candidates: 4,
  done: 3,
  correctCandidates: 2,
  math: { correct: true, correctCandidates: 1 },
  ...over
})

/** A record without its optional fields (stored as NULLs). */
const bare = (key: string): RunRecord => {
  const { level, answer, gold, math, ...rest } = record(key)
  return rest
}

/** The same operations, on any store; what each answered. */
const script = (st: Store.StoreShape) =>
  Effect.gen(function* () {
    const out: Array<unknown> = []
    yield* st.putRun(record("a"))
    yield* st.putRun(bare("b"))
    yield* st.putRun(record("c", { sweep: "other" }))
    out.push((yield* st.runs("ops")).map((r) => ({ ...r })).sort((x, y) => (x.key < y.key ? -1 : 1)))
    out.push([...(yield* st.finished(["a", "c", "zz"]))].sort())
    out.push(yield* st.sweeps)
    yield* st.putDifficulty({
      sweep: "ops",
      problemId: "p1",
      level: 2,
      samples: 8,
      seed: 1,
      pass1: 0.25,
      meanScore: 0.6
    })
    // a re-estimate replaces the first
    yield* st.putDifficulty({ sweep: "ops", problemId: "p1", samples: 16, seed: 1, pass1: 0.5, meanScore: 0.7 })
    out.push(yield* st.difficulties("ops"))
    yield* st.cachePut("k", '{"x":1}')
    out.push(yield* st.cacheGet("k"), yield* st.cacheGet("missing"))
    yield* st.putMeta("m", "1")
    yield* st.putMeta("m", "2")
    out.push(yield* st.getMeta("m"), yield* st.getMeta("none"))
    const never = () => false
    out.push(
      yield* st.claim("w", "x", 10_000, never),
      yield* st.claim("w", "y", 10_000, never),
      yield* st.claim("w", "y", 10_000, (h) => h === "x")
    )
    yield* st.releaseClaim("w", "y")
    out.push(yield* st.claim("w", "z", 60, never))
    yield* Effect.sleep(150)
    out.push(yield* st.claim("w", "x", 60, never))
    return out
  })

describe("the PostgreSQL results store", () => {
  it("answers as the SQLite store does, operation by operation", async () => {
    const sqlite = await withStore(join(dir, "ops.db"), script)
    const postgres = await withStore(pg.url, script)
    assert.deepStrictEqual(postgres, sqlite)
  })

  it("stores a run inserted twice once (the cell is the key)", async () => {
    const rows = await withStore(pg.url, (st) =>
      Effect.gen(function* () {
        yield* st.putRun(record("twice", { sweep: "twice" }))
        yield* st.putRun(record("twice", { sweep: "twice" }))
        return yield* st.runs("twice")
      })
    )
    assert.strictEqual(rows.length, 1)
  })

  it("holds a sweep run into it with the SQLite sweep's rows", { timeout: 300_000 }, async () => {
    const spec = await Effect.runPromise(
      decodeSweep({
        name: "into-pg",
        dataset: { name: "math500", every: 100, limit: 4 },
        backend: { name: "simulated" },
        strategies: [
          { label: "weighted", graph: "weighted-best-of-n", params: { N: "B" } },
          { label: "beam", graph: "beam-search", params: { N: "B", M: 2 } }
        ],
        budgets: [4, 8],
        seeds: [0, 1],
        difficulty: { samples: 8 }
      })
    )
    const sweep = (target: string) =>
      Effect.runPromise(
        Effect.scoped(
          Effect.gen(function* () {
            yield* runSweep(spec, { registry })
            const st = yield* Store.Store
            return {
              runs: (yield* st.runs("into-pg"))
                .map((r) =>
                  JSON.stringify({
                    ...r,
                    usage: { ...r.usage, wallMs: 0 },
                    backendUsage: { ...r.backendUsage, wallMs: 0 }
                  })
                )
                .sort(),
              difficulties: (yield* st.difficulties("into-pg")).map((d) => JSON.stringify(d)).sort()
            }
          }).pipe(Effect.provide(Store.layer(target)))
        )
      )
    const sqlite = await sweep(join(dir, "into.db"))
    const postgres = await sweep(pg.url)
    assert.strictEqual(sqlite.runs.length, 4 * 8)
    assert.deepStrictEqual(postgres, sqlite)
  })

  it("mull report, optimize and exchange give the same from either store", { timeout: 600_000 }, async () => {
    const sweep = join(dir, "analysed.json")
    writeFileSync(
      sweep,
      JSON.stringify({
        name: "analysed",
        dataset: { name: "math500", every: 100, limit: 4 },
        backend: { name: "simulated" },
        strategies: [
          { label: "weighted", graph: "weighted-best-of-n", params: { N: "B" } },
          { label: "beam", graph: "beam-search", params: { N: "B", M: 2 } }
        ],
        budgets: [4, 8],
        seeds: [0, 1],
        difficulty: { samples: 8 },
        large: { samples: 8 }
      })
    )
    const run = async (args: ReadonlyArray<string>) => {
      const child = start(args)
      const code = await child.exited
      assert.strictEqual(code, 0, `mull ${args.join(" ")}:\n${child.output()}`)
      return child.output()
    }
    const sqlite = join(dir, "analysed.db")
    const outputs = async (store: string, tag: string) => {
      await run(["eval", "--sweep", sweep, "--store", store, "--workers", "1"])
      const folder = join(dir, `out-${tag}`)
      // the paths differ, and so does when the report was generated
      const shown = (text: string) =>
        text
          .replaceAll(folder, "OUT")
          .replaceAll(store, "STORE")
          .replace(/at \d{4}-\d\d-\d\dT[\d:.]+Z/gu, "at TIME")
      const printed = [
        shown(await run(["optimize", "--store", store, "--sweep", "analysed", "--out", join(folder, "policies")])),
        shown(await run(["exchange", "--store", store, "--sweep", "analysed"])),
        shown(await run(["report", "--store", store, "--sweep", "analysed", "--out", folder]))
      ]
      const written = Object.fromEntries(
        [
          ...readdirSync(folder)
            .filter((f) => f !== "policies")
            .map((f) => [f, readFileSync(join(folder, f), "utf8")] as const),
          ...readdirSync(join(folder, "policies")).map(
            (f) => [`policies/${f}`, readFileSync(join(folder, "policies", f), "utf8")] as const
          )
        ].map(([f, text]) => [f, shown(text)])
      )
      return { printed, written }
    }
    const fromSqlite = await outputs(sqlite, "sqlite")
    const fromPostgres = await outputs(pg.url, "postgres")
    assert.include(fromSqlite.printed[0] ?? "", "Compute-optimal policy")
    assert.include(fromSqlite.printed[1] ?? "", "Exchange rate")
    assert.includeMembers(Object.keys(fromSqlite.written), ["report.md", "report.html", "exchange.svg"])
    assert.deepStrictEqual(fromPostgres.printed, fromSqlite.printed)
    assert.deepStrictEqual(fromPostgres.written, fromSqlite.written)
  })
})
