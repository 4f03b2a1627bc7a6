/**
 * Eval store durability: a sweep killed with SIGKILL at random points — several times over — and
 * then resumed finishes with exactly the results of an uninterrupted sweep: the same run records
 * (answers, verdicts, logical usage), the same difficulty estimates, each stored once, and a database that
 * passes SQLite's integrity check.
 */
import { spawn } from "node:child_process"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { DatabaseSync } from "node:sqlite"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import fc from "fast-check"
import { registry } from "../../src/backends/Registry.ts"
import { runSweep } from "../../src/eval/Runner.ts"
import * as Store from "../../src/eval/Store.ts"
import { decodeSweep } from "../../src/eval/Sweep.ts"
import { packageRoot } from "../../src/paths.ts"

const sweepJson = {
  name: "durable",
  dataset: { name: "math500", every: 60, limit: 5 },
  backend: { name: "simulated" },
  strategies: [
    { label: "weighted", graph: "weighted-best-of-n", params: { N: "B" } },
    { label: "beam", graph: "beam-search", params: { N: "B", M: 2 } },
    { label: "revise", graph: "sequential-revisions", params: { N: "B" } }
  ],
  budgets: [4, 8],
  seeds: [0, 1],
  difficulty: { samples: 8 }
}
// 5 problems × (3 strategies × 2 budgets × 2 seeds) runs
const TOTAL_RUNS = 5 * 12

const withStore = <A, E>(path: string, f: (store: Store.StoreShape) => Effect.Effect<A, E, Store.Store>) =>
  Effect.runPromise(
    Effect.scoped(
      Effect.gen(function* () {
        return yield* f(yield* Store.Store)
      }).pipe(Effect.provide(Store.layer(path)))
    )
  )

/** Everything a run record says, except when it was written. */
const records = async (path: string) => {
  const runs = await withStore(path, (st) => st.runs("durable"))
  const difficulties = await withStore(path, (st) => st.difficulties("durable"))
  return {
    // what the backend really spent is the one thing that may differ: the generation cache lives
    // in the killed process's memory, so a resumed problem draws again what the killed one had cached
    runs: runs
      .map((r) =>
        JSON.stringify({ ...r, createdAt: undefined, backendUsage: undefined, usage: { ...r.usage, wallMs: 0 } })
      )
      .sort(),
    difficulties: difficulties.map((d) => JSON.stringify(d)).sort(),
    keys: runs.map((r) => r.key)
  }
}

const stored = (path: string): number => {
  try {
    const db = new DatabaseSync(path, { readOnly: true })
    const row = db.prepare("SELECT count(*) AS n FROM runs").get() as { n: number } | undefined
    db.close()
    return row?.n ?? 0
  } catch {
    return 0
  }
}

const integrity = (path: string): string => {
  const db = new DatabaseSync(path, { readOnly: true })
  const row = db.prepare("PRAGMA integrity_check").get() as { integrity_check: string } | undefined
  db.close()
  return row?.integrity_check ?? "(none)"
}

/** Starts `mull eval` on the sweep and kills it (SIGKILL) once `killAt` runs are stored; returns what was stored. */
const killedAt = async (sweepFile: string, store: string, killAt: number, workers: number): Promise<number> => {
  const child = spawn(
    process.execPath,
    ["src/cli/main.ts", "eval", "--sweep", sweepFile, "--store", store, "--workers", String(workers)],
    { cwd: packageRoot, stdio: "ignore" }
  )
  const exited = new Promise((r) => child.on("exit", r))
  const deadline = Date.now() + 60_000
  let done = false
  void exited.then(() => {
    done = true
  })
  while (!done && stored(store) < killAt && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10))
  child.kill("SIGKILL")
  await exited
  return stored(store)
}

describe("eval store durability", () => {
  it("sweeps killed at random points, then resumed, equal an uninterrupted sweep exactly", {
    timeout: 300_000
  }, async () => {
    const dir = mkdtempSync(join(tmpdir(), "mull-durable-"))
    try {
      const sweepFile = join(dir, "sweep.json")
      writeFileSync(sweepFile, JSON.stringify(sweepJson))
      const spec = await Effect.runPromise(decodeSweep(sweepJson))
      const whole = join(dir, "whole.db")
      await withStore(whole, () => runSweep(spec, { registry }))
      const expected = await records(whole)
      assert.strictEqual(expected.runs.length, TOTAL_RUNS)
      let n = 0
      await fc.assert(
        fc.asyncProperty(
          fc.array(fc.integer({ min: 1, max: TOTAL_RUNS - 1 }), { minLength: 1, maxLength: 3 }),
          fc.constantFrom(1, 2),
          async (kills, workers) => {
            const store = join(dir, `killed-${n++}.db`)
            let last = 0
            for (const at of [...kills].sort((a, b) => a - b)) {
              const now = await killedAt(sweepFile, store, at, workers)
              assert.isAtLeast(now, last, "a kill never loses stored runs")
              last = now
              assert.strictEqual(integrity(store), "ok")
            }
            const rest = await withStore(store, () => runSweep(spec, { registry }))
            assert.strictEqual(rest.skipped + rest.ran, rest.total)
            const got = await records(store)
            assert.strictEqual(new Set(got.keys).size, got.keys.length, "no run stored twice")
            assert.deepStrictEqual(got.runs, expected.runs, "the same run records")
            assert.deepStrictEqual(got.difficulties, expected.difficulties, "the same difficulty estimates")
          }
        ),
        { numRuns: Number(process.env.MULL_DURABILITY_RUNS ?? 3) }
      )
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
