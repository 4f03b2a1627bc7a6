/**
 * The simulator's token confidences (DeepConf's C = −mean of the top-k log-probabilities at a
 * position), given only when a request asks for them (`GenerateRequest.logprobs`). A step's tokens
 * come as a few runs of equal confidence; every draw is `uniform(step hash, tag)` with tags of its
 * own, so asking for confidences never changes the generation itself (its text, answer, tokens),
 * nor any run that does not ask.
 *
 * Calibration, after what DeepConf (Fu et al. 2025) reports of real reasoning traces: confidence
 * is lower on a wrong step than on a right one, lower on harder problems, shifted per problem (a
 * model's confidence is not equally calibrated on every problem), and a wrong lineage tends to
 * hold a short low-confidence stretch (a "dip") — so the lowest group confidence and the tail
 * separate right from wrong answers, imperfectly. Recalibrated on the v2 world model (where the
 * v1 calibration made DeepConf's top-10% filter lose 4.8 points to majority): AUROC by lowest
 * group 0.80 over every 10th MATH-500 problem × 16 samples (test/simulated/logprobs.test.ts);
 * over every 4th × 64, 0.81 pooled and 0.81 within a problem, and the top-10% confidence-weighted
 * vote +3.2 ± 2.5 points over majority at equal traces (`node bench/confidence.ts`).
 *
 * @since 0.3.0
 */
import { GroupMonitor, type TokenConfidence, truncate } from "../../src/domain/Confidence.ts"
import { uniform } from "../../src/domain/Hash.ts"
import type { Step } from "../../src/domain/Steps.ts"
import type { Generation, StopBelow } from "../../src/services/Generator.ts"
import { isSimLatent, type SimLatent } from "./Latent.ts"
import type { World } from "./World.ts"

/** Tags of the confidence draws (distinct from every tag the generation uses). */
const T_LEVEL = 0x10c0f001
const T_NOISE = 0x10c0f002
const T_DIP = 0x10c0f003
const T_DIP_AT = 0x10c0f004
const T_DIP_LEN = 0x10c0f005
const T_RUN = 0x10c0f010

/** The model's knobs: confidences of right and wrong steps, the difficulty slope, dips. */
export const CALIBRATION = {
  /** mean token confidence of a right step on the easiest problem */
  right: 12,
  /** of a step at or after the lineage's first error */
  wrong: 9.8,
  /** lower by this much at latent difficulty 1 */
  difficulty: 2,
  /** per-step noise (sd) */
  noise: 3,
  /** per-problem shift of every confidence (sd): calibration differs between problems */
  level: 3,
  /** runs per step (each with its own small jitter, sd `noise / 2`) */
  runs: 4,
  /** chance of a low-confidence stretch in a right step, and in a wrong one */
  dipRight: 0.25,
  dipWrong: 0.5,
  /** how far a dip falls below the step's confidence */
  dipDepth: 3.5,
  /** the wrong final step (the answer) is this much less confident again */
  wrongAnswer: 0.3
} as const

const normal = (h: number, tag: number): number => {
  const u1 = uniform(h, tag)
  const u2 = uniform(h, tag + 1)
  return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2)
}

/**
 * The token confidences of one simulated step of `tokens` tokens.
 *
 * @example
 * stepConfidence(world, latent, 120).counts.reduce((a, b) => a + b, 0) // 120
 */
export const stepConfidence = (world: World, latent: SimLatent, tokens: number): TokenConfidence => {
  const c = CALIBRATION
  const h = latent.hash
  const wrong = latent.depth >= latent.firstError
  const final = latent.depth === latent.length - 1
  let mean =
    (wrong ? c.wrong : c.right) -
    c.difficulty * world.delta +
    c.noise * normal(h, T_NOISE) +
    c.level * normal(world.ph, T_LEVEL)
  if (final && latent.answer !== 0) mean -= c.wrongAnswer
  const n = Math.max(0, Math.floor(tokens))
  if (n === 0) return { counts: [], values: [], logprob: 0 }
  const runs = Math.max(1, Math.min(c.runs, n))
  const counts: Array<number> = []
  const values: Array<number> = []
  let left = n
  for (let r = 0; r < runs; r++) {
    const k = r === runs - 1 ? left : Math.floor(n / runs)
    left -= k
    counts.push(k)
    values.push(Math.max(0.5, mean + (c.noise / 2) * normal(h, T_RUN + 2 * r)))
  }
  // a dip: a stretch of the step much less confident (where a wrong step goes wrong)
  if (uniform(h, T_DIP) < (wrong ? c.dipWrong : c.dipRight) && n >= 4) {
    const len = Math.max(2, Math.floor(n * (0.1 + 0.3 * uniform(h, T_DIP_LEN))))
    const at = Math.floor((n - len) * uniform(h, T_DIP_AT))
    return withDip({ counts, values, logprob: 0 }, at, len, Math.max(0.5, mean - c.dipDepth))
  }
  return { counts, values, logprob: logprobOf(counts, values) }
}

/** The chosen tokens' log-probability: a token of confidence C has about −2.5 / C nats. */
const logprobOf = (counts: ReadonlyArray<number>, values: ReadonlyArray<number>): number => {
  let s = 0
  counts.forEach((k, i) => {
    s -= (k * 2.5) / Math.max(0.5, values[i] ?? 1)
  })
  return s
}

/** Replaces tokens [at, at + len) of runs by one run of value `v`. */
const withDip = (c: TokenConfidence, at: number, len: number, v: number): TokenConfidence => {
  const counts: Array<number> = []
  const values: Array<number> = []
  let pos = 0
  let placed = false
  c.counts.forEach((k, i) => {
    const value = c.values[i] ?? 0
    const start = pos
    const end = pos + k
    pos = end
    const before = Math.max(0, Math.min(end, at) - start)
    const after = Math.max(0, end - Math.max(start, at + len))
    if (before > 0) {
      counts.push(before)
      values.push(value)
    }
    if (!placed && end > at) {
      counts.push(len)
      values.push(v)
      placed = true
    }
    if (after > 0) {
      counts.push(after)
      values.push(value)
    }
  })
  return { counts, values, logprob: logprobOf(counts, values) }
}

/**
 * A generation with each step's token confidences (steps whose latent is not the simulator's are
 * left as they are).
 *
 * @example
 * withConfidence(world, generation).steps[0]?.confidence
 */
export const withConfidence = (world: World, generation: Generation): Generation => ({
  ...generation,
  steps: generation.steps.map(
    (s): Step => (isSimLatent(s.latent) ? { ...s, confidence: stepConfidence(world, s.latent, s.tokens) } : s)
  )
})

/**
 * DeepConf online on a simulated generation whose steps carry token confidences: the generation
 * as it would have streamed until the group confidence of its last `window` tokens (the prefix's
 * `before` included) first fell below the threshold — its steps cut at that token (the step it
 * falls in keeps its first tokens and the same share of its text), `outputTokens` the tokens up to
 * and including it, not done, no answer, `stopped`. A generation whose groups never fall below is
 * returned as it is. Pure: the same generation and rule give the same stop.
 *
 * @example
 * stopOnline(withConfidence(world, g), { window: 64, threshold: 9 }).stopped // true when it tripped
 */
export const stopOnline = (generation: Generation, rule: StopBelow, before?: Float64Array): Generation => {
  // a window longer than every token there is never fills, so nothing stops: answered before the
  // monitor allocates its window (a graph's `window` of 1e308 is a valid number)
  let tokens = before?.length ?? 0
  for (const step of generation.steps) for (const count of step.confidence?.counts ?? []) tokens += count
  if (Math.max(1, Math.floor(rule.window)) > tokens) return generation
  const monitor = new GroupMonitor(rule.window)
  if (before !== undefined) for (const v of before) monitor.push(v)
  let at = 0
  for (const [i, step] of generation.steps.entries()) {
    const c = step.confidence
    if (c === undefined) return generation
    let inStep = 0
    for (const [r, count] of c.counts.entries()) {
      const value = c.values[r] ?? 0
      for (let k = 0; k < count; k++) {
        inStep++
        const g = monitor.push(value)
        if (g !== undefined && g < rule.threshold) {
          const tokens = at + inStep
          const kept = {
            ...step,
            text: step.text.slice(0, Math.round((step.text.length * inStep) / Math.max(1, step.tokens))),
            tokens: inStep,
            confidence: truncate(c, inStep)
          }
          return {
            steps: [...generation.steps.slice(0, i), kept],
            done: false,
            outputTokens: tokens,
            finishReason: "length",
            stopped: true
          }
        }
      }
    }
    at += step.tokens
  }
  return generation
}
