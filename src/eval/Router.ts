/**
 * The compute-optimal router evaluated as it would run, with honest uncertainty.
 *
 * Snell et al. 2024 pick, per difficulty bin and budget N, the strategy configuration with the
 * highest accuracy. This module measures such a policy two ways, both by two-fold cross-validation
 * (fold = the problem's position in the sweep's problem list mod 2, as the simulator reference
 * sim2.py does):
 *
 * - **predicted** — the router as it would run: difficulty is the mean final verifier score of
 *   `estimateSamples` fresh samples (the `route` node's estimate); the bin thresholds are the
 *   quintiles of that estimate on the fitting fold, the choice per bin is made on the fitting
 *   fold, and both are applied to the other fold's own estimates. The estimate's samples (and
 *   their verifier calls) are charged: the policy at N costs N + estimateSamples generations.
 * - **oracle** — bins from the oracle pass@1 of many difficulty samples, estimated for free: an
 *   upper bound no deployed router can reach, labelled so.
 *
 * The **efficiency ratio** is the best-of-N budget matching the policy's held-out accuracy (log2
 * interpolation on best-of-N's monotone envelope) divided by the policy's cost. Where best-of-N
 * never reaches the accuracy within its measured budgets there is no finite ratio and none is
 * invented: the result says so, with best-of-N's measured ceiling. Intervals come from a paired
 * bootstrap over problems: each resample draws problems with replacement, re-makes every choice
 * (and threshold) on the resample's folds, and reads best-of-N on the same problems.
 *
 * @since 0.1.0
 */
import { type Configuration, mean, standardError } from "./Accuracy.ts"
import { binOfEstimate } from "./Bins.ts"
import { type CandidateSet, inCandidateSet, policyBudgets } from "./ComputeOptimal.ts"
import { budgetToMatch, type CurvePoint, envelope, type Match } from "./Curve.ts"

/** How the router bins a question. */
export type RouterMode = "oracle" | "predicted"

export interface RouterInput {
  readonly configs: ReadonlyArray<Configuration>
  /** the problems, in dataset order (fold = position mod 2) */
  readonly problems: ReadonlyArray<string>
  /** oracle bin (1..binCount) per problem */
  readonly oracleBins: ReadonlyMap<string, number>
  /** the router's estimate per problem (mean final score of `estimateSamples` fresh samples) */
  readonly estimates: ReadonlyMap<string, number>
  readonly estimateSamples: number
  readonly binCount: number
  /** the best-of-N baseline's strategy label */
  readonly baseline: string
  /** which configurations the router may choose */
  readonly candidates: (c: Pick<Configuration, "strategy" | "graph">) => boolean
}

export interface RouterOptions {
  readonly mode: RouterMode
  /** budgets to evaluate (default: every budget a candidate was measured at) */
  readonly budgets?: ReadonlyArray<number> | undefined
  /** bootstrap resamples (default 500) */
  readonly resamples?: number | undefined
  /** the seed of the resampling (default 1) */
  readonly seed?: number | undefined
  /** the interval's coverage (default 0.9, as sim2.py) */
  readonly level?: number | undefined
}

/** A quantity with a bootstrap interval. */
export interface Estimate {
  readonly value: number
  readonly lo: number
  readonly hi: number
}

/** The efficiency ratio at one budget. */
export interface Ratio {
  /** `reached`: best-of-N matches at `budget`; `never`: not within its measured budgets; `atMost`: already at its smallest */
  readonly kind: "reached" | "never" | "atMost" | "none"
  /** the ratio (Infinity when never reached) */
  readonly value: number
  /** the interval's bounds (Infinity allowed) */
  readonly lo: number
  readonly hi: number
  /** the fraction of resamples in which best-of-N never reaches the policy */
  readonly pNever: number
  /** best-of-N's budget that matches (Infinity when never) */
  readonly budget: number
}

/** A bin's choice, fitted on all problems (what the `route` graph runs). */
export interface RouterChoice {
  readonly bin: number
  readonly problems: number
  readonly strategy: string
  readonly graph: string
  readonly params: { readonly [name: string]: number }
  readonly accuracy: number
}

export interface RouterPoint {
  readonly budget: number
  /** generations the policy spends: N, plus the estimate's samples when predicted */
  readonly cost: number
  /** held-out accuracy with its standard error over problems and bootstrap interval */
  readonly accuracy: Estimate
  readonly stderr: number
  readonly problems: number
  /** best-of-N at the same N on the same problems */
  readonly bestOfN: Estimate | undefined
  /** policy − best-of-N at the same N (paired over problems) */
  readonly gain: Estimate | undefined
  readonly ratio: Ratio
  /** the choices fitted on each fold (scored on the other), by bin */
  readonly foldChoices: readonly [ReadonlyArray<string>, ReadonlyArray<string>]
  /** the choices fitted on all problems */
  readonly choices: ReadonlyArray<RouterChoice>
  /** the thresholds fitted on all problems' estimates (predicted mode) */
  readonly thresholds: ReadonlyArray<number>
}

export interface RouterResult {
  readonly mode: RouterMode
  readonly estimateSamples: number
  readonly baseline: string
  readonly candidates: ReadonlyArray<string>
  readonly problems: number
  /** best-of-N's measured curve on these problems */
  readonly baselineCurve: ReadonlyArray<CurvePoint>
  /** best-of-N's highest accuracy on its monotone envelope, with its interval, and the largest budget measured */
  readonly ceiling: Estimate & { readonly budget: number }
  readonly points: ReadonlyArray<RouterPoint>
  readonly resamples: number
  readonly level: number
}

/** A seeded uniform generator (mulberry32): the same resamples on every run. */
export const rng = (seed: number): (() => number) => {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/**
 * The q-quantile of numbers (linear between order statistics; Infinity sorts last).
 *
 * @example
 * quantile([1, 2, 3, 4], 0.5) // 2.5
 */
export const quantile = (xs: ReadonlyArray<number>, q: number): number => {
  const s = [...xs].sort((a, b) => a - b)
  if (s.length === 0) return Number.NaN
  const pos = q * (s.length - 1)
  const i = Math.floor(pos)
  const lo = s[i] ?? Number.NaN
  const hi = s[Math.min(i + 1, s.length - 1)] ?? lo
  if (lo === hi || pos === i) return lo
  if (!Number.isFinite(hi)) return hi
  return lo + (pos - i) * (hi - lo)
}

/**
 * Descending thresholds that cut estimates into `count` equal-size quantile bins: the midpoint
 * between the last value of a bin and the first of the next (bin 1 = highest estimates).
 *
 * @example
 * quantileThresholds([0.9, 0.7, 0.5, 0.3], 2) // [0.6]
 */
export const quantileThresholds = (values: ReadonlyArray<number>, count: number): ReadonlyArray<number> => {
  const s = values.filter(Number.isFinite).sort((a, b) => b - a)
  const out: Array<number> = []
  for (let i = 1; i < count; i++) {
    const r = Math.floor((i * s.length) / count)
    const above = s[r - 1]
    const below = s[r]
    const t = above === undefined || below === undefined ? 1 - i / count : (above + below) / 2
    const previous = out[i - 2]
    out.push(previous !== undefined && t >= previous ? previous - 1e-9 : t)
  }
  return out
}

interface Column {
  readonly config: Configuration
  readonly correct: Float64Array
}

const EPS = 1e-12

/**
 * Evaluates the router at every budget, with paired bootstrap intervals.
 *
 * @example
 * const r = evaluateRouter(input, { mode: "predicted" })
 * r.points.map((p) => [p.budget, p.cost, p.accuracy.value, p.ratio.value])
 */
export const evaluateRouter = (input: RouterInput, options: RouterOptions): RouterResult => {
  const { mode, binCount } = { mode: options.mode, binCount: input.binCount }
  const level = options.level ?? 0.9
  const resamples = options.resamples ?? 500
  // problems that can be binned
  const ids = input.problems.filter((p) =>
    mode === "oracle" ? input.oracleBins.has(p) : Number.isFinite(input.estimates.get(p) ?? Number.NaN)
  )
  const P = ids.length
  const position = new Map(input.problems.map((p, i) => [p, i] as const))
  const fold = Int8Array.from(ids, (p) => (position.get(p) ?? 0) % 2)
  const oracle = Int32Array.from(ids, (p) => input.oracleBins.get(p) ?? binCount)
  const estimate = Float64Array.from(ids, (p) => input.estimates.get(p) ?? Number.NaN)
  const column = (c: Configuration): Column => ({
    config: c,
    correct: Float64Array.from(ids, (p) => c.outcomes.get(p)?.correct ?? Number.NaN)
  })
  const candidates = input.configs.filter((c) => input.candidates(c)).map(column)
  const baseline = input.configs
    .filter((c) => c.strategy === input.baseline)
    .map(column)
    .sort((a, b) => a.config.budget - b.config.budget)
  const budgets = options.budgets ?? policyBudgets(candidates.map((c) => c.config))
  const cost = (budget: number) => budget + (mode === "predicted" ? input.estimateSamples : 0)

  const meanOn = (col: Column, sample: ArrayLike<number>): number => {
    let s = 0
    let n = 0
    for (let k = 0; k < sample.length; k++) {
      const v = col.correct[sample[k] ?? 0] ?? Number.NaN
      if (!Number.isNaN(v)) {
        s += v
        n++
      }
    }
    return n === 0 ? Number.NaN : s / n
  }
  const curveOn = (sample: ArrayLike<number>): ReadonlyArray<CurvePoint> =>
    baseline.map((c) => ({ budget: c.config.budget, accuracy: meanOn(c, sample) }))

  /** the choice per bin on `selecting` problems (bins by `binOf`); an empty bin takes the baseline */
  const chooseBins = (
    here: ReadonlyArray<Column>,
    base: Column | undefined,
    selecting: ReadonlyArray<number>,
    binOf: (i: number) => number
  ) => {
    const members: Array<Array<number>> = Array.from({ length: binCount }, () => [])
    for (const i of selecting) members[binOf(i) - 1]?.push(i)
    return members.map((m) => {
      let best: { col: Column; acc: number } | undefined
      if (m.length > 0)
        for (const col of here) {
          const acc = meanOn(col, m)
          if (Number.isNaN(acc)) continue
          const s = col.config.strategy
          if (
            best === undefined ||
            acc > best.acc + EPS ||
            (Math.abs(acc - best.acc) <= EPS &&
              best.col.config.strategy !== input.baseline &&
              (s === input.baseline || s < best.col.config.strategy))
          )
            best = { col, acc }
        }
      return { col: best?.col ?? base ?? here[0], problems: m.length, acc: best?.acc ?? Number.NaN }
    })
  }

  /** held-out accuracy on a sample (problem indices, repeats allowed), and per-problem values */
  const crossValidate = (here: ReadonlyArray<Column>, base: Column | undefined, sample: ReadonlyArray<number>) => {
    const values: Array<number> = []
    const scored: Array<number> = []
    const foldChoices: Array<ReadonlyArray<string>> = []
    for (const f of [0, 1] as const) {
      const selecting = sample.filter((i) => fold[i] !== f)
      const thresholds =
        mode === "predicted"
          ? quantileThresholds(
              selecting.map((i) => estimate[i] ?? Number.NaN),
              binCount
            )
          : []
      const binOf = (i: number) =>
        mode === "oracle" ? (oracle[i] ?? binCount) : binOfEstimate(estimate[i] ?? 0, thresholds)
      const choice = chooseBins(here, base, selecting, binOf)
      foldChoices.push(choice.map((c) => c?.col.config.strategy ?? "—"))
      for (const i of sample) {
        if (fold[i] !== f) continue
        const v = choice[binOf(i) - 1]?.col.correct[i] ?? Number.NaN
        if (!Number.isNaN(v)) {
          values.push(v)
          scored.push(i)
        }
      }
    }
    return { accuracy: mean(values), values, scored, foldChoices }
  }

  const ratioOf = (match: Match, budget: number): { kind: Ratio["kind"]; value: number; budget: number } =>
    match.kind === "reached"
      ? { kind: "reached", value: match.budget / cost(budget), budget: match.budget }
      : match.kind === "atMost"
        ? { kind: "atMost", value: match.budget / cost(budget), budget: match.budget }
        : match.kind === "beyond"
          ? { kind: "never", value: Number.POSITIVE_INFINITY, budget: Number.POSITIVE_INFINITY }
          : { kind: "none", value: Number.NaN, budget: Number.NaN }

  const all = Array.from({ length: P }, (_, i) => i)
  const draws: Array<ReadonlyArray<number>> = []
  const random = rng(options.seed ?? 1)
  for (let b = 0; b < resamples; b++) draws.push(Array.from({ length: P }, () => Math.floor(random() * P)))
  const lo = (1 - level) / 2
  const hi = 1 - lo
  const interval = (value: number, xs: ReadonlyArray<number>): Estimate => ({
    value,
    lo: quantile(xs, lo),
    hi: quantile(xs, hi)
  })
  const ceilingOf = (curve: ReadonlyArray<CurvePoint>) => Math.max(...envelope(curve).map((p) => p.accuracy))
  const fullCurve = curveOn(all)
  const curves = draws.map(curveOn)

  const points = budgets.map((budget): RouterPoint => {
    const here = candidates.filter((c) => c.config.budget === budget)
    const base = baseline.find((c) => c.config.budget === budget)
    const cv = crossValidate(here, base, all)
    const ratio0 = ratioOf(budgetToMatch(fullCurve, cv.accuracy), budget)
    const accs: Array<number> = []
    const ratios: Array<number> = []
    const bons: Array<number> = []
    const gains: Array<number> = []
    let never = 0
    draws.forEach((d, k) => {
      const r = crossValidate(here, base, d)
      accs.push(r.accuracy)
      const rr = ratioOf(budgetToMatch(curves[k] ?? [], r.accuracy), budget)
      ratios.push(rr.value)
      if (rr.kind === "never") never++
      if (base !== undefined) {
        const bon = meanOn(base, d)
        bons.push(bon)
        gains.push(r.accuracy - meanOn(base, r.scored))
      }
    })
    const bon = base === undefined ? undefined : meanOn(base, cv.scored)
    // fitted on all problems: what the route graph runs
    const thresholds =
      mode === "predicted" ? quantileThresholds([...estimate], binCount) : ([] as ReadonlyArray<number>)
    const binOfAll = (i: number) =>
      mode === "oracle" ? (oracle[i] ?? binCount) : binOfEstimate(estimate[i] ?? 0, thresholds)
    const fitted = chooseBins(here, base, all, binOfAll)
    return {
      budget,
      cost: cost(budget),
      accuracy: interval(cv.accuracy, accs),
      stderr: standardError(cv.values),
      problems: cv.values.length,
      bestOfN: bon === undefined ? undefined : interval(bon, bons),
      gain: bon === undefined ? undefined : interval(cv.accuracy - bon, gains),
      ratio: {
        ...ratio0,
        lo: quantile(ratios, lo),
        hi: quantile(ratios, hi),
        pNever: resamples === 0 ? 0 : never / resamples
      },
      foldChoices: [cv.foldChoices[0] ?? [], cv.foldChoices[1] ?? []],
      choices: fitted.flatMap((c, i) =>
        c?.col === undefined
          ? []
          : [
              {
                bin: i + 1,
                problems: c.problems,
                strategy: c.col.config.strategy,
                graph: c.col.config.graph,
                params: c.col.config.params,
                accuracy: c.acc
              }
            ]
      ),
      thresholds
    }
  })
  return {
    mode,
    estimateSamples: mode === "predicted" ? input.estimateSamples : 0,
    baseline: input.baseline,
    candidates: [...new Set(candidates.map((c) => c.config.strategy))].sort(),
    problems: P,
    baselineCurve: fullCurve,
    ceiling: {
      ...interval(ceilingOf(fullCurve), curves.map(ceilingOf)),
      budget: Math.max(...baseline.map((c) => c.config.budget))
    },
    points,
    resamples,
    level
  }
}

/**
 * A candidate predicate from a named set (see `CANDIDATE_SETS`).
 *
 * @example
 * candidatesOf("paper-search")({ strategy: "DVTS M=4", graph: "dvts" }) // false
 */
export const candidatesOf =
  (set: CandidateSet): ((c: Pick<Configuration, "strategy" | "graph">) => boolean) =>
  (c) =>
    inCandidateSet(set, c)

const num = (x: number) =>
  !Number.isFinite(x) ? "∞" : x >= 100 ? Math.round(x).toString() : Number(x.toPrecision(2)).toString()

/**
 * An estimate with its interval: `0.512 [0.49, 0.53]`.
 *
 * @example
 * formatEstimate({ value: 0.512, lo: 0.49, hi: 0.531 }) // "0.512 [0.490, 0.531]"
 */
export const formatEstimate = (e: Estimate, digits = 3): string =>
  `${e.value.toFixed(digits)} [${e.lo.toFixed(digits)}, ${e.hi.toFixed(digits)}]`

/**
 * The efficiency ratio for humans, never a sweep edge in disguise: `×2.8 [2.2, 3.2]`; when
 * best-of-N never reaches the policy, says so with best-of-N's ceiling.
 *
 * @example
 * formatRatio(point.ratio, result.ceiling) // "×2.8 [2.2, 3.2]" or "best-of-N never reaches it: its ceiling is 0.679 [0.66, 0.70] (N ≤ 1024); ratio CI [3.3, ∞], P(never) 0.28"
 */
export const formatRatio = (r: Ratio, ceiling: RouterResult["ceiling"]): string => {
  const ci = `[${num(r.lo)}, ${num(r.hi)}]`
  const never = r.pNever > 0 ? `, P(never) ${r.pNever.toFixed(2)}` : ""
  switch (r.kind) {
    case "reached":
      return `×${num(r.value)} ${ci}${never}`
    case "atMost":
      return `≤ ×${num(r.value)} (best-of-N already matches at its smallest budget, N = ${num(r.budget)}) ${ci}`
    case "never":
      return `best-of-N never reaches it: its ceiling is ${formatEstimate(ceiling)} (N ≤ ${ceiling.budget}); ratio CI ${ci}${never}`
    case "none":
      return "n/a"
  }
}

/**
 * The router as a table: per budget, its cost, held-out accuracy, best-of-N at the same N, the
 * paired gain, the efficiency ratio (or best-of-N's ceiling) and the choice per bin (fitted on all
 * problems). The CLI prints it and the report shows it.
 *
 * @example
 * const { header, rows } = routerTableRows(result)
 */
export const routerTableRows = (
  r: RouterResult
): { readonly header: ReadonlyArray<string>; readonly rows: ReadonlyArray<ReadonlyArray<string>> } => {
  const pct = `${Math.round(r.level * 100)}%`
  const bins = Math.max(0, ...r.points.map((p) => p.choices.length))
  return {
    header: [
      "N",
      "cost (generations)",
      `held-out accuracy [${pct} CI]`,
      "best-of-N at N",
      "gain over best-of-N",
      `efficiency vs best-of-N [${pct} CI]`,
      ...Array.from({ length: bins }, (_, i) => `bin ${i + 1}`)
    ],
    rows: r.points.map((p) => [
      String(p.budget),
      p.cost === p.budget ? String(p.cost) : `${p.budget} + ${p.cost - p.budget}`,
      formatEstimate(p.accuracy),
      p.bestOfN === undefined ? "—" : formatEstimate(p.bestOfN),
      p.gain === undefined ? "—" : formatEstimate(p.gain),
      formatRatio(p.ratio, r.ceiling),
      ...Array.from({ length: bins }, (_, i) => p.choices.find((c) => c.bin === i + 1)?.strategy ?? "—")
    ])
  }
}

/**
 * What the router's numbers are, in one sentence (for captions and the CLI).
 *
 * @example
 * describeRouter(result) // "predicted difficulty (mean PRM score of 4 fresh samples, charged): …"
 */
export const describeRouter = (r: RouterResult): string =>
  r.mode === "predicted"
    ? `as it would run — model-predicted difficulty (mean PRM score of ${r.estimateSamples} fresh samples, charged: the policy at N costs N + ${r.estimateSamples} generations), thresholds and choices fitted on one fold and applied to the other (fold = problem position mod 2), ${r.problems} problems`
    : `UPPER BOUND — oracle difficulty bins (pass@1 of many free samples, which no deployed router has), choices fitted on one fold and applied to the other, nothing charged for the estimate, ${r.problems} problems`
