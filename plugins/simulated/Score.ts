/**
 * Verifier requests, served by the pure model: a PRM score per step (from each step's latent),
 * or, for the ORM, the last step's score only.
 *
 * @since 0.1.0
 */
import { Result } from "effect"
import type { Candidate } from "../../src/domain/Candidate.ts"
import * as Steps from "../../src/domain/Steps.ts"
import { isSimLatent } from "./Latent.ts"
import { prmScore } from "./Prm.ts"
import type { World } from "./World.ts"

/** The verifiers of the simulated backend. */
export const VERIFIERS = ["prm", "orm"] as const

/**
 * Step scores of one candidate: `prm` scores every step, `orm` only the last one. A candidate
 * without steps gets no scores.
 *
 * @example
 * scoreCandidate(world, candidate, "prm") // Result.succeed([0.91, 0.88, 0.95])
 */
export const scoreCandidate = (
  world: World,
  candidate: Candidate,
  verifier: string
): Result.Result<ReadonlyArray<number>, string> => {
  if (verifier !== "prm" && verifier !== "orm")
    return Result.fail(`verifier: expected one of ${VERIFIERS.join(", ")}, got ${JSON.stringify(verifier)}`)
  const steps = verifier === "prm" ? Steps.toArray(candidate.steps) : candidate.steps ? [candidate.steps.step] : []
  const scores: Array<number> = []
  for (let i = 0; i < steps.length; i++) {
    const latent = steps[i]?.latent
    if (!isSimLatent(latent)) {
      const at = verifier === "prm" ? i + 1 : (candidate.steps?.length ?? 0)
      return Result.fail(
        `candidate ${candidate.id}: step ${at} has no simulator latent (was it produced by another backend?)`
      )
    }
    if (latent.world !== world.ph)
      return Result.fail(`candidate ${candidate.id}: step ${i + 1} was generated for another problem or world`)
    scores.push(prmScore(world, latent.hash, latent.state))
  }
  return Result.succeed(scores)
}
