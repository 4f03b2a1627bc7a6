/**
 * The report's section on stopping and confidence rules (issue 19): for each run of an adaptive
 * graph in the sweep — `adaptive-consistency`, `esc` (stop when the vote is settled),
 * `deepconf-offline`, `deepconf-online` (token confidence) — its accuracy, the samples and output
 * tokens it really spent on average, and paired differences (per problem and seed, with standard
 * errors) against fixed-N majority and weighted best-of-N run at the same budget B, which see the
 * same samples (continuation k of one seed). Beside them, fixed-N majority's and weighted's
 * accuracy at the rule's *mean cost*, interpolated between the swept budgets (linear in log N),
 * so a rule is read as a point against the fixed-N frontier. Present only when the sweep ran an
 * adaptive graph (e.g. `mull eval --sweep sweeps/adaptive.json`).
 *
 * @since 0.3.0
 */
import { formatWithError } from "./Accuracy.ts"
import type { RunRecord } from "./Record.ts"
import type { Section } from "./Report.ts"

/** The graphs whose runs the section reports. */
export const ADAPTIVE_GRAPHS: ReadonlyArray<string> = [
  "adaptive-consistency",
  "esc",
  "deepconf-offline",
  "deepconf-online"
]
/** The fixed-N baselines they are read against. */
export const MAJORITY_GRAPH = "majority"
export const WEIGHTED_GRAPH = "weighted-best-of-n"

/** A mean difference with its standard error. */
export interface Paired {
  readonly mean: number
  readonly stderr: number
  readonly n: number
}

/** One strategy at one budget. */
export interface FrontierRow {
  readonly strategy: string
  readonly graph: string
  readonly budget: number
  readonly problems: number
  readonly accuracy: number
  readonly stderr: number
  /** mean sequences generated per problem (stopped DeepConf traces included) */
  readonly samples: number
  readonly outputTokens: number
  readonly vsMajority: Paired | undefined
  readonly vsWeighted: Paired | undefined
  /** fixed-N majority's / weighted's accuracy at this row's mean samples (interpolated), if inside the swept range */
  readonly majorityAtCost: number | undefined
  readonly weightedAtCost: number | undefined
}

const keyOf = (r: RunRecord) => `${r.problemId}\u0000${r.seed}`

/**
 * The paired difference of two sets of runs on the same (problem, seed) pairs: mean of
 * correct(a) − correct(b), and its standard error (sd / √n); `undefined` when they share none.
 *
 * @example
 * paired(escRuns, majorityRuns) // { mean: 0, stderr: 0, n: 250 }
 */
export const paired = (a: ReadonlyArray<RunRecord>, b: ReadonlyArray<RunRecord>): Paired | undefined => {
  const other = new Map(b.map((r) => [keyOf(r), r.correct]))
  const d: Array<number> = []
  for (const r of a) {
    const o = other.get(keyOf(r))
    if (o !== undefined) d.push(Number(r.correct) - Number(o))
  }
  const n = d.length
  if (n === 0) return undefined
  const mean = d.reduce((s, x) => s + x, 0) / n
  const variance = n > 1 ? d.reduce((s, x) => s + (x - mean) ** 2, 0) / (n - 1) : 0
  return { mean, stderr: Math.sqrt(variance / n), n }
}

/**
 * The accuracy of a fixed-N curve at `samples`, linear in log N between the two budgets around it;
 * `undefined` outside the curve.
 *
 * @example
 * atCost([{ budget: 4, accuracy: 0.4 }, { budget: 16, accuracy: 0.5 }], 8) // 0.45
 */
export const atCost = (
  curve: ReadonlyArray<{ readonly budget: number; readonly accuracy: number }>,
  samples: number
): number | undefined => {
  const sorted = [...curve].sort((x, y) => x.budget - y.budget)
  for (let i = 0; i < sorted.length; i++) {
    const lo = sorted[i]
    if (lo === undefined) continue
    if (lo.budget === samples) return lo.accuracy
    const hi = sorted[i + 1]
    if (hi !== undefined && lo.budget < samples && samples < hi.budget) {
      const t = (Math.log(samples) - Math.log(lo.budget)) / (Math.log(hi.budget) - Math.log(lo.budget))
      return lo.accuracy + t * (hi.accuracy - lo.accuracy)
    }
  }
  return undefined
}

const mean = (xs: ReadonlyArray<number>) => (xs.length === 0 ? Number.NaN : xs.reduce((s, x) => s + x, 0) / xs.length)

/**
 * The rows of the section: each adaptive strategy (and the two baselines) per budget.
 *
 * @example
 * frontierRows(data.runs).filter((r) => r.graph === "esc")
 */
export const frontierRows = (runs: ReadonlyArray<RunRecord>): ReadonlyArray<FrontierRow> => {
  const groups = new Map<string, Array<RunRecord>>()
  for (const r of runs) {
    const k = `${r.strategy}\u0000${r.budget}`
    const g = groups.get(k)
    if (g === undefined) groups.set(k, [r])
    else g.push(r)
  }
  const of = (graph: string) => [...groups.values()].filter((g) => g[0]?.graph === graph)
  const base = (graph: string, budget: number) => of(graph).find((g) => g[0]?.budget === budget)
  const curve = (graph: string) =>
    of(graph).map((g) => ({ budget: g[0]?.budget ?? 0, accuracy: mean(g.map((r) => Number(r.correct))) }))
  const majorityCurve = curve(MAJORITY_GRAPH)
  const weightedCurve = curve(WEIGHTED_GRAPH)
  const rows: Array<FrontierRow> = []
  for (const g of groups.values()) {
    const first = g[0]
    if (first === undefined) continue
    const reported = [MAJORITY_GRAPH, WEIGHTED_GRAPH, ...ADAPTIVE_GRAPHS]
    if (!reported.includes(first.graph)) continue
    const correct = g.map((r) => Number(r.correct))
    const accuracy = mean(correct)
    const samples = mean(g.map((r) => r.usage.sequences))
    const maj = base(MAJORITY_GRAPH, first.budget)
    const wtd = base(WEIGHTED_GRAPH, first.budget)
    rows.push({
      strategy: first.strategy,
      graph: first.graph,
      budget: first.budget,
      problems: g.length,
      accuracy,
      stderr: Math.sqrt((accuracy * (1 - accuracy)) / Math.max(1, g.length)),
      samples,
      outputTokens: mean(g.map((r) => r.usage.outputTokens)),
      vsMajority: maj === undefined || first.graph === MAJORITY_GRAPH ? undefined : paired(g, maj),
      vsWeighted: wtd === undefined || first.graph === WEIGHTED_GRAPH ? undefined : paired(g, wtd),
      majorityAtCost: atCost(majorityCurve, samples),
      weightedAtCost: atCost(weightedCurve, samples)
    })
  }
  const rank = (graph: string) => [MAJORITY_GRAPH, WEIGHTED_GRAPH, ...ADAPTIVE_GRAPHS].indexOf(graph)
  return rows.sort(
    (a, b) => a.budget - b.budget || rank(a.graph) - rank(b.graph) || a.strategy.localeCompare(b.strategy)
  )
}

const points = (p: Paired | undefined) =>
  p === undefined
    ? "—"
    : `${p.mean >= 0 ? "+" : "−"}${Math.abs(100 * p.mean).toFixed(1)} ± ${(100 * p.stderr).toFixed(1)}`
const pct = (x: number | undefined) => (x === undefined || !Number.isFinite(x) ? "—" : (100 * x).toFixed(1))

/**
 * The section, or none when the sweep ran no adaptive graph.
 *
 * @example
 * adaptiveSections(analysis.data.runs) // [{ id: "adaptive", … }] after `mull eval --sweep sweeps/adaptive.json`
 */
export const adaptiveSections = (runs: ReadonlyArray<RunRecord>): ReadonlyArray<Section> => {
  if (!runs.some((r) => ADAPTIVE_GRAPHS.includes(r.graph))) return []
  const rows = frontierRows(runs)
  return [
    {
      id: "adaptive",
      title: "Stopping and confidence rules",
      blocks: [
        {
          kind: "p",
          text: "Each rule at budget B spends at most B samples: `adaptive-consistency` and `esc` stop sampling when the vote is settled; `deepconf-offline` filters and weights by token confidence; `deepconf-online` stops traces whose confidence falls below a warm-up threshold (they count as samples but cost fewer tokens) and launches no more once its confidence-weighted vote gives one answer a share ≥ τ (0.95). Δ columns: paired differences in accuracy points (± standard error) against fixed-N majority and weighted best-of-N at the same B, on the same problems and seeds — the rules see those strategies' samples. The last two columns are fixed-N majority's and weighted's accuracy at the rule's mean samples, interpolated between the swept budgets (linear in log N; — outside them)."
        },
        {
          kind: "table",
          header: [
            "strategy",
            "B",
            "problems",
            "accuracy",
            "mean samples",
            "mean output tokens",
            "Δ vs majority@B",
            "Δ vs weighted@B",
            "majority at equal mean samples %",
            "weighted at equal mean samples %"
          ],
          rows: rows.map((r) => [
            r.strategy,
            String(r.budget),
            String(r.problems),
            formatWithError(r.accuracy, r.stderr),
            r.samples.toFixed(2),
            Math.round(r.outputTokens).toLocaleString("en-US"),
            points(r.vsMajority),
            points(r.vsWeighted),
            pct(r.majorityAtCost),
            pct(r.weightedAtCost)
          ]),
          caption: "Stopping and confidence rules against fixed-N voting, per budget"
        }
      ]
    }
  ]
}
