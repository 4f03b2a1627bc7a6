/**
 * Accuracy of strategy configurations from run records: per (strategy, budget), overall and per
 * difficulty bin.
 *
 * Averaging is two-level: the runs of a problem (one per seed) are averaged first, then the
 * problems — so every problem weighs the same whatever its number of seeds. The standard error is
 * that of the mean over problems (sample standard deviation of the per-problem means / √n); it
 * measures problem-to-problem spread, the paper's unit of comparison, and reads as NaN with fewer
 * than two problems. Tokens, FLOPs, pass@N and mean pass@1 are averaged the same way. Usage is
 * the logical usage (cache hits included): what the strategy costs, not what the backend spent.
 *
 * @since 0.1.0
 */
import type { Binning } from "./Bins.ts"
import type { RunRecord } from "./Record.ts"

/** One problem under one configuration, averaged over its seeds. */
export interface Outcome {
  readonly problemId: string
  readonly seeds: number
  /** fraction of the seeds whose chosen answer is right */
  readonly correct: number
  readonly outputTokens: number
  readonly flops: number
  /** fraction of the seeds with at least one right complete candidate */
  readonly passAtN: number
  /** mean fraction of right complete candidates */
  readonly pass1: number
  /** fraction of the seeds whose budget refused a call */
  readonly exhausted: number
}

/** A strategy configuration at one budget, with its outcomes by problem. */
export interface Configuration {
  readonly strategy: string
  readonly graph: string
  readonly budget: number
  /** the params the graph ran with at this budget (from the first record) */
  readonly params: { readonly [name: string]: number }
  readonly outcomes: ReadonlyMap<string, Outcome>
}

/** Means over problems. */
export interface Summary {
  readonly accuracy: number
  /** standard error of `accuracy` over problems (NaN below two problems) */
  readonly stderr: number
  readonly problems: number
  readonly runs: number
  readonly outputTokens: number
  readonly flops: number
  readonly passAtN: number
  readonly pass1: number
  readonly exhausted: number
}

/** A point of an accuracy-versus-budget curve. `bin` is set for per-bin points. */
export interface AccuracyPoint extends Summary {
  readonly strategy: string
  readonly graph: string
  readonly budget: number
  readonly bin?: number
}

/**
 * The mean of numbers (NaN when empty).
 *
 * @example
 * mean([1, 2, 3]) // 2
 */
export const mean = (xs: ReadonlyArray<number>): number =>
  xs.length === 0 ? Number.NaN : xs.reduce((a, x) => a + x, 0) / xs.length

/**
 * The standard error of the mean: sample standard deviation / √n (NaN below two values).
 *
 * @example
 * standardError([0, 1, 0, 1]) // 0.288…
 */
export const standardError = (xs: ReadonlyArray<number>): number => {
  if (xs.length < 2) return Number.NaN
  const m = mean(xs)
  const variance = xs.reduce((a, x) => a + (x - m) ** 2, 0) / (xs.length - 1)
  return Math.sqrt(variance / xs.length)
}

/**
 * pass@N of one run: whether any complete candidate is right (0 or 1).
 *
 * @example
 * passAtN({ correctCandidates: 2, done: 16 }) // 1
 */
export const passAtN = (r: Pick<RunRecord, "correctCandidates" | "done">): number => (r.correctCandidates > 0 ? 1 : 0)

/**
 * Mean pass@1 of one run: the fraction of its complete candidates that are right (0 when none is
 * complete).
 *
 * @example
 * meanPass1({ correctCandidates: 4, done: 16 }) // 0.25
 */
export const meanPass1 = (r: Pick<RunRecord, "correctCandidates" | "done">): number =>
  r.done > 0 ? r.correctCandidates / r.done : 0

const keyOf = (strategy: string, budget: number) => `${strategy}\u0000${budget}`

/**
 * Groups run records by (strategy, budget) and averages each problem's runs over its seeds.
 * Sorted by strategy label, then budget. A run repeated with the same seed counts once (the
 * last one stored).
 *
 * @example
 * const configs = configurations(yield* store.runs("main"))
 * configs[0] // { strategy: "beam-search M=4", budget: 4, outcomes: Map { … } }
 */
export const configurations = (runs: ReadonlyArray<RunRecord>): ReadonlyArray<Configuration> => {
  const groups = new Map<string, { first: RunRecord; byProblem: Map<string, Map<number, RunRecord>> }>()
  for (const r of runs) {
    const k = keyOf(r.strategy, r.budget)
    let g = groups.get(k)
    if (g === undefined) {
      g = { first: r, byProblem: new Map() }
      groups.set(k, g)
    }
    let seeds = g.byProblem.get(r.problemId)
    if (seeds === undefined) {
      seeds = new Map()
      g.byProblem.set(r.problemId, seeds)
    }
    seeds.set(r.seed, r)
  }
  const out: Array<Configuration> = []
  for (const { first, byProblem } of groups.values()) {
    const outcomes = new Map<string, Outcome>()
    for (const [problemId, seeds] of byProblem) {
      const rs = [...seeds.values()]
      outcomes.set(problemId, {
        problemId,
        seeds: rs.length,
        correct: mean(rs.map((r) => (r.correct ? 1 : 0))),
        outputTokens: mean(rs.map((r) => r.usage.outputTokens)),
        flops: mean(rs.map((r) => r.usage.flops)),
        passAtN: mean(rs.map(passAtN)),
        pass1: mean(rs.map(meanPass1)),
        exhausted: mean(rs.map((r) => (r.exhausted ? 1 : 0)))
      })
    }
    out.push({ strategy: first.strategy, graph: first.graph, budget: first.budget, params: first.params, outcomes })
  }
  return out.sort((a, b) => (a.strategy < b.strategy ? -1 : a.strategy > b.strategy ? 1 : a.budget - b.budget))
}

/**
 * Means over the given outcomes (problems).
 *
 * @example
 * summarize(config.outcomes.values()).accuracy // 0.52
 */
export const summarize = (outcomes: Iterable<Outcome>): Summary => {
  const os = [...outcomes]
  const correct = os.map((o) => o.correct)
  return {
    accuracy: mean(correct),
    stderr: standardError(correct),
    problems: os.length,
    runs: os.reduce((a, o) => a + o.seeds, 0),
    outputTokens: mean(os.map((o) => o.outputTokens)),
    flops: mean(os.map((o) => o.flops)),
    passAtN: mean(os.map((o) => o.passAtN)),
    pass1: mean(os.map((o) => o.pass1)),
    exhausted: mean(os.map((o) => o.exhausted))
  }
}

const restricted = (c: Configuration, keep: ((problemId: string) => boolean) | undefined): ReadonlyArray<Outcome> =>
  keep === undefined ? [...c.outcomes.values()] : [...c.outcomes.values()].filter((o) => keep(o.problemId))

/**
 * Accuracy per (strategy, budget) over all problems (or those `problems` keeps).
 *
 * @example
 * accuracy(configurations(runs)) // [{ strategy: "weighted-best-of-n", budget: 4, accuracy: 0.41, stderr: 0.02, … }, …]
 */
export const accuracy = (
  configs: ReadonlyArray<Configuration>,
  problems?: (problemId: string) => boolean
): ReadonlyArray<AccuracyPoint> =>
  configs.flatMap((c) => {
    const os = restricted(c, problems)
    return os.length === 0 ? [] : [{ strategy: c.strategy, graph: c.graph, budget: c.budget, ...summarize(os) }]
  })

/**
 * Accuracy per (strategy, budget, bin): each point averages the problems of one bin. Problems
 * without a bin are left out.
 *
 * @example
 * accuracyByBin(configurations(runs), oracleBins(difficulties)).filter((p) => p.bin === 1)
 */
export const accuracyByBin = (
  configs: ReadonlyArray<Configuration>,
  binning: Binning
): ReadonlyArray<AccuracyPoint & { readonly bin: number }> =>
  configs.flatMap((c) => {
    const byBin = new Map<number, Array<Outcome>>()
    for (const o of c.outcomes.values()) {
      const b = binning.bins.get(o.problemId)
      if (b === undefined) continue
      const list = byBin.get(b) ?? []
      list.push(o)
      byBin.set(b, list)
    }
    return [...byBin.entries()]
      .sort((a, b) => a[0] - b[0])
      .map(([bin, os]) => ({ strategy: c.strategy, graph: c.graph, budget: c.budget, bin, ...summarize(os) }))
  })

/**
 * The strategy labels and budgets present, sorted.
 *
 * @example
 * axes(configs) // { strategies: ["beam-search M=4", "weighted-best-of-n"], budgets: [4, 16, 64, 256] }
 */
export const axes = (
  configs: ReadonlyArray<Pick<Configuration, "strategy" | "budget">>
): { readonly strategies: ReadonlyArray<string>; readonly budgets: ReadonlyArray<number> } => ({
  strategies: [...new Set(configs.map((c) => c.strategy))].sort(),
  budgets: [...new Set(configs.map((c) => c.budget))].sort((a, b) => a - b)
})

/**
 * An accuracy for tables: three decimals, `—` when unknown.
 *
 * @example
 * formatAccuracy(0.5) // "0.500"
 */
export const formatAccuracy = (x: number | undefined): string =>
  x === undefined || !Number.isFinite(x) ? "—" : x.toFixed(3)

/**
 * An accuracy with its standard error, `0.500 ± 0.050`.
 *
 * @example
 * formatWithError(0.5, 0.05) // "0.500 ± 0.050"
 */
export const formatWithError = (accuracy: number, stderr: number): string =>
  Number.isFinite(stderr) ? `${formatAccuracy(accuracy)} ± ${stderr.toFixed(3)}` : formatAccuracy(accuracy)
