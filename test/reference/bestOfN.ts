/**
 * Reference best-of-N (Snell et al. 2024 §5.1), without the graph runtime: sample N complete
 * solutions independently; then
 *
 * - `best` (best-of-N, argmax): the answer of the single highest PRM-scored solution;
 * - `weighted` (best-of-N weighted, after Li et al. 2023): marginalise the PRM scores over the
 *   solutions with the same final answer, and take the answer with the largest total;
 * - `majority` (self-consistency, the paper's baseline): the most frequent answer, no verifier.
 *
 * A solution's score is the PRM's score of its last step (the paper's and search-and-learn's
 * choice).
 *
 * mull conventions adopted (docs/graphs.md), so that it can be compared with `graphs/best-of-n.json`,
 * `graphs/weighted-best-of-n.json` and `graphs/majority.json`:
 *
 * - sample i is `s<i>`, continuation i of one call with n = N seeded by
 *   `seedOf(seed, problem, "s0", "root.nodes.0")`;
 * - each sample is scored by one verifier call (majority scores nothing);
 * - ties go to the answer seen first, equivalent answers are one answer (`kit.ts`, `choose`);
 * - anytime behaviour under a `sequences` limit L: each sample costs one sequence, so the budget
 *   grants the call min(N, L) continuations — the first min(N, L) samples, the same as without a
 *   budget — and the vote runs over those (the run is `exhausted` when L < N). Scoring costs no
 *   sequences.
 *
 * @since 0.1.0
 */
import { Effect } from "effect"
import type { Candidate } from "../../src/domain/Candidate.ts"
import type { Problem } from "../../src/domain/Problem.ts"
import type { BackendError } from "../../src/services/BackendError.ts"
import { finish, freshSamples, type Method, makeKit, type Ports, type ReferenceResult, scoreLast } from "./kit.ts"

export interface BestOfNOptions {
  readonly N: number
  readonly method: Method
  readonly temperature?: number
  /** a `sequences` budget (absent: unlimited) */
  readonly sequences?: number
}

/** The node path of the graph files' sample node (verifier calls are not seeded). */
const SAMPLE = "root.nodes.0"

/**
 * Best-of-N on one problem.
 *
 * @example
 * const r = yield* bestOfN(problem, 7, { N: 16, method: "weighted" })
 */
export const bestOfN = (
  problem: Problem,
  seed: number | bigint,
  options: BestOfNOptions
): Effect.Effect<ReferenceResult, BackendError, Ports> =>
  Effect.gen(function* () {
    const kit = yield* makeKit(problem, seed)
    const temperature = options.temperature ?? 0.8
    const affordable = Math.min(options.N, Math.floor(options.sequences ?? Number.POSITIVE_INFINITY))
    const samples = yield* freshSamples(kit, "", affordable, "end", temperature, { node: SAMPLE, round: 0 })
    const scored: Array<Candidate> = []
    for (const c of samples) scored.push(options.method === "majority" ? c : yield* scoreLast(kit, c))
    // the verifier scores the samples in one batch: one backend call
    if (options.method !== "majority" && samples.length > 0) kit.tally.calls += 1
    return finish(kit, scored, options.method, affordable < options.N)
  })
