/**
 * Figure 5 (second half), throughput of a large best-of-N run: weighted best-of-N with N = 256 on
 * `problems` MATH-500 problems through the runtime, on the simulated backend with zero latency —
 * 40 problems are 10,240 samples (the "calls": generated sequences; the runtime asks for
 * a problem's 256 samples in one backend call and scores them in one verifier call).
 *
 * @since 0.1.0
 */
import { Effect } from "effect"
import { run } from "../src/runtime/Run.ts"
import { layerSilent } from "../src/runtime/RunEvents.ts"
import { backendOf, graph, problem, provide } from "./World.ts"

/** What a throughput run measured. */
export interface Throughput {
  readonly problems: number
  readonly samples: number
  readonly calls: number
  readonly ms: number
}

/**
 * Runs best-of-N on `problems` consecutive MATH-500 problems (from the 100th), one after another.
 *
 * @example
 * const t = await bestOfNThroughput(40, 256)
 */
export const bestOfNThroughput = async (problems: number, N: number): Promise<Throughput> => {
  const backend = await backendOf({})
  const loaded = await graph("weighted-best-of-n")
  let samples = 0
  let calls = 0
  const t0 = performance.now()
  for (let i = 0; i < problems; i++) {
    const p = await problem(100 + i)
    const r = await Effect.runPromise(
      provide(backend, run(loaded, p, { params: { N }, seed: 0 }).pipe(Effect.provide(layerSilent)))
    )
    samples += r.usage.sequences
    calls += r.usage.calls
  }
  return { problems, samples, calls, ms: performance.now() - t0 }
}
