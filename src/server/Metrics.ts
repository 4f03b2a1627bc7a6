/**
 * The service's metrics, as Effect `Metric`s rendered by Effect's Prometheus exporter
 * (`effect/observability` `PrometheusMetrics`, text format 0.0.4): requests by route and status,
 * request latency, runs in flight, reservations outstanding, finished runs by outcome, and what
 * backends spent. Each server keeps its own `MetricRegistry`, so two servers in one process (tests,
 * an app mounting `webHandler` twice) never mix their counts.
 *
 * @since 0.1.0
 */
import { Context, Metric } from "effect"
import { PrometheusMetrics } from "effect/observability"
import type { Usage } from "../domain/Usage.ts"

/** Upper bounds (seconds) of the latency histogram's buckets. */
export const LATENCY_BUCKETS: ReadonlyArray<number> = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60]

const requests = Metric.counter("mull_requests_total", { description: "HTTP requests by route and status." })
const latency = Metric.histogram("mull_request_duration_seconds", {
  description: "Request latency by route.",
  boundaries: LATENCY_BUCKETS
})
const runsInFlight = Metric.gauge("mull_runs_in_flight", { description: "Graph runs executing now." })
const reservationsOutstanding = Metric.gauge("mull_reservations_outstanding", {
  description: "Budget reservations granted and not yet settled, over every run."
})
const runs = Metric.counter("mull_runs_total", { description: "Finished graph runs by outcome." })
const spent = Metric.counter("mull_backend_spent_total", { description: "What the backends really spent, by meter." })

/** A number read and written in place (`cell.value += 1`), kept in a gauge of the registry. */
export interface Cell {
  value: number
}

export interface Metrics {
  /** the context holding this server's `MetricRegistry` */
  readonly context: Context.Context<never>
  /** runs executing now */
  readonly runsInFlight: Cell
  /** reservations granted and not yet committed or released, over every run (`Ledger.tracked`) */
  readonly reservationsOutstanding: Cell
}

const cell = (gauge: Metric.Gauge<number>, context: Context.Context<never>): Cell => {
  gauge.updateUnsafe(0, context) // registered at 0, so a scrape shows it before the first run
  return {
    get value() {
      return gauge.valueUnsafe(context).value
    },
    set value(v: number) {
      gauge.updateUnsafe(v, context)
    }
  }
}

/**
 * Empty metrics in a registry of their own.
 *
 * @example
 * const metrics = make()
 * metrics.runsInFlight.value // 0
 */
export const make = (): Metrics => {
  const context = Context.make(Metric.MetricRegistry, new Map())
  return {
    context,
    runsInFlight: cell(runsInFlight, context),
    reservationsOutstanding: cell(reservationsOutstanding, context)
  }
}

/**
 * Records one request.
 *
 * @example
 * observeRequest(metrics, "/v1/chat/completions", 200, 0.42)
 */
export const observeRequest = (metrics: Metrics, route: string, status: number, seconds: number): void => {
  Metric.withAttributes(requests, { route, status: String(status) }).updateUnsafe(1, metrics.context)
  Metric.withAttributes(latency, { route }).updateUnsafe(seconds, metrics.context)
}

const METERS = ["calls", "sequences", "inputTokens", "outputTokens", "verifierCalls", "verifierTokens"] as const

const snake = (meter: string): string => meter.replace(/[A-Z]/gu, (c) => `_${c.toLowerCase()}`)

/**
 * Records a finished run and what its backends spent.
 *
 * @example
 * observeRun(metrics, "ok", result.backendUsage)
 */
export const observeRun = (metrics: Metrics, outcome: string, used: Usage | undefined): void => {
  Metric.withAttributes(runs, { outcome }).updateUnsafe(1, metrics.context)
  if (used === undefined) return
  for (const meter of METERS)
    Metric.withAttributes(spent, { meter: snake(meter) }).updateUnsafe(used[meter], metrics.context)
}

/**
 * The metrics as Prometheus text.
 *
 * @example
 * render(make()).includes("mull_reservations_outstanding 0") // true
 */
export const render = (metrics: Metrics): string => PrometheusMetrics.formatUnsafe(metrics.context)
