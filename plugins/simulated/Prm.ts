/**
 * The simulated process reward model (sim.py `prm`): the score of a prefix is
 * `σ(m + sd·(√3/π)·logit(u))` with `u = U(stepHash, T_PRM)` — logistic noise of standard deviation
 * `sd` around a mean that depends on the lineage state: `muRight` (right), `muWrong` (wrong),
 * `muRight + bonus` (persuasive wrong, bonus = persuasiveBonus·(1−δ)^bonusPower).
 *
 * @since 0.1.0
 */
import { uniform } from "../../src/domain/Hash.ts"
import type { LineageState } from "./Latent.ts"
import { T_PRM } from "./Tags.ts"
import type { World } from "./World.ts"

/** √3/π: scales a standard logistic variable to unit variance. */
const LOGI = Math.sqrt(3) / Math.PI

/**
 * The PRM score of the prefix ending at the step with hash `hash` and lineage state `state`.
 *
 * @example
 * const score = prmScore(world, latent.hash, latent.state) // in (0, 1)
 */
export const prmScore = (world: World, hash: number, state: LineageState): number => {
  const prm = world.config.prm
  const m = state === 0 ? prm.muRight : state === 1 ? prm.muWrong : prm.muRight + world.bonus
  const u = uniform(hash, T_PRM)
  return 1 / (1 + Math.exp(-(m + world.sd * LOGI * Math.log(u / (1 - u)))))
}
