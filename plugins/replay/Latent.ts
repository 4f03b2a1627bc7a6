/**
 * Replay's private state of a step (`Step.latent`): which recorded response of which problem the
 * step belongs to, so the verifier can serve that response's recorded reward.
 *
 * @since 0.1.0
 */
import type { Candidate } from "../../src/domain/Candidate.ts"

export interface ReplayLatent {
  readonly _tag: "ReplayLatent"
  /** the problem the response was recorded for */
  readonly problemId: string
  /** the response's position in its pool (recorded order) */
  readonly index: number
  /** false when `maxTokens` cut the response short (it has no answer and no recorded reward) */
  readonly complete: boolean
}

/**
 * Whether a value is a replay latent.
 *
 * @example
 * isReplayLatent({ _tag: "ReplayLatent", problemId: "qwen-pool/0", index: 3, complete: true }) // true
 */
export const isReplayLatent = (x: unknown): x is ReplayLatent =>
  typeof x === "object" &&
  x !== null &&
  "_tag" in x &&
  x._tag === "ReplayLatent" &&
  "problemId" in x &&
  typeof x.problemId === "string" &&
  "index" in x &&
  typeof x.index === "number" &&
  Number.isInteger(x.index) &&
  x.index >= 0 &&
  "complete" in x &&
  typeof x.complete === "boolean"

/**
 * The replay latent of a candidate's last step, if it has one.
 *
 * @example
 * lastLatent(candidate)?.index // 3
 */
export const lastLatent = (candidate: Candidate): ReplayLatent | undefined => {
  const latent = candidate.steps?.step.latent
  return isReplayLatent(latent) ? latent : undefined
}
