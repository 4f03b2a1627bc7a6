/**
 * Reference diverse verifier tree search (DVTS; Beeching, Tunstall & Rush 2024, search-and-learn,
 * extending Snell et al. 2024 §5.2), without the graph runtime: split the N beams into N/M
 * independent subtrees; each subtree starts from M first steps and greedily follows its best
 * branch — score, keep the single best unfinished beam, expand it M ways — until its solutions end
 * or 40 rounds have run; the unfinished beams are then completed, and best-of-N weighted selection
 * runs over the finished beams of all subtrees together.
 *
 * mull conventions adopted (docs/graphs.md), so that it can be compared with `graphs/dvts.json`:
 *
 * - N/M is `max(1, floor(N / M))` subtrees; subtree j's candidates have ids prefixed `b<j>/`
 *   (`b2/s0`, `b2/s0.3`) and group `b<j>`; its M fresh samples `b<j>/s0` … are one call seeded
 *   by `b<j>/s0`;
 * - within a subtree, the beam-search conventions of `beamSearch.ts` (one population in creation
 *   order, finished beams wait in place, ties to the earlier beam, a candidate scored once);
 * - node paths: sample `root.nodes.0.body.nodes.0`, expand `root.nodes.0.body.nodes.1.body.nodes.2`,
 *   completion `root.nodes.0.body.nodes.2`; the final completions are scored after all subtrees
 *   end (the graph's `root.nodes.1`), and the population is the subtrees' in subtree order.
 *
 * @since 0.1.0
 */
import { Effect } from "effect"
import type { Candidate } from "../../src/domain/Candidate.ts"
import type { Problem } from "../../src/domain/Problem.ts"
import type { BackendError } from "../../src/services/BackendError.ts"
import {
  children,
  finish,
  freshSamples,
  type Kit,
  makeKit,
  type Ports,
  type ReferenceResult,
  scoreLast,
  scoreUnscored,
  topByScore
} from "./kit.ts"

export interface DvtsOptions {
  readonly N: number
  readonly M: number
  readonly rounds?: number
  readonly temperature?: number
}

const SAMPLE = "root.nodes.0.body.nodes.0"
const EXPAND = "root.nodes.0.body.nodes.1.body.nodes.2"
const COMPLETE = "root.nodes.0.body.nodes.2"

/** One subtree: M first steps, then greedy (top-1) expansion by M, then completion. */
const subtree = (
  kit: Kit,
  j: number,
  M: number,
  rounds: number,
  temperature: number
): Effect.Effect<ReadonlyArray<Candidate>, BackendError> =>
  Effect.gen(function* () {
    const group = `b${j}`
    let beams = yield* freshSamples(kit, `${group}/`, M, "step", temperature, { node: SAMPLE, round: 0, group })
    for (let round = 1; round <= rounds; round++) {
      if (beams.every((c) => c.done)) break
      beams = yield* scoreUnscored(kit, beams, (c) => scoreLast(kit, c))
      const best = new Set(
        topByScore(
          beams.filter((c) => !c.done),
          1
        )
      )
      beams = beams.filter((c) => c.done || best.has(c))
      const next: Array<Candidate> = []
      for (const c of beams) {
        if (c.done) next.push(c)
        else next.push(...(yield* children(kit, c, M, "step", temperature, { node: EXPAND, round })))
      }
      beams = next
    }
    const completed: Array<Candidate> = []
    for (const c of beams) {
      if (c.done) completed.push(c)
      else completed.push(...(yield* children(kit, c, 1, "end", temperature, { node: COMPLETE, round: 0 })))
    }
    return completed
  })

/**
 * DVTS on one problem.
 *
 * @example
 * const r = yield* dvts(problem, 7, { N: 16, M: 4 })
 */
export const dvts = (
  problem: Problem,
  seed: number | bigint,
  options: DvtsOptions
): Effect.Effect<ReferenceResult, BackendError, Ports> =>
  Effect.gen(function* () {
    const kit = yield* makeKit(problem, seed)
    const rounds = options.rounds ?? 40
    const temperature = options.temperature ?? 0.8
    const subtrees = Math.max(1, Math.floor(options.N / options.M))
    const population: Array<Candidate> = []
    for (let j = 0; j < subtrees; j++) population.push(...(yield* subtree(kit, j, options.M, rounds, temperature)))
    const scored = yield* scoreUnscored(kit, population, (c) => scoreLast(kit, c))
    return finish(kit, scored, "weighted", false)
  })
