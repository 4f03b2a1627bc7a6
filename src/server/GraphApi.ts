/**
 * The graph API of the service: models (the served graphs and aliases), validate and cost. A
 * document sent to validate or cost is bounded before any work — its body (`graphApi.maxBodyBytes`)
 * and the plan it would compile to, `use`d graphs included (`graphApi.maxPlanNodes`) — resolves
 * every `use` against the loaded catalog (no file is read, nothing is decoded twice), runs under
 * its own small admission limit, and answers from a cache when the same document comes again.
 *
 * @since 0.1.0
 */
import { Effect, Option } from "effect"
import { HttpServerRequest } from "effect/http"
import type * as Limits from "../budget/Limits.ts"
import type { Usage } from "../domain/Usage.ts"
import { minimumCost } from "../graph/Cost.ts"
import type { GraphError } from "../graph/GraphError.ts"
import * as Loader from "../graph/Loader.ts"
import type { Params } from "../graph/Scope.ts"
import { effectiveParams, validate } from "../graph/Validate.ts"
import { dryRunProblems, expectedSpend } from "../runtime/Expected.ts"
import { planJson, planOf } from "../runtime/Planning.ts"
import { costOptionsOf, limitProblems } from "../runtime/Run.ts"
import type { Overloaded } from "./Admission.ts"
import { type Catalog, generatorOf, verifierOf } from "./Catalog.ts"
import { capParams, costDrivers, paramCeilings } from "./Ceilings.ts"
import { authorize, bodyDeadline, decode, fail, json, Reply, readJson } from "./Http.ts"
import * as Metrics from "./Metrics.ts"
import type { ServerParts } from "./Parts.ts"
import * as Wire from "./Wire.ts"

/**
 * How many plan nodes a document compiles to: its own nodes (objects with a `type`) plus, for each
 * `use` of a served graph, that graph's plan — counted on the JSON, before decoding anything.
 *
 * @example
 * planSize({ root: { type: "use", graph: "beam-search" } }, catalog) // 1 + beam-search's plan nodes
 */
export const planSize = (json: unknown, catalog: Catalog): number => {
  let size = 0
  const stack: Array<unknown> = [json]
  for (let top = stack.pop(); top !== undefined; top = stack.pop()) {
    if (typeof top !== "object" || top === null) continue
    if (!Array.isArray(top)) {
      const o = top as Record<string, unknown>
      if (typeof o.type === "string") {
        size += 1
        if (o.type === "use" && typeof o.graph === "string") size += catalog.graphs.get(o.graph)?.planNodes ?? 0
      }
    }
    for (const v of Object.values(top)) if (typeof v === "object" && v !== null) stack.push(v)
  }
  return size
}

/** A small cache of answers by request body: the same document validated or costed again costs nothing. */
const makeCache = (size: number) => {
  const entries = new Map<string, { readonly status: number; readonly body: unknown }>()
  return {
    get: (key: string) => {
      const hit = entries.get(key)
      if (hit !== undefined) {
        entries.delete(key)
        entries.set(key, hit)
      }
      return hit
    },
    set: (key: string, value: { readonly status: number; readonly body: unknown }) => {
      entries.set(key, value)
      if (entries.size > size) {
        const oldest = entries.keys().next()
        if (oldest.done !== true) entries.delete(oldest.value)
      }
    }
  }
}

const caches = new WeakMap<ServerParts, ReturnType<typeof makeCache>>()
const cacheOf = (parts: ServerParts) => {
  let cache = caches.get(parts)
  if (cache === undefined) {
    cache = makeCache(256)
    caches.set(parts, cache)
  }
  return cache
}

/** A graph of a validate/cost request: a served graph by name, or a document (whose `use`s resolve by name). */
const graphOf = (
  parts: ServerParts,
  graph: Wire.GraphRequest["graph"]
): Effect.Effect<Loader.LoadedGraph, Reply | GraphError> => {
  const { catalog, policy } = parts
  if (typeof graph === "string") {
    const entry = catalog.graphs.get(graph)
    return entry === undefined
      ? fail(
          404,
          `unknown graph "${graph.slice(0, 100)}"; available: ${[...catalog.graphs.keys()].join(", ")}`,
          "graph_not_found",
          "graph"
        )
      : Effect.succeed(entry.loaded)
  }
  const size = planSize(graph, catalog)
  if (size > policy.graphApi.maxPlanNodes)
    return fail(
      413,
      `graph: the document compiles to ${size} plan nodes (its used graphs included); the limit is ${policy.graphApi.maxPlanNodes}`,
      "graph_too_large",
      "graph"
    )
  return Loader.fromJson(graph, { folders: [], namesOnly: true, named: catalog.named })
}

/**
 * The common part of validate and cost: authorize, read (within the graph API's body limit) and
 * decode the request, answer from the cache, or compute under the graph API's admission.
 */
const graphRoute = (
  parts: ServerParts,
  route: string,
  compute: (body: Wire.GraphRequest) => Effect.Effect<{ readonly status: number; readonly body: unknown }, Reply>
) =>
  Effect.gen(function* () {
    const { policy } = parts
    const http = yield* HttpServerRequest.HttpServerRequest
    const tenant = yield* authorize(policy, http)
    const raw = yield* readJson(policy, http, {
      maxBytes: policy.graphApi.maxBodyBytes,
      timeoutMs: bodyDeadline(policy)
    })
    const body = yield* decode(Wire.GraphRequest, raw)
    const key = `${route}\u0000${JSON.stringify(raw)}`
    const cache = cacheOf(parts)
    const hit = cache.get(key)
    if (hit !== undefined) return json(hit.status, hit.body)
    const answer = yield* Effect.scoped(
      Effect.andThen(
        parts.graphAdmission.admit({ tenant, route }).pipe(
          Effect.mapError((e: Overloaded) => {
            Metrics.count(parts.metrics, { _tag: "AdmissionRejected", reason: e.reason })
            return new Reply({
              status: e.status,
              body: Wire.errorBody(e.status, e.message, "overloaded"),
              headers: { "retry-after": String(e.retryAfterSeconds) }
            })
          })
        ),
        compute(body)
      )
    )
    cache.set(key, answer)
    return json(answer.status, answer.body)
  })

/**
 * `POST /v1/graphs/validate`: a document or a served graph's name, against params, a budget and
 * the backend; an invalid graph is an answer (`valid: false`), not a bad request.
 *
 * @example
 * yield* router.add("POST", "/v1/graphs/validate", validateGraph(parts))
 */
export const validateGraph = (parts: ServerParts) =>
  graphRoute(parts, "validate", (body) =>
    Effect.gen(function* () {
      const loaded = yield* Effect.result(graphOf(parts, body.graph))
      if (loaded._tag === "Failure") {
        // an invalid document is an answer here (valid: false), not a bad request
        if (loaded.failure instanceof Reply) return yield* Effect.fail(loaded.failure)
        return { status: 200, body: { valid: false, problems: loaded.failure.problems } }
      }
      const generator = generatorOf(parts.context)
      const verifier = verifierOf(parts.context)
      const problems = validate(loaded.success, {
        params: body.params ?? {},
        limits: body.budget ?? {},
        backend: { name: generator.backend, capabilities: generator.capabilities, verifiers: verifier.verifiers }
      })
      return { status: 200, body: { valid: problems.length === 0, problems } }
    })
  )

const finite = (u: Usage): Record<string, number | null> =>
  Object.fromEntries(Object.entries(u).map(([k, v]) => [k, Number.isFinite(v) ? v : null]))

/** How many synthetic problems the cost route dry-runs a graph on. */
const DRY_RUNS = 12

/**
 * The cost route's expected spend: dry runs on the server's simulator (`planner`), or why there
 * are none — no simulator, params above the ceilings a chat request would be held to, or runs that
 * did not finish within `graphApi.dryRunMs`.
 */
const dryRun = (parts: ServerParts, loaded: Loader.LoadedGraph, params: Params, limits: Limits.Limits) =>
  Effect.gen(function* () {
    const { policy, planner } = parts
    if (planner === undefined) return { expected: undefined, skipped: undefined }
    const ceilings = paramCeilings(loaded, costDrivers(loaded, generatorOf(parts.context).maxTokens), {
      maxParams: policy.maxParams,
      paramHeadroom: policy.paramHeadroom,
      alias: {}
    })
    const { capped } = capParams(ceilings, {}, params)
    if (capped.length > 0)
      return {
        expected: undefined,
        skipped: `no dry run: ${capped.map((name) => `${name} is above this server's ceiling of ${ceilings[name]}`).join(", ")}`
      }
    const expected = yield* expectedSpend(loaded, {
      params,
      limits,
      prices: policy.prices,
      problems: dryRunProblems(DRY_RUNS)
    }).pipe(
      Effect.provide(planner),
      Effect.mapError((e) => new Reply({ status: 400, body: Wire.errorBody(400, e.message, "invalid_graph") })),
      Effect.timeoutOption(policy.graphApi.dryRunMs)
    )
    return Option.isSome(expected)
      ? { expected: expected.value, skipped: undefined }
      : { expected: undefined, skipped: `no dry run: the runs did not finish within ${policy.graphApi.dryRunMs} ms` }
  })

/**
 * `POST /v1/graphs/cost`: the plan of a graph under a budget (what `mull cost` prints) — per meter
 * the worst case (`worst`, also as `bound`), the worst case under the budget (`underBudget`), the
 * answer minimum (`answerMinimum`), the first call (`minimum`) and, when the server has a
 * simulator to dry-run on (`planner`), the expected spend (`expected.mean`, `expected.sd`) and the
 * meter that binds first (`binds`). Prices come from the server's `prices`, the backend's, and
 * mull's price table.
 *
 * @example
 * yield* router.add("POST", "/v1/graphs/cost", costGraph(parts))
 */
export const costGraph = (parts: ServerParts) =>
  graphRoute(parts, "cost", (body) =>
    Effect.gen(function* () {
      const loaded = yield* graphOf(parts, body.graph).pipe(
        Effect.mapError((e) =>
          e instanceof Reply
            ? e
            : new Reply({ status: 400, body: Wire.errorBody(400, e.problems.join("; "), "invalid_graph", "graph") })
        )
      )
      const generator = generatorOf(parts.context)
      const verifier = verifierOf(parts.context)
      const params = body.params ?? {}
      const limits = body.budget ?? {}
      const problems = validate(loaded, { params, limits })
      if (problems.length > 0) return yield* fail(400, problems.join("; "), "invalid_graph", "graph")
      const pricing = parts.pricing
      const refused = limitProblems(loaded, limits, generator, verifier, pricing)
      if (refused.length > 0) return yield* fail(400, refused.join("; "), "invalid_graph", "budget")
      const options = { params, limits, ...costOptionsOf(generator, verifier) }
      const plan = planOf(loaded, options, generator.backend, pricing)
      // the dry runs are the costly part (CPU and memory on this server): they run under the graph
      // API's admission, only for params within the ceilings a chat request would get, and stop
      // after `graphApi.dryRunMs`; the answer is cached by body like the rest
      const dry = yield* dryRun(parts, loaded, params, limits)
      const { params: effective } = effectiveParams(loaded.plan, params)
      return {
        status: 200,
        body: {
          ...planJson(loaded.doc.name, effective, limits, plan, dry.expected),
          ...(dry.skipped === undefined ? {} : { expectedSkipped: dry.skipped }),
          bound: finite(plan.worst),
          minimum: finite(minimumCost(loaded, options))
        }
      }
    })
  )

/**
 * `GET /v1/models`: the served graphs as `mull/<name>`, and the served aliases.
 *
 * @example
 * yield* router.add("GET", "/v1/models", models(parts))
 */
export const models = (parts: ServerParts) =>
  Effect.gen(function* () {
    yield* authorize(parts.policy, yield* HttpServerRequest.HttpServerRequest)
    return json(200, {
      object: "list",
      data: [
        ...[...parts.catalog.graphs.entries()].map(([name, g]) => ({
          id: `mull/${name}`,
          object: "model",
          created: 0,
          owned_by: "mull",
          description: g.description
        })),
        ...[...parts.catalog.aliases.entries()].map(([id, alias]) => ({
          id,
          object: "model",
          created: 0,
          owned_by: "mull",
          description: `alias of mull/${alias.graph}`
        }))
      ]
    })
  })
