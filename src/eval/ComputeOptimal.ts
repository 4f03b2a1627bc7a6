/**
 * The compute-optimal policy (Snell et al. 2024 §3.2, §5.3, §6.3): for each difficulty bin and
 * budget N, the strategy configuration with the highest accuracy on that bin's problems.
 *
 * The accuracy it reports is **cross-validated within each bin**: a bin's problems are split into
 * two folds deterministically (ranked by `hashString32("fold:" + id)`, alternating), the choice
 * made on one fold is scored on the other, both ways, and the policy's accuracy at N is the mean
 * over every held-out problem (so bins weigh by their problem counts). A configuration that wins
 * a bin only by noise on one fold is not credited with that noise on the other. The policy that
 * is written to a `route` graph is the choice fit on all of a bin's problems; its in-sample
 * accuracy is reported beside the cross-validated one (the optimism of choosing and scoring on
 * the same problems).
 *
 * The baseline is best-of-N weighted. The **efficiency ratio** at N is the best-of-N budget that
 * matches the policy's cross-validated accuracy — log2-linear on the monotone envelope of
 * best-of-N accuracy over its measured budgets (sim.py's `compute_optimal`) — divided by N. When
 * best-of-N never matches within its measured budgets the ratio is only a lower bound,
 * `> max/N`; when it already matches at its smallest budget, an upper bound `≤ min/N`.
 *
 * Ties between configurations go to the baseline, then to the label that sorts first.
 *
 * @since 0.1.0
 */
import { hashString32 } from "../domain/Hash.ts"
import { type Configuration, formatAccuracy, formatWithError, mean, standardError } from "./Accuracy.ts"
import type { BinKind, Binning } from "./Bins.ts"
import { budgetToMatch, type CurvePoint, type Match } from "./Curve.ts"

/**
 * Named candidate sets, as in the simulator reference: every configuration, search (best-of-N,
 * majority, beam, lookahead, DVTS, particle filtering; and REBASE and MCTS, which the reference has not), the paper's search set (best-of-N, beam
 * search and lookahead: no DVTS, majority or particle filtering), revisions only.
 */
export const CANDIDATE_SETS = ["all", "search", "paper-search", "revisions"] as const
export type CandidateSet = (typeof CANDIDATE_SETS)[number]

/** Graphs that search with a verifier over parallel samples (best-of-N included). */
export const SEARCH_GRAPHS: ReadonlyArray<string> = [
  "best-of-n",
  "weighted-best-of-n",
  "majority",
  "majority-prm-ties",
  "beam-search",
  "beam-search-sqrt",
  "lookahead",
  "dvts",
  "particle-filter",
  // tree search (issue 19): candidates of the "search" set when a sweep runs them
  "rebase",
  "mcts",
  "ab-mcts"
]

/** The search strategies of Snell et al. 2024 §5 (and sim2.py's search candidates): no DVTS, majority or particle filtering. */
export const PAPER_SEARCH_GRAPHS: ReadonlyArray<string> = [
  "best-of-n",
  "weighted-best-of-n",
  "beam-search",
  "beam-search-sqrt",
  "lookahead"
]

/** Graphs that revise (sequential, parallel and hybrid revision chains). */
export const REVISION_GRAPHS: ReadonlyArray<string> = [
  "sequential-revisions",
  "parallel-revisions",
  "hybrid-revisions",
  "hybrid-revisions-flat"
]

/** The graph of the default baseline. */
export const BASELINE_GRAPH = "weighted-best-of-n"

type Candidates = CandidateSet | ((c: Pick<Configuration, "strategy" | "graph">) => boolean)

/**
 * Whether a configuration belongs to a candidate set.
 *
 * @example
 * inCandidateSet("search", { strategy: "beam M=4", graph: "beam-search" }) // true
 */
export const inCandidateSet = (set: Candidates, c: Pick<Configuration, "strategy" | "graph">): boolean =>
  typeof set === "function"
    ? set(c)
    : set === "all"
      ? true
      : set === "search"
        ? SEARCH_GRAPHS.includes(c.graph)
        : set === "paper-search"
          ? PAPER_SEARCH_GRAPHS.includes(c.graph)
          : REVISION_GRAPHS.includes(c.graph)

/**
 * The default baseline label: the configuration whose graph is `weighted-best-of-n` with the most
 * budgets measured (then the label that sorts first); `undefined` if there is none.
 *
 * @example
 * defaultBaseline(configs) // "weighted-best-of-n"
 */
export const defaultBaseline = (
  configs: ReadonlyArray<Pick<Configuration, "strategy" | "graph">>
): string | undefined => {
  const counts = new Map<string, number>()
  for (const c of configs) if (c.graph === BASELINE_GRAPH) counts.set(c.strategy, (counts.get(c.strategy) ?? 0) + 1)
  return [...counts.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))[0]?.[0]
}

/**
 * The budgets a policy is fitted at: those where at least two strategies were measured (a budget
 * only best-of-N was run at, such as its extended curve, offers no choice); every budget when no
 * budget has two.
 *
 * @example
 * policyBudgets([{ strategy: "a", budget: 4 }, { strategy: "b", budget: 4 }, { strategy: "a", budget: 1024 }]) // [4]
 */
export const policyBudgets = (
  configs: ReadonlyArray<Pick<Configuration, "strategy" | "budget">>
): ReadonlyArray<number> => {
  const by = new Map<number, Set<string>>()
  for (const c of configs) by.set(c.budget, (by.get(c.budget) ?? new Set()).add(c.strategy))
  const all = [...by.keys()].sort((a, b) => a - b)
  const shared = all.filter((b) => (by.get(b)?.size ?? 0) >= 2)
  return shared.length > 0 ? shared : all
}

/**
 * The two folds of a bin's problems: ranked by `hashString32("fold:" + id)` (then id) and
 * alternated, so the folds differ in size by at most one and do not depend on record order.
 *
 * @example
 * folds(["a", "b", "c"]) // Map { "b" => 0, "a" => 1, "c" => 0 } (some such split)
 */
export const folds = (problemIds: Iterable<string>): ReadonlyMap<string, 0 | 1> => {
  const ranked = [...new Set(problemIds)]
    .map((id) => ({ id, h: hashString32(`fold:${id}`) }))
    .sort((a, b) => a.h - b.h || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
  return new Map(ranked.map((r, i) => [r.id, i % 2 === 0 ? 0 : 1] as const))
}

/** A choice made on one fold and scored on the other. */
export interface FoldChoice {
  /** the fold the choice was scored on (it was made on the other one) */
  readonly scoredOn: 0 | 1
  readonly strategy: string | undefined
  /** problems of the scoring fold that the choice has outcomes for */
  readonly problems: number
  /** held-out accuracy of the choice */
  readonly accuracy: number
  /** the choice fell back to the baseline because the selecting fold was empty */
  readonly fallback: boolean
}

/** The policy in one bin at one budget. */
export interface BinChoice {
  readonly bin: number
  /** problems in the bin */
  readonly problems: number
  /** the configuration chosen on all the bin's problems (written to the graph) */
  readonly strategy: string | undefined
  readonly graph: string | undefined
  readonly params: { readonly [name: string]: number } | undefined
  /** the chosen configuration's accuracy on the bin (in-sample) */
  readonly inSample: number
  readonly folds: readonly [FoldChoice, FoldChoice]
  /** accuracy of the fold choices on their held-out problems */
  readonly crossValidated: number
}

/** How much more budget best-of-N needs to match the policy. */
export type Efficiency =
  | { readonly kind: "reached"; readonly ratio: number; readonly budget: number }
  | { readonly kind: "atMost"; readonly ratio: number; readonly budget: number }
  | { readonly kind: "beyond"; readonly ratio: number; readonly budget: number }
  | { readonly kind: "none" }

/** The policy at one budget. */
export interface PolicyPoint {
  readonly budget: number
  /** cross-validated accuracy: mean over every held-out problem */
  readonly accuracy: number
  readonly stderr: number
  /** each held-out problem's correctness under the choice made on the other fold (what `accuracy` averages) */
  readonly heldOut?: ReadonlyMap<string, number> | undefined
  /** accuracy of the choices fit on all problems, scored on the same problems */
  readonly inSample: number
  readonly problems: number
  readonly bins: ReadonlyArray<BinChoice>
  /** best-of-N at this budget on the same problems (`undefined` if not measured) */
  readonly baseline: { readonly accuracy: number; readonly stderr: number } | undefined
  /** the best-of-N budget that matches `accuracy` */
  readonly match: Match
  readonly efficiency: Efficiency
}

/** A fitted policy. */
export interface Policy {
  readonly binKind: BinKind
  readonly binCount: number
  readonly baseline: string | undefined
  /** best-of-N accuracy per measured budget, on the binned problems */
  readonly baselineCurve: ReadonlyArray<CurvePoint>
  /** the configurations the policy chose among (labels) */
  readonly candidates: ReadonlyArray<string>
  readonly points: ReadonlyArray<PolicyPoint>
  /** problems that have runs but no bin (left out) */
  readonly unbinned: number
}

export interface OptimizeOptions {
  readonly binning: Binning
  /** the baseline's strategy label (default: `defaultBaseline`) */
  readonly baseline?: string | undefined
  /** which configurations the policy may choose (default `all`) */
  readonly candidates?: Candidates | undefined
  /** budgets to fit (default: every budget some candidate was measured at) */
  readonly budgets?: ReadonlyArray<number> | undefined
}

const accuracyOn = (c: Configuration, problems: ReadonlyArray<string>): { acc: number; n: number } => {
  const xs: Array<number> = []
  for (const p of problems) {
    const o = c.outcomes.get(p)
    if (o !== undefined) xs.push(o.correct)
  }
  return { acc: mean(xs), n: xs.length }
}

const EPS = 1e-12

/** The best candidate on `problems`: highest accuracy; ties to the baseline, then the label. */
const choose = (
  candidates: ReadonlyArray<Configuration>,
  problems: ReadonlyArray<string>,
  baseline: string | undefined
): { config: Configuration; accuracy: number } | undefined => {
  let best: { config: Configuration; accuracy: number } | undefined
  for (const c of candidates) {
    const { acc, n } = accuracyOn(c, problems)
    if (n === 0) continue
    if (
      best === undefined ||
      acc > best.accuracy + EPS ||
      (Math.abs(acc - best.accuracy) <= EPS &&
        best.config.strategy !== baseline &&
        (c.strategy === baseline || c.strategy < best.config.strategy))
    )
      best = { config: c, accuracy: acc }
  }
  return best
}

/**
 * The efficiency ratio from a match: the matching best-of-N budget over the policy's budget.
 *
 * @example
 * efficiencyOf({ kind: "reached", budget: 16 }, 4) // { kind: "reached", ratio: 4, budget: 16 }
 */
export const efficiencyOf = (match: Match, budget: number): Efficiency =>
  match.kind === "none" ? { kind: "none" } : { kind: match.kind, ratio: match.budget / budget, budget: match.budget }

const num = (x: number) => (x >= 100 ? Math.round(x).toString() : Number(x.toPrecision(3)).toString())

/**
 * The efficiency ratio for humans: `3.9×`, `never` (best-of-N never matched within its measured
 * budgets: no finite ratio is claimed, and none derived from the sweep's largest budget), `≤ 0.25×`
 * (matched at its smallest budget: an upper bound), `n/a`. With best-of-N's ceiling (its best
 * measured accuracy), `never` says what best-of-N reached.
 *
 * @example
 * formatEfficiency({ kind: "beyond", ratio: 16, budget: 256 }, 0.67) // "never (best-of-N's ceiling 0.670)"
 */
export const formatEfficiency = (e: Efficiency, ceiling?: number): string =>
  e.kind === "none"
    ? "n/a"
    : e.kind === "reached"
      ? `${num(e.ratio)}×`
      : e.kind === "beyond"
        ? ceiling === undefined || !Number.isFinite(ceiling)
          ? "never"
          : `never (best-of-N's ceiling ${ceiling.toFixed(3)})`
        : `≤ ${num(e.ratio)}×`

/**
 * The matching best-of-N budget for humans: `36`, `never (N ≤ 256)`, `≤ 1`, `n/a`.
 *
 * @example
 * formatMatch({ kind: "reached", budget: 35.7 }) // "35.7"
 */
export const formatMatch = (m: Match): string =>
  m.kind === "none"
    ? "n/a"
    : m.kind === "reached"
      ? num(m.budget)
      : m.kind === "beyond"
        ? `never (N ≤ ${num(m.budget)})`
        : `≤ ${num(m.budget)}`

/**
 * Fits the compute-optimal policy per (bin, budget) with two-fold cross-validation inside each bin,
 * and compares it with best-of-N.
 *
 * @example
 * const policy = optimize(configurations(runs), { binning: oracleBins(difficulties), candidates: "search" })
 * policy.points.map((p) => [p.budget, p.accuracy, formatEfficiency(p.efficiency)])
 */
export const optimize = (configs: ReadonlyArray<Configuration>, options: OptimizeOptions): Policy => {
  const { binning } = options
  const baseline = options.baseline ?? defaultBaseline(configs)
  const set = options.candidates ?? "all"
  const candidates = configs.filter((c) => inCandidateSet(set, c))
  const budgets = options.budgets ?? policyBudgets(candidates)
  const members: Array<Array<string>> = Array.from({ length: binning.count }, () => [])
  for (const [id, b] of binning.bins) members[b - 1]?.push(id)
  for (const m of members) m.sort()
  const binned = members.flat()
  const split = folds(binned)
  const fold = (ps: ReadonlyArray<string>, f: 0 | 1) => ps.filter((p) => split.get(p) === f)
  const baselines = configs.filter((c) => c.strategy === baseline)
  const baselineCurve = baselines
    .map((c) => ({ budget: c.budget, accuracy: accuracyOn(c, binned).acc }))
    .filter((p) => Number.isFinite(p.accuracy))
    .sort((a, b) => a.budget - b.budget)
  const withRuns = new Set(configs.flatMap((c) => [...c.outcomes.keys()]))
  const unbinned = [...withRuns].filter((p) => !binning.bins.has(p)).length

  const points = budgets.map((budget): PolicyPoint => {
    const here = candidates.filter((c) => c.budget === budget)
    const baselineHere = baselines.find((c) => c.budget === budget)
    const heldOut: Array<number> = []
    const heldOutBy = new Map<string, number>()
    const inSample: Array<number> = []
    const bins = members.map((problems, i): BinChoice => {
      const fit = choose(here, problems, baseline)
      for (const p of problems) {
        const o = fit?.config.outcomes.get(p)
        if (o !== undefined) inSample.push(o.correct)
      }
      const scored = ([0, 1] as const).map((f): FoldChoice => {
        const selecting = fold(problems, f === 0 ? 1 : 0)
        const made = choose(here, selecting, baseline)
        const fallbackConfig = baselineHere ?? here[0]
        const config = made?.config ?? (selecting.length === 0 ? fallbackConfig : undefined)
        const values: Array<number> = []
        for (const p of fold(problems, f)) {
          const o = config?.outcomes.get(p)
          if (o !== undefined) {
            values.push(o.correct)
            heldOutBy.set(p, o.correct)
          }
        }
        heldOut.push(...values)
        return {
          scoredOn: f,
          strategy: config?.strategy,
          problems: values.length,
          accuracy: mean(values),
          fallback: made === undefined && config !== undefined
        }
      })
      const [f0, f1] = scored as [FoldChoice, FoldChoice]
      const cvN = f0.problems + f1.problems
      return {
        bin: i + 1,
        problems: problems.length,
        strategy: fit?.config.strategy,
        graph: fit?.config.graph,
        params: fit?.config.params,
        inSample: fit?.accuracy ?? Number.NaN,
        folds: [f0, f1],
        crossValidated:
          cvN === 0
            ? Number.NaN
            : ((f0.problems > 0 ? f0.accuracy * f0.problems : 0) + (f1.problems > 0 ? f1.accuracy * f1.problems : 0)) /
              cvN
      }
    })
    const accuracy = mean(heldOut)
    const base =
      baselineHere === undefined
        ? undefined
        : binned.flatMap((p) => {
            const o = baselineHere.outcomes.get(p)
            return o === undefined ? [] : [o.correct]
          })
    const match: Match = Number.isNaN(accuracy) ? { kind: "none" } : budgetToMatch(baselineCurve, accuracy)
    return {
      budget,
      accuracy,
      stderr: standardError(heldOut),
      heldOut: heldOutBy,
      inSample: mean(inSample),
      problems: heldOut.length,
      bins,
      baseline:
        base === undefined || base.length === 0 ? undefined : { accuracy: mean(base), stderr: standardError(base) },
      match,
      efficiency: efficiencyOf(match, budget)
    }
  })
  return {
    binKind: binning.kind,
    binCount: binning.count,
    baseline,
    baselineCurve,
    candidates: [...new Set(candidates.map((c) => c.strategy))].sort(),
    points,
    unbinned
  }
}

/** The best accuracy on a curve (its monotone envelope's end); NaN when empty. */
const ceilingOf = (curve: ReadonlyArray<CurvePoint>): number =>
  curve.length === 0 ? Number.NaN : Math.max(...curve.map((p) => p.accuracy))

/**
 * The policy as a table: per budget, its cross-validated accuracy, in-sample accuracy, the
 * baseline's, the baseline budget that matches, the efficiency ratio and the choice per bin.
 * The CLI prints it and the report shows it.
 *
 * @example
 * const { header, rows } = policyTableRows(policy)
 */
export const policyTableRows = (
  p: Policy
): { readonly header: ReadonlyArray<string>; readonly rows: ReadonlyArray<ReadonlyArray<string>> } => ({
  header: [
    "N",
    "policy (CV)",
    "in-sample",
    "best-of-N",
    "best-of-N budget to match",
    "efficiency",
    ...Array.from({ length: p.binCount }, (_, i) => `bin ${i + 1}`)
  ],
  rows: p.points.map((pt) => [
    String(pt.budget),
    formatWithError(pt.accuracy, pt.stderr),
    formatAccuracy(pt.inSample),
    pt.baseline === undefined ? "—" : formatWithError(pt.baseline.accuracy, pt.baseline.stderr),
    formatMatch(pt.match),
    formatEfficiency(pt.efficiency, ceilingOf(p.baselineCurve)),
    ...pt.bins.map((b) => b.strategy ?? "—")
  ])
})
