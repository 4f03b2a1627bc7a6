/**
 * The simulator's ground truth of a step, kept in `Step.latent` (backend-private): which node of
 * the world the step is, and the state of its lineage. The generator continues a prefix from its
 * last step's latent; the verifier scores each step from its latent.
 *
 * @since 0.1.0
 */
import type { Candidate } from "../../src/domain/Candidate.ts"

/** 0: right so far; 1: wrong; 2: wrong and persuasive (the PRM scores it like a right one). */
export type LineageState = 0 | 1 | 2

export interface SimLatent {
  readonly _tag: "SimLatent"
  /** the problem world it belongs to (`World.ph`) */
  readonly world: number
  /** node hash of the step: every draw about it is `uniform(hash, tag)` */
  readonly hash: number
  /** 0-based step index */
  readonly depth: number
  /** number of steps of this lineage; the step at `length − 1` carries the final answer */
  readonly length: number
  readonly state: LineageState
  /** the lineage's answer: 0 gold, j ≥ 1 distractor j (0 while the lineage is right) */
  readonly answer: number
  /** depth of the lineage's first wrong step, or `length` if none so far */
  readonly firstError: number
  /** the step's text was cut by `maxTokens` */
  readonly truncated: boolean
  /**
   * set on a revision attempt that kept a wrong approach (it is wrong from step 1): the next
   * revision keeps it again with probability `revisions.stick` (sim2's stuck chains)
   */
  readonly stuck?: true
}

const isNat = (x: unknown): x is number => typeof x === "number" && Number.isInteger(x) && x >= 0
const isU32 = (x: unknown): x is number => isNat(x) && x <= 0xffffffff

/**
 * Whether a value is a well-formed simulator latent.
 *
 * @example
 * isSimLatent(undefined) // false
 */
export const isSimLatent = (u: unknown): u is SimLatent => {
  if (typeof u !== "object" || u === null) return false
  const l = u as Record<string, unknown>
  return (
    l._tag === "SimLatent" &&
    isU32(l.world) &&
    isU32(l.hash) &&
    isNat(l.depth) &&
    isNat(l.length) &&
    l.length >= 2 &&
    l.depth < l.length &&
    (l.state === 0 || l.state === 1 || l.state === 2) &&
    isNat(l.answer) &&
    isNat(l.firstError) &&
    l.firstError <= l.length &&
    (l.state === 0) === (l.answer === 0 && l.firstError === l.length) &&
    typeof l.truncated === "boolean" &&
    (l.stuck === undefined || (l.stuck === true && l.firstError === 0))
  )
}

/**
 * The latent of a candidate's last step, if it has steps and the latent is well formed.
 *
 * @example
 * lastLatent(candidate)?.answer === 0 // the candidate's final answer is the gold
 */
export const lastLatent = (candidate: Candidate): SimLatent | undefined => {
  const latent = candidate.steps?.step.latent
  return isSimLatent(latent) ? latent : undefined
}

/**
 * Whether a complete simulated solution is right (its lineage's answer is the gold). For
 * calibration and tests; real evaluation grades the answer text.
 *
 * @example
 * isCorrect(candidate) // true when the last step's latent answer is 0
 */
export const isCorrect = (candidate: Candidate): boolean => {
  const l = lastLatent(candidate)
  return l !== undefined && l.answer === 0 && l.depth === l.length - 1 && !l.truncated
}
