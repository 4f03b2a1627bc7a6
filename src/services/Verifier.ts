/**
 * The Verifier port: a reward model that scores solutions step by step (a PRM) or as a whole
 * (an ORM, one score for the last step).
 *
 * @since 0.1.0
 */
import { Context, type Effect } from "effect"
import type { Candidate } from "../domain/Candidate.ts"
import type { Problem } from "../domain/Problem.ts"
import type { BackendError } from "./BackendError.ts"
import type { RetryPolicy } from "./Retry.ts"

export interface ScoreRequest {
  readonly problem: Problem
  readonly candidates: ReadonlyArray<Candidate>
  /** which verifier of the backend (`prm`, `orm`, …); must be one of `VerifierShape.verifiers` */
  readonly verifier: string
}

export interface ScoreResult {
  /** per candidate, one score in [0, 1] per step (an ORM gives a score for the last step only) */
  readonly stepScores: ReadonlyArray<ReadonlyArray<number>>
  /** tokens the verifier read */
  readonly inputTokens: number
  /** what the backend really spent when it differs (a cache hit spends nothing); absent: as above */
  readonly spent?: { readonly calls: number; readonly inputTokens: number }
}

export interface VerifierShape {
  readonly backend: string
  readonly model: string
  /** model parameters, for FLOPs */
  readonly params: number
  /** names this backend answers to in a graph's `score.verifier` */
  readonly verifiers: ReadonlyArray<string>
  readonly concurrency: number
  /** most candidates in one call; the runtime sends all of a node's candidates at once if absent */
  readonly maxBatch?: number
  readonly score: (request: ScoreRequest) => Effect.Effect<ScoreResult, BackendError>
  /**
   * an upper bound of the tokens the verifier will read for a candidate, known before the call
   * (exact with a tokenizer, else the UTF-8 bytes of what it reads); `undefined` when unknown
   */
  readonly inputTokens: ((problem: Problem, candidate: Candidate) => number) | undefined
  /** how the runtime retries transient failures (each attempt is a call on the ledger); absent: none */
  readonly retry?: RetryPolicy
}

/** The verifier of a run. */
export class Verifier extends Context.Service<Verifier, VerifierShape>()("mull/services/Verifier") {}
