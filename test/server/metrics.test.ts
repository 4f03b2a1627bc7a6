/** The service's metrics: Effect `Metric`s in a registry per server, rendered by Effect's Prometheus exporter. */
import { assert, describe, it } from "@effect/vitest"
import * as Usage from "../../src/domain/Usage.ts"
import * as Metrics from "../../src/server/Metrics.ts"

const line = (text: string, series: string): number | undefined => {
  const m = text.split("\n").find((l) => l.startsWith(`${series} `))
  return m === undefined ? undefined : Number(m.slice(series.length + 1))
}

describe("Metrics", () => {
  it("the gauges show 0 before anything happens; cells read and write their gauge", () => {
    const m = Metrics.make()
    const text = Metrics.render(m)
    assert.strictEqual(line(text, "mull_runs_in_flight"), 0)
    assert.strictEqual(line(text, "mull_reservations_outstanding"), 0)
    assert.include(text, "# TYPE mull_reservations_outstanding gauge")
    m.reservationsOutstanding.value += 3
    m.reservationsOutstanding.value -= 1
    assert.strictEqual(m.reservationsOutstanding.value, 2)
    assert.strictEqual(line(Metrics.render(m), "mull_reservations_outstanding"), 2)
  })

  it("requests, latency, runs and spend keep their names and labels", () => {
    const m = Metrics.make()
    Metrics.observeRequest(m, "/v1/models", 200, 0.02)
    Metrics.observeRequest(m, "/v1/models", 200, 0.3)
    Metrics.observeRequest(m, "/v1/models", 404, 0.001)
    Metrics.observeRun(m, "ok", Usage.make({ calls: 2, outputTokens: 40, verifierTokens: 7 }))
    Metrics.observeRun(m, "interrupted", undefined)
    const text = Metrics.render(m)
    assert.strictEqual(line(text, 'mull_requests_total{route="/v1/models",status="200"}'), 2)
    assert.strictEqual(line(text, 'mull_requests_total{route="/v1/models",status="404"}'), 1)
    assert.strictEqual(line(text, 'mull_request_duration_seconds_bucket{route="/v1/models",le="0.025"}'), 2)
    assert.strictEqual(line(text, 'mull_request_duration_seconds_bucket{route="/v1/models",le="+Inf"}'), 3)
    assert.strictEqual(line(text, 'mull_request_duration_seconds_count{route="/v1/models"}'), 3)
    assert.strictEqual(line(text, 'mull_runs_total{outcome="ok"}'), 1)
    assert.strictEqual(line(text, 'mull_runs_total{outcome="interrupted"}'), 1)
    assert.strictEqual(line(text, 'mull_backend_spent_total{meter="output_tokens"}'), 40)
    assert.strictEqual(line(text, 'mull_backend_spent_total{meter="verifier_tokens"}'), 7)
  })

  it("two servers' metrics never mix", () => {
    const a = Metrics.make()
    const b = Metrics.make()
    Metrics.observeRun(a, "ok", undefined)
    a.runsInFlight.value = 5
    assert.strictEqual(line(Metrics.render(b), "mull_runs_in_flight"), 0)
    assert.notInclude(Metrics.render(b), "mull_runs_total")
    assert.strictEqual(line(Metrics.render(a), "mull_runs_in_flight"), 5)
  })
})
