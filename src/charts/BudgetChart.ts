/**
 * The trace viewer's budget chart: the ledger's committed total of each meter after every charge,
 * one small panel per meter that was spent (their scales differ by orders of magnitude), with the
 * run's limit as a dashed red line where there is one. A Vega-Lite spec, rendered to SVG when the
 * page is built (`Vega.render`), so the page needs no chart library.
 *
 * @since 0.1.0
 */
import { METERS, type Usage } from "../domain/Usage.ts"
import type { Spec } from "./Vega.ts"

/** What the chart reads of one charge: the ledger's committed total after it, and when it happened. */
export interface ChargeTotal {
  readonly total: Usage
  /** ms since the run started (absent in traces written before charges carried a time) */
  readonly ms?: number | undefined
}

const FONT = "Helvetica, Arial, sans-serif"

/** A chart row: one meter's total after one charge. */
export interface BudgetRow {
  readonly meter: string
  readonly x: number
  readonly total: number
  readonly limit: number | null
}

/**
 * The running totals to plot: for each meter spent, a zero start then its total after each charge.
 * The x axis is ms since the run started when every charge has a time, else the charge's number.
 *
 * @example
 * budgetRows(model.charges, { sequences: 64 }).rows[0] // { meter: "calls", x: 0, total: 0, limit: null }
 */
export const budgetRows = (
  charges: ReadonlyArray<ChargeTotal>,
  limits: { readonly [meter: string]: number }
): { readonly rows: ReadonlyArray<BudgetRow>; readonly timed: boolean } => {
  const timed = charges.length > 0 && charges.every((c) => c.ms !== undefined)
  const last = charges[charges.length - 1]
  const spent = METERS.filter((m) => last !== undefined && last.total[m] > 0)
  const rows = spent.flatMap((meter) => {
    const limit = limits[meter]
    const lim = limit === undefined || !Number.isFinite(limit) ? null : limit
    return [
      { meter, x: 0, total: 0, limit: lim },
      ...charges.map((c, i) => ({ meter, x: timed ? (c.ms ?? 0) : i + 1, total: c.total[meter], limit: lim }))
    ]
  })
  return { rows, timed }
}

/**
 * The budget-over-time chart of a run.
 *
 * @example
 * const svg = yield* Vega.render(budgetChart(model.charges, model.run.limits), "budget")
 */
export const budgetChart = (
  charges: ReadonlyArray<ChargeTotal>,
  limits: { readonly [meter: string]: number }
): Spec => {
  const { rows, timed } = budgetRows(charges, limits)
  const meters = [...new Set(rows.map((r) => r.meter))]
  const x = {
    field: "x",
    type: "quantitative" as const,
    title: timed ? "ms since the run started" : "charge (in commit order)"
  }
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    config: {
      font: FONT,
      view: { stroke: "#ddd" },
      axis: { labelFontSize: 10, titleFontSize: 11, gridColor: "#eee" },
      header: { labelFontSize: 12, labelFontWeight: "bold" as const, title: null }
    },
    data: { values: rows as Array<BudgetRow> },
    facet: { field: "meter", type: "nominal", sort: meters, title: null },
    columns: Math.min(4, Math.max(1, meters.length)),
    // each panel its own y scale (meters differ by orders of magnitude) and its own x axis
    resolve: { scale: { y: "independent" }, axis: { x: "independent" } },
    spec: {
      width: 200,
      height: 90,
      layer: [
        {
          mark: { type: "line", interpolate: "step-after", strokeWidth: 1.6, color: "#1f77b4" },
          encoding: { x, y: { field: "total", type: "quantitative", title: null, axis: { format: "~s" } } }
        },
        {
          transform: [{ filter: "datum.limit !== null" }],
          mark: { type: "rule", color: "#d62728", strokeDash: [4, 3] },
          encoding: { y: { field: "limit", type: "quantitative", aggregate: "max" } }
        }
      ]
    }
  }
}
