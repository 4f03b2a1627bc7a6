/**
 * `mull serve`: strategies behind an OpenAI-compatible endpoint. A request names a graph as its
 * model (`mull/beam-search`) or an alias, sets params and a budget in `mull` (capped by the server's
 * policy), and gets a normal chat completion whose `usage` is the true sum over every internal call,
 * with the ledger alongside; `stream: true` streams the run's progress and then the answer as
 * server-sent `chat.completion.chunk`s. See docs/service.md.
 *
 * @since 0.1.0
 */
import { timingSafeEqual } from "node:crypto"
import { mkdir, readFile, writeFile } from "node:fs/promises"
import { createServer } from "node:http"
import * as NodePath from "node:path"
import { NodeHttpServer } from "@effect/platform-node"
import { ByteSize, Cause, Context, Effect, Exit, Layer, Queue, Schema, Stream } from "effect"
import { HttpIncomingMessage, HttpRouter, HttpServerRequest, HttpServerResponse } from "effect/http"
import { grade } from "../answer/Equivalence.ts"
import { mathAnswerKey } from "../answer/MathGrader.ts"
import * as Ledger from "../budget/Ledger.ts"
import type * as Limits from "../budget/Limits.ts"
import type { Candidate } from "../domain/Candidate.ts"
import { hash64 } from "../domain/Hash.ts"
import { makeProblem, type Problem } from "../domain/Problem.ts"
import type { RunResult } from "../domain/RunResult.ts"
import * as Steps from "../domain/Steps.ts"
import type { Usage } from "../domain/Usage.ts"
import { minimumCost, staticCost } from "../graph/Cost.ts"
import { formatIssues } from "../graph/Graph.ts"
import { GraphError } from "../graph/GraphError.ts"
import * as Loader from "../graph/Loader.ts"
import type { Params } from "../graph/Scope.ts"
import { validate } from "../graph/Validate.ts"
import { execute, pricingOf, staticFacts } from "../runtime/Run.ts"
import type { RunError } from "../runtime/RunError.ts"
import { type RunEvent, RunEvents } from "../runtime/RunEvents.ts"
import { Generator } from "../services/Generator.ts"
import type { AnswerKey } from "../services/Grader.ts"
import { Verifier } from "../services/Verifier.ts"
import { tracePage } from "../trace/Viewer.ts"
import * as Metrics from "./Metrics.ts"
import { openApi } from "./OpenApi.ts"
import { capBudget, capParams, type Policy, resolveModel } from "./Policy.ts"
import * as Wire from "./Wire.ts"

/** What a served run needs from its backend. */
export type ServedServices = Generator | Verifier | AnswerKey

/** The graphs a server serves, loaded once at start. */
export interface Catalog {
  readonly graphs: ReadonlyMap<string, { readonly loaded: Loader.LoadedGraph; readonly description: string }>
  /** graph files that did not load, with why (reported at start, never served) */
  readonly broken: ReadonlyArray<string>
}

/**
 * Loads every graph of the policy's folders, by name; `use` targets resolve by name only.
 *
 * @example
 * const catalog = yield* loadCatalog(policy)
 */
export const loadCatalog = Effect.fn("mull.serve.catalog")(function* (policy: Policy) {
  const listed = yield* Loader.list(policy.graphs)
  const graphs = new Map<string, { loaded: Loader.LoadedGraph; description: string }>()
  const broken: Array<string> = []
  for (const g of listed) {
    const r = yield* Effect.result(Loader.load(g.name, { folders: policy.graphs, namesOnly: true }))
    if (r._tag === "Success") graphs.set(g.name, { loaded: r.success, description: g.description })
    else broken.push(`${g.file}: ${r.failure.problems.join("; ")}`)
  }
  for (const [model, alias] of Object.entries(policy.aliases))
    if (!graphs.has(alias.graph)) broken.push(`aliases.${model}.graph: no graph named "${alias.graph}" is served`)
  return { graphs, broken } satisfies Catalog
})

/** A reply the handler decided on before running anything. */
class Reply extends Schema.TaggedError<Reply>()("Reply", { status: Schema.Number, body: Schema.Unknown }) {}

const fail = (status: number, message: string, code: string | null = null, param: string | null = null) =>
  Effect.fail(new Reply({ status, body: Wire.errorBody(status, message, code, param) }))

const json = (status: number, body: unknown) => HttpServerResponse.jsonUnsafe(body, { status })

const sameSecret = (a: string, b: string): boolean => {
  const x = Buffer.from(a)
  const y = Buffer.from(b)
  return x.length === y.length && timingSafeEqual(x, y)
}

const authorize = (policy: Policy, request: HttpServerRequest.HttpServerRequest) => {
  if (policy.token === undefined) return Effect.void
  const header = request.headers.authorization ?? ""
  const token = header.startsWith("Bearer ") ? header.slice(7).trim() : ""
  return token !== "" && sameSecret(token, policy.token)
    ? Effect.void
    : fail(401, "missing or wrong bearer token (send Authorization: Bearer <token>)", "invalid_api_key")
}

const isTooLarge = (e: unknown): boolean =>
  /MaxBytes|too large|exceed/iu.test(`${String(e)} ${String((e as { cause?: unknown })?.cause)}`)

/** Reads a JSON body within the size limit: 413 past it, 400 when it is not JSON. */
const readJson = (policy: Policy, request: HttpServerRequest.HttpServerRequest) =>
  Effect.gen(function* () {
    const declared = Number(request.headers["content-length"] ?? "0")
    if (declared > policy.maxBodyBytes)
      return yield* fail(
        413,
        `request body of ${declared} bytes is larger than the limit of ${policy.maxBodyBytes} bytes`
      )
    const bytes = yield* request.arrayBuffer.pipe(
      Effect.provideService(HttpIncomingMessage.MaxBodySize, ByteSize.bytes(policy.maxBodyBytes)),
      Effect.catch((e) =>
        isTooLarge(e)
          ? fail(413, `request body is larger than the limit of ${policy.maxBodyBytes} bytes`)
          : fail(400, `cannot read the request body: ${String(e)}`)
      )
    )
    const text = new TextDecoder().decode(bytes)
    try {
      return JSON.parse(text) as unknown
    } catch (e) {
      return yield* fail(400, `the body is not JSON: ${e instanceof Error ? e.message : String(e)}`)
    }
  })

const decode = <S extends Schema.Top & { readonly DecodingServices: never }>(
  schema: S,
  body: unknown,
  options: { readonly strict?: boolean; readonly prefix?: string } = {}
) =>
  Schema.decodeUnknownEffect(schema)(body, {
    errors: "all",
    ...(options.strict === true ? { onExcessProperty: "error" as const } : {})
  }).pipe(
    Effect.catch((e) => {
      const problems = formatIssues(e, options.prefix ?? "")
      const first = problems[0] ?? ""
      const param = first.includes(":") ? first.slice(0, first.indexOf(":")) : null
      return fail(400, problems.join("; "), "invalid_body", param)
    })
  )

/** The question of a chat: the last user message's text. */
const questionOf = (request: Wire.ChatRequest) => {
  for (let i = request.messages.length - 1; i >= 0; i--) {
    const m = request.messages[i]
    if (m?.role === "user") {
      const text = Wire.contentText(m).trim()
      if (text !== "") return Effect.succeed(text)
    }
  }
  return fail(400, "messages: no user message with text (the last one is the question)", "invalid_body", "messages")
}

/** What a chat request runs: the graph, its params, budget and seed, and how many choices. */
interface Plan {
  readonly id: string
  readonly model: string
  readonly graph: string
  readonly loaded: Loader.LoadedGraph
  readonly problem: Problem
  readonly params: Params
  readonly budget: Limits.Limits
  readonly seed: number
  readonly choices: number
  readonly trace: boolean
}

const planOf = (policy: Policy, catalog: Catalog, request: Wire.ChatRequest, mull: Wire.MullOptions | undefined) =>
  Effect.gen(function* () {
    const resolved = resolveModel(policy, request.model, [...catalog.graphs.keys()])
    if (resolved._tag === "Unknown") return yield* fail(404, resolved.why, "model_not_found", "model")
    const entry = catalog.graphs.get(resolved.graph)
    if (entry === undefined)
      return yield* fail(404, `graph "${resolved.graph}" is not served`, "model_not_found", "model")
    const choices = request.n ?? 1
    if (choices > policy.maxChoices)
      return yield* fail(
        400,
        `n: at most ${policy.maxChoices} choices per request, got ${choices}`,
        "invalid_body",
        "n"
      )
    const declared = entry.loaded.doc.params ?? {}
    // OpenAI's sampling fields set the graph's params of the same meaning, when it declares them
    const fromOpenAi: Record<string, number> = {}
    if (request.temperature != null && "temperature" in declared) fromOpenAi.temperature = request.temperature
    const maxTokens = request.max_completion_tokens ?? request.max_tokens
    if (maxTokens != null && "maxTokens" in declared) fromOpenAi.maxTokens = maxTokens
    const { params } = capParams(policy.maxParams, resolved.params, { ...fromOpenAi, ...mull?.params })
    const budget = capBudget(policy.maxBudget, resolved.budget ?? policy.defaultBudget, mull?.budget)
    const trace = mull?.trace === true
    if (trace && policy.traces === undefined)
      return yield* fail(
        400,
        "mull.trace: this server keeps no traces (start it with --traces DIR)",
        "invalid_body",
        "mull.trace"
      )
    const question = yield* questionOf(request)
    const seed = mull?.seed ?? request.seed ?? 0
    const key = hash64([
      question,
      request.model,
      JSON.stringify(params),
      JSON.stringify(budget),
      seed,
      choices,
      Date.now(),
      Math.random()
    ])
    return {
      id: `chatcmpl-mull-${key.toString(16).padStart(16, "0")}`,
      model: request.model,
      graph: resolved.graph,
      loaded: entry.loaded,
      problem: makeProblem({
        id: `chat/${hash64([question]).toString(16)}`,
        question,
        gold: undefined,
        meta: {}
      }),
      params,
      budget,
      seed,
      choices,
      trace
    } satisfies Plan
  })

/** The outcome of a plan's runs (they share one ledger: the budget is the request's). */
interface Outcome {
  readonly results: ReadonlyArray<RunResult>
  readonly snapshot: Ledger.LedgerSnapshot
  readonly delimiter: string
}

const runPlan = (metrics: Metrics.Metrics, plan: Plan, events: RunEvents["Service"]) =>
  Effect.gen(function* () {
    const generator = yield* Generator
    const verifier = yield* Verifier
    const inner = yield* Ledger.make(plan.budget, pricingOf(generator, verifier, undefined))
    const ledger = Ledger.tracked(inner, metrics.reservationsOutstanding)
    metrics.runsInFlight.value += 1
    const results = yield* Effect.forEach(
      Array.from({ length: plan.choices }, (_, i) => i),
      (i) =>
        execute(plan.loaded, plan.problem, { params: plan.params, seed: plan.seed + i }).pipe(
          Effect.provideService(Ledger.Ledger, ledger),
          Effect.provideService(RunEvents, events)
        ),
      { concurrency: "unbounded" }
    ).pipe(
      Effect.onExit((exit) =>
        Effect.andThen(inner.snapshot, (s) =>
          Effect.sync(() => {
            metrics.runsInFlight.value -= 1
            const outcome = Exit.isSuccess(exit)
              ? exit.value.some((r) => r.exhausted)
                ? "exhausted"
                : "ok"
              : Cause.hasInterruptsOnly(exit.cause)
                ? "interrupted"
                : "failed"
            Metrics.observeRun(metrics, outcome, s.backend)
          })
        )
      )
    )
    const delimiter = plan.loaded.doc.stepDelimiter ?? generator.stepDelimiter
    return { results, snapshot: yield* inner.snapshot, delimiter } satisfies Outcome
  })

/** A run that failed: the status and message of its error. */
const runFailure = (e: RunError | GraphError): Reply => {
  switch (e._tag) {
    case "GraphError":
      return new Reply({ status: 400, body: Wire.errorBody(400, e.problems.join("; "), "invalid_graph_request") })
    case "InvalidValue":
    case "BudgetTooSmall":
      return new Reply({ status: 400, body: Wire.errorBody(400, e.message, "invalid_graph_request", "mull") })
    default:
      return new Reply({
        status: 502,
        body: Wire.errorBody(
          502,
          `the ${e.backend} backend failed (${e._tag}) during ${e.operation}: ${e.message}`,
          "backend_error"
        )
      })
  }
}

/**
 * The candidate a reply shows: the chosen one, or — when no candidate has an answer (a model that
 * does not write `\boxed{}`) — the best-scored complete one, else the first.
 */
const shownOf = (r: RunResult): Candidate | undefined => {
  if (r.chosen !== undefined) return r.chosen
  const done = r.population.filter((c) => c.done)
  const pool = done.length > 0 ? done : r.population
  return pool.reduce<Candidate | undefined>(
    (best, c) => (best === undefined || (c.score ?? 0) > (best.score ?? 0) ? c : best),
    undefined
  )
}

const choicesOf = (outcome: Outcome): ReadonlyArray<Wire.Choice> =>
  outcome.results.map((r) => {
    const shown = shownOf(r)
    return {
      content: shown === undefined ? "" : Steps.text(shown.steps, outcome.delimiter),
      finishReason: shown === undefined || shown.done ? "stop" : "length"
    }
  })

const mullReply = (plan: Plan, outcome: Outcome): Wire.MullReply => {
  const s = outcome.snapshot
  return {
    strategy: plan.graph,
    params: plan.params,
    budget: plan.budget as { readonly [meter: string]: number },
    seed: plan.seed,
    answers: outcome.results.map((r) => r.answer ?? null),
    exhausted: outcome.results.some((r) => r.exhausted),
    usage: s.committed,
    backendUsage: s.backend,
    ledger: s.byNode,
    ranking: outcome.results[0]?.ranking ?? [],
    ...(plan.trace ? { trace: plan.id } : {})
  }
}

const TRACE_ID = /^chatcmpl-mull-[0-9a-f]{16}$/u

const writeTrace = (policy: Policy, plan: Plan, lines: ReadonlyArray<string>) =>
  policy.traces === undefined || !plan.trace
    ? Effect.void
    : Effect.promise(async () => {
        const dir = policy.traces ?? ""
        await mkdir(dir, { recursive: true })
        await writeFile(NodePath.join(dir, `${plan.id}.jsonl`), lines.length === 0 ? "" : `${lines.join("\n")}\n`)
      })

/** Run events of one request: recorded for its trace and handed to `emit` (the SSE stream). */
const requestEvents = (record: boolean, lines: Array<string>, emit: ((e: RunEvent) => void) | undefined) =>
  RunEvents.of({
    enabled: record || emit !== undefined,
    publish: (e) =>
      Effect.sync(() => {
        if (record) lines.push(JSON.stringify(e))
        emit?.(e)
      }),
    subscribe: Effect.succeed(Stream.empty)
  })

const sse = (data: unknown): string => `data: ${typeof data === "string" ? data : JSON.stringify(data)}\n\n`

/** The streaming reply: progress chunks, then the answer, a usage chunk, and `[DONE]`. */
const streamReply = (policy: Policy, metrics: Metrics.Metrics, plan: Plan, context: ServedContext) => {
  const created = Math.floor(Date.now() / 1000)
  const body = Stream.callback<string>((queue) =>
    Effect.gen(function* () {
      const send = (data: unknown) => {
        Queue.offerUnsafe(queue, sse(data))
      }
      send(
        Wire.chunk(plan.id, plan.model, created, [
          { index: 0, delta: { role: "assistant", content: "" }, finish_reason: null }
        ])
      )
      const lines: Array<string> = []
      const events = requestEvents(plan.trace, lines, (e) =>
        send(Wire.chunk(plan.id, plan.model, created, [], { mull: { event: e } }))
      )
      const exit = yield* Effect.exit(Effect.provide(runPlan(metrics, plan, events), context))
      yield* writeTrace(policy, plan, lines)
      if (Exit.isSuccess(exit)) {
        const outcome = exit.value
        for (const [index, c] of choicesOf(outcome).entries()) {
          send(
            Wire.chunk(plan.id, plan.model, created, [{ index, delta: { content: c.content }, finish_reason: null }])
          )
          send(Wire.chunk(plan.id, plan.model, created, [{ index, delta: {}, finish_reason: c.finishReason }]))
        }
        send(
          Wire.chunk(plan.id, plan.model, created, [], {
            usage: Wire.wireUsage(outcome.snapshot.committed),
            mull: mullReply(plan, outcome)
          })
        )
      } else {
        const failure = Cause.findErrorOption(exit.cause)
        const reply =
          failure._tag === "Some"
            ? runFailure(failure.value)
            : new Reply({ status: 500, body: Wire.errorBody(500, "the run ended unexpectedly", "internal_error") })
        send(reply.body)
      }
      send("[DONE]")
      yield* Queue.end(queue)
    })
  )
  return HttpServerResponse.stream(Stream.encodeText(body), {
    contentType: "text/event-stream",
    headers: { "cache-control": "no-cache", connection: "keep-alive", "x-accel-buffering": "no" }
  })
}

/** The backend services a server runs with, captured at start. */
export type ServedContext = Context.Context<ServedServices>

const chatCompletions = (policy: Policy, catalog: Catalog, metrics: Metrics.Metrics, context: ServedContext) =>
  Effect.gen(function* () {
    const http = yield* HttpServerRequest.HttpServerRequest
    yield* authorize(policy, http)
    const request = yield* decode(Wire.ChatRequest, yield* readJson(policy, http))
    const mull =
      request.mull === undefined
        ? undefined
        : yield* decode(Wire.MullOptions, request.mull, { strict: true, prefix: "mull" })
    const plan = yield* planOf(policy, catalog, request, mull)
    // checked before a stream starts, so a bad param is a 400 whether or not the client streams
    const facts = staticFacts(
      plan.loaded,
      plan.params,
      plan.budget,
      Context.get(context, Generator),
      Context.get(context, Verifier)
    )
    if (facts.problems.length > 0) return yield* fail(400, facts.problems.join("; "), "invalid_graph_request", "mull")
    if (request.stream === true) return streamReply(policy, metrics, plan, context)
    const lines: Array<string> = []
    const outcome = yield* Effect.provide(
      runPlan(metrics, plan, requestEvents(plan.trace, lines, undefined)),
      context
    ).pipe(Effect.ensuring(writeTrace(policy, plan, lines)), Effect.mapError(runFailure))
    return json(
      200,
      Wire.completion(
        plan.id,
        plan.model,
        Math.floor(Date.now() / 1000),
        choicesOf(outcome),
        Wire.wireUsage(outcome.snapshot.committed),
        mullReply(plan, outcome)
      )
    )
  })

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

const validateGraph = (policy: Policy, catalog: Catalog, context: ServedContext) =>
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

const costGraph = (policy: Policy, catalog: Catalog, context: ServedContext) =>
  Effect.gen(function* () {
    const http = yield* HttpServerRequest.HttpServerRequest
    yield* authorize(policy, http)
    const body = yield* decode(Wire.GraphRequest, yield* readJson(policy, http))
    const loaded = yield* graphOf(policy, catalog, body.graph)
    const generator = Context.get(context, Generator)
    const options = { params: body.params ?? {}, limits: body.budget ?? {}, maxTokens: generator.maxTokens }
    const problems = validate(loaded, { params: options.params, limits: options.limits })
    if (problems.length > 0) return yield* fail(400, problems.join("; "), "invalid_graph", "graph")
    const bound = staticCost(loaded, options)
    return json(200, {
      graph: loaded.doc.name,
      bound: finite(bound.usage),
      population: bound.population,
      minimum: finite(minimumCost(loaded, options))
    })
  })

const models = (policy: Policy, catalog: Catalog) =>
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

/** A request's trace: the JSONL, or (`as: "html"`) the trace viewer's page of it (docs/trace.md). */
const traceFile = (policy: Policy, as: "jsonl" | "html") =>
  Effect.gen(function* () {
    yield* authorize(policy, yield* HttpServerRequest.HttpServerRequest)
    const { id } = yield* HttpRouter.params.pipe(Effect.map((p) => ({ id: p.id ?? "" })))
    if (policy.traces === undefined || !TRACE_ID.test(id))
      return yield* fail(404, `no trace "${id}"`, "trace_not_found")
    const file = NodePath.join(policy.traces, `${id}.jsonl`)
    const text = yield* Effect.promise(() => readFile(file, "utf8").catch(() => undefined))
    if (text === undefined) return yield* fail(404, `no trace "${id}"`, "trace_not_found")
    if (as === "jsonl") return HttpServerResponse.text(text, { contentType: "application/jsonl" })
    const page = yield* tracePage(text, { ...mathAnswerKey, grade }).pipe(
      Effect.mapError(
        (e) =>
          new Reply({
            status: 500,
            body: Wire.errorBody(500, `trace "${id}" does not render: ${e.problems.join("; ")}`, "trace_unreadable")
          })
      )
    )
    return HttpServerResponse.text(page.html, { contentType: "text/html; charset=utf-8" })
  })

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
}

/**
 * The routes of the service, as an `HttpRouter` layer.
 *
 * @example
 * HttpRouter.serve(routes(parts)).pipe(Layer.provide(NodeHttpServer.layer(createServer, { port: 8080 })))
 */
export const routes = (parts: ServerParts) => {
  const { policy, catalog, metrics, context } = parts
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
        handled(metrics, "/v1/graphs/cost", costGraph(policy, catalog, context))
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
 * The parts of a server: the policy's graphs, fresh metrics, and the backend services in context.
 *
 * @example
 * const parts = yield* makeParts(policy)
 */
export const makeParts = Effect.fn("mull.serve.make")(function* (policy: Policy) {
  const catalog = yield* loadCatalog(policy)
  const context = yield* Effect.context<ServedServices>()
  return { policy, catalog, metrics: Metrics.make(), context } satisfies ServerParts
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

export { GraphError }
