/**
 * What an evaluation stores: one `RunRecord` per (strategy, budget, seed, problem) and one
 * `DifficultyRecord` per problem (the samples that estimate its difficulty, paper §3.2).
 *
 * @since 0.1.0
 */
import type { Usage } from "../domain/Usage.ts"

export interface RunRecord {
  /** content key of the run (graph document, params, limits, seed, problem, backend config) */
  readonly key: string
  /** the sweep it belongs to */
  readonly sweep: string
  /** the strategy configuration's label, e.g. `beam-search M=4` */
  readonly strategy: string
  /** the graph's name */
  readonly graph: string
  /** the params the graph ran with (after evaluating the strategy's expressions at this budget) */
  readonly params: { readonly [name: string]: number }
  /** the generation budget N of the paper (the x axis of its plots) */
  readonly budget: number
  readonly seed: number
  readonly problemId: string
  readonly level?: number
  readonly answer?: string
  readonly gold?: string
  /** the chosen answer is right, by the backend's grader */
  readonly correct: boolean
  /** the budget refused a call during the run */
  readonly exhausted: boolean
  /** logical usage (cache hits included) */
  readonly usage: Usage
  /** what the backend really spent (cache hits excluded) */
  readonly backendUsage: Usage
  /** size of the final population */
  readonly candidates: number
  /** complete candidates in it */
  readonly done: number
  /** complete candidates whose answer is right (for pass@N and mean pass@1) */
  readonly correctCandidates: number
  /** when the backend grades by other means (replay's recorded labels): the verdicts of mull's grader */
  readonly math?: { readonly correct: boolean; readonly correctCandidates: number }
}

export interface DifficultyRecord {
  readonly sweep: string
  readonly problemId: string
  readonly level?: number
  /** how many samples estimated it */
  readonly samples: number
  readonly seed: number
  /** fraction of the samples that are right (the oracle difficulty) */
  readonly pass1: number
  /** mean final verifier score of the samples (the model-predicted difficulty) */
  readonly meanScore: number
}
