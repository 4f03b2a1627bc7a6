/**
 * Difficulty bins (Snell et al. 2024 §3.2): every problem goes to one of `count` equal-size
 * quantile bins of a difficulty estimate, bin 1 the easiest.
 *
 * - **Oracle bins** rank problems by pass@1 over the difficulty samples (ground truth needed).
 * - **Model-predicted bins** rank them by the mean final verifier score of the same samples (no
 *   ground truth), and come with the score thresholds between bins, which is what a `route` graph
 *   needs to bin a new question from its own estimate.
 *
 * Ties are broken deterministically by `hashString32(problemId)` (then by the id), as the
 * simulator reference (`sim.py`) breaks them by problem hash, so equal estimates do not all fall
 * into one bin and the split does not depend on record order.
 *
 * **Pooled worlds** (`--full`: one sweep per world seed, each (world, problem) a unit): oracle
 * bins are quintiles **within each world**, as the simulator reference (`sim2.py`, `run_seed`)
 * bins each seed before stacking them — a world's problems ranked by pass@1 (ties by the hash of
 * the problem's own id, as in a one-world analysis), rank r of that world's n_w problems to bin
 * `1 + floor(r·count/n_w)`; the pooled units keep their world's bin. Model-predicted bins stay
 * quantiles of the pooled estimates: their thresholds are what a `route` graph bins a new
 * question by, and one graph has one set of them.
 *
 * @since 0.1.0
 */
import { hashString32 } from "../domain/Hash.ts"
import type { DifficultyRecord } from "./Record.ts"

/** How problems can be binned. */
export const BIN_KINDS = ["oracle", "predicted"] as const
export type BinKind = (typeof BIN_KINDS)[number]

/** Problems assigned to bins 1..count (1 = easiest). */
export interface Binning {
  readonly kind: BinKind
  readonly count: number
  /** problem id → bin (1..count) */
  readonly bins: ReadonlyMap<string, number>
  /** problems per bin, index 0 = bin 1 */
  readonly sizes: ReadonlyArray<number>
  /** the estimate each problem was ranked by (pass@1 or mean score), by problem id */
  readonly values: ReadonlyMap<string, number>
  /** how many worlds were binned separately (absent or 1: one ranking of every problem) */
  readonly worlds?: number | undefined
}

/** A pooled unit's world and its problem id within that world (see `Analysis.pool`). */
export interface WorldUnit {
  readonly world: number
  readonly id: string
}

/** Model-predicted bins, with the thresholds a `route` node bins a new estimate by. */
export interface PredictedBinning extends Binning {
  readonly kind: "predicted"
  /**
   * `count − 1` strictly decreasing mean-score thresholds: an estimate belongs to bin i + 1 for the
   * first i with estimate ≥ thresholds[i], and to bin `count` below all of them (the `route`
   * node's rule). Each is the midpoint between the lowest score of a bin and the highest score
   * of the next one.
   */
  readonly thresholds: ReadonlyArray<number>
}

interface Ranked {
  readonly id: string
  readonly value: number
  readonly hash: number
}

/** The gap kept between equal thresholds so that they stay strictly decreasing. */
const EPSILON = 1e-9

/**
 * Ranks problems from easiest to hardest (highest value first; ties by hash, then id) and cuts
 * the ranking into `count` equal-size bins: rank r of n goes to bin `1 + floor(r·count/n)`.
 *
 * @example
 * quantileBins([["a", 0.9], ["b", 0.1]], 2) // Map { "a" => 1, "b" => 2 }
 */
export const quantileBins = (
  values: ReadonlyArray<readonly [string, number]>,
  count: number,
  hashKey: (id: string) => string = (id) => id
): { readonly bins: ReadonlyMap<string, number>; readonly order: ReadonlyArray<string> } => {
  if (!Number.isInteger(count) || count < 1) throw new RangeError(`bin count must be a positive integer, got ${count}`)
  const ranked: Array<Ranked> = values.map(([id, value]) => ({ id, value, hash: hashString32(hashKey(id)) }))
  ranked.sort((a, b) => b.value - a.value || a.hash - b.hash || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
  const bins = new Map<string, number>()
  ranked.forEach((r, i) => {
    bins.set(r.id, 1 + Math.floor((i * count) / ranked.length))
  })
  return { bins, order: ranked.map((r) => r.id) }
}

const unique = (difficulties: ReadonlyArray<DifficultyRecord>): ReadonlyArray<DifficultyRecord> => {
  // one record per problem: the last one stored wins (a re-estimate replaces the old one)
  const byId = new Map<string, DifficultyRecord>()
  for (const d of difficulties) byId.set(d.problemId, d)
  return [...byId.values()]
}

const sizesOf = (bins: ReadonlyMap<string, number>, count: number): ReadonlyArray<number> => {
  const sizes = Array.from({ length: count }, () => 0)
  for (const b of bins.values()) sizes[b - 1] = (sizes[b - 1] ?? 0) + 1
  return sizes
}

/**
 * Quantile bins within each world: every world's problems are ranked and cut on their own (ties
 * by the hash of the problem's id within its world), and the bins are pooled. Ids without a world
 * form one more group of their own.
 *
 * @example
 * const worlds = new Map([["w0/a", { world: 0, id: "a" }], ["w1/a", { world: 1, id: "a" }]])
 * quantileBinsByWorld([["w0/a", 0.9], ["w1/a", 0.1]], 2, worlds).get("w1/a") // 1 (alone in its world)
 */
export const quantileBinsByWorld = (
  values: ReadonlyArray<readonly [string, number]>,
  count: number,
  worlds: ReadonlyMap<string, WorldUnit>
): ReadonlyMap<string, number> => {
  if (!Number.isInteger(count) || count < 1) throw new RangeError(`bin count must be a positive integer, got ${count}`)
  const groups = new Map<number | "none", Array<readonly [string, number]>>()
  for (const v of values) {
    const w = worlds.get(v[0])?.world ?? "none"
    const g = groups.get(w)
    if (g === undefined) groups.set(w, [v])
    else g.push(v)
  }
  const out = new Map<string, number>()
  for (const g of groups.values())
    for (const [id, b] of quantileBins(g, count, (x) => worlds.get(x)?.id ?? x).bins) out.set(id, b)
  return out
}

/**
 * Oracle bins: quantiles of pass@1 over the difficulty samples, bin 1 = highest pass@1. With
 * `worlds` (pooled world seeds), quantiles within each world, pooled (see the module comment).
 *
 * @example
 * const binning = oracleBins(yield* store.difficulties("main"))
 * binning.bins.get("test/algebra/1.json") // 1..5
 */
export const oracleBins = (
  difficulties: ReadonlyArray<DifficultyRecord>,
  count = 5,
  worlds?: ReadonlyMap<string, WorldUnit>
): Binning => {
  const records = unique(difficulties)
  const values = new Map(records.map((d) => [d.problemId, d.pass1] as const))
  const perWorld = worlds === undefined ? 1 : new Set(records.map((d) => worlds.get(d.problemId)?.world)).size
  const bins =
    worlds === undefined || perWorld <= 1
      ? quantileBins([...values], count, (id) => worlds?.get(id)?.id ?? id).bins
      : quantileBinsByWorld([...values], count, worlds)
  return { kind: "oracle", count, bins, sizes: sizesOf(bins, count), values, worlds: perWorld }
}

/**
 * Model-predicted bins: quantiles of the mean final verifier score, bin 1 = highest score, with
 * the `count − 1` descending thresholds between bins. When equal scores straddle a boundary the
 * threshold is that score, and a following threshold that would not be smaller is set just
 * below it (the bins between are then unreachable by a `route`, as equal estimates must be).
 * An empty bin takes its threshold from its neighbours.
 *
 * @example
 * const { bins, thresholds } = predictedBins(difficulties) // thresholds: [0.82, 0.61, 0.44, 0.30]
 */
export const predictedBins = (difficulties: ReadonlyArray<DifficultyRecord>, count = 5): PredictedBinning => {
  const records = unique(difficulties)
  const values = new Map(records.map((d) => [d.problemId, d.meanScore] as const))
  const { bins } = quantileBins([...values], count)
  const lo = Array.from({ length: count }, () => Number.POSITIVE_INFINITY)
  const hi = Array.from({ length: count }, () => Number.NEGATIVE_INFINITY)
  for (const [id, b] of bins) {
    const v = values.get(id) ?? 0
    lo[b - 1] = Math.min(lo[b - 1] ?? v, v)
    hi[b - 1] = Math.max(hi[b - 1] ?? v, v)
  }
  const thresholds: Array<number> = []
  for (let i = 0; i < count - 1; i++) {
    const low = lo[i] ?? Number.POSITIVE_INFINITY
    // the highest score of any harder bin (an empty next bin looks further)
    let next = Number.NEGATIVE_INFINITY
    for (let j = i + 1; j < count && next === Number.NEGATIVE_INFINITY; j++) next = hi[j] ?? next
    let t: number
    if (Number.isFinite(low) && Number.isFinite(next)) t = low > next ? (low + next) / 2 : low
    else if (Number.isFinite(low)) t = low
    else if (Number.isFinite(next)) t = next
    else t = 1 - (i + 1) / count // no data at all: evenly spaced
    const previous = thresholds[i - 1]
    thresholds.push(previous !== undefined && t >= previous ? previous - EPSILON : t)
  }
  return { kind: "predicted", count, bins, sizes: sizesOf(bins, count), values, thresholds }
}

/**
 * The bin of a model-predicted estimate under descending thresholds (the `route` node's rule,
 * 1-based): the first threshold it reaches, else the last bin.
 *
 * @example
 * binOfEstimate(0.55, [0.8, 0.6, 0.4, 0.2]) // 3
 */
export const binOfEstimate = (estimate: number, thresholds: ReadonlyArray<number>): number => {
  const i = thresholds.findIndex((t) => estimate >= t)
  return (i < 0 ? thresholds.length : i) + 1
}

/**
 * Bins of either kind.
 *
 * @example
 * binsOf("predicted", difficulties).kind // "predicted"
 */
export const binsOf = (kind: BinKind, difficulties: ReadonlyArray<DifficultyRecord>, count = 5): Binning =>
  kind === "oracle" ? oracleBins(difficulties, count) : predictedBins(difficulties, count)

/**
 * The fraction of problems that two binnings put in the same bin (how well the model-predicted
 * bins recover the oracle ones); NaN when they share no problem.
 *
 * @example
 * agreement(oracleBins(d), predictedBins(d)) // e.g. 0.62
 */
export const agreement = (a: Binning, b: Binning): number => {
  let shared = 0
  let same = 0
  for (const [id, bin] of a.bins) {
    const other = b.bins.get(id)
    if (other === undefined) continue
    shared++
    if (other === bin) same++
  }
  return shared === 0 ? Number.NaN : same / shared
}
