/**
 * The result of running a graph on one problem.
 *
 * @since 0.1.0
 */
import type { Candidate } from "./Candidate.ts"
import type { Population } from "./Population.ts"
import type { Usage } from "./Usage.ts"

/** One answer of the final vote: its total weight, how many candidates gave it, and the best of them. */
export interface RankedAnswer {
  readonly answer: string
  readonly weight: number
  readonly count: number
  /** id of the highest-scored candidate with this answer (the first seen on ties) */
  readonly best: string
}

/** What one graph node spent (the ledger's per-node entry). */
export interface NodeUsage {
  readonly node: string
  readonly usage: Usage
}

export interface RunResult {
  /** the chosen final answer; absent when no candidate has one */
  readonly answer?: string
  /** the candidate that stands for the chosen answer */
  readonly chosen?: Candidate
  /** every answer of the final vote, best first */
  readonly ranking: ReadonlyArray<RankedAnswer>
  readonly population: Population
  /** logical usage charged to the budget (cache hits included) */
  readonly usage: Usage
  /** what the backends really spent (cache hits excluded) */
  readonly backendUsage: Usage
  /** per-node attribution; sums to `usage` */
  readonly ledger: ReadonlyArray<NodeUsage>
  /** the budget refused a reservation at some point: the answer comes from what could be paid for */
  readonly exhausted: boolean
}
