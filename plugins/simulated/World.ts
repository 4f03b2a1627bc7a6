/**
 * The world of one problem: its latent difficulty δ, solution length L, target pass@1 s, whether
 * it is within the model's reach, step accuracies, PRM noise, revision rates and answer set. It
 * depends only on the config and the problem (never on a run's seed), exactly as the reference's
 * `Prob` (sim2.py for `model: "v2"`, sim.py for `"v1"`): with `worldSeed = s` and
 * `pid = meta.index`, every field equals the reference's for seed s, number for number.
 *
 * @since 0.1.0
 */
import { hash32, hashString32, mix32, uniform } from "../../src/domain/Hash.ts"
import type { Problem } from "../../src/domain/Problem.ts"
import type { SimulatedConfig } from "./Config.ts"
import { makeDistractors, syntheticGold } from "./Distractors.ts"
import { T_CEIL, T_DELTA, T_LEN, T_LEN_JITTER, T_ORACLE, T_REV, T_TREE } from "./Tags.ts"

export interface World {
  readonly config: SimulatedConfig
  /** problem number: `meta.index`, else a hash of the id */
  readonly pid: number
  /** the problem's root hash, `hash32(mix32(worldSeed), pid)`; identifies the world in latents */
  readonly ph: number
  readonly level: number
  /** latent difficulty in [0, 1] */
  readonly delta: number
  /** nominal number of steps (a lineage may differ by ± `length.jitter`) */
  readonly L: number
  /** target pass@1 of a problem within reach: σ(a − c·δ) */
  readonly s: number
  /** false when the problem is beyond the model (the ceiling): it is then never solved, q0 = 0 */
  readonly solvable: boolean
  /** probability the first step ("approach") is right: s^ω, or 0 beyond the ceiling */
  readonly q0: number
  /** probability a later step after a right prefix is right (for a lineage of length L) */
  readonly q: number
  /** PRM noise sd (logit units) */
  readonly sd: number
  /** PRM mean bonus of persuasive wrong prefixes over right ones */
  readonly bonus: number
  /** revision: P(a right attempt breaks) */
  readonly brk: number
  /** revision: P(localise the first error and keep the right prefix) */
  readonly lam: number
  /** revision: P(keep a wrong approach) */
  readonly kappa: number
  /** revision: P(keep a right approach) (κ itself in v1) */
  readonly kappaRight: number
  /** P(a wrong step is persuasive) */
  readonly rho: number
  /** distractor exponent z = max(0, zipf + zipfSlope·δ) */
  readonly zipf: number
  /** cumulative distractor weights (distractor j has weight j^−z) */
  readonly zcum: ReadonlyArray<number>
  /** roots of sim.py's sample trees; `tree` is also the root of greedy rollouts from the problem */
  readonly tree: number
  readonly oracle: number
  readonly rev: number
  /** answer strings: index 0 is the gold, j ≥ 1 distractor j */
  readonly answers: ReadonlyArray<string>
}

const clip = (x: number, lo: number, hi: number): number => Math.min(hi, Math.max(lo, x))
const clip01 = (x: number): number => clip(x, 0, 1)

/** numpy's pairwise summation (what `w.sum()` does), so `zcum` matches sim.py to the last bit. */
const pairwiseSum = (a: ReadonlyArray<number>, lo: number, n: number): number => {
  if (n < 8) {
    let res = 0
    for (let i = 0; i < n; i++) res += a[lo + i] ?? 0
    return res
  }
  if (n <= 128) {
    const r = [0, 0, 0, 0, 0, 0, 0, 0].map((_, j) => a[lo + j] ?? 0)
    let i = 8
    for (; i < n - (n % 8); i += 8) for (let j = 0; j < 8; j++) r[j] = (r[j] ?? 0) + (a[lo + i + j] ?? 0)
    const [r0 = 0, r1 = 0, r2 = 0, r3 = 0, r4 = 0, r5 = 0, r6 = 0, r7 = 0] = r
    let res = r0 + r1 + (r2 + r3) + (r4 + r5 + (r6 + r7))
    for (; i < n; i++) res += a[lo + i] ?? 0
    return res
  }
  let n2 = Math.floor(n / 2)
  n2 -= n2 % 8
  return pairwiseSum(a, lo, n2) + pairwiseSum(a, lo + n2, n - n2)
}

/**
 * Whether a problem of difficulty δ is within reach of a model with accuracy knobs (a, c): the
 * ceiling of sim2.py, `U(ph, T_CEIL) ≥ σ((tau − (a − c·δ))/width)`. The draw depends only on the
 * problem, so a larger a makes a strict subset of problems unreachable. Always true when the
 * ceiling is disabled (v1).
 *
 * @example
 * isSolvable(defaultConfig, ph, 0.9) // false for about 4 problems in 5 at δ = 0.9
 */
export const isSolvable = (config: SimulatedConfig, ph: number, delta: number): boolean => {
  const ceiling = config.ceiling
  if (!ceiling.enabled) return true
  const z = (ceiling.tau - (config.accuracy.a - config.accuracy.c * delta)) / ceiling.width
  const pi = 1 / (1 + Math.exp(-Math.max(-50, Math.min(50, z))))
  return uniform(ph, T_CEIL) >= pi
}

/**
 * Cumulative distractor weights, as sim.py: `cumsum(w) / w.sum()` with `w_j = j^−zipf`.
 *
 * @example
 * distractorCdf(16, 0.7)[15] // 1
 */
export const distractorCdf = (K: number, zipf: number): ReadonlyArray<number> => {
  const w = Array.from({ length: K }, (_, j) => 1 / (j + 1) ** zipf)
  const total = pairwiseSum(w, 0, K)
  let acc = 0
  return w.map((x) => {
    acc += x
    return acc / total
  })
}

/**
 * Distractor index (1..K) for a uniform draw: sim.py's `1 + searchsorted(zcum, u, 'right')`, capped at K.
 *
 * @example
 * drawDistractor([0.5, 1], 0.7) // 2
 */
export const drawDistractor = (zcum: ReadonlyArray<number>, u: number): number => {
  let lo = 0
  let hi = zcum.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if ((zcum[mid] ?? 1) <= u) lo = mid + 1
    else hi = mid
  }
  return Math.min(1 + lo, zcum.length)
}

/**
 * The problem number used for hashing: `meta.index`, else a hash of the id.
 *
 * @example
 * problemNumber({ id: "x", question: "", meta: { index: 7 } }) // 7
 */
export const problemNumber = (problem: Problem): number => problem.meta.index ?? hashString32(problem.id)

/**
 * Probability that a later step is right, for a lineage of `length` steps: `s^((1−ω)/(length−1))`,
 * so a solution of any length is right with probability s.
 *
 * @example
 * stepAccuracy(world, world.L) === world.q // true
 */
export const stepAccuracy = (world: World, length: number): number =>
  length === world.L ? world.q : world.s ** ((1 - world.config.accuracy.omega) / (length - 1))

/**
 * The length of a lineage whose first step (or revision attempt root) has hash h: L plus a jitter
 * uniform in [−jitter, jitter], at least 2. With `length.jitter = 0` it is L (sim.py).
 *
 * @example
 * lineageLength(world, 12345) // world.L - 1, world.L or world.L + 1 by default
 */
export const lineageLength = (world: World, h: number): number => {
  const j = world.config.length.jitter
  if (j === 0) return world.L
  const offset = Math.min(2 * j, Math.floor(uniform(h, T_LEN_JITTER) * (2 * j + 1))) - j
  return Math.max(2, world.L + offset)
}

/**
 * Builds the world of a problem. `meta.difficulty` overrides δ; a missing `meta.level` is
 * `config.defaultLevel`. Pure and cheap; the layer caches it per problem.
 *
 * @example
 * const w = makeWorld(defaultConfig, { id: "p", question: "1+1?", gold: "2", meta: { level: 1, index: 0 } })
 * w.delta // 0.01 .. 0.2
 */
export const makeWorld = (config: SimulatedConfig, problem: Problem): World => {
  const pid = problemNumber(problem)
  const ph = hash32(mix32(config.worldSeed), pid)
  const level = problem.meta.level ?? config.defaultLevel
  const d = config.difficulty
  const delta =
    problem.meta.difficulty ?? clip(d.base + d.perLevel * (level - 1) + d.jitter * uniform(ph, T_DELTA), d.min, d.max)
  // at least 2 steps so that q = s^((1−ω)/(L−1)) is defined (the defaults give L ≥ 3)
  const L = Math.max(2, config.length.base + level + Math.floor(config.length.span * uniform(ph, T_LEN)))
  const acc = config.accuracy
  const s = 1 / (1 + Math.exp(-(acc.a - acc.c * delta)))
  const prm = config.prm
  const rev = config.revisions
  const K = config.answers.distractors
  const gold = problem.gold ?? syntheticGold(ph)
  const solvable = isSolvable(config, ph, delta)
  const zipf = Math.max(0, config.answers.zipf + config.answers.zipfSlope * delta)
  const kappa = clip01(rev.kappa0 + rev.kappa1 * delta)
  return {
    config,
    pid,
    ph,
    level,
    delta,
    L,
    s,
    solvable,
    q0: solvable ? s ** acc.omega : 0,
    q: s ** ((1 - acc.omega) / (L - 1)),
    sd: prm.sd0 + prm.sd1 * delta ** prm.sdPower,
    bonus: prm.persuasiveBonus * (1 - delta) ** prm.bonusPower,
    brk: clip01(rev.breakBase + rev.breakSlope * (delta - 0.5)),
    lam: clip01(rev.lambda0 + rev.lambda1 * delta),
    kappa,
    kappaRight: rev.keepRight === "kappa" ? kappa : rev.keepRight,
    rho: clip01(prm.rho0 + prm.rho1 * delta),
    zipf,
    zcum: distractorCdf(K, zipf),
    tree: hash32(ph, T_TREE),
    oracle: hash32(ph, T_ORACLE),
    rev: hash32(ph, T_REV),
    answers: [gold, ...makeDistractors(gold, K, ph)]
  }
}
