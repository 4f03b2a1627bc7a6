/**
 * Figures 4 and 5 run through the evaluation runner (`src/eval/Runner.ts`) with an in-memory
 * results store, exactly as `mull eval` and `npm start` do (one thread here: the CLI adds one
 * worker thread per core).
 *
 * - Sweep cost: best-of-N weighted at N ∈ {4, 16, 64, 256} on a problem set costs max N = 256
 *   backend samples per problem with the generation cache (the first 64 samples of best-of-256 are
 *   best-of-64's), against ΣN = 340 without.
 * - Throughput: problems per second of a slice of `sweeps/paper.json` (what `npm start` runs).
 *
 * @since 0.1.0
 */
import { readFileSync } from "node:fs"
import { Effect } from "effect"
import { registry } from "../src/backends/Registry.ts"
import { runSweep } from "../src/eval/Runner.ts"
import { Store, layer as storeLayer } from "../src/eval/Store.ts"
import { decodeSweep, type SweepSpec } from "../src/eval/Sweep.ts"
import { fromRoot } from "../src/paths.ts"

/** Backend spend of a sweep, summed over its runs. */
export interface SweepCost {
  readonly problems: number
  readonly runs: number
  /** samples the backend generated, per problem */
  readonly samplesPerProblem: number
  /** samples the strategies were charged (the ledger's logical cost), per problem */
  readonly chargedPerProblem: number
  /** candidates the verifier really scored, per problem */
  readonly verifiedPerProblem: number
  readonly ms: number
}

/**
 * Runs a sweep into a fresh in-memory store and sums what the backend spent.
 *
 * @example
 * const cost = await sweepCost(spec)
 */
export const sweepCost = (spec: SweepSpec): Promise<SweepCost> =>
  Effect.runPromise(
    Effect.gen(function* () {
      const t0 = performance.now()
      yield* runSweep(spec, { registry })
      const ms = performance.now() - t0
      const store = yield* Store
      const runs = yield* store.runs(spec.name)
      const problems = new Set(runs.map((r) => r.problemId)).size
      let samples = 0
      let charged = 0
      let verified = 0
      for (const r of runs) {
        samples += r.backendUsage.sequences
        charged += r.usage.sequences
        verified += r.backendUsage.verifierCalls
      }
      return {
        problems,
        runs: runs.length,
        samplesPerProblem: samples / problems,
        chargedPerProblem: charged / problems,
        verifiedPerProblem: verified / problems,
        ms
      }
    }).pipe(Effect.scoped, Effect.provide(storeLayer(":memory:")))
  )

/**
 * The sweep of figure 4: best-of-N weighted at N ∈ {4, 16, 64, 256} on every `every`-th MATH-500
 * problem, with the generation cache in memory or off.
 *
 * @example
 * const spec = await bestOfNSweep("off", 25)
 */
export const bestOfNSweep = (cache: "memory" | "off", every: number): Promise<SweepSpec> =>
  Effect.runPromise(
    decodeSweep({
      name: `bench-bon-${cache}`,
      dataset: { name: "math500", every },
      backend: { name: "simulated" },
      strategies: [{ label: "best-of-N weighted", graph: "weighted-best-of-n", params: { N: "B" } }],
      budgets: [4, 16, 64, 256],
      seeds: [0],
      cache
    })
  )

/**
 * `sweeps/paper.json` (what `npm start` runs: nine strategies × four budgets, difficulty samples
 * and the larger model) on its first `limit` problems (`every` as in the file unless given).
 *
 * @example
 * const spec = await paperSlice(12)
 */
export const paperSlice = (limit: number | undefined, every?: number): Promise<SweepSpec> => {
  const json = JSON.parse(readFileSync(fromRoot("sweeps", "paper.json"), "utf8")) as {
    readonly dataset: Record<string, unknown>
  }
  return Effect.runPromise(
    decodeSweep({
      ...json,
      name: "bench-paper",
      dataset: {
        ...json.dataset,
        ...(every === undefined ? {} : { every }),
        ...(limit === undefined ? {} : { limit })
      }
    })
  )
}
