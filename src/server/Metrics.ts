/**
 * The service's metrics, as Effect `Metric`s rendered by Effect's Prometheus exporter
 * (`effect/observability` `PrometheusMetrics`, text format 0.0.4): requests by route and status,
 * request latency, runs in flight, reservations outstanding, finished runs by outcome, what
 * backends spent, admission (slots held and waiting, refusals by reason), traces (write failures,
 * truncations, deletions), streams dropped for not reading, and connections. Each server keeps its own `MetricRegistry`, so two servers in one process (tests,
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
const rejected = Metric.counter("mull_admission_rejected_total", {
  description:
    "Requests refused by admission control, by reason (TenantBusy: 429; ServerBusy, QueueTimeout, ShuttingDown: 503)."
})
const admissionRunning = Metric.gauge("mull_admission_running", { description: "Requests holding an admission slot." })
const admissionQueued = Metric.gauge("mull_admission_queued", {
  description: "Requests waiting for an admission slot."
})
const traceFailures = Metric.counter("mull_trace_write_failures_total", {
  description: "Traces that could not be written (the reply is unchanged)."
})
const tracesTruncated = Metric.counter("mull_traces_truncated_total", {
  description: "Traces cut at the size limit."
})
const tracesDeleted = Metric.counter("mull_traces_deleted_total", { description: "Traces deleted by retention." })
const streamsDropped = Metric.counter("mull_streams_dropped_total", {
  description: "Streams dropped because the client stopped reading."
})
const connections = Metric.gauge("mull_connections_open", { description: "Open client connections." })
const connectionsClosed = Metric.counter("mull_connections_closed_total", {
  description: "Connections the server closed early, by why (evicted idle, refused over the cap, timeout)."
})
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
  /** open client connections */
  readonly connectionsOpen: Cell
  /** what admission holds now (read when metrics are rendered) */
  admissionLoad: () => { readonly running: number; readonly queued: number }
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
    reservationsOutstanding: cell(reservationsOutstanding, context),
    connectionsOpen: cell(connections, context),
    admissionLoad: () => ({ running: 0, queued: 0 })
  }
}

/** The events counted by the service, each a counter with its labels. */
export type Counted =
  | { readonly _tag: "AdmissionRejected"; readonly reason: string }
  | { readonly _tag: "TraceWriteFailed" }
  | { readonly _tag: "TraceTruncated" }
  | { readonly _tag: "TracesDeleted"; readonly count: number }
  | { readonly _tag: "StreamDropped" }
  | { readonly _tag: "ConnectionClosed"; readonly why: string }

/**
 * Counts an event.
 *
 * @example
 * count(metrics, { _tag: "AdmissionRejected", reason: "ServerBusy" })
 */
export const count = (metrics: Metrics, e: Counted): void => {
  switch (e._tag) {
    case "AdmissionRejected":
      Metric.withAttributes(rejected, { reason: e.reason }).updateUnsafe(1, metrics.context)
      break
    case "TraceWriteFailed":
      traceFailures.updateUnsafe(1, metrics.context)
      break
    case "TraceTruncated":
      tracesTruncated.updateUnsafe(1, metrics.context)
      break
    case "TracesDeleted":
      tracesDeleted.updateUnsafe(e.count, metrics.context)
      break
    case "StreamDropped":
      streamsDropped.updateUnsafe(1, metrics.context)
      break
    case "ConnectionClosed":
      Metric.withAttributes(connectionsClosed, { why: e.why }).updateUnsafe(1, metrics.context)
      break
  }
}

// a metric with attributes, built once per metric and attribute values: `Metric.withAttributes`
// builds a new metric and its key on every call (nine per chat request)
const attributed = new WeakMap<object, Map<string, object>>()

/**
 * `Metric.withAttributes(metric, { k1: v1, k2: v2 })`, memoised. Attribute values come from a small
 * set (routes, statuses, outcomes, meters), so the memo stays small.
 */
const labelled = <M extends Metric.Metric<number, unknown>>(metric: M, ...kv: ReadonlyArray<string>): M => {
  let byKey = attributed.get(metric)
  if (byKey === undefined) {
    byKey = new Map()
    attributed.set(metric, byKey)
  }
  const key = kv.join("\u0000")
  const known = byKey.get(key)
  if (known !== undefined) return known as M
  const attributes: Record<string, string> = {}
  for (let i = 0; i + 1 < kv.length; i += 2) attributes[kv[i] ?? ""] = kv[i + 1] ?? ""
  const made = Metric.withAttributes(metric, attributes)
  byKey.set(key, made)
  return made as M
}

/**
 * Records one request.
 *
 * @example
 * observeRequest(metrics, "/v1/chat/completions", 200, 0.42)
 */
export const observeRequest = (metrics: Metrics, route: string, status: number, seconds: number): void => {
  labelled(requests, "route", route, "status", String(status)).updateUnsafe(1, metrics.context)
  labelled(latency, "route", route).updateUnsafe(seconds, metrics.context)
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
  labelled(runs, "outcome", outcome).updateUnsafe(1, metrics.context)
  if (used === undefined) return
  for (const meter of METERS) labelled(spent, "meter", snake(meter)).updateUnsafe(used[meter], metrics.context)
}

/**
 * The metrics as Prometheus text.
 *
 * @example
 * render(make()).includes("mull_reservations_outstanding 0") // true
 */
export const render = (metrics: Metrics): string => {
  const load = metrics.admissionLoad()
  admissionRunning.updateUnsafe(load.running, metrics.context)
  admissionQueued.updateUnsafe(load.queued, metrics.context)
  return PrometheusMetrics.formatUnsafe(metrics.context)
}
