/**
 * A revision attempt (sim2.py / sim.py `Prob.revisions`, one attempt of one chain). Attempt root
 * r; its step d has node hash `hash32(r, d)`. Given the latest previous attempt:
 *
 * - a right attempt stays right, except that it *breaks* with b(δ): the new attempt goes wrong at
 *   a uniform step in 1..L−1;
 * - a wrong attempt keeps its approach with `kappaRight` if the approach (step 1) was right, with
 *   κ if it was wrong (v1: κ for both), or — when the previous attempt was itself stuck on a wrong
 *   approach — with an extra chance `revisions.stick` (v2's sticky misconceptions);
 * - an attempt that keeps its approach *localises* its first error with λ (keeps the right prefix
 *   and redraws from the first error on), else it keeps only step 0; without the approach it
 *   starts afresh;
 * - a wrong approach that is kept is *stuck*: wrong from step 0, keeping its answer with η, else
 *   drawing a new distractor; its latents say `stuck`, for the next revision.
 *
 * A persuasive error answers the shared misconception (distractor 1) with probability
 * `answers.shared`, drawn at the first-error node. With no previous attempt it is a fresh
 * solution (the reference's attempt 0).
 *
 * @since 0.1.0
 */
import { hash32, uniform } from "../../src/domain/Hash.ts"
import type { LineageState, SimLatent } from "./Latent.ts"
import { T_ANCHOR, T_ANS, T_ATTR, T_BPOS, T_BREAK, T_FADE, T_KEEP, T_LOCAL, T_PERS, T_STEP, T_STICK } from "./Tags.ts"
import { drawDistractor, lineageLength, stepAccuracy, type World } from "./World.ts"

/** What a revision needs to know about the previous attempt (its last step's latent). */
export interface PreviousAttempt {
  /** depth of its first wrong step; `length` if it is right (so far) */
  readonly firstError: number
  readonly answer: number
  readonly length: number
  /** it kept a wrong approach itself (sim2's `stuck`) */
  readonly stuck?: boolean
}

/**
 * The latents of every step of the revision attempt with root `r`.
 *
 * @example
 * const attempt = reviseAttempt(world, hash32(seed32(seed), i), { firstError: 2, answer: 3, length: 6 })
 * attempt[attempt.length - 1].answer // 0 if the revision fixed it
 */
export const reviseAttempt = (world: World, r: number, prev: PreviousAttempt | undefined): ReadonlyArray<SimLatent> => {
  const corr = prev !== undefined && prev.firstError >= prev.length
  let anchor = false
  if (prev !== undefined) {
    anchor = uniform(r, T_ANCHOR) < (prev.firstError > 0 ? world.kappaRight : world.kappa)
    const stick = world.config.revisions.stick
    if (!anchor && prev.stuck === true && stick > 0) anchor = uniform(r, T_STICK) < stick
  }
  // a right or anchored attempt keeps its length; a fresh approach draws one
  const L = prev !== undefined && (corr || anchor) ? prev.length : lineageLength(world, r)
  const q0 = world.q0
  const q = stepAccuracy(world, L)
  const node = (d: number) => hash32(r, d)

  let start = 0
  let stuck = false
  let brk = false
  if (prev !== undefined) {
    const fe = prev.firstError
    brk = corr && uniform(r, T_BREAK) < world.brk
    const local = uniform(r, T_LOCAL) < world.lam
    start = corr ? L : anchor ? (local ? fe : Math.min(fe, 1)) : 0
    stuck = !corr && anchor && fe === 0
  }
  let fe = L
  for (let d = start; d < L; d++) {
    if (uniform(node(d), T_STEP) >= (d === 0 ? q0 : q)) {
      fe = d
      break
    }
  }
  if (brk) fe = 1 + Math.floor(uniform(r, T_BPOS) * (L - 1))
  if (stuck) fe = 0

  const wrong = fe < L
  let answer = 0
  let persuasive = false
  if (wrong) {
    answer = drawDistractor(world.zcum, uniform(node(fe), T_ANS))
    persuasive = uniform(node(fe), T_PERS) < world.rho
    const shared = world.config.answers.shared
    if (persuasive && shared > 0 && uniform(node(fe), T_ATTR) < shared) answer = 1
    if (stuck && prev !== undefined) {
      answer =
        uniform(r, T_KEEP) < world.config.revisions.eta ? prev.answer : drawDistractor(world.zcum, uniform(r, T_ANS))
    }
  }
  const psi = world.config.prm.psi
  const out: Array<SimLatent> = []
  for (let d = 0; d < L; d++) {
    const h = node(d)
    let state: LineageState = 0
    if (wrong && d >= fe) {
      // a persuasive error stays persuasive while every later step keeps it (sim.py fade_ok)
      if (d > fe && persuasive && psi < 1 && uniform(h, T_FADE) >= psi) persuasive = false
      state = persuasive ? 2 : 1
    }
    const isWrong = state !== 0
    out.push({
      _tag: "SimLatent",
      world: world.ph,
      hash: h,
      depth: d,
      length: L,
      state,
      answer: isWrong ? answer : 0,
      firstError: isWrong ? fe : L,
      truncated: false,
      ...(stuck ? { stuck: true as const } : {})
    })
  }
  return out
}
