/**
 * Confidence from token log-probabilities (DeepConf, Fu et al. 2025, "Deep Think with Confidence").
 *
 * A backend that can see its tokens' log-probabilities gives each generated step a
 * `TokenConfidence`: the *token confidence* of every token — DeepConf's C_i = −(1/k)·Σ_j log P_i(j)
 * over the k most likely tokens at position i (high when the model is sure) — as runs of equal
 * values (a real backend has one run per token; the simulator a few per step), and the sum of the
 * chosen tokens' log-probabilities. The statistics of a candidate read the whole trace, prefix
 * included:
 *
 * - `mean-logprob`: mean log-probability of the chosen tokens;
 * - `mean`: mean token confidence;
 * - `lowest-group`: the lowest *group confidence* — the mean token confidence over a sliding
 *   window of `window` tokens (the whole trace when it is shorter);
 * - `bottom`: the mean of the lowest `bottom` fraction of group confidences (DeepConf's
 *   bottom-10% group confidence);
 * - `tail`: the mean token confidence of the last `tail` tokens.
 *
 * Pure functions; `GroupMonitor` is the streaming form that online early stopping uses.
 *
 * @since 0.3.0
 */
import type * as Steps from "./Steps.ts"

/** The token confidences of one generated step, as runs, and the log-probability of its tokens. */
export interface TokenConfidence {
  /** tokens in each run (each ≥ 1); they sum to the step's tokens */
  readonly counts: ReadonlyArray<number>
  /** per run: the token confidence of each of its tokens (≥ 0) */
  readonly values: ReadonlyArray<number>
  /** the sum over the step's tokens of the chosen token's log-probability (≤ 0) */
  readonly logprob: number
}

/** The statistics a node may read. */
export const STATS = ["lowest-group", "bottom", "tail", "mean", "mean-logprob"] as const
export type Stat = (typeof STATS)[number]

/** How a statistic is computed: the sliding window, the tail length and the bottom fraction. */
export interface StatOptions {
  readonly window: number
  readonly tail: number
  readonly bottom: number
}

/** DeepConf's defaults: 2048-token groups and tail, the bottom 10% of groups. */
export const DEFAULT_OPTIONS: StatOptions = { window: 2048, tail: 2048, bottom: 0.1 }

/**
 * DeepConf's token confidence from the top-k log-probabilities at one position.
 *
 * @example
 * tokenConfidence([-0.01, -5, -7]) // 4.003…
 */
export const tokenConfidence = (topLogprobs: ReadonlyArray<number>): number => {
  if (topLogprobs.length === 0) return 0
  let s = 0
  for (const x of topLogprobs) s += Number.isFinite(x) ? x : -100
  return Math.max(0, -s / topLogprobs.length)
}

/**
 * The token confidence of one token as a step's confidence (one run).
 *
 * @example
 * fromTokens([3.2, 4.1], -0.4) // { counts: [1, 1], values: [3.2, 4.1], logprob: -0.4 }
 */
export const fromTokens = (values: ReadonlyArray<number>, logprob: number): TokenConfidence => ({
  counts: values.map(() => 1),
  values,
  logprob
})

/** A trace's token confidences, flattened to one value per token, and the log-probability sum. */
export interface Trace {
  readonly values: Float64Array
  readonly logprob: number
}

/**
 * The token confidences of a candidate's steps, first to last; `undefined` when any step lacks them
 * (a step from a backend that gives no log-probabilities).
 *
 * @example
 * trace(candidate.steps)?.values.length // the candidate's tokens
 */
export const trace = (steps: Steps.Steps | undefined): Trace | undefined => {
  const list: Array<TokenConfidence> = []
  let total = 0
  for (let node = steps; node !== undefined; node = node.parent) {
    const c = node.step.confidence
    if (c === undefined) return undefined
    list.push(c)
    for (const n of c.counts) total += n
  }
  const values = new Float64Array(total)
  let at = 0
  let logprob = 0
  for (let i = list.length - 1; i >= 0; i--) {
    const c = list[i]
    if (c === undefined) continue
    logprob += c.logprob
    c.counts.forEach((n, r) => {
      values.fill(c.values[r] ?? 0, at, at + n)
      at += n
    })
  }
  return { values, logprob }
}

/**
 * Group confidences: the mean token confidence of each window of `window` consecutive tokens
 * (one group, the whole trace, when it is shorter); empty for an empty trace.
 *
 * @example
 * groups(Float64Array.of(1, 2, 3), 2) // [1.5, 2.5]
 */
export const groups = (values: Float64Array, window: number): Float64Array => {
  const n = values.length
  if (n === 0) return new Float64Array(0)
  const w = Math.max(1, Math.min(Math.floor(window), n))
  const out = new Float64Array(n - w + 1)
  let s = 0
  for (let i = 0; i < w; i++) s += values[i] ?? 0
  out[0] = s / w
  for (let i = w; i < n; i++) {
    s += (values[i] ?? 0) - (values[i - w] ?? 0)
    out[i - w + 1] = s / w
  }
  return out
}

/**
 * One statistic of a trace; `undefined` for an empty trace.
 *
 * @example
 * statOf({ values: Float64Array.of(5, 1, 5), logprob: -0.3 }, "lowest-group", { ...DEFAULT_OPTIONS, window: 1 }) // 1
 */
export const statOf = (t: Trace, stat: Stat, options: StatOptions = DEFAULT_OPTIONS): number | undefined => {
  const n = t.values.length
  if (n === 0) return undefined
  switch (stat) {
    case "mean-logprob":
      return t.logprob / n
    case "mean": {
      let s = 0
      for (const v of t.values) s += v
      return s / n
    }
    case "tail": {
      const k = Math.max(1, Math.min(n, Math.floor(options.tail)))
      let s = 0
      for (let i = n - k; i < n; i++) s += t.values[i] ?? 0
      return s / k
    }
    case "lowest-group": {
      let m = Number.POSITIVE_INFINITY
      for (const g of groups(t.values, options.window)) if (g < m) m = g
      return m
    }
    case "bottom": {
      const g = [...groups(t.values, options.window)].sort((a, b) => a - b)
      const k = Math.max(1, Math.ceil(g.length * Math.min(1, Math.max(0, options.bottom))))
      let s = 0
      for (let i = 0; i < k; i++) s += g[i] ?? 0
      return s / k
    }
  }
}

/**
 * The statistic of a candidate's steps, or `undefined` when a step has no token confidences.
 *
 * @example
 * candidateStat(candidate.steps, "lowest-group", { window: 256, tail: 256, bottom: 0.1 })
 */
export const candidateStat = (
  steps: Steps.Steps | undefined,
  stat: Stat,
  options: StatOptions = DEFAULT_OPTIONS
): number | undefined => {
  const t = trace(steps)
  return t === undefined ? undefined : statOf(t, stat, options)
}

/**
 * A sliding window over streamed token confidences: `push` one token's confidence and get the
 * group confidence of the last `window` tokens, once `window` tokens have arrived (DeepConf online
 * compares it with the warm-up threshold after every token).
 *
 * @example
 * const m = new GroupMonitor(2); m.push(3); m.push(1) // 2
 */
export class GroupMonitor {
  readonly window: number
  private readonly ring: Float64Array
  private sum = 0
  private seen = 0
  constructor(window: number) {
    this.window = Math.max(1, Math.floor(window))
    this.ring = new Float64Array(this.window)
  }
  /** the group confidence after this token, or `undefined` while fewer than `window` tokens arrived */
  push(value: number): number | undefined {
    const w = this.ring.length
    const slot = this.seen % w
    this.sum += value - (this.seen >= w ? (this.ring[slot] ?? 0) : 0)
    this.ring[slot] = value
    this.seen++
    return this.seen >= w ? this.sum / w : undefined
  }
  /** tokens pushed so far */
  get tokens(): number {
    return this.seen
  }
}

/**
 * The token at which a trace's group confidence first falls below `threshold` (the number of
 * tokens generated when DeepConf online stops it), or `undefined` if it never does. `before` are
 * the token confidences of the prefix the generation continues (they fill the first window).
 *
 * @example
 * stopAt(Float64Array.of(5, 5, 1, 1), 2, 3) // 4: the window [5, 1] has mean 3, not below; [1, 1] is
 */
export const stopAt = (
  values: Float64Array,
  window: number,
  threshold: number,
  before?: Float64Array
): number | undefined => {
  const m = new GroupMonitor(window)
  if (before !== undefined) for (const v of before) m.push(v)
  for (let i = 0; i < values.length; i++) {
    const g = m.push(values[i] ?? 0)
    if (g !== undefined && g < threshold) return i + 1
  }
  return undefined
}

/**
 * The confidence of the first `tokens` tokens of a step (a step cut short).
 *
 * @example
 * truncate({ counts: [2, 3], values: [1, 2], logprob: -5 }, 3).counts // [2, 1]
 */
export const truncate = (c: TokenConfidence, tokens: number): TokenConfidence => {
  const counts: Array<number> = []
  const values: Array<number> = []
  let total = 0
  let left = tokens
  for (let i = 0; i < c.counts.length && left > 0; i++) {
    const n = Math.min(c.counts[i] ?? 0, left)
    counts.push(n)
    values.push(c.values[i] ?? 0)
    total += c.counts[i] ?? 0
    left -= n
  }
  const kept = tokens - left
  const all = c.counts.reduce((a, b) => a + b, 0) || total || 1
  return { counts, values, logprob: (c.logprob * kept) / all }
}
