/**
 * `mull serve`: strategies behind an OpenAI-compatible endpoint. A request names a graph as its
 * model (`mull/beam-search`) or an alias, sets params and a budget in `mull` (under the server's
 * ceilings), waits for an admission slot, and gets a normal chat completion whose `usage` is the
 * true sum over every internal call, with the ledger alongside; `stream: true` streams the run's
 * progress and then the answer as server-sent `chat.completion.chunk`s. See docs/service.md.
 *
 * @since 0.1.0
 */
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import { Deferred, Effect, Exit, Layer, type Scope } from "effect"
import { HttpRouter, HttpServerRequest, HttpServerResponse } from "effect/http"
import { pricingOf } from "../runtime/Run.ts"
import * as Admission from "./Admission.ts"
import { openApi } from "./Api.ts"
import { generatorOf, loadCatalog, type ServedContext, servedContext, verifierOf } from "./Catalog.ts"
import { chatCompletions } from "./Chat.ts"
import { hardenedServer } from "./Connections.ts"
import type { FleetGate } from "./FleetGate.ts"
import { costGraph, models, validateGraph } from "./GraphApi.ts"
import { authorize, json, type Reply } from "./Http.ts"
import * as Metrics from "./Metrics.ts"
import type { ServerParts } from "./Parts.ts"
import type { Policy } from "./Policy.ts"
import { traceFile } from "./Traces.ts"
import * as Wire from "./Wire.ts"

export type { ServerParts } from "./Parts.ts"

/** Measures a handler and turns its early replies into responses. */
const handled = (
  metrics: Metrics.Metrics,
  route: string,
  handler: Effect.Effect<
    HttpServerResponse.HttpServerResponse,
    Reply,
    HttpServerRequest.HttpServerRequest | HttpRouter.RouteContext | Scope.Scope
  >
) =>
  Effect.gen(function* () {
    const t0 = performance.now()
    const response = yield* handler.pipe(
      Effect.catchTag("Reply", (r) => Effect.succeed(json(r.status, r.body, r.headers)))
    )
    Metrics.observeRequest(metrics, route, response.status, (performance.now() - t0) / 1000)
    return response
  })

/**
 * The body of `GET /healthz`: answered by the Node server itself (`Connections.ts`), and by the
 * router for web handlers, which have no Node server.
 */
const health = (parts: ServerParts): Wire.Health => ({
  status: "ok",
  graphs: parts.catalog.graphs.size,
  runsInFlight: parts.metrics.runsInFlight.value,
  admission: parts.admission.load()
})

/**
 * The routes of the service, as an `HttpRouter` layer.
 *
 * @example
 * HttpHttpRouter.serve(routes(parts)).pipe(Layer.provide(NodeHttpServer.layer(createServer, { port: 8080 })))
 */
export const routes = (parts: ServerParts) => {
  const { policy, metrics } = parts
  return HttpRouter.use((router) =>
    Effect.gen(function* () {
      yield* router.add(
        "POST",
        "/v1/chat/completions",
        handled(metrics, "/v1/chat/completions", chatCompletions(parts))
      )
      yield* router.add("GET", "/v1/models", handled(metrics, "/v1/models", models(parts)))
      yield* router.add("POST", "/v1/graphs/validate", handled(metrics, "/v1/graphs/validate", validateGraph(parts)))
      yield* router.add("POST", "/v1/graphs/cost", handled(metrics, "/v1/graphs/cost", costGraph(parts)))
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
          Effect.sync(() => json(200, health(parts)))
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
              Wire.errorBody(
                404,
                `no route ${http.method} ${http.url.slice(0, 200)}; see /openapi.json`,
                "route_not_found"
              )
            )
          })
        )
      )
    })
  )
}

/**
 * The parts of a server: the policy's graphs, fresh metrics, admission controls, the backend
 * services in context, and optionally a simulated backend's services for the cost route's dry
 * runs (`options.planner`). A store shared by several servers (per-tenant slots and budgets
 * across a fleet) comes in as `options.admission`: it implements `Admission.AdmissionShape`.
 *
 * @example
 * const parts = yield* makeParts(policy, { planner })
 */
export const makeParts = Effect.fn("mull.serve.make")(function* (
  policy: Policy,
  options: {
    /** the admission control of chat completions (default: in memory, `policy.admission`) — a fleet store's */
    readonly admission?: Admission.AdmissionShape
    /** a simulated backend's services for the cost route's dry runs (expected spend); absent: none */
    readonly planner?: ServedContext | undefined
    /** a fleet budget shared with other replicas (`--budget-store`): chat requests bill its tenants */
    readonly fleet?: FleetGate | undefined
  } = {}
) {
  const catalog = yield* loadCatalog(policy)
  const context = yield* servedContext
  const pricing = pricingOf(generatorOf(context), verifierOf(context), policy.prices)
  const metrics = Metrics.make()
  const admission = options.admission ?? Admission.make(policy.admission)
  metrics.admissionLoad = admission.load
  const graphAdmission = Admission.make({
    maxConcurrent: policy.graphApi.maxConcurrent,
    maxQueued: 8 * policy.graphApi.maxConcurrent,
    perTenantConcurrent: policy.graphApi.maxConcurrent,
    perTenantQueued: 4 * policy.graphApi.maxConcurrent,
    queueTimeoutMs: policy.admission.queueTimeoutMs
  })
  return {
    policy,
    catalog,
    metrics,
    context,
    pricing,
    admission,
    graphAdmission,
    draining: Deferred.makeUnsafe<void>(),
    planner: options.planner,
    fleet: options.fleet
  } satisfies ServerParts
})

/**
 * Starts the shutdown of a server's requests: admission refuses new ones (503), and those in
 * flight have `drainMs` to finish before they are answered 503 and their runs interrupted.
 *
 * @example
 * beginDrain(parts)
 */
export const beginDrain = (parts: ServerParts): void => {
  parts.admission.close()
  parts.graphAdmission.close()
  Deferred.doneUnsafe(parts.draining, Exit.void)
}

/**
 * The service on a hardened Node HTTP server (`Connections.ts`) at the policy's host and port;
 * closing the layer stops admitting requests, gives those in flight `drainMs` to finish, then
 * answers the rest 503 and closes.
 *
 * @example
 * Layer.launch(layer(parts))
 */
export const layer = (parts: ServerParts) => {
  const draining = Layer.effectDiscard(Effect.addFinalizer(() => Effect.sync(() => beginDrain(parts))))
  return draining.pipe(
    Layer.provideMerge(
      HttpRouter.serve(routes(parts), { disableLogger: true }).pipe(
        Layer.provideMerge(
          NodeHttpServer.layer(() => hardenedServer(parts.policy, parts.metrics, () => health(parts)), {
            port: parts.policy.port,
            host: parts.policy.host,
            // requests past `drainMs` answer 503 themselves; this is the backstop after that
            gracefulShutdownTimeout: parts.policy.drainMs + 2000
          })
        )
      )
    )
  )
}

export { type Catalog, CatalogError, loadCatalog, type ServedContext, type ServedServices } from "./Catalog.ts"
