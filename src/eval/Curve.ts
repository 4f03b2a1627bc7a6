/**
 * Accuracy-versus-budget curves on a log2 budget axis: reading a curve at a budget between the
 * measured ones, and finding the budget at which a curve first reaches an accuracy (on its
 * monotone envelope). Both interpolate linearly in log2(budget), as the paper's plots are drawn
 * and as the simulator reference's `compute_optimal` does.
 *
 * @since 0.1.0
 */

/** A measured point: budget (> 0) and accuracy. */
export interface CurvePoint {
  readonly budget: number
  readonly accuracy: number
}

/** A curve read at a budget. `clipped` says the budget lay outside the measured ones. */
export interface Reading {
  readonly accuracy: number
  /** the budget actually read (the requested one, or the nearest measured end) */
  readonly at: number
  readonly clipped?: "below" | "above"
}

const sorted = (points: ReadonlyArray<CurvePoint>): ReadonlyArray<CurvePoint> =>
  [...points].filter((p) => p.budget > 0 && Number.isFinite(p.accuracy)).sort((a, b) => a.budget - b.budget)

/**
 * The curve at `budget`, interpolated linearly in log2(budget) between the measured points around
 * it; outside the measured range it is clipped to the nearest end (and says so). `undefined` for
 * an empty curve.
 *
 * @example
 * readAt([{ budget: 4, accuracy: 0.4 }, { budget: 16, accuracy: 0.6 }], 8) // { accuracy: 0.5, at: 8 }
 * readAt([{ budget: 4, accuracy: 0.4 }], 64) // { accuracy: 0.4, at: 4, clipped: "above" }
 */
export const readAt = (points: ReadonlyArray<CurvePoint>, budget: number): Reading | undefined => {
  const ps = sorted(points)
  const first = ps[0]
  const last = ps[ps.length - 1]
  if (first === undefined || last === undefined) return undefined
  if (budget < first.budget) return { accuracy: first.accuracy, at: first.budget, clipped: "below" }
  if (budget > last.budget) return { accuracy: last.accuracy, at: last.budget, clipped: "above" }
  for (let i = 0; i < ps.length; i++) {
    const p = ps[i]
    if (p === undefined) break
    if (p.budget === budget) return { accuracy: p.accuracy, at: budget }
    const q = ps[i + 1]
    if (q !== undefined && p.budget < budget && budget < q.budget) {
      const f = (Math.log2(budget) - Math.log2(p.budget)) / (Math.log2(q.budget) - Math.log2(p.budget))
      return { accuracy: p.accuracy + f * (q.accuracy - p.accuracy), at: budget }
    }
  }
  return { accuracy: last.accuracy, at: last.budget }
}

/**
 * The monotone envelope of a curve: at each measured budget, the best accuracy at that budget or
 * any smaller one (what a user who may always spend less would get).
 *
 * @example
 * envelope([{ budget: 1, accuracy: 0.3 }, { budget: 2, accuracy: 0.2 }]) // accuracies 0.3, 0.3
 */
export const envelope = (points: ReadonlyArray<CurvePoint>): ReadonlyArray<CurvePoint> => {
  let best = Number.NEGATIVE_INFINITY
  return sorted(points).map((p) => {
    best = Math.max(best, p.accuracy)
    return { budget: p.budget, accuracy: best }
  })
}

/**
 * The budget at which a curve matches an accuracy:
 *
 * - `reached`: interpolated in log2(budget) on the monotone envelope between the last measured
 *   budget below the accuracy and the first at or above it;
 * - `atMost`: already matched at the smallest measured budget — the true matching budget is that
 *   one or less (a bound, not an estimate);
 * - `beyond`: never matched within the measured budgets — the matching budget, if any, is more
 *   than the largest measured one (a lower bound; no number is invented);
 * - `none`: the curve is empty.
 *
 * @example
 * budgetToMatch([{ budget: 4, accuracy: 0.4 }, { budget: 16, accuracy: 0.6 }], 0.5) // { kind: "reached", budget: 8 }
 * budgetToMatch([{ budget: 4, accuracy: 0.4 }], 0.9) // { kind: "beyond", budget: 4 }
 */
export const budgetToMatch = (points: ReadonlyArray<CurvePoint>, accuracy: number): Match => {
  const env = envelope(points)
  if (env.length === 0) return { kind: "none" }
  for (let i = 0; i < env.length; i++) {
    const p = env[i]
    if (p === undefined || p.accuracy < accuracy) continue
    const prev = env[i - 1]
    if (prev === undefined) return { kind: "atMost", budget: p.budget }
    const f = p.accuracy === prev.accuracy ? 0 : (accuracy - prev.accuracy) / (p.accuracy - prev.accuracy)
    const x = Math.log2(prev.budget) + f * (Math.log2(p.budget) - Math.log2(prev.budget))
    return { kind: "reached", budget: 2 ** x }
  }
  const last = env[env.length - 1]
  return { kind: "beyond", budget: last?.budget ?? Number.NaN }
}

/** Where a curve matches an accuracy (see `budgetToMatch`). */
export type Match =
  | { readonly kind: "reached"; readonly budget: number }
  | { readonly kind: "atMost"; readonly budget: number }
  | { readonly kind: "beyond"; readonly budget: number }
  | { readonly kind: "none" }
