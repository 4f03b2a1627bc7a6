/**
 * The report's charts as Vega-Lite specifications: accuracy versus the paper's budget N (log2
 * axis) and versus measured output tokens, overall and per difficulty bin; the compute-optimal
 * policy versus best-of-N; the exchange-rate comparison. The builders are pure; `charts/Vega.ts`
 * renders them to SVG.
 *
 * @since 0.1.0
 */
import type { Spec } from "../charts/Vega.ts"
import type { AccuracyPoint } from "./Accuracy.ts"
import type { BinKind } from "./Bins.ts"
import { formatEfficiency, type Policy } from "./ComputeOptimal.ts"
import type { Exchange } from "./Exchange.ts"

/** The x axis of an accuracy chart: the paper's generation budget N, or measured output tokens. */
export type XAxis = "budget" | "tokens"

const FONT = "Helvetica, Arial, sans-serif"
const CONFIG = {
  font: FONT,
  view: { stroke: "#ddd" },
  axis: { labelFontSize: 11, titleFontSize: 12, gridColor: "#eee" },
  legend: { labelFontSize: 11, titleFontSize: 12, labelLimit: 400, symbolOpacity: 1 },
  title: { fontSize: 14, anchor: "start" as const }
}

const finite = (x: number) => (Number.isFinite(x) ? x : null)

interface Row {
  readonly strategy: string
  readonly budget: number
  readonly tokens: number
  readonly accuracy: number
  readonly lo: number | null
  readonly hi: number | null
  readonly bin?: string
}

const rowsOf = (
  points: ReadonlyArray<AccuracyPoint>,
  x: XAxis,
  binLabel?: (bin: number) => string
): ReadonlyArray<Row> =>
  // a log axis cannot show zero tokens (nothing generated)
  points
    .filter((p) => x === "budget" || p.outputTokens > 0)
    .map((p) => ({
      strategy: p.strategy,
      budget: p.budget,
      tokens: p.outputTokens,
      accuracy: p.accuracy,
      lo: Number.isFinite(p.stderr) ? Math.max(0, p.accuracy - p.stderr) : null,
      hi: Number.isFinite(p.stderr) ? Math.min(1, p.accuracy + p.stderr) : null,
      ...(p.bin === undefined || binLabel === undefined ? {} : { bin: binLabel(p.bin) })
    }))

const budgetsOf = (points: ReadonlyArray<{ readonly budget: number }>) =>
  [...new Set(points.map((p) => p.budget))].sort((a, b) => a - b)

const xEncoding = (x: XAxis, budgets: ReadonlyArray<number>, short = false) =>
  x === "budget"
    ? {
        field: "budget",
        type: "quantitative" as const,
        title: short ? "N (log2)" : "generation budget N (log2)",
        // half a doubling of margin on each side, so end points and their labels are not clipped
        scale: {
          type: "log" as const,
          base: 2,
          nice: false,
          ...(budgets.length === 0
            ? {}
            : { domain: [(budgets[0] ?? 1) / Math.SQRT2, (budgets[budgets.length - 1] ?? 1) * Math.SQRT2] })
        },
        axis: { values: [...budgets], format: "d" }
      }
    : {
        field: "tokens",
        type: "quantitative" as const,
        title: short ? "output tokens (log)" : "mean output tokens per question (log)",
        scale: { type: "log" as const, nice: false },
        axis: { format: "~s", tickCount: 6 }
      }

const yEncoding = {
  field: "accuracy",
  type: "quantitative" as const,
  title: "accuracy",
  scale: { domain: [0, 1] }
}

const colorEncoding = (strategies: number) => ({
  field: "strategy",
  type: "nominal" as const,
  title: "strategy",
  scale: { scheme: strategies <= 10 ? "tableau10" : "tableau20" }
})

const strategyCount = (points: ReadonlyArray<AccuracyPoint>) => new Set(points.map((p) => p.strategy)).size

const lineLayers = (
  x: XAxis,
  budgets: ReadonlyArray<number>,
  errorBars: boolean,
  short: boolean,
  strategies: number
) => [
  ...(errorBars
    ? [
        {
          mark: { type: "rule" as const, opacity: 0.45 },
          encoding: {
            x: xEncoding(x, budgets, short),
            y: { field: "lo", type: "quantitative" as const },
            y2: { field: "hi" },
            color: colorEncoding(strategies)
          }
        }
      ]
    : []),
  {
    mark: { type: "line" as const, point: { filled: true, size: 30 }, strokeWidth: 1.6 },
    encoding: { x: xEncoding(x, budgets, short), y: yEncoding, color: colorEncoding(strategies) }
  }
]

/**
 * Accuracy versus budget (N on a log2 axis, or measured output tokens) per strategy, with ±1
 * standard error bars over problems.
 *
 * @example
 * accuracyChart(accuracy(configs), "budget", "Accuracy vs generation budget")
 */
export const accuracyChart = (points: ReadonlyArray<AccuracyPoint>, x: XAxis, title: string): Spec => ({
  $schema: "https://vega.github.io/schema/vega-lite/v6.json",
  title,
  width: 520,
  height: 320,
  config: CONFIG,
  data: { values: rowsOf(points, x) as Array<Row> },
  layer: lineLayers(x, budgetsOf(points), true, false, strategyCount(points))
})

/**
 * Accuracy versus budget per strategy in one panel per difficulty bin (bin 1 = easiest), with ±1
 * standard error bars over the bin's problems.
 *
 * @example
 * binChart(accuracyByBin(configs, oracle), "budget", "oracle", "Accuracy per oracle difficulty bin")
 */
export const binChart = (
  points: ReadonlyArray<AccuracyPoint>,
  x: XAxis,
  kind: BinKind,
  title: string,
  count = 5
): Spec => {
  const label = (b: number) => `bin ${b}${b === 1 ? " (easiest)" : b === count ? " (hardest)" : ""}`
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title,
    config: CONFIG,
    data: { values: rowsOf(points, x, label) as Array<Row> },
    facet: {
      field: "bin",
      type: "ordinal",
      title: `${kind === "oracle" ? "oracle" : "model-predicted"} difficulty bin`,
      sort: Array.from({ length: count }, (_, i) => label(i + 1))
    },
    columns: Math.min(count, 3),
    spec: { width: 230, height: 170, layer: lineLayers(x, budgetsOf(points), true, true, strategyCount(points)) }
  }
}

/**
 * The compute-optimal policy (cross-validated, and in-sample dashed) versus best-of-N weighted,
 * accuracy against N on a log2 axis, with ±1 standard error bars over problems at the policy's
 * budgets; the efficiency ratio at each N is written along the bottom.
 *
 * @example
 * policyChart(optimize(configs, { binning }), "Compute-optimal vs best-of-N")
 */
export const policyChart = (policy: Policy, title: string): Spec => {
  const bon =
    policy.baseline === undefined || policy.baseline.toLowerCase().includes("best-of-n")
      ? (policy.baseline ?? "best-of-N weighted")
      : `best-of-N weighted (${policy.baseline})`
  const cv = "compute-optimal (cross-validated)"
  const ins = "compute-optimal (in-sample)"
  const band = (accuracy: number, stderr: number | undefined) =>
    stderr !== undefined && Number.isFinite(stderr)
      ? { lo: Math.max(0, accuracy - stderr), hi: Math.min(1, accuracy + stderr) }
      : { lo: null, hi: null }
  const baselineAt = new Map(policy.points.map((p) => [p.budget, p.baseline] as const))
  const values = [
    ...policy.baselineCurve.map((p) => ({
      series: bon,
      budget: p.budget,
      accuracy: p.accuracy,
      label: "",
      ...band(p.accuracy, baselineAt.get(p.budget)?.stderr)
    })),
    ...policy.points.flatMap((p) =>
      Number.isFinite(p.accuracy)
        ? [
            {
              series: cv,
              budget: p.budget,
              accuracy: p.accuracy,
              label: formatEfficiency(p.efficiency),
              ...band(p.accuracy, p.stderr)
            },
            ...(Number.isFinite(p.inSample)
              ? [{ series: ins, budget: p.budget, accuracy: p.inSample, label: "", lo: null, hi: null }]
              : [])
          ]
        : []
    )
  ]
  const budgets = budgetsOf(values)
  const x = xEncoding("budget", budgets)
  const color = {
    field: "series",
    type: "nominal" as const,
    title: null,
    scale: { domain: [cv, ins, bon], range: ["#d62728", "#ff9896", "#1f77b4"] },
    legend: { orient: "bottom" as const, direction: "vertical" as const }
  }
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title,
    width: 520,
    height: 320,
    config: CONFIG,
    data: { values },
    layer: [
      {
        transform: [{ filter: "datum.lo !== null" }],
        mark: { type: "rule", opacity: 0.5 },
        encoding: { x, y: { field: "lo", type: "quantitative" }, y2: { field: "hi" }, color }
      },
      {
        mark: { type: "line", point: { filled: true, size: 36 }, strokeWidth: 1.8 },
        encoding: {
          x,
          y: yEncoding,
          color,
          strokeDash: {
            field: "series",
            type: "nominal",
            scale: {
              domain: [cv, ins, bon],
              range: [
                [1, 0],
                [4, 3],
                [1, 0]
              ]
            },
            legend: { orient: "bottom" as const, direction: "vertical" as const }
          }
        }
      },
      {
        transform: [{ filter: "datum.label !== ''" }],
        mark: { type: "text", fontSize: 11, color: "#d62728", baseline: "bottom" },
        encoding: { x, y: { datum: 0.02 }, text: { field: "label" } }
      }
    ]
  }
}

/**
 * The exchange rate: for each R, the small model's compute-optimal and best-of-N accuracy at the
 * FLOPs-matched budget M against the larger model's pass@1, overall (grouped bars), with ±1
 * standard error bars over problems.
 *
 * @example
 * exchangeChart(exchange(input), "FLOPs-matched: small model × M vs 14× larger model")
 */
export const exchangeChart = (x: Exchange, title: string): Spec => {
  const values = x.rows
    .filter((r) => r.bin === "all")
    .flatMap((r) => {
      const group = `R = ${r.r} (M = ${r.multiplier.toFixed(1)})`
      const bar = (side: string, accuracy: number, se: number | undefined) => ({
        group,
        side,
        accuracy: finite(accuracy),
        lo: se === undefined || !Number.isFinite(se) || !Number.isFinite(accuracy) ? null : Math.max(0, accuracy - se),
        hi: se === undefined || !Number.isFinite(se) || !Number.isFinite(accuracy) ? null : Math.min(1, accuracy + se)
      })
      return [
        bar("small: compute-optimal at N = M", r.policy?.accuracy ?? Number.NaN, r.stderr?.policy),
        bar("small: best-of-N at N = M", r.bestOfN?.accuracy ?? Number.NaN, r.stderr?.bestOfN),
        bar(`${x.ratio}× larger model, pass@1`, r.large, r.stderr?.large)
      ].filter((v) => v.accuracy !== null)
    })
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title,
    width: 520,
    height: 260,
    config: CONFIG,
    data: { values },
    encoding: {
      x: { field: "group", type: "nominal", title: null, sort: null, axis: { labelAngle: 0 } },
      xOffset: { field: "side", type: "nominal", sort: null }
    },
    layer: [
      {
        mark: { type: "bar" },
        encoding: {
          y: yEncoding,
          color: {
            field: "side",
            type: "nominal",
            title: null,
            sort: null,
            scale: { range: ["#d62728", "#1f77b4", "#7f7f7f"] },
            legend: { orient: "bottom", direction: "vertical" }
          }
        }
      },
      {
        transform: [{ filter: "datum.lo !== null" }],
        mark: { type: "rule", color: "#222", strokeWidth: 1.2 },
        encoding: { y: { field: "lo", type: "quantitative" }, y2: { field: "hi" } }
      }
    ]
  }
}
