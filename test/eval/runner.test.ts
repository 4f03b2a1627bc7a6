import { spawn } from "node:child_process"
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { DatabaseSync } from "node:sqlite"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { registry } from "../../src/backends/Registry.ts"
import { runSweep } from "../../src/eval/Runner.ts"
import * as Store from "../../src/eval/Store.ts"
import { decodeSweep, type SweepSpec } from "../../src/eval/Sweep.ts"

const tmp = () => mkdtempSync(join(tmpdir(), "mull-eval-"))

const specJson = {
  name: "resume",
  dataset: { name: "math500", every: 50, limit: 6 },
  backend: { name: "simulated" },
  strategies: [
    { label: "weighted", graph: "weighted-best-of-n", params: { N: "B" } },
    { label: "beam", graph: "beam-search", params: { N: "B", M: 2 } }
  ],
  budgets: [4, 8],
  seeds: [0, 1],
  difficulty: { samples: 8 }
}

const withStore = <A, E>(path: string, f: (store: Store.StoreShape) => Effect.Effect<A, E, Store.Store>) =>
  Effect.runPromise(
    Effect.scoped(
      Effect.gen(function* () {
        const store = yield* Store.Store
        return yield* f(store)
      }).pipe(Effect.provide(Store.layer(path)))
    )
  )

const spec = (): Promise<SweepSpec> => Effect.runPromise(decodeSweep(specJson))

/** What a run record says, without when it was written. */
const essence = (r: {
  key: string
  strategy: string
  budget: number
  seed: number
  problemId: string
  answer?: string
  correct: boolean
  usage: { sequences: number; outputTokens: number }
}) =>
  `${r.key} ${r.strategy} ${r.budget} ${r.seed} ${r.problemId} ${r.answer ?? "-"} ${r.correct} ${r.usage.sequences} ${r.usage.outputTokens}`

describe("sweep runner", () => {
  it("resumes an interrupted sweep: nothing lost, nothing redone, the same results", async () => {
    const s = await spec()
    const dir = tmp()
    const whole = join(dir, "whole.db")
    const cut = join(dir, "cut.db")
    const full = await withStore(whole, () => runSweep(s, { registry }))
    // 6 problems × (2 strategies × 2 budgets × 2 seeds) runs + 6 difficulty items
    assert.strictEqual(full.total, 6 * 8 + 6)
    assert.strictEqual(full.ran, full.total)
    // stop after 17 items (problems in flight finish their current item)
    const first = await withStore(cut, () => runSweep(s, { registry, maxItems: 17 }))
    assert.isAtLeast(first.ran, 17)
    assert.isBelow(first.ran, full.total)
    const second = await withStore(cut, () => runSweep(s, { registry }))
    assert.strictEqual(second.skipped, first.ran, "the finished work is found")
    assert.strictEqual(second.ran, full.total - first.ran, "and not done again")
    const third = await withStore(cut, () => runSweep(s, { registry }))
    assert.strictEqual(third.ran, 0)
    const a = (await withStore(whole, (st) => st.runs("resume"))).map(essence).sort()
    const b = (await withStore(cut, (st) => st.runs("resume"))).map(essence).sort()
    assert.deepStrictEqual(b, a)
    const da = (await withStore(whole, (st) => st.difficulties("resume")))
      .map((d) => `${d.problemId} ${d.pass1} ${d.meanScore}`)
      .sort()
    const db = (await withStore(cut, (st) => st.difficulties("resume")))
      .map((d) => `${d.problemId} ${d.pass1} ${d.meanScore}`)
      .sort()
    assert.deepStrictEqual(db, da)
  })

  it("a killed `mull eval` process loses nothing and redoes nothing", async () => {
    const dir = tmp()
    const path = join(dir, "killed.db")
    const sweepFile = join(dir, "sweep.json")
    const { writeFileSync } = await import("node:fs")
    writeFileSync(sweepFile, JSON.stringify({ ...specJson, name: "killed" }))
    const args = ["src/cli/main.ts", "eval", "--sweep", sweepFile, "--store", path, "--workers", "1"]
    const count = () => {
      try {
        const db = new DatabaseSync(path, { readOnly: true })
        const row = db.prepare("SELECT count(*) AS n FROM runs").get() as { n: number } | undefined
        db.close()
        return row?.n ?? 0
      } catch {
        return 0
      }
    }
    // start, wait until some runs are stored, then kill -9 mid-sweep
    const child = spawn(process.execPath, args, { stdio: "ignore" })
    const deadline = Date.now() + 60_000
    while (count() < 5 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50))
    child.kill("SIGKILL")
    await new Promise((r) => child.on("exit", r))
    const before = count()
    assert.isAbove(before, 0)
    assert.isBelow(before, 48, "killed before the end")
    const s = await Effect.runPromise(decodeSweep({ ...specJson, name: "killed" }))
    const rest = await withStore(path, () => runSweep(s, { registry }))
    assert.strictEqual(rest.skipped + rest.ran, rest.total)
    assert.isAtLeast(rest.skipped, before, "every stored run is kept")
    assert.strictEqual(count(), 48)
    const keys = (await withStore(path, (st) => st.runs("killed"))).map((r) => r.key)
    assert.strictEqual(new Set(keys).size, keys.length, "no run stored twice")
  })

  it("nested budgets share samples: the ledger charges them, the backend spends nothing", async () => {
    const s = await Effect.runPromise(
      decodeSweep({
        name: "nested",
        dataset: { name: "math500", limit: 3 },
        backend: { name: "simulated" },
        strategies: [{ label: "weighted", graph: "weighted-best-of-n", params: { N: "B" } }],
        budgets: [16, 64],
        seeds: [0]
      })
    )
    const dir = tmp()
    const runs = await withStore(join(dir, "n.db"), (st) =>
      Effect.andThen(runSweep(s, { registry }), st.runs("nested"))
    )
    for (const r of runs.filter((r) => r.budget === 16)) {
      assert.strictEqual(r.usage.sequences, 16, "logical cost charged")
      assert.strictEqual(r.backendUsage.sequences, 0, "all 16 samples were best-of-64's")
      assert.strictEqual(r.backendUsage.verifierCalls, 0)
    }
    for (const r of runs.filter((r) => r.budget === 64)) assert.strictEqual(r.backendUsage.sequences, 64)
  })

  it("a bad sweep names the field", async () => {
    const r = await Effect.runPromise(
      Effect.flip(
        decodeSweep({ ...specJson, budgets: [0], strategies: [{ label: "x", graph: "weighted-best-of-n", extra: 1 }] })
      )
    )
    assert.match(r.message, /budgets\.0/)
    assert.match(r.message, /strategies\.0\.extra/)
  })
})
