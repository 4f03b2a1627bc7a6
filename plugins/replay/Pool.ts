/**
 * Recorded pools: for each problem, the ordered responses a model once wrote, with the answer
 * extracted from each, and optionally a reward model's raw score and a correctness label.
 *
 * @since 0.1.0
 */
import type { Problem } from "../../src/domain/Problem.ts"

/** One recorded response. */
export interface RecordedResponse {
  /** the whole solution text */
  readonly text: string
  /** the recorded extracted answer (e.g. Qwen's `pred`); absent when the response has none */
  readonly answer?: string
  /** the reward model's raw score (a logit); the verifier serves σ(reward) */
  readonly reward?: number
  /** the recorded correctness label (e.g. Qwen's `score`) */
  readonly correct?: boolean
}

/** The recorded responses of one problem, in recorded order. */
export interface Pool {
  readonly problem: Problem
  readonly responses: ReadonlyArray<RecordedResponse>
  /** the recording's own gold string when it differs in form from `problem.gold` (Qwen's `gt`) */
  readonly gt?: string
}

/** A loaded recording: its problems in file order and their pools by problem id. */
export interface ReplayDataset {
  /** the dataset's name (`qwen-pool`, or the file's name without extension) */
  readonly name: string
  /** the file it was read from */
  readonly path: string
  readonly problems: ReadonlyArray<Problem>
  readonly pools: ReadonlyMap<string, Pool>
}

/**
 * A dataset from pools in file order.
 *
 * @example
 * const dataset = makeDataset("tiny", "/tmp/tiny.jsonl", [pool])
 * dataset.pools.get(pool.problem.id) === pool // true
 */
export const makeDataset = (name: string, path: string, pools: ReadonlyArray<Pool>): ReplayDataset => ({
  name,
  path,
  problems: pools.map((p) => p.problem),
  pools: new Map(pools.map((p) => [p.problem.id, p]))
})

/**
 * Whether any response of the dataset has a recorded reward (so the verifier can serve scores).
 *
 * @example
 * hasRewards(dataset) // true for the Qwen pool
 */
export const hasRewards = (dataset: ReplayDataset): boolean => {
  for (const pool of dataset.pools.values()) for (const r of pool.responses) if (r.reward !== undefined) return true
  return false
}

/**
 * The recorded label of an exact answer for a problem: the label of the first *labelled* response
 * (in recorded order) whose answer is exactly that string; `undefined` when none is labelled.
 *
 * @example
 * recordedLabel(pool, "420") // true
 */
export const recordedLabel = (pool: Pool, answer: string): boolean | undefined => {
  for (const r of pool.responses) if (r.answer === answer && r.correct !== undefined) return r.correct
  return undefined
}
