/**
 * The exchange rate between pretraining and test-time compute (Snell et al. 2024 §7): at equal
 * total FLOPs, is a small model with more test-time compute better than a model `ratio` times
 * larger answering once?
 *
 * FLOPs: pretraining X = 6·P·D_pretrain, inference Y = 2·P·D_inference, and R = D_inference /
 * D_pretrain. Give the larger model P_l = ratio·P_s parameters, the same pretraining tokens and
 * one sample per question (its pass@1), and let the small model spend M times the larger model's
 * inference tokens. Equal totals:
 *
 *     6·P_s·D_pre + 2·P_s·M·D_inf = 6·P_l·D_pre + 2·P_l·D_inf
 *     divide by 2·P_s·D_inf:  3/R + M = ratio·(3/R + 1)
 *     M = ratio·(1 + 3/R) − 3/R
 *
 * With ratio = 14: M = 257.75 (R = 0.16), 63.37 (R = 0.79), 15.77 (R = 22). M counts the small
 * model's generations per question (the paper's N) on the assumption that its samples are as long
 * as the larger model's answer. The small model's accuracy at N = M is read off its measured
 * curves, interpolated in log2(N) and clipped to the measured range (with a note); it is compared
 * with the larger model's mean pass@1, overall and per difficulty bin.
 *
 * @since 0.1.0
 */
import { type Configuration, mean } from "./Accuracy.ts"
import type { Binning } from "./Bins.ts"
import type { Policy } from "./ComputeOptimal.ts"
import { type CurvePoint, type Reading, readAt } from "./Curve.ts"
import type { DifficultyRecord } from "./Record.ts"

/** The paper's inference-to-pretraining token ratios. */
export const DEFAULT_R: ReadonlyArray<number> = [0.16, 0.79, 22]

/** The paper's parameter ratio between the larger and the smaller model. */
export const DEFAULT_PARAMETER_RATIO = 14

/**
 * The test-time multiplier M that matches total FLOPs: `ratio·(1 + 3/R) − 3/R`.
 *
 * @example
 * multiplier(0.16, 14) // 257.75
 * multiplier(22, 14) // 15.77…
 */
export const multiplier = (r: number, ratio: number): number => ratio * (1 + 3 / r) - 3 / r

/** Which side of the exchange wins. */
export type Winner = "test-time compute" | "larger model" | "tie" | "n/a"

/** The comparison at one R, overall (`bin: "all"`) or in one bin. */
export interface ExchangeRow {
  readonly r: number
  readonly multiplier: number
  readonly bin: number | "all"
  /** the compute-optimal policy (cross-validated) at N = M */
  readonly policy: Reading | undefined
  /** best-of-N weighted at N = M */
  readonly bestOfN: Reading | undefined
  /** the larger model's mean pass@1 (NaN without its records) */
  readonly large: number
  readonly largeProblems: number
  /** compute-optimal policy versus the larger model */
  readonly winner: Winner
}

export interface Exchange {
  readonly ratio: number
  readonly rs: ReadonlyArray<number>
  readonly rows: ReadonlyArray<ExchangeRow>
  readonly notes: ReadonlyArray<string>
}

export interface ExchangeInput {
  readonly policy: Policy
  readonly configs: ReadonlyArray<Configuration>
  readonly binning: Binning
  /** the larger model's difficulty records (pass1 = its pass@1 per problem), e.g. sweep `<sweep>/large` */
  readonly large: ReadonlyArray<DifficultyRecord>
}

export interface ExchangeOptions {
  /** inference-to-pretraining token ratios (default 0.16, 0.79, 22) */
  readonly rs?: ReadonlyArray<number> | undefined
  /** P_large / P_small (default 14) */
  readonly ratio?: number | undefined
}

const EPS = 1e-9

const winnerOf = (small: number | undefined, large: number): Winner =>
  small === undefined || Number.isNaN(small) || Number.isNaN(large)
    ? "n/a"
    : Math.abs(small - large) <= EPS
      ? "tie"
      : small > large
        ? "test-time compute"
        : "larger model"

/**
 * The FLOPs-matched comparison for each R, overall and per bin.
 *
 * @example
 * const x = exchange({ policy, configs, binning, large: yield* store.difficulties("main/large") })
 * x.rows.filter((r) => r.bin === "all") // one row per R
 */
export const exchange = (input: ExchangeInput, options: ExchangeOptions = {}): Exchange => {
  const ratio = options.ratio ?? DEFAULT_PARAMETER_RATIO
  const rs = options.rs ?? DEFAULT_R
  const { policy, binning } = input
  const largeById = new Map(input.large.map((d) => [d.problemId, d.pass1] as const))
  const binned = [...binning.bins.keys()]
  const inBin = (b: number | "all") => (b === "all" ? binned : binned.filter((p) => binning.bins.get(p) === b))
  const largeOn = (problems: ReadonlyArray<string>) => {
    const xs = problems.flatMap((p) => {
      const v = largeById.get(p)
      return v === undefined ? [] : [v]
    })
    return { value: mean(xs), n: xs.length }
  }
  const baseline = input.configs.filter((c) => c.strategy === policy.baseline)
  const bonCurve = (b: number | "all"): ReadonlyArray<CurvePoint> =>
    b === "all"
      ? policy.baselineCurve
      : baseline.flatMap((c) => {
          const xs = inBin(b).flatMap((p) => {
            const o = c.outcomes.get(p)
            return o === undefined ? [] : [o.correct]
          })
          return xs.length === 0 ? [] : [{ budget: c.budget, accuracy: mean(xs) }]
        })
  const policyCurve = (b: number | "all"): ReadonlyArray<CurvePoint> =>
    policy.points.flatMap((p) => {
      const accuracy = b === "all" ? p.accuracy : (p.bins[b - 1]?.crossValidated ?? Number.NaN)
      return Number.isFinite(accuracy) ? [{ budget: p.budget, accuracy }] : []
    })
  const scopes: ReadonlyArray<number | "all"> = ["all", ...Array.from({ length: binning.count }, (_, i) => i + 1)]
  const rows: Array<ExchangeRow> = []
  const clippedAt = new Set<string>()
  for (const r of rs) {
    const m = multiplier(r, ratio)
    for (const bin of scopes) {
      const pol = readAt(policyCurve(bin), m)
      const bon = readAt(bonCurve(bin), m)
      const large = largeOn(inBin(bin))
      for (const [what, reading] of [
        ["policy", pol],
        ["best-of-N", bon]
      ] as const)
        if (reading?.clipped !== undefined && bin === "all")
          clippedAt.add(
            `R = ${r}: M = ${m.toFixed(2)} is ${reading.clipped === "above" ? "above the largest" : "below the smallest"} measured budget of the ${what}; its accuracy at N = ${reading.at} is used`
          )
      rows.push({
        r,
        multiplier: m,
        bin,
        policy: pol,
        bestOfN: bon,
        large: large.value,
        largeProblems: large.n,
        winner: winnerOf(pol?.accuracy, large.value)
      })
    }
  }
  const notes: Array<string> = [...clippedAt]
  if (input.large.length === 0)
    notes.push("no larger-model records (difficulty records of sweep <sweep>/large): its pass@1 is n/a")
  else {
    const missing = binned.filter((p) => !largeById.has(p)).length
    if (missing > 0)
      notes.push(`${missing} of ${binned.length} problems have no larger-model pass@1; they are left out of its mean`)
  }
  if (policy.points.length === 0) notes.push("no compute-optimal policy points (no runs with bins)")
  return { ratio, rs, rows, notes }
}
