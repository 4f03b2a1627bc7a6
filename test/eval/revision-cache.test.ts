/**
 * Revision chains are shared across chain lengths T (issue 18): chain c's attempt t depends only
 * on the chain's id and index (`b<c>/s0.r<t>`), the attempts before it and the seed, never on how
 * many chains or attempts the strategy runs — so the sequential/parallel ratio sweep generates the
 * union of its chains once, and a flat vote of the same chains costs nothing more.
 */
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { registry } from "../../src/backends/Registry.ts"
import { runSweep } from "../../src/eval/Runner.ts"
import * as Store from "../../src/eval/Store.ts"
import { decodeSweep } from "../../src/eval/Sweep.ts"

describe("revision chains across chain lengths", () => {
  it("the backend generates and scores the union of the chains once", async () => {
    const spec = await Effect.runPromise(
      decodeSweep({
        name: "chains",
        dataset: { name: "math500", limit: 1 },
        backend: { name: "simulated" },
        strategies: [
          { label: "T=4", graph: "hybrid-revisions", params: { P: "B / 4", S: 4 } },
          { label: "T=16", graph: "hybrid-revisions", params: { P: "B / 16", S: 16 } },
          { label: "T=16 flat", graph: "hybrid-revisions-flat", params: { P: "B / 16", S: 16 } }
        ],
        budgets: [16, 64],
        seeds: [0],
        cache: "memory"
      })
    )
    const path = join(mkdtempSync(join(tmpdir(), "mull-chains-")), "c.db")
    const summary = await Effect.runPromise(
      Effect.scoped(runSweep(spec, { registry })).pipe(Effect.provide(Store.layer(path)))
    )
    // chains × attempts: T=4 at 64 is 16 × 4, T=16 at 64 is 4 × 16; at 16 they are 4 × 4 and 1 × 16,
    // inside those. Union: chains 0–3 × attempts 0–15 (64) + chains 4–15 × attempts 0–3 (48) = 112.
    const union = 112
    // each generation is looked up once and scored once; a miss is a generation or a score made
    assert.strictEqual(summary.cache.misses, 2 * union, "the union of the chains, generated and scored once")
    const lookups = 2 * (64 + 16 + 64 + 16 + 64 + 16)
    assert.strictEqual(summary.cache.hits, lookups - 2 * union)
  })
})
