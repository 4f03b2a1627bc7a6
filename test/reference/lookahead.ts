/**
 * Reference lookahead search (Snell et al. 2024 §5.2), without the graph runtime: beam search
 * (`beamSearch.ts`) in which a step is not scored by the PRM's score of the step itself but by
 * the PRM's prediction at the end of a simulation that rolls the candidate out up to k more steps
 * at temperature 0, stopping early at the end of the solution. The rollout is thrown away. Beam
 * search is lookahead with k = 0; N beams cost about N × (k + 1) generations per round.
 *
 * mull conventions adopted (docs/graphs.md), so that it can be compared with `graphs/lookahead.json`:
 *
 * - the beam-search conventions of `beamSearch.ts` (ids, node paths, one population);
 * - only candidates that are not finished are rolled out; a finished one is scored as it is;
 * - a rollout is k calls of one step each (n = 1, temperature 0), the j-th (from 0) seeded by the
 *   rollout prefix's id — the candidate's own id for j = 0, `<id>#<j-1>` after it — and the node
 *   path `<score node path>#lookahead` (`root.nodes.1.body.nodes.0#lookahead`), as in
 *   `src/runtime/nodes/score.ts`;
 * - the candidate's `score` is the PRM's last-step score of the rollout, its `stepScores` the
 *   rollout's scores of its own steps; one verifier call per candidate (of the rollout);
 * - the final completions (after the loop) are scored plainly, without lookahead.
 *
 * @since 0.1.0
 */
import { Effect } from "effect"
import type { Candidate } from "../../src/domain/Candidate.ts"
import type { Problem } from "../../src/domain/Problem.ts"
import * as Steps from "../../src/domain/Steps.ts"
import type { BackendError } from "../../src/services/BackendError.ts"
import { type BeamSearchOptions, beamSearchWith, type StepScorer } from "./beamSearch.ts"
import { generate, type Ports, prm, type ReferenceResult } from "./kit.ts"

export interface LookaheadOptions extends BeamSearchOptions {
  /** rollout steps */
  readonly k: number
  /** rollout temperature (0: greedy) */
  readonly rolloutTemperature?: number
}

/** The scorer of lookahead search: roll out up to k steps, score the rollout's last step. */
export const lookaheadScorer =
  (k: number, temperature: number): StepScorer =>
  (kit, c, scoreNode) =>
    Effect.gen(function* () {
      let rollout: Candidate = c
      for (let j = 0; j < k && !c.done && !rollout.done; j++) {
        const [g] = yield* generate(kit, {
          seedId: rollout.id,
          node: `${scoreNode}#lookahead`,
          prefix: rollout,
          n: 1,
          until: "step",
          temperature
        })
        if (g === undefined) break
        rollout = {
          ...rollout,
          id: `${c.id}#${j}`,
          steps: Steps.appendAll(rollout.steps, g.steps),
          done: g.done,
          ...(g.answer === undefined ? {} : { answer: g.answer })
        }
      }
      const s = yield* prm(kit, rollout)
      const last = s[s.length - 1]
      const own = c.steps?.length ?? 0
      return last === undefined ? c : { ...c, stepScores: s.slice(0, own), score: last }
    })

/**
 * Lookahead search on one problem.
 *
 * @example
 * const r = yield* lookahead(problem, 7, { N: 16, M: 4, k: 2 })
 */
export const lookahead = (
  problem: Problem,
  seed: number | bigint,
  options: LookaheadOptions
): Effect.Effect<ReferenceResult, BackendError, Ports> =>
  beamSearchWith(problem, seed, options, lookaheadScorer(options.k, options.rolloutTemperature ?? 0))
