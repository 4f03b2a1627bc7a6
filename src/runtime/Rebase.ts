/**
 * REBASE's allocation (Wu et al. 2024, "Inference Scaling Laws", reward balanced search): the next
 * round's width is shared across the whole frontier in proportion to softmax(reward / temperature),
 * rounded so that the shares sum to exactly the width. Pure.
 *
 * @since 0.3.0
 */
import { softmax } from "./Prune.ts"

/**
 * How many children each frontier node gets: `width · softmax(score / temperature)` rounded by
 * largest remainders — everyone gets the floor of its quota, and the units left go one each to the
 * largest fractional parts, ties to the larger weight and then to the earlier node (frontier order
 * is creation order, so the rule is deterministic). An unscored node weighs as if nothing were known of it: weight 0, unless no
 * node is scored (then all weigh the same). The result sums to `width` (0 for an empty frontier).
 *
 * @example
 * allocate([0.9, 0.5, 0.1], 4, 0.2) // [3, 1, 0]
 * allocate([0.5, 0.5], 3, 1) // [2, 1]: the tie goes to the earlier node
 */
export const allocate = (
  scores: ReadonlyArray<number | undefined>,
  width: number,
  temperature: number
): ReadonlyArray<number> => {
  if (scores.length === 0 || width <= 0) return scores.map(() => 0)
  const p = softmax(scores, temperature)
  const quota = p.map((x) => x * width)
  const out = quota.map((q) => Math.floor(q))
  let left = width - out.reduce((a, b) => a + b, 0)
  // largest remainder first; equal remainders to the larger weight (two weights an ulp apart can
  // give the same quota: the larger must not get fewer children), then in frontier order
  const order = quota
    .map((q, i) => ({ i, frac: q - Math.floor(q), weight: p[i] ?? 0 }))
    .sort((a, b) => b.frac - a.frac || b.weight - a.weight || a.i - b.i)
  for (const { i } of order) {
    if (left <= 0) break
    out[i] = (out[i] ?? 0) + 1
    left--
  }
  return out
}
