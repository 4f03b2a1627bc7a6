/**
 * The evaluation report of one sweep, as one self-contained HTML page (inline SVG charts, simple
 * CSS) and as Markdown (tables, with the charts as SVG files next to it). Both are rendered from
 * the same list of sections, so they say the same things:
 *
 * setup (backend, knobs, seeds, problems, sweep spec) · difficulty bins · accuracy versus N and
 * versus output tokens, overall and per oracle bin · the compute-optimal policy versus best-of-N
 * with efficiency ratios (on oracle and on model-predicted bins) · the exchange rate · method.
 *
 * Numbers from the simulated backend describe a simulator, not a language model; the report says
 * so at the top whenever the sweep's backend is `simulated` (or unknown).
 *
 * @since 0.1.0
 */
import { mkdirSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { Effect, Schema } from "effect"
import * as Vega from "../charts/Vega.ts"
import type { Registry } from "../services/Backend.ts"
import { type AccuracyPoint, formatAccuracy, formatWithError } from "./Accuracy.ts"
import { adaptiveSections } from "./Adaptive.ts"
import { type Analysis, backendName, type MetaKey, parameterCount, parseMeta } from "./Analysis.ts"
import { agreement, type Binning } from "./Bins.ts"
import * as Charts from "./Charts.ts"
import { type Policy, policyTableRows } from "./ComputeOptimal.ts"
import { type Exchange, type ExchangeFlops, exchangeTableRows, flopsTableRows } from "./Exchange.ts"
import { findingsTableRows, summarizeFindings, VERDICT_RULE } from "./Findings.ts"
import { jsonDifferences } from "./JsonDiff.ts"
import { describeRouter, formatEstimate, type RouterResult, routerTableRows } from "./Router.ts"
import { describeVoting } from "./Voting.ts"

/** A block of a section. Text is plain; `code` spans in backticks become `<code>` in HTML. */
export type Block =
  | { readonly kind: "p"; readonly text: string }
  | { readonly kind: "warning"; readonly text: string }
  | { readonly kind: "list"; readonly items: ReadonlyArray<string> }
  | {
      readonly kind: "table"
      readonly header: ReadonlyArray<string>
      readonly rows: ReadonlyArray<ReadonlyArray<string>>
      readonly caption?: string
    }
  | { readonly kind: "chart"; readonly chart: Vega.Chart; readonly caption: string }
  | { readonly kind: "code"; readonly text: string }

export interface Section {
  readonly id: string
  readonly title: string
  readonly blocks: ReadonlyArray<Block>
}

export interface Report {
  readonly title: string
  readonly sections: ReadonlyArray<Section>
  readonly charts: ReadonlyArray<Vega.Chart>
  readonly html: string
  readonly markdown: string
}

export interface ReportOptions {
  /** when the report was made (ISO string); default: now */
  readonly generatedAt?: string | undefined
  /** the backends, to say when the sweep's is a simulator (without them, the report cannot tell) */
  readonly registry?: Registry | undefined
}

/** The report could not be written. */
export class ReportError extends Schema.TaggedError<ReportError>()("ReportError", {
  path: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `cannot write the report to ${this.path}: ${this.reason}`
  }
}

// ---------------------------------------------------------------------------------------------
// Formatting

const f3 = formatAccuracy
const pm = formatWithError
const int = (x: number) => (Number.isFinite(x) ? Math.round(x).toLocaleString("en-US") : "—")
const list = (xs: ReadonlyArray<number | string>) => (xs.length === 0 ? "none" : xs.join(", "))

const budgetsOf = (points: ReadonlyArray<{ readonly budget: number }>) =>
  [...new Set(points.map((p) => p.budget))].sort((a, b) => a - b)
const strategiesOf = (points: ReadonlyArray<{ readonly strategy: string }>) =>
  [...new Set(points.map((p) => p.strategy))].sort()

const pivot = (
  points: ReadonlyArray<AccuracyPoint>,
  cell: (p: AccuracyPoint) => string
): { header: ReadonlyArray<string>; rows: ReadonlyArray<ReadonlyArray<string>> } => {
  const budgets = budgetsOf(points)
  const by = new Map(points.map((p) => [`${p.strategy}\u0000${p.budget}`, p] as const))
  return {
    header: ["strategy", ...budgets.map((b) => `N = ${b}`)],
    rows: strategiesOf(points).map((s) => [
      s,
      ...budgets.map((b) => {
        const p = by.get(`${s}\u0000${b}`)
        return p === undefined ? "—" : cell(p)
      })
    ])
  }
}

// ---------------------------------------------------------------------------------------------
// Sections

const setupSection = (a: Analysis): Section => {
  const { data } = a
  const backend = backendName(data.meta.backend)
  const seeds = [...new Set(data.runs.map((r) => r.seed))].sort((x, y) => x - y)
  const problems = new Set(data.runs.map((r) => r.problemId))
  const samples = [...new Set(data.difficulties.map((d) => d.samples))].sort((x, y) => x - y)
  const levels = [...new Set(data.runs.flatMap((r) => (r.level === undefined ? [] : [r.level])))].sort()
  const small = parameterCount(data.meta.generatorParams)
  const large = parameterCount(data.meta.largeParams)
  const pretty = (v: string | undefined) => {
    const j = parseMeta(v)
    return j === undefined ? undefined : typeof j === "string" ? j : JSON.stringify(j, null, 2)
  }
  // a bare parameter count is already in the table above
  const structured = (v: string | undefined) => (typeof parseMeta(v) === "number" ? "" : pretty(v))
  const blocks: Array<Block> = [
    {
      kind: "table",
      header: ["", ""],
      rows: [
        ["sweep", data.sweep],
        ...((data.parts?.length ?? 0) > 1
          ? [
              [
                "pooled sweeps",
                `${data.parts?.length} (each problem of each sweep is a unit; oracle bins cut within each)`
              ]
            ]
          : []),
        ["backend", backend ?? "unknown (no sweep:<name>:backend metadata)"],
        ["problems with runs", int(problems.size)],
        ["MATH levels", list(levels)],
        ["run records", int(data.runs.length)],
        ["seeds", list(seeds)],
        ["strategy configurations", int(strategiesOf(a.configs).length)],
        ["budgets N", list(budgetsOf(a.configs))],
        ["difficulty records", `${int(data.difficulties.length)} (samples per problem: ${list(samples)})`],
        ["larger-model records", data.large.length === 0 ? "none" : int(data.large.length)],
        ["generator parameters", small === undefined ? "—" : small.toExponential(2)],
        ["larger model parameters", large === undefined ? "—" : large.toExponential(2)]
      ]
    }
  ]
  const codes: ReadonlyArray<readonly [string, string | undefined, MetaKey]> = [
    ["Backend configuration (simulator knobs)", pretty(data.meta.backendConfig), "backendConfig"],
    ["Generator", structured(data.meta.generatorParams), "generatorParams"],
    ["Larger model", structured(data.meta.largeParams), "largeParams"],
    ["Larger model's backend configuration", pretty(data.meta.largeConfig), "largeConfig"],
    ["Sweep specification", pretty(data.meta.spec), "spec"]
  ]
  const parts = data.parts ?? []
  for (const [title, text, key] of codes) {
    if (text === undefined || text === "") continue
    // pooled sweeps: the first's block, then only what each other sweep changes in it
    const others = parts.slice(1).flatMap((p) => {
      const d = jsonDifferences(parseMeta(data.meta[key]), parseMeta(p.meta[key]))
      return d.length === 0
        ? []
        : [`${p.sweep}: ${d.map((x) => `\`${x.path}\` ${JSON.stringify(x.right) ?? "absent"}`).join(", ")}`]
    })
    const first = parts[0]
    const label =
      first !== undefined && others.length > 0
        ? `${title} (${first.sweep}, the first of ${parts.length} pooled sweeps)`
        : title
    blocks.push({ kind: "p", text: `${label}:` }, { kind: "code", text })
    if (others.length > 0)
      blocks.push({ kind: "p", text: `The other pooled sweeps differ from it only in: ${others.join("; ")}.` })
  }
  const absent = codes.filter(([, t]) => t === undefined).map(([t]) => t.toLowerCase())
  if (absent.length > 0) blocks.push({ kind: "p", text: `Not recorded in the store's metadata: ${absent.join("; ")}.` })
  return { id: "setup", title: "Setup", blocks }
}

const binRows = (b: Binning, values: "pass1" | "meanScore", a: Analysis) => {
  const byId = new Map(a.data.difficulties.map((d) => [d.problemId, d] as const))
  return Array.from({ length: b.count }, (_, i) => {
    const ids = [...b.bins].filter(([, bin]) => bin === i + 1).map(([id]) => id)
    const ds = ids.flatMap((id) => {
      const d = byId.get(id)
      return d === undefined ? [] : [d]
    })
    const v = ds.map((d) => d[values])
    const meanOf = (xs: ReadonlyArray<number>) =>
      xs.length === 0 ? Number.NaN : xs.reduce((s, x) => s + x, 0) / xs.length
    return [
      `${i + 1}${i === 0 ? " (easiest)" : i === b.count - 1 ? " (hardest)" : ""}`,
      int(ids.length),
      v.length === 0 ? "—" : `${f3(Math.min(...v))} – ${f3(Math.max(...v))}`,
      f3(meanOf(ds.map((d) => d.pass1))),
      f3(meanOf(ds.map((d) => d.meanScore)))
    ]
  })
}

const binsSection = (a: Analysis): Section => {
  const blocks: Array<Block> = []
  if (a.data.difficulties.length === 0)
    blocks.push({
      kind: "warning",
      text: "No difficulty records for this sweep: nothing can be binned, so the per-bin results, the policy and the exchange rate are empty."
    })
  blocks.push(
    {
      kind: "p",
      text: "Oracle bins: quintiles of pass@1 over the difficulty samples (ground truth needed). Model-predicted bins: quintiles of the mean final verifier score of the same samples (no ground truth). Bin 1 is the easiest; ties are broken by a hash of the problem id (Snell et al. 2024 §3.2)."
    },
    {
      kind: "table",
      caption: "Oracle bins",
      header: ["bin", "problems", "pass@1 range", "mean pass@1", "mean score"],
      rows: binRows(a.oracle, "pass1", a)
    },
    {
      kind: "table",
      caption: "Model-predicted bins",
      header: ["bin", "problems", "score range", "mean pass@1", "mean score"],
      rows: binRows(a.predicted, "meanScore", a)
    },
    {
      kind: "p",
      text: `Route thresholds (mean final score, descending): ${a.predicted.thresholds.map((t) => t.toFixed(4)).join(", ") || "none"}. Problems in the same oracle and predicted bin: ${Number.isNaN(agreement(a.oracle, a.predicted)) ? "—" : `${(100 * agreement(a.oracle, a.predicted)).toFixed(1)}%`}.`
    }
  )
  return { id: "bins", title: "Difficulty bins", blocks }
}

const accuracySection = (a: Analysis, charts: ChartSet): Section => {
  const acc = pivot(a.overall, (p) => pm(p.accuracy, p.stderr))
  const tokens = pivot(a.overall, (p) => int(p.outputTokens))
  const extra = pivot(a.overall, (p) => `${f3(p.passAtN)} / ${f3(p.pass1)}`)
  return {
    id: "accuracy",
    title: "Accuracy versus budget",
    blocks: [
      {
        kind: "chart",
        chart: charts.accuracyN,
        caption:
          "Accuracy of each strategy configuration against the paper's generation budget N (log2 axis), over all problems; bars are ±1 standard error over problems."
      },
      {
        kind: "chart",
        chart: charts.accuracyTokens,
        caption:
          "The same runs against the mean output tokens actually generated per question (log axis): what the budget costs in tokens. Step-wise search and revisions spend tokens differently from best-of-N at the same N."
      },
      { kind: "table", caption: "Accuracy (± standard error over problems)", ...acc },
      { kind: "table", caption: "Mean output tokens per question", ...tokens },
      {
        kind: "table",
        caption: "pass@N / mean pass@1 of the final population (oracle: is any candidate right / what fraction is)",
        ...extra
      }
    ]
  }
}

/** A table cell: accuracy ± its standard error over problems. */
const cellOf = (p: AccuracyPoint | undefined): string => (p === undefined ? "—" : pm(p.accuracy, p.stderr))

const perBinSection = (a: Analysis, charts: ChartSet): Section => {
  const rows: Array<ReadonlyArray<string>> = []
  const overall = new Map(a.overall.map((p) => [`${p.strategy}\u0000${p.budget}`, p] as const))
  const byBin = new Map(a.byOracleBin.map((p) => [`${p.strategy}\u0000${p.budget}\u0000${p.bin}`, p] as const))
  for (const s of strategiesOf(a.overall))
    for (const b of budgetsOf(a.overall.filter((p) => p.strategy === s)))
      rows.push([
        s,
        String(b),
        cellOf(overall.get(`${s}\u0000${b}`)),
        ...Array.from({ length: a.oracle.count }, (_, i) => cellOf(byBin.get(`${s}\u0000${b}\u0000${i + 1}`)))
      ])
  const predictedRows = strategiesOf(a.byPredictedBin).flatMap((s) =>
    budgetsOf(a.byPredictedBin.filter((p) => p.strategy === s)).map((b) => [
      s,
      String(b),
      ...Array.from({ length: a.predicted.count }, (_, i) =>
        cellOf(a.byPredictedBin.find((p) => p.strategy === s && p.budget === b && p.bin === i + 1))
      )
    ])
  )
  return {
    id: "per-bin",
    title: "Accuracy per difficulty bin",
    blocks: [
      {
        kind: "chart",
        chart: charts.binsN,
        caption:
          "One panel per oracle difficulty bin (bin 1 = easiest): accuracy against N (log2). Which strategy wins depends on the bin — the premise of compute-optimal scaling."
      },
      {
        kind: "chart",
        chart: charts.binsTokens,
        caption: "The same per-bin accuracy against mean output tokens per question (log axis)."
      },
      {
        kind: "table",
        caption: "Accuracy per oracle bin (± standard error over the bin's problems)",
        header: ["strategy", "N", "all", ...Array.from({ length: a.oracle.count }, (_, i) => `bin ${i + 1}`)],
        rows
      },
      {
        kind: "table",
        caption: "Accuracy per model-predicted bin (± standard error; bins by the difficulty samples' mean score)",
        header: ["strategy", "N", ...Array.from({ length: a.predicted.count }, (_, i) => `bin ${i + 1}`)],
        rows: predictedRows
      }
    ]
  }
}

const policyTable = (p: Policy): Block => ({
  kind: "table",
  caption: `Compute-optimal policy on ${p.binKind === "oracle" ? "oracle" : "model-predicted"} bins vs ${p.baseline ?? "best-of-N (none measured)"}`,
  ...policyTableRows(p)
})

const policySection = (a: Analysis, charts: ChartSet): Section => {
  const p = a.policy
  const blocks: Array<Block> = [
    {
      kind: "p",
      text: `Per (bin, budget N) the policy picks the configuration with the highest accuracy among ${p.candidates.length} candidates (${a.options.candidates ?? "all"}). Its accuracy is cross-validated inside each bin: the bin's problems are split into two folds by a hash of the problem id, the choice made on one fold is scored on the other, both ways, and the held-out results are averaged over all problems. The efficiency ratio is the best-of-N budget that matches the policy's cross-validated accuracy (log2-interpolated on the monotone envelope of best-of-N's measured accuracy) divided by N; "> x×" means best-of-N never matched it within its measured budgets (a lower bound), "≤ x×" that it already matched at its smallest budget. Reported as measured.`
    },
    {
      kind: "chart",
      chart: charts.policy,
      caption:
        "The compute-optimal policy (cross-validated: solid red; in-sample: dashed) against best-of-N weighted (blue), accuracy against N (log2). Labels are the efficiency ratios."
    },
    policyTable(p),
    {
      kind: "chart",
      chart: charts.otherPolicy,
      caption: `The same on ${a.otherPolicy.binKind === "oracle" ? "oracle" : "model-predicted"} bins.`
    },
    policyTable(a.otherPolicy)
  ]
  if (p.unbinned > 0)
    blocks.push({
      kind: "p",
      text: `${p.unbinned} problems have runs but no difficulty record; they are left out of the policy.`
    })
  blocks.push({
    kind: "p",
    text: "`mull optimize` writes the policy fit on all problems as a `route` graph per budget (`compute-optimal-n<N>.json`): it estimates a question's difficulty from a few fresh samples' mean PRM score, bins it with the model-predicted thresholds above, and runs the bin's configuration."
  })
  return {
    id: "compute-optimal",
    title: "Compute-optimal policy per bin (bins from the difficulty samples: oracle = upper bound)",
    blocks
  }
}

const exchangeTable = (x: Exchange, bin: "all" | "bins"): Block => ({
  kind: "table",
  caption:
    bin === "all"
      ? "Overall (± standard errors over problems, the chart's error bars; the difference's is paired)"
      : "Per bin (± standard errors over the bin's problems; the difference's is paired)",
  ...exchangeTableRows(x, bin)
})

const exchangeSection = (a: Analysis, charts: ChartSet): Section => {
  const x = a.exchange
  return {
    id: "exchange",
    title: "Exchange rate, verifier not counted (the paper's formula, for comparison)",
    blocks: [
      {
        kind: "p",
        text: `FLOPs-matched comparison (Snell et al. 2024 §7). Pretraining costs X = 6·P·D_pretrain, inference Y = 2·P·D_inference, R = D_inference / D_pretrain. A model ${x.ratio}× larger answering once matches the total FLOPs of the small model spending M = ${x.ratio}·(1 + 3/R) − 3/R times as many inference tokens per question, i.e. N = M generations of equal length. The small model's accuracy at N = M is interpolated in log2(N) between measured budgets (clipped to the measured range, marked "(clipped)"); the larger model's is its mean pass@1 (sweep \`${a.data.sweep}/large\`).`
      },
      {
        kind: "chart",
        chart: charts.exchange,
        caption: "Small model at N = M (compute-optimal, best-of-N) against the larger model's pass@1, per R."
      },
      exchangeTable(x, "all"),
      exchangeTable(x, "bins"),
      ...(x.notes.length === 0 ? [] : [{ kind: "list" as const, items: x.notes }])
    ]
  }
}

const findingsSection = (a: Analysis): Section => {
  return {
    id: "findings",
    title: "The paper's findings on this sweep",
    blocks: [
      {
        kind: "p",
        text: `${summarizeFindings(a.findings)} (${a.findings.length} checked). ${VERDICT_RULE} Accuracy differences are paired over problems (± standard error); efficiency ratios carry 90% paired bootstrap intervals. Findings 9–10 are judged on oracle bins, as the paper and the simulator reference do; the router as it would run is shown beside them and in the next section.`
      },
      {
        kind: "table",
        caption: "Findings of Snell et al. 2024: hold or not, with the numbers",
        ...findingsTableRows(a.findings)
      }
    ]
  }
}

const routerBlock = (r: RouterResult, caption: string): ReadonlyArray<Block> =>
  // a router with no binned problem has nothing to show (a sweep without difficulty records or estimates)
  r.problems === 0
    ? [{ kind: "warning", text: `${caption}: no problem has a ${r.mode} bin, so there is no router to measure.` }]
    : [
        { kind: "table", caption: `${caption} — ${describeRouter(r)}`, ...routerTableRows(r) },
        {
          kind: "p",
          text: `Candidates (${r.candidates.length}): ${r.candidates.join(", ")}. Best-of-N's ceiling on these problems: ${formatEstimate(r.ceiling)} (best of its monotone envelope, N ≤ ${r.ceiling.budget}).`
        }
      ]

const headlineSection = (a: Analysis): Section => {
  const r = a.routers
  if (r === undefined)
    return {
      id: "router",
      title: "The compute-optimal router as it would run",
      blocks: [{ kind: "warning", text: "No best-of-N baseline or no routers computed: nothing to compare." }]
    }
  const head = r.predicted["paper-search"]
  const n16 = head.points.find((p) => p.budget === 16) ?? head.points[0]
  return {
    id: "router",
    title: "The compute-optimal router as it would run (headline)",
    blocks: [
      {
        kind: "p",
        text: `The headline is the router a user would deploy, measured end to end on held-out problems: it estimates each question's difficulty from the mean PRM score of ${head.estimateSamples} fresh samples (paid for: the policy at N costs N + ${head.estimateSamples} generations, verifier calls included), bins it by thresholds fitted on that same estimate in the other fold, and runs the configuration chosen there. The efficiency ratio is the best-of-N budget that matches its held-out accuracy divided by its cost, with a 90% paired bootstrap interval (${head.resamples} resamples of problems, every threshold and choice re-fitted); where best-of-N never reaches it, the ceiling best-of-N does reach is given instead of a ratio.${n16 === undefined ? "" : ` At N = ${n16.budget}: held-out accuracy ${formatEstimate(n16.accuracy)}, efficiency ${routerTableRows(head).rows[head.points.indexOf(n16)]?.[5] ?? "—"}.`}`
      },
      ...routerBlock(head, "Router over the paper's search strategies (best-of-N, beam search, lookahead)"),
      ...routerBlock(r.predicted.search, "Router over search strategies with DVTS and majority"),
      ...routerBlock(r.predicted.revisions, "Router over revisions (every chain length)"),
      ...routerBlock(r.predicted.all, "Router over every configuration run"),
      {
        kind: "warning",
        text: "Below: the same routers on ORACLE bins — an upper bound, not a result. Oracle bins know each problem's pass@1 from many free samples, which no deployed router has; nothing is charged for them."
      },
      ...routerBlock(r.oracle["paper-search"], "Upper bound: oracle bins, the paper's search strategies"),
      ...routerBlock(r.oracle.search, "Upper bound: oracle bins, search with DVTS and majority"),
      ...routerBlock(r.oracle.revisions, "Upper bound: oracle bins, revisions"),
      ...routerBlock(r.oracle.all, "Upper bound: oracle bins, every configuration")
    ]
  }
}

const flopsTable = (x: ExchangeFlops, caption: string): Block => ({ kind: "table", caption, ...flopsTableRows(x) })

const exchangeFlopsSection = (a: Analysis): Section => {
  const x = a.exchangeFlops
  return {
    id: "exchange-flops",
    title: "Exchange rate with the verifier counted",
    blocks: [
      {
        kind: "p",
        text: `FLOPs = 2 × parameters × tokens for the generator (${x.generatorParams.toExponential(2)}) and the verifier (${x.verifierParams.toExponential(2)}, the paper's 7B PRM), so one PRM-scored generation costs ${x.perScored.toFixed(2)} small-model queries. The M queries that match a ${x.ratio}× larger model's total FLOPs (M = ${x.ratio}·(1 + 3/R) − 3/R) buy M / ${x.perScored.toFixed(2)} scored generations; majority voting needs no verifier and gets M. The small model's side is a compute-optimal choice per oracle bin among the strategies (revision chains up to 16), read at the affordable N, chosen on one fold and scored on the other; the larger model answers once (its expected pass@1 over its samples). The larger model is the simulator with accuracy knob a_L = a + 1.3, derived in docs/simulator.md from Minerva's MATH scaling (recalled values, to be verified). Cells: test-time / larger model.`
      },
      flopsTable(
        x,
        "Verifier counted (cells: small model with test-time compute ± SE / larger model ± SE, Δ = their difference ± its paired SE over the same problems)"
      ),
      flopsTable(
        a.exchangeNoVerifier,
        "For contrast: the verifier NOT counted (the paper's formula as mull computed it before)"
      ),
      ...(x.notes.length === 0 ? [] : [{ kind: "list" as const, items: x.notes }])
    ]
  }
}

/** How the bins were cut, for the Method section: per world when worlds were pooled. */
export const binRule = (a: Pick<Analysis, "oracle" | "predicted">): string => {
  const worlds = a.oracle.worlds ?? 1
  return worlds > 1
    ? `Bins over ${worlds} pooled worlds (world seeds): oracle bins are cut within each world — its problems ranked by pass@1 over the difficulty samples (ties by problem hash), rank r of its n problems to bin 1 + floor(${a.oracle.count}·r/n), as the simulator reference sim2.py bins each seed — and every (world, problem) unit keeps its world's bin; model-predicted bins are quantiles of the pooled estimates (a route graph has one set of thresholds).`
    : `Bins: oracle bins rank the problems by pass@1 over the difficulty samples (ties by problem hash), rank r of n to bin 1 + floor(${a.oracle.count}·r/n); model-predicted bins rank them by mean final verifier score the same way.`
}

const methodSection = (a: Analysis): Section => ({
  id: "method",
  title: "Method",
  blocks: [
    {
      kind: "list",
      items: [
        "Accuracy of a configuration at N: the runs of a problem (one per seed) are averaged first, then the problems; ± is the standard error of the mean over problems.",
        "Tokens and FLOPs are the strategy's logical usage (cache hits included).",
        "N is the paper's generation budget: best-of-N samples N solutions, beam search keeps N beams, lookahead with k steps N/(k+1) beams, revisions N attempts.",
        `Bins: ${a.oracle.count} equal-size quantiles; the policy is fit per (bin, N) with two-fold cross-validation inside each bin; ties go to best-of-N, then to the label that sorts first.`,
        binRule(a),
        "Curves are read between measured budgets by linear interpolation in log2(N); efficiency ratios use best-of-N's monotone envelope. Where best-of-N never reaches an accuracy within its measured budgets, no ratio is given: its ceiling is.",
        "Intervals: 90% paired bootstrap over problems (the policy's choices, thresholds and best-of-N's curve recomputed on each resample); ± is one standard error over problems (paired for differences).",
        "Folds: problems in dataset order, fold = position mod 2 (as the simulator reference); the router's thresholds and choices are fitted on one fold and scored on the other.",
        `Tie rules and votes (the findings, routers, policy and exchange rate use these; a sweep that ran both variants shows both in the accuracy tables): ${describeVoting(a.voting)}`,
        "The paper's search candidate set is best-of-N, beam search (M = 4, √N) and lookahead; DVTS and majority are reported separately."
      ]
    }
  ]
})

// ---------------------------------------------------------------------------------------------
// Charts

interface ChartSet {
  readonly accuracyN: Vega.Chart
  readonly accuracyTokens: Vega.Chart
  readonly binsN: Vega.Chart
  readonly binsTokens: Vega.Chart
  readonly policy: Vega.Chart
  readonly otherPolicy: Vega.Chart
  readonly exchange: Vega.Chart
}

const binWord = (k: string) => (k === "oracle" ? "oracle" : "model-predicted")

const renderCharts = (a: Analysis): Effect.Effect<ChartSet> =>
  Effect.all({
    accuracyN: Vega.chart(
      "accuracy-vs-n",
      "Accuracy vs generation budget N",
      Charts.accuracyChart(a.overall, "budget", "Accuracy vs generation budget N")
    ),
    accuracyTokens: Vega.chart(
      "accuracy-vs-tokens",
      "Accuracy vs output tokens",
      Charts.accuracyChart(a.overall, "tokens", "Accuracy vs mean output tokens per question")
    ),
    binsN: Vega.chart(
      "bins-vs-n",
      "Accuracy per oracle bin vs N",
      Charts.binChart(a.byOracleBin, "budget", "oracle", "Accuracy per oracle difficulty bin vs N", a.oracle.count)
    ),
    binsTokens: Vega.chart(
      "bins-vs-tokens",
      "Accuracy per oracle bin vs output tokens",
      Charts.binChart(
        a.byOracleBin,
        "tokens",
        "oracle",
        "Accuracy per oracle difficulty bin vs output tokens",
        a.oracle.count
      )
    ),
    policy: Vega.chart(
      `policy-${a.policy.binKind}`,
      `Compute-optimal (${binWord(a.policy.binKind)} bins) vs best-of-N`,
      Charts.policyChart(a.policy, `Compute-optimal (${binWord(a.policy.binKind)} bins) vs best-of-N weighted`)
    ),
    otherPolicy: Vega.chart(
      `policy-${a.otherPolicy.binKind}`,
      `Compute-optimal (${binWord(a.otherPolicy.binKind)} bins) vs best-of-N`,
      Charts.policyChart(
        a.otherPolicy,
        `Compute-optimal (${binWord(a.otherPolicy.binKind)} bins) vs best-of-N weighted`
      )
    ),
    exchange: Vega.chart(
      "exchange",
      "Exchange rate",
      Charts.exchangeChart(a.exchange, `FLOPs-matched: small model at N = M vs a ${a.exchange.ratio}× larger model`)
    )
  })

// ---------------------------------------------------------------------------------------------
// Rendering

const escapeHtml = (s: string) =>
  s.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;").replaceAll('"', "&quot;")
const inlineHtml = (s: string) => escapeHtml(s).replace(/`([^`]+)`/gu, "<code>$1</code>")
const mdCell = (s: string) => s.replaceAll("|", "\\|").replaceAll("\n", " ")

const CSS = `
body { font: 15px/1.5 Helvetica, Arial, sans-serif; color: #222; max-width: 1100px; margin: 2em auto; padding: 0 1em; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; } h2 { margin-top: 2em; border-bottom: 1px solid #ddd; padding-bottom: 0.2em; }
.warning { background: #fff4e5; border-left: 4px solid #f0a030; padding: 0.6em 1em; margin: 1em 0; }
table { border-collapse: collapse; margin: 0.8em 0 1.4em; font-size: 13px; }
caption { text-align: left; font-weight: bold; padding-bottom: 0.3em; }
th, td { border: 1px solid #ddd; padding: 3px 8px; text-align: right; white-space: nowrap; }
th:first-child, td:first-child { text-align: left; }
tr:nth-child(even) td { background: #fafafa; }
figure { margin: 1em 0 1.6em; } figcaption { color: #555; font-size: 13px; max-width: 800px; }
figure svg { max-width: 100%; height: auto; }
pre { background: #f6f6f6; padding: 0.6em 1em; overflow-x: auto; font-size: 12px; }
code { background: #f3f3f3; padding: 0 3px; } nav a { margin-right: 1em; }
`

const htmlBlock = (b: Block): string => {
  switch (b.kind) {
    case "p":
      return `<p>${inlineHtml(b.text)}</p>`
    case "warning":
      return `<p class="warning">${inlineHtml(b.text)}</p>`
    case "list":
      return `<ul>${b.items.map((i) => `<li>${inlineHtml(i)}</li>`).join("")}</ul>`
    case "code":
      return `<pre><code>${escapeHtml(b.text)}</code></pre>`
    case "chart":
      return `<figure id="fig-${b.chart.id}">${b.chart.svg}<figcaption>${inlineHtml(b.caption)}</figcaption></figure>`
    case "table": {
      const head = b.header.every((h) => h === "")
        ? ""
        : `<thead><tr>${b.header.map((h) => `<th>${escapeHtml(h)}</th>`).join("")}</tr></thead>`
      const body = b.rows.map((r) => `<tr>${r.map((c) => `<td>${escapeHtml(c)}</td>`).join("")}</tr>`).join("\n")
      return `<table>${b.caption === undefined ? "" : `<caption>${escapeHtml(b.caption)}</caption>`}${head}<tbody>\n${body}\n</tbody></table>`
    }
  }
}

const markdownBlock = (b: Block): string => {
  switch (b.kind) {
    case "p":
      return b.text
    case "warning":
      return `> **Note.** ${b.text}`
    case "list":
      return b.items.map((i) => `- ${i}`).join("\n")
    case "code":
      return `\`\`\`json\n${b.text}\n\`\`\``
    case "chart":
      return `![${b.chart.title}](${b.chart.id}.svg)\n\n_${b.caption}_`
    case "table": {
      const header = b.header.every((h) => h === "") ? b.header.map((_, i) => (i === 0 ? "item" : "value")) : b.header
      const lines = [
        `| ${header.map(mdCell).join(" | ")} |`,
        `| ${header.map((_, i) => (i === 0 ? "---" : "---:")).join(" | ")} |`,
        ...b.rows.map((r) => `| ${r.map(mdCell).join(" | ")} |`)
      ]
      return `${b.caption === undefined ? "" : `**${b.caption}**\n\n`}${lines.join("\n")}`
    }
  }
}

const simulatorWarning = (a: Analysis, registry: Registry | undefined): Block | undefined => {
  const backend = backendName(a.data.meta.backend)
  if (backend !== undefined && registry?.find(backend)?.simulator === true)
    return {
      kind: "warning",
      text: `These numbers come from the ${backend} backend: they describe a calibrated simulator of a reasoner and a PRM (docs/simulator.md), not a real language model.`
    }
  if (backend === undefined)
    return {
      kind: "warning",
      text: "The sweep's backend is not recorded. If it was the simulated backend, these numbers describe a simulator, not a real language model."
    }
  return undefined
}

/**
 * Builds the report of an analysed sweep: renders the charts and both documents.
 *
 * @example
 * const report = yield* build(analyze(yield* load(store, "main")))
 * report.html.includes("<svg") // true
 */
export const build = (a: Analysis, options: ReportOptions = {}): Effect.Effect<Report> =>
  Effect.map(renderCharts(a), (charts) => {
    const title = `mull evaluation report — sweep ${a.data.sweep}`
    const warning = simulatorWarning(a, options.registry)
    const sections: ReadonlyArray<Section> = [
      findingsSection(a),
      headlineSection(a),
      setupSection(a),
      binsSection(a),
      accuracySection(a, charts),
      perBinSection(a, charts),
      policySection(a, charts),
      exchangeFlopsSection(a),
      exchangeSection(a, charts),
      ...adaptiveSections(a.data.runs),
      methodSection(a)
    ]
    const when = options.generatedAt ?? new Date().toISOString()
    const intro = `Generated by \`mull report\` at ${when}. Snell et al. 2024, "Scaling LLM Test-Time Compute Optimally can be More Effective than Scaling Model Parameters" (arXiv 2408.03314).`
    const html = [
      "<!doctype html>",
      '<html lang="en"><head><meta charset="utf-8">',
      `<title>${escapeHtml(title)}</title>`,
      `<style>${CSS}</style></head><body>`,
      `<h1>${escapeHtml(title)}</h1>`,
      `<p>${inlineHtml(intro)}</p>`,
      warning === undefined ? "" : htmlBlock(warning),
      `<nav>${sections.map((s) => `<a href="#${s.id}">${escapeHtml(s.title)}</a>`).join("")}</nav>`,
      ...sections.map((s) => [`<h2 id="${s.id}">${escapeHtml(s.title)}</h2>`, ...s.blocks.map(htmlBlock)].join("\n")),
      "</body></html>",
      ""
    ].join("\n")
    const markdown = [
      `# ${title}`,
      intro,
      ...(warning === undefined ? [] : [markdownBlock(warning)]),
      sections.map((s) => `- [${s.title}](#${s.id})`).join("\n"),
      ...sections.flatMap((s) => [`## ${s.title}`, ...s.blocks.map(markdownBlock)]),
      ""
    ].join("\n\n")
    return { title, sections, charts: Object.values(charts), html, markdown }
  })

/**
 * Writes `report.html`, `report.md` and one `<chart>.svg` per chart into a folder (created if
 * needed); returns the paths written.
 *
 * @example
 * const files = yield* write(report, "out") // ["out/report.html", "out/report.md", "out/accuracy-vs-n.svg", …]
 */
export const write = (report: Report, dir: string): Effect.Effect<ReadonlyArray<string>, ReportError> =>
  Effect.try({
    try: () => {
      mkdirSync(dir, { recursive: true })
      const files: Array<readonly [string, string]> = [
        [join(dir, "report.html"), report.html],
        [join(dir, "report.md"), report.markdown],
        ...report.charts.map((c) => [join(dir, `${c.id}.svg`), c.svg] as const)
      ]
      for (const [path, text] of files) writeFileSync(path, text)
      return files.map(([path]) => path)
    },
    catch: (e) => new ReportError({ path: dir, reason: e instanceof Error ? e.message : String(e) })
  })
