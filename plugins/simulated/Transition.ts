/**
 * One generation step (sim2.py / sim.py `Prob.step`): from the parent's lineage state and the
 * child's node hash, whether the child step goes wrong, whether the error is persuasive, and which
 * distractor the lineage now answers (a persuasive error answers the shared misconception,
 * distractor 1, with probability `answers.shared`). A persuasive lineage stays persuasive with
 * probability psi per later step. No recovery: a wrong lineage stays wrong and keeps its answer.
 *
 * @since 0.1.0
 */
import type { Types } from "effect"
import { uniform } from "../../src/domain/Hash.ts"
import type { LineageState, SimLatent } from "./Latent.ts"
import { T_ANS, T_ATTR, T_FADE, T_PERS, T_STEP } from "./Tags.ts"
import { drawDistractor, lineageLength, stepAccuracy, type World } from "./World.ts"

/**
 * The latent of the child step with node hash `hc` of `parent` (or of the problem, when
 * `parent` is undefined: a first step, which also draws the lineage's length).
 *
 * @example
 * const first = childStep(world, hash32(root, 0), undefined)
 * const second = childStep(world, hash32(first.hash, 0), first)
 */
export const childStep = (world: World, hc: number, parent: SimLatent | undefined): SimLatent => {
  const depth = parent === undefined ? 0 : parent.depth + 1
  const length = parent === undefined ? lineageLength(world, hc) : parent.length
  let state: LineageState = parent?.state ?? 0
  let answer = parent?.answer ?? 0
  let firstError = parent?.firstError ?? length
  const qd = depth === 0 ? world.q0 : stepAccuracy(world, length)
  if (state === 2 && world.config.prm.psi < 1 && uniform(hc, T_FADE) >= world.config.prm.psi) state = 1
  if (state === 0 && uniform(hc, T_STEP) >= qd) {
    state = uniform(hc, T_PERS) < world.rho ? 2 : 1
    answer = drawDistractor(world.zcum, uniform(hc, T_ANS))
    const shared = world.config.answers.shared
    if (state === 2 && shared > 0 && uniform(hc, T_ATTR) < shared) answer = 1
    firstError = depth
  }
  // built by a constructor, not a literal: see `stepOf` in Generate.ts
  const latent = new Object() as Types.Mutable<SimLatent>
  latent._tag = "SimLatent"
  latent.world = world.ph
  latent.hash = hc
  latent.depth = depth
  latent.length = length
  latent.state = state
  latent.answer = answer
  latent.firstError = firstError
  latent.truncated = false
  return latent
}
