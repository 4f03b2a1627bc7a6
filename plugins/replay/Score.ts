/**
 * Serving a verifier request from a pool (pure). Both verifier names replay answers to, `orm` and
 * `prm`, give one score for the last step only: σ(recorded raw reward). A recording holds an
 * outcome reward per response, so "prm" on replay means the recorded outcome reward (with
 * `aggregate: "last"`, as in the built-in best-of-N graphs, the two are the same).
 *
 * @since 0.1.0
 */
import { Result } from "effect"
import type { Candidate } from "../../src/domain/Candidate.ts"
import type { Problem } from "../../src/domain/Problem.ts"
import type { Refusal } from "./Generate.ts"
import { poolOf } from "./Generate.ts"
import { lastLatent } from "./Latent.ts"
import type { ReplayDataset } from "./Pool.ts"

/** The verifier names replay answers to. */
export const VERIFIERS = ["orm", "prm"] as const

/**
 * The logistic function, stable for large |x|.
 *
 * @example
 * sigmoid(0) // 0.5
 */
export const sigmoid = (x: number): number => {
  if (x >= 0) return 1 / (1 + Math.exp(-x))
  const e = Math.exp(x)
  return e / (1 + e)
}

/**
 * The step scores of one candidate: `[σ(reward)]` of the recorded response it replays.
 *
 * @example
 * scoreCandidate(dataset, problem, candidate, "prm") // Result.succeed([0.97])
 */
export const scoreCandidate = (
  dataset: ReplayDataset,
  problem: Problem,
  candidate: Candidate,
  verifier: string
): Result.Result<ReadonlyArray<number>, Refusal> => {
  if (!(VERIFIERS as ReadonlyArray<string>).includes(verifier))
    return Result.fail({
      _tag: "InvalidRequest",
      message: `verifier: expected one of ${VERIFIERS.join(", ")}, got ${JSON.stringify(verifier)}`
    })
  const found = poolOf(dataset, problem.id)
  if (Result.isFailure(found)) return Result.fail(found.failure)
  const pool = found.success
  if (candidate.steps === undefined) return Result.succeed([])
  const latent = lastLatent(candidate)
  if (latent === undefined)
    return Result.fail({
      _tag: "InvalidRequest",
      message: `candidate ${candidate.id} was not served by replay (its last step has no replay latent); replay can only score its own recorded responses`
    })
  if (latent.problemId !== problem.id)
    return Result.fail({
      _tag: "InvalidRequest",
      message: `candidate ${candidate.id} replays a response of ${latent.problemId}, not of ${problem.id}`
    })
  if (!latent.complete)
    return Result.fail({
      _tag: "InvalidRequest",
      message: `candidate ${candidate.id} is recorded response ${latent.index} of ${problem.id} cut short by maxTokens; the recording has no reward for a partial response`
    })
  const response = pool.responses[latent.index]
  if (response === undefined)
    return Result.fail({
      _tag: "InvalidRequest",
      message: `candidate ${candidate.id}: ${problem.id} has no recorded response ${latent.index}`
    })
  if (response.reward === undefined)
    return Result.fail({
      _tag: "Unsupported",
      message: `recorded response ${latent.index} of ${problem.id} has no reward: the pool ${dataset.name} cannot serve verifier scores for it (add "reward" to its responses, or use a graph without a score node, e.g. majority)`
    })
  return Result.succeed([sigmoid(response.reward)])
}
