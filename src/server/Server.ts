/**
 * `mull serve`: strategies behind an OpenAI-compatible endpoint. A request names a graph as its
 * model (`mull/beam-search`) or an alias, sets params and a budget in `mull` (capped by the server's
 * policy), and gets a normal chat completion whose `usage` is the true sum over every internal call,
 * with the ledger alongside; `stream: true` streams the run's progress and then the answer as
 * server-sent `chat.completion.chunk`s. See docs/service.md.
 *
 * @since 0.1.0
 */
import { createServer } from "node:http"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import { Effect, Layer } from "effect"
import { HttpRouter, HttpServerRequest, HttpServerResponse } from "effect/http"
import { type Catalog, loadCatalog, type ServedContext, type ServedServices } from "./Catalog.ts"
import { chatCompletions } from "./Chat.ts"
import { costGraph, models, validateGraph } from "./GraphApi.ts"
import { authorize, json, type Reply } from "./Http.ts"
import * as Metrics from "./Metrics.ts"
import { openApi } from "./OpenApi.ts"
import type { Policy } from "./Policy.ts"
import { traceFile } from "./Traces.ts"
import * as Wire from "./Wire.ts"

/** Measures a handler and turns its early replies into responses. */
const handled = (
  metrics: Metrics.Metrics,
  route: string,
  handler: Effect.Effect<
    HttpServerResponse.HttpServerResponse,
    Reply,
    HttpServerRequest.HttpServerRequest | HttpRouter.RouteContext
  >
) =>
  Effect.gen(function* () {
    const t0 = performance.now()
    const response = yield* handler.pipe(Effect.catchTag("Reply", (r) => Effect.succeed(json(r.status, r.body))))
    Metrics.observeRequest(metrics, route, response.status, (performance.now() - t0) / 1000)
    return response
  })

/** Everything a server needs: its policy, graphs, metrics and backend. */
export interface ServerParts {
  readonly policy: Policy
  readonly catalog: Catalog
  readonly metrics: Metrics.Metrics
  readonly context: ServedContext
  /** a simulated backend for the cost route's dry runs (expected spend); absent: none are made */
  readonly planner?: ServedContext | undefined
}

/**
 * The routes of the service, as an `HttpRouter` layer.
 *
 * @example
 * HttpRouter.serve(routes(parts)).pipe(Layer.provide(NodeHttpServer.layer(createServer, { port: 8080 })))
 */
export const routes = (parts: ServerParts) => {
  const { policy, catalog, metrics, context, planner } = parts
  return HttpRouter.use((router) =>
    Effect.gen(function* () {
      yield* router.add(
        "POST",
        "/v1/chat/completions",
        handled(metrics, "/v1/chat/completions", chatCompletions(policy, catalog, metrics, context))
      )
      yield* router.add("GET", "/v1/models", handled(metrics, "/v1/models", models(policy, catalog)))
      yield* router.add(
        "POST",
        "/v1/graphs/validate",
        handled(metrics, "/v1/graphs/validate", validateGraph(policy, catalog, context))
      )
      yield* router.add(
        "POST",
        "/v1/graphs/cost",
        handled(metrics, "/v1/graphs/cost", costGraph(policy, catalog, context, planner))
      )
      yield* router.add("GET", "/v1/traces/:id", handled(metrics, "/v1/traces/:id", traceFile(policy, "jsonl")))
      yield* router.add(
        "GET",
        "/v1/traces/:id/html",
        handled(metrics, "/v1/traces/:id/html", traceFile(policy, "html"))
      )
      yield* router.add(
        "GET",
        "/healthz",
        handled(
          metrics,
          "/healthz",
          Effect.sync(() =>
            json(200, { status: "ok", graphs: catalog.graphs.size, runsInFlight: metrics.runsInFlight.value })
          )
        )
      )
      yield* router.add(
        "GET",
        "/metrics",
        handled(
          metrics,
          "/metrics",
          Effect.gen(function* () {
            yield* authorize(policy, yield* HttpServerRequest.HttpServerRequest)
            return HttpServerResponse.text(Metrics.render(metrics), { contentType: "text/plain; version=0.0.4" })
          })
        )
      )
      yield* router.add(
        "GET",
        "/openapi.json",
        handled(
          metrics,
          "/openapi.json",
          Effect.sync(() => json(200, openApi()))
        )
      )
      yield* router.add(
        "*",
        "/*",
        handled(
          metrics,
          "(unknown)",
          Effect.gen(function* () {
            const http = yield* HttpServerRequest.HttpServerRequest
            return json(
              404,
              Wire.errorBody(404, `no route ${http.method} ${http.url}; see /openapi.json`, "route_not_found")
            )
          })
        )
      )
    })
  )
}

/**
 * The parts of a server: the policy's graphs, fresh metrics, the backend services in context, and
 * optionally a simulated backend's services for the cost route's dry runs.
 *
 * @example
 * const parts = yield* makeParts(policy, planner)
 */
export const makeParts = Effect.fn("mull.serve.make")(function* (
  policy: Policy,
  planner: ServedContext | undefined = undefined
) {
  const catalog = yield* loadCatalog(policy)
  const context = yield* Effect.context<ServedServices>()
  return { policy, catalog, metrics: Metrics.make(), context, planner } satisfies ServerParts
})

/**
 * The service on Node's HTTP server at the policy's host and port; closing the layer stops taking
 * requests and drains those in flight (up to `drainMs`).
 *
 * @example
 * Layer.launch(layer(parts))
 */
export const layer = (parts: ServerParts) =>
  HttpRouter.serve(routes(parts), { disableLogger: true }).pipe(
    Layer.provideMerge(
      NodeHttpServer.layer(() => createServer(), {
        port: parts.policy.port,
        host: parts.policy.host,
        gracefulShutdownTimeout: parts.policy.drainMs
      })
    )
  )

export { type Catalog, loadCatalog, type ServedContext, type ServedServices } from "./Catalog.ts"
