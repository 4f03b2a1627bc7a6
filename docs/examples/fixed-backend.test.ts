/**
 * The backend of fixed-backend.ts, added to a registry of one's own, runs where mull's run: the
 * embedding API picks it by name, its configuration errors name the field, a graph that needs what
 * it lacks is refused at load, and a parallel sweep loads it in each worker thread. Run it alone
 * with `npx vitest run docs/examples`.
 */
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Effect } from "effect"
import { describe, expect, it } from "vitest"
import { runSweepParallel } from "../../src/eval/Parallel.ts"
import * as Store from "../../src/eval/Store.ts"
import { decodeSweep } from "../../src/eval/Sweep.ts"
import { runGraph } from "../../src/index.ts"
import { registry } from "./fixed-backend.ts"

const problem = { question: "What is $6 \\times 7$?", gold: "42" }

describe("a backend of one's own", () => {
  it("runs by name through the registry", async () => {
    const result = await runGraph({
      graph: "majority",
      problem,
      params: { N: 3 },
      registry,
      backend: "fixed",
      backendConfig: { answer: "42" }
    })
    expect(result.answer).toBe("42")
    expect(result.usage.sequences).toBe(3)
    expect(result.usage.outputTokens).toBe(24)
  })

  it("reports a bad configuration by field, and refuses a graph that scores", async () => {
    await expect(
      runGraph({ graph: "majority", problem, registry, backend: "fixed", backendConfig: { answer: "", tokens: 0 } })
    ).rejects.toThrow(/backend-config\.answer: .*; backend-config\.tokens: /u)
    await expect(
      runGraph({ graph: "best-of-n", problem, registry, backend: "fixed", backendConfig: { answer: "42" } })
    ).rejects.toThrow(/no verifier "prm"/u)
  })

  it("runs a parallel sweep, each worker loading the registry from its module", async () => {
    const spec = await Effect.runPromise(
      decodeSweep({
        name: "fixed",
        dataset: { name: "gsm8k", limit: 4 },
        backend: { name: "fixed", config: { answer: "18" } },
        strategies: [{ label: "majority", graph: "majority", params: { N: "B" } }],
        budgets: [2],
        seeds: [0]
      })
    )
    const path = join(mkdtempSync(join(tmpdir(), "mull-fixed-")), "fixed.db")
    const runs = await Effect.runPromise(
      Effect.gen(function* () {
        yield* runSweepParallel(spec, path, { registry, workers: 2 })
        const store = yield* Store.Store
        return yield* store.runs("fixed")
      }).pipe(Effect.provide(Store.layer(path)), Effect.scoped)
    )
    expect(runs.length).toBe(4)
    expect(runs.every((r) => r.answer === "18")).toBe(true)
  }, 60_000)
})
