/**
 * The service's metrics, rendered in the Prometheus text format (version 0.0.4): requests by route
 * and status, request latency, runs in flight, reservations outstanding, and what backends spent.
 * Plain counters, updated by the server and read by `GET /metrics`.
 *
 * @since 0.1.0
 */
import type { Usage } from "../domain/Usage.ts"

/** Upper bounds (seconds) of the latency histogram's buckets. */
export const LATENCY_BUCKETS: ReadonlyArray<number> = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60]

interface Histogram {
  readonly buckets: Array<number>
  sum: number
  count: number
}

export interface Metrics {
  /** requests by `route status` */
  readonly requests: Map<string, number>
  readonly latency: Map<string, Histogram>
  /** runs executing now */
  readonly runsInFlight: { value: number }
  /** reservations granted and not yet committed or released, over every run */
  readonly reservationsOutstanding: { value: number }
  /** finished runs by outcome (`ok`, `exhausted`, `failed`, `interrupted`) */
  readonly runs: Map<string, number>
  /** what the backends really spent, by meter */
  readonly spent: Map<string, number>
}

/** Empty metrics. */
export const make = (): Metrics => ({
  requests: new Map(),
  latency: new Map(),
  runsInFlight: { value: 0 },
  reservationsOutstanding: { value: 0 },
  runs: new Map(),
  spent: new Map()
})

const bump = (m: Map<string, number>, key: string, by = 1): void => {
  m.set(key, (m.get(key) ?? 0) + by)
}

/**
 * Records one request.
 *
 * @example
 * observeRequest(metrics, "/v1/chat/completions", 200, 0.42)
 */
export const observeRequest = (metrics: Metrics, route: string, status: number, seconds: number): void => {
  bump(metrics.requests, `${route} ${status}`)
  let h = metrics.latency.get(route)
  if (h === undefined) {
    h = { buckets: LATENCY_BUCKETS.map(() => 0), sum: 0, count: 0 }
    metrics.latency.set(route, h)
  }
  for (const [i, le] of LATENCY_BUCKETS.entries()) if (seconds <= le) h.buckets[i] = (h.buckets[i] ?? 0) + 1
  h.sum += seconds
  h.count += 1
}

/**
 * Records a finished run and what its backends spent.
 *
 * @example
 * observeRun(metrics, "ok", result.backendUsage)
 */
export const observeRun = (metrics: Metrics, outcome: string, spent: Usage | undefined): void => {
  bump(metrics.runs, outcome)
  if (spent === undefined) return
  for (const meter of ["calls", "sequences", "inputTokens", "outputTokens", "verifierCalls", "verifierTokens"] as const)
    bump(metrics.spent, meter, spent[meter])
}

const label = (v: string): string => v.replaceAll("\\", "\\\\").replaceAll('"', '\\"').replaceAll("\n", "\\n")

const snake = (meter: string): string => meter.replace(/[A-Z]/gu, (c) => `_${c.toLowerCase()}`)

/**
 * The metrics as Prometheus text.
 *
 * @example
 * render(make()).includes("mull_reservations_outstanding 0") // true
 */
export const render = (metrics: Metrics): string => {
  const lines: Array<string> = []
  lines.push("# HELP mull_requests_total HTTP requests by route and status.", "# TYPE mull_requests_total counter")
  for (const [key, n] of [...metrics.requests].sort(([a], [b]) => a.localeCompare(b))) {
    const [route = "", status = ""] = key.split(" ")
    lines.push(`mull_requests_total{route="${label(route)}",status="${label(status)}"} ${n}`)
  }
  lines.push(
    "# HELP mull_request_duration_seconds Request latency by route.",
    "# TYPE mull_request_duration_seconds histogram"
  )
  for (const [route, h] of [...metrics.latency].sort(([a], [b]) => a.localeCompare(b))) {
    const r = label(route)
    for (const [i, le] of LATENCY_BUCKETS.entries())
      lines.push(`mull_request_duration_seconds_bucket{route="${r}",le="${le}"} ${h.buckets[i] ?? 0}`)
    lines.push(`mull_request_duration_seconds_bucket{route="${r}",le="+Inf"} ${h.count}`)
    lines.push(`mull_request_duration_seconds_sum{route="${r}"} ${h.sum}`)
    lines.push(`mull_request_duration_seconds_count{route="${r}"} ${h.count}`)
  }
  lines.push(
    "# HELP mull_runs_in_flight Graph runs executing now.",
    "# TYPE mull_runs_in_flight gauge",
    `mull_runs_in_flight ${metrics.runsInFlight.value}`,
    "# HELP mull_reservations_outstanding Budget reservations granted and not yet settled, over every run.",
    "# TYPE mull_reservations_outstanding gauge",
    `mull_reservations_outstanding ${metrics.reservationsOutstanding.value}`,
    "# HELP mull_runs_total Finished graph runs by outcome.",
    "# TYPE mull_runs_total counter"
  )
  for (const [outcome, n] of [...metrics.runs].sort(([a], [b]) => a.localeCompare(b)))
    lines.push(`mull_runs_total{outcome="${label(outcome)}"} ${n}`)
  lines.push(
    "# HELP mull_backend_spent_total What the backends really spent, by meter.",
    "# TYPE mull_backend_spent_total counter"
  )
  for (const [meter, n] of [...metrics.spent].sort(([a], [b]) => a.localeCompare(b)))
    lines.push(`mull_backend_spent_total{meter="${snake(meter)}"} ${n}`)
  return `${lines.join("\n")}\n`
}
