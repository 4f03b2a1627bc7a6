/**
 * Pruning: keep the best `keep` candidates (beam search), or draw `keep` with replacement in
 * proportion to softmax(score / temperature) (particle filtering). Pure functions over scores;
 * unscored candidates rank last and get weight zero.
 *
 * @since 0.1.0
 */
import { hash32, uniform } from "../domain/Hash.ts"

/**
 * Indices of the `keep` highest scores, returned in their original order. Ties go to the earlier
 * index; `undefined` scores rank below every number.
 *
 * @example
 * topK([0.1, 0.9, 0.5, 0.9], 2) // [1, 3]
 */
export const topK = (scores: ReadonlyArray<number | undefined>, keep: number): ReadonlyArray<number> => {
  if (keep >= scores.length) return scores.map((_, i) => i)
  if (keep <= 0) return []
  const order = scores
    .map((s, i) => [s ?? Number.NEGATIVE_INFINITY, i] as const)
    .sort((a, b) => (b[0] !== a[0] ? (b[0] > a[0] ? 1 : -1) : a[1] - b[1]))
  return order
    .slice(0, keep)
    .map(([, i]) => i)
    .sort((a, b) => a - b)
}

/**
 * Softmax weights of scores at a temperature (unscored → weight 0; all unscored → uniform).
 *
 * @example
 * softmax([0, 0], 1) // [0.5, 0.5]
 */
export const softmax = (scores: ReadonlyArray<number | undefined>, temperature: number): ReadonlyArray<number> => {
  const xs = scores.map((s) => (s === undefined ? Number.NEGATIVE_INFINITY : s / temperature))
  const m = Math.max(...xs)
  if (!Number.isFinite(m)) return scores.map(() => 1 / Math.max(1, scores.length))
  const e = xs.map((x) => (Number.isFinite(x) ? Math.exp(x - m) : 0))
  const z = e.reduce((a, b) => a + b, 0)
  return e.map((x) => x / z)
}

/**
 * Draws `keep` indices with replacement ∝ softmax(score / temperature) — multinomial resampling,
 * the uniforms drawn from `seed` (never from call order). Returned sorted, so copies of a
 * candidate are adjacent and the population keeps its order.
 *
 * @example
 * resample([0.1, 5, 0.2], 4, 0.1, 42) // e.g. [1, 1, 1, 1]
 */
export const resample = (
  scores: ReadonlyArray<number | undefined>,
  keep: number,
  temperature: number,
  seed: number
): ReadonlyArray<number> => {
  if (scores.length === 0 || keep <= 0) return []
  const w = softmax(scores, temperature)
  const cdf: Array<number> = []
  let acc = 0
  for (const x of w) {
    acc += x
    cdf.push(acc)
  }
  const out: Array<number> = []
  const root = hash32(seed, 0x80000041)
  for (let i = 0; i < keep; i++) {
    const u = uniform(root, i) * acc
    let lo = 0
    let hi = cdf.length - 1
    while (lo < hi) {
      const mid = (lo + hi) >> 1
      if ((cdf[mid] ?? 0) > u) hi = mid
      else lo = mid + 1
    }
    out.push(lo)
  }
  return out.sort((a, b) => a - b)
}
