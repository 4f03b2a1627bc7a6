/**
 * The graph API of the service: models (the served graphs and aliases), validate and cost.
 *
 * @since 0.1.0
 */
import { Context, Effect } from "effect"
import { HttpServerRequest } from "effect/http"
import type { Usage } from "../domain/Usage.ts"
import { minimumCost } from "../graph/Cost.ts"
import type { GraphError } from "../graph/GraphError.ts"
import * as Loader from "../graph/Loader.ts"
import { effectiveParams, validate } from "../graph/Validate.ts"
import { dryRunProblems, expectedSpend } from "../runtime/Expected.ts"
import { planJson, planOf } from "../runtime/Planning.ts"
import { costOptionsOf, limitProblems, pricingOf } from "../runtime/Run.ts"
import { Generator } from "../services/Generator.ts"
import { Verifier } from "../services/Verifier.ts"
import type { Catalog, ServedContext } from "./Catalog.ts"
import { authorize, decode, fail, json, Reply, readJson } from "./Http.ts"
import type { Policy } from "./Policy.ts"
import * as Wire from "./Wire.ts"

/** A graph of a validate/cost request: a served graph by name, or a document (whose `use`s resolve by name). */
const graphOf = (policy: Policy, catalog: Catalog, graph: Wire.GraphRequest["graph"]) => {
  if (typeof graph === "string") {
    const entry = catalog.graphs.get(graph)
    return entry === undefined
      ? fail(
          404,
          `unknown graph "${graph}"; available: ${[...catalog.graphs.keys()].join(", ")}`,
          "graph_not_found",
          "graph"
        )
      : Effect.succeed(entry.loaded)
  }
  return Loader.fromJson(graph, { folders: policy.graphs, namesOnly: true }).pipe(
    Effect.mapError(
      (e: GraphError) =>
        new Reply({ status: 400, body: Wire.errorBody(400, e.problems.join("; "), "invalid_graph", "graph") })
    )
  )
}

/**
 * `POST /v1/graphs/validate`: a document or a served graph's name, against params, a budget and
 * the backend; an invalid graph is an answer (`valid: false`), not a bad request.
 *
 * @example
 * yield* router.add("POST", "/v1/graphs/validate", validateGraph(policy, catalog, context))
 */
export const validateGraph = (policy: Policy, catalog: Catalog, context: ServedContext) =>
  Effect.gen(function* () {
    const http = yield* HttpServerRequest.HttpServerRequest
    yield* authorize(policy, http)
    const body = yield* decode(Wire.GraphRequest, yield* readJson(policy, http))
    // an invalid document is an answer here (valid: false), not a bad request
    const loaded = yield* Effect.result<Loader.LoadedGraph, Reply | GraphError, never>(
      typeof body.graph === "string"
        ? graphOf(policy, catalog, body.graph)
        : Loader.fromJson(body.graph, { folders: policy.graphs, namesOnly: true })
    )
    if (loaded._tag === "Failure") {
      if (loaded.failure instanceof Reply) return yield* Effect.fail(loaded.failure)
      return json(200, { valid: false, problems: loaded.failure.problems })
    }
    const generator = Context.get(context, Generator)
    const verifier = Context.get(context, Verifier)
    const problems = validate(loaded.success, {
      params: body.params ?? {},
      limits: body.budget ?? {},
      backend: { name: generator.backend, capabilities: generator.capabilities, verifiers: verifier.verifiers }
    })
    return json(200, { valid: problems.length === 0, problems })
  })

const finite = (u: Usage): Record<string, number | null> =>
  Object.fromEntries(Object.entries(u).map(([k, v]) => [k, Number.isFinite(v) ? v : null]))

/** How many synthetic problems the cost route dry-runs a graph on. */
const DRY_RUNS = 12

/**
 * `POST /v1/graphs/cost`: the plan of a graph under a budget (what `mull cost` prints) — per meter
 * the worst case (`worst`, also as `bound`), the worst case under the budget (`underBudget`), the
 * answer minimum (`answerMinimum`), the first call (`minimum`) and, when the server has a
 * simulator to dry-run on (`planner`), the expected spend (`expected.mean`, `expected.sd`) and the
 * meter that binds first (`binds`). Prices come from the server's `prices`, the backend's, and
 * mull's price table.
 *
 * @example
 * yield* router.add("POST", "/v1/graphs/cost", costGraph(policy, catalog, context, planner))
 */
export const costGraph = (
  policy: Policy,
  catalog: Catalog,
  context: ServedContext,
  planner: ServedContext | undefined = undefined
) =>
  Effect.gen(function* () {
    const http = yield* HttpServerRequest.HttpServerRequest
    yield* authorize(policy, http)
    const body = yield* decode(Wire.GraphRequest, yield* readJson(policy, http))
    const loaded = yield* graphOf(policy, catalog, body.graph)
    const generator = Context.get(context, Generator)
    const verifier = Context.get(context, Verifier)
    const params = body.params ?? {}
    const limits = body.budget ?? {}
    const problems = validate(loaded, { params, limits })
    if (problems.length > 0) return yield* fail(400, problems.join("; "), "invalid_graph", "graph")
    const pricing = pricingOf(generator, verifier, policy.prices)
    const refused = limitProblems(loaded, limits, generator, verifier, pricing)
    if (refused.length > 0) return yield* fail(400, refused.join("; "), "invalid_graph", "budget")
    const options = { params, limits, ...costOptionsOf(generator, verifier) }
    const plan = planOf(loaded, options, generator.backend, pricing)
    const expected =
      planner === undefined
        ? undefined
        : yield* expectedSpend(loaded, {
            params,
            limits,
            prices: policy.prices,
            problems: dryRunProblems(DRY_RUNS)
          }).pipe(
            Effect.provide(planner),
            Effect.mapError((e) => new Reply({ status: 400, body: Wire.errorBody(400, e.message, "invalid_graph") }))
          )
    const { params: effective } = effectiveParams(loaded.plan, params)
    return json(200, {
      ...planJson(loaded.doc.name, effective, limits, plan, expected),
      bound: finite(plan.worst),
      minimum: finite(minimumCost(loaded, options))
    })
  })

/**
 * `GET /v1/models`: the served graphs as `mull/<name>`, and the aliases.
 *
 * @example
 * yield* router.add("GET", "/v1/models", models(policy, catalog))
 */
export const models = (policy: Policy, catalog: Catalog) =>
  Effect.gen(function* () {
    yield* authorize(policy, yield* HttpServerRequest.HttpServerRequest)
    return json(200, {
      object: "list",
      data: [
        ...[...catalog.graphs.entries()].map(([name, g]) => ({
          id: `mull/${name}`,
          object: "model",
          created: 0,
          owned_by: "mull",
          description: g.description
        })),
        ...Object.entries(policy.aliases).map(([id, alias]) => ({
          id,
          object: "model",
          created: 0,
          owned_by: "mull",
          description: `alias of mull/${alias.graph}`
        }))
      ]
    })
  })
