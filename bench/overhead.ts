/**
 * Figure 1, orchestration overhead: the same strategy run through the graph runtime and through
 * the plain hand-written reference of `test/reference/` (which makes the same backend calls, in
 * the same order, with the same seeds — `test/runtime/reference.test.ts` checks that they give
 * the same population and usage), on the simulated backend with zero latency. Both sides pay the
 * simulator's own work, so the ratio and the difference per call are what the runtime adds.
 *
 * @since 0.1.0
 */
import { Effect } from "effect"
import type { SimulatedConfigInput } from "../plugins/simulated/index.ts"
import type { Problem } from "../src/domain/Problem.ts"
import type { RunResult } from "../src/domain/RunResult.ts"
import { run } from "../src/runtime/Run.ts"
import { layerSilent } from "../src/runtime/RunEvents.ts"
import type { BackendError } from "../src/services/BackendError.ts"
import { beamSearch } from "../test/reference/beamSearch.ts"
import { bestOfN } from "../test/reference/bestOfN.ts"
import type { Ports, ReferenceResult } from "../test/reference/kit.ts"
import { recorded } from "./Recorded.ts"
import { cpuMs, type Summary, summarize } from "./Stats.ts"
import { backendOf, graph, LONG, problem, provide } from "./World.ts"

/** One side-by-side case: a graph with params, and the reference that makes the same calls. */
export interface OverheadCase {
  readonly label: string
  readonly graph: string
  readonly params: Record<string, number>
  readonly config: SimulatedConfigInput
  readonly reference: (p: Problem, seed: number) => Effect.Effect<ReferenceResult, BackendError, Ports>
}

/** What one case measured. */
export interface OverheadResult {
  readonly label: string
  /** runtime time ÷ reference time, per repetition */
  readonly ratio: Summary
  /** (runtime − reference) ÷ backend calls, in µs, per repetition */
  readonly perCallUs: Summary
  /** backend calls of one repetition (all problems) */
  readonly calls: number
  /** reference CPU milliseconds of one repetition */
  readonly referenceMs: Summary
  readonly runtimeMs: Summary
}

const sameCalls = (g: RunResult, r: ReferenceResult, label: string) => {
  if (g.usage.calls !== r.usage.calls || g.usage.sequences !== r.usage.sequences || g.answer !== r.answer)
    throw new Error(
      `${label}: runtime and reference differ (calls ${g.usage.calls} vs ${r.usage.calls}, sequences ${g.usage.sequences} vs ${r.usage.sequences})`
    )
}

/**
 * Runs a case `reps` times (after `warmup` untimed repetitions) on `problems` problems,
 * alternating which side goes first.
 *
 * @example
 * const r = await measureOverhead(beamCase(64, 4), { reps: 7, warmup: 1, problems: 2 })
 */
export const measureOverhead = async (
  c: OverheadCase,
  options: {
    readonly reps: number
    readonly warmup: number
    readonly problems: number
    /** serve the simulator's answers from memory after the first repetition (see Recorded.ts) */
    readonly recorded?: boolean
  }
): Promise<OverheadResult> => {
  const simulated = await backendOf(c.config)
  const backend = options.recorded === true ? recorded(simulated) : simulated
  const loaded = await graph(c.graph)
  const problems: Array<Problem> = []
  for (let i = 0; i < options.problems; i++) problems.push(await problem(17 + 41 * i))
  const runtimeOnce = (p: Problem, seed: number) =>
    Effect.runPromise(provide(backend, run(loaded, p, { params: c.params, seed }).pipe(Effect.provide(layerSilent))))
  const referenceOnce = (p: Problem, seed: number) => Effect.runPromise(provide(backend, c.reference(p, seed)))
  const ratios: Array<number> = []
  const perCall: Array<number> = []
  const refMs: Array<number> = []
  const rtMs: Array<number> = []
  let calls = 0
  for (let rep = 0; rep < options.warmup + options.reps; rep++) {
    let tRuntime = 0
    let tReference = 0
    calls = 0
    for (const [i, p] of problems.entries()) {
      // the same seeds every repetition: the same work, and a recorded backend hits
      const seed = i
      const sides = [
        async () => {
          const t0 = cpuMs()
          const g = await runtimeOnce(p, seed)
          tRuntime += cpuMs() - t0
          return g
        },
        async () => {
          const t0 = cpuMs()
          const r = await referenceOnce(p, seed)
          tReference += cpuMs() - t0
          return r
        }
      ] as const
      // alternate the order, so neither side always runs on a warmer heap
      if ((rep + i) % 2 === 0) {
        const g = await sides[0]()
        const r = await sides[1]()
        sameCalls(g, r, c.label)
        calls += g.usage.calls
      } else {
        const r = await sides[1]()
        const g = await sides[0]()
        sameCalls(g, r, c.label)
        calls += g.usage.calls
      }
    }
    if (rep < options.warmup) continue
    ratios.push(tRuntime / tReference)
    perCall.push(((tRuntime - tReference) * 1000) / calls)
    refMs.push(tReference)
    rtMs.push(tRuntime)
  }
  return {
    label: c.label,
    ratio: summarize(ratios),
    perCallUs: summarize(perCall),
    calls,
    referenceMs: summarize(refMs),
    runtimeMs: summarize(rtMs)
  }
}

/**
 * Beam search with N beams of width M over up to `rounds` rounds, on long simulated solutions.
 *
 * @example
 * beamCase(64, 4, 40)
 */
export const beamCase = (N: number, M: number, rounds = 40, config: SimulatedConfigInput = LONG): OverheadCase => ({
  label: `beam search N=${N} M=${M} ${rounds} rounds`,
  graph: "beam-search",
  params: { N, M, rounds },
  config,
  reference: (p, seed) => beamSearch(p, seed, { N, M, rounds })
})

/**
 * Weighted best-of-N.
 *
 * @example
 * bestOfNCase(256)
 */
export const bestOfNCase = (N: number, config: SimulatedConfigInput = {}): OverheadCase => ({
  label: `best-of-N weighted N=${N}`,
  graph: "weighted-best-of-n",
  params: { N },
  config,
  reference: (p, seed) => bestOfN(p, seed, { N, method: "weighted" })
})
