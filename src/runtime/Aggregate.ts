/**
 * Aggregating a solution's step scores into one score, as in the paper's PRM experiments and
 * search-and-learn (`last` is their default: the PRM's score of the last step).
 *
 * @since 0.1.0
 */
/** How step scores become a score: the last step's, the least, the product, or the mean. */
export const AGGREGATES = ["last", "min", "prod", "mean"] as const
export type Aggregate = (typeof AGGREGATES)[number]

/**
 * The aggregate of step scores; `undefined` when there are none.
 *
 * @example
 * aggregate([0.9, 0.5, 0.7], "last") // 0.7
 * aggregate([0.9, 0.5, 0.7], "min")  // 0.5
 * aggregate([0.5, 0.5], "prod")      // 0.25
 * aggregate([0.2, 0.4], "mean")      // 0.3
 */
export const aggregate = (stepScores: ReadonlyArray<number>, how: Aggregate): number | undefined => {
  const n = stepScores.length
  if (n === 0) return undefined
  switch (how) {
    case "last":
      return stepScores[n - 1]
    case "min": {
      let m = Number.POSITIVE_INFINITY
      for (const s of stepScores) if (s < m) m = s
      return m
    }
    case "prod": {
      let p = 1
      for (const s of stepScores) p *= s
      return p
    }
    case "mean": {
      let t = 0
      for (const s of stepScores) t += s
      return t / n
    }
  }
}
