/**
 * Reference PRM-guided beam search (Snell et al. 2024 §5.2), without the graph runtime. The
 * paper's procedure, for N beams and beam width M:
 *
 * 1. sample N initial predictions for the first step;
 * 2. score the generated steps with the PRM (the step-wise reward-to-go: the last step's score);
 * 3. keep only the top N/M highest-scoring steps;
 * 4. from each candidate, sample M proposals for the next step (N/M × M prefixes);
 * 5. repeat 2–4 until the solutions end or 40 rounds of expansion have run;
 *
 * then best-of-N weighted selection over the final answer candidates. Lookahead search
 * (`lookahead.ts`) is this loop with another step scorer.
 *
 * mull conventions adopted (docs/graphs.md, "Decisions the paper leaves open"), so that it can be
 * compared with `graphs/beam-search.json` (and `graphs/lookahead.json`, same node paths):
 *
 * - one population in creation order: a beam that finishes stays where it is and waits (it is not
 *   replaced), a kept beam is replaced in place by its children; N/M is `max(1, floor(N / M))`,
 *   taken among the unfinished beams only, ties to the earlier beam; each survivor proposes
 *   `floor(N / (N/M))` next steps — M when M divides N, and N beams per round when it does not
 *   (M = round(√N) for N = 8: 2 survivors × 4);
 * - a round runs only while some beam is unfinished; after the last round every unfinished beam is
 *   completed to the end by one more call (n = 1), then every unscored candidate is scored and the
 *   weighted vote runs over the finished beams;
 * - ids: `s<i>` for the initial samples (one call with N continuations, seeded by `s0`),
 *   `<parent>.<j>` for children (one call per parent, seeded by its id); node paths:
 *   sample `root.nodes.0`, expand `root.nodes.1.body.nodes.2`, final completion `root.nodes.2`
 *   (prefixed `root[beam-search].` when reached through `use`, as in `graphs/beam-search-sqrt.json`);
 * - a candidate is scored once, when it has no score: the initial samples and new children at the
 *   start of the next round, finished beams too; `origin.round` is the round that made it (0 outside
 *   the loop).
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

export interface BeamSearchOptions {
  readonly N: number
  readonly M: number
  readonly rounds?: number
  readonly temperature?: number
  /** prefix of every node path (`root[beam-search].` when run through `use`) */
  readonly pathPrefix?: string
}

/** Scores one candidate during the search (the PRM's last-step score, or a lookahead's). */
export type StepScorer = (kit: Kit, c: Candidate, scoreNode: string) => Effect.Effect<Candidate, BackendError>

/** Plain beam search: the PRM reads the candidate itself. */
export const plainScorer: StepScorer = (kit, c) => scoreLast(kit, c)

/**
 * Beam search on one problem with a given step scorer (the scorer of the loop; the final
 * completions are scored plainly).
 *
 * @example
 * const r = yield* beamSearchWith(problem, 7, { N: 16, M: 4 }, plainScorer)
 */
export const beamSearchWith = (
  problem: Problem,
  seed: number | bigint,
  options: BeamSearchOptions,
  stepScorer: StepScorer
): Effect.Effect<ReferenceResult, BackendError, Ports> =>
  Effect.gen(function* () {
    const kit = yield* makeKit(problem, seed)
    const { N, M } = options
    const rounds = options.rounds ?? 40
    const temperature = options.temperature ?? 0.8
    const p = options.pathPrefix ?? ""
    const paths = {
      sample: `${p}root.nodes.0`,
      score: `${p}root.nodes.1.body.nodes.0`,
      expand: `${p}root.nodes.1.body.nodes.2`,
      complete: `${p}root.nodes.2`
    }
    // N/M beams survive a round and each proposes N/(N/M) next steps (M when M divides N), so a
    // round keeps N beams also when M = round(√N) does not divide N
    const width = Math.max(1, Math.floor(N / M))
    const proposals = Math.floor(N / width)

    // 1. N initial predictions of the first step
    let beams = yield* freshSamples(kit, "", N, "step", temperature, { node: paths.sample, round: 0 })

    for (let round = 1; round <= rounds; round++) {
      if (beams.every((c) => c.done)) break
      // 2. score what is new
      beams = yield* scoreUnscored(kit, beams, (c) => stepScorer(kit, c, paths.score))
      // 3. the top N/M unfinished beams survive; finished ones wait
      const survivors = new Set(
        topByScore(
          beams.filter((c) => !c.done),
          width
        )
      )
      beams = beams.filter((c) => c.done || survivors.has(c))
      // 4. M proposals for the next step of each survivor
      const next: Array<Candidate> = []
      for (const c of beams) {
        if (c.done) next.push(c)
        else next.push(...(yield* children(kit, c, proposals, "step", temperature, { node: paths.expand, round })))
      }
      beams = next
    }

    // complete the unfinished beams, score everything new, and vote (best-of-N weighted)
    const completed: Array<Candidate> = []
    for (const c of beams) {
      if (c.done) completed.push(c)
      else completed.push(...(yield* children(kit, c, 1, "end", temperature, { node: paths.complete, round: 0 })))
    }
    const scored = yield* scoreUnscored(kit, completed, (c) => scoreLast(kit, c))
    return finish(kit, scored, "weighted", false)
  })

/**
 * Beam search on one problem (PRM last-step scores).
 *
 * @example
 * const r = yield* beamSearch(problem, 7, { N: 16, M: 4 })
 */
export const beamSearch = (
  problem: Problem,
  seed: number | bigint,
  options: BeamSearchOptions
): Effect.Effect<ReferenceResult, BackendError, Ports> => beamSearchWith(problem, seed, options, plainScorer)
