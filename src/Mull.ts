/**
 * Embedding mull: run graphs inside someone else's Effect app (a Layer to provide), from plain
 * Promise code (`runGraph`, or a long-lived `makeRunner` for a request handler), or mount the whole
 * service as a web handler (`webHandler`: `(Request) => Promise<Response>`). See docs/service.md.
 *
 * @since 0.1.0
 */
import { Effect, Layer, ManagedRuntime, Stream } from "effect"
import { HttpRouter } from "effect/http"
import { registry as builtin } from "./backends/Registry.ts"
import type * as Limits from "./budget/Limits.ts"
import { makeProblem, type Problem, questionId } from "./domain/Problem.ts"
import type { RunResult } from "./domain/RunResult.ts"
import * as GraphCache from "./graph/GraphCache.ts"
import type { GraphError } from "./graph/GraphError.ts"
import * as Loader from "./graph/Loader.ts"
import type { Params } from "./graph/Scope.ts"
import { type RunOptions, run } from "./runtime/Run.ts"
import type { RunError } from "./runtime/RunError.ts"
import * as RunEvents from "./runtime/RunEvents.ts"
import { policyOf, type ServerConfig } from "./server/Policy.ts"
import * as Server from "./server/Server.ts"
import type { BackendConfigError, BackendServices, Registry } from "./services/Backend.ts"

/** Which backend runs the graphs, and its configuration (as `--backend-config` takes it). */
export interface BackendOptions {
  /** a name in the registry; default its first (`simulated`) */
  readonly backend?: string
  readonly backendConfig?: unknown
  /** the backends to choose from; default mull's own (`backends/Registry.ts`) — add yours with `makeRegistry` */
  readonly registry?: Registry
}

/** The layer of the backend the options name. */
const backendOf = (options: BackendOptions): Layer.Layer<BackendServices, BackendConfigError> => {
  const registry = options.registry ?? builtin
  return registry.layer(options.backend ?? registry.defaultName, options.backendConfig)
}

/**
 * The backend the cost route dry-runs graphs on (expected spend): the served one if it is a
 * simulator, else the registry's simulator with its defaults.
 */
const plannerOf = (options: BackendOptions): Layer.Layer<BackendServices, BackendConfigError> | undefined => {
  const registry = options.registry ?? builtin
  if (registry.find(options.backend ?? registry.defaultName)?.simulator === true) return backendOf(options)
  const simulator = registry.backends.find((b) => b.simulator)
  return simulator === undefined ? undefined : registry.layer(simulator.name)
}

/** What an embedded run needs in context: a backend's services and run events. */
export type MullServices = BackendServices | RunEvents.RunEvents

/**
 * The layer an Effect app provides to run graphs: the backend's services, and run events (silent
 * unless `events: true`, for subscribers of `RunEvents`).
 *
 * @example
 * const result = yield* solve("beam-search", { question: "What is $1+1$?" }, { params: { N: 16 } })
 * // … .pipe(Effect.provide(layer({ backend: "simulated" })))
 */
export const layer = (
  options: BackendOptions & { readonly events?: boolean } = {}
): Layer.Layer<MullServices, BackendConfigError> =>
  Layer.mergeAll(backendOf(options), options.events === true ? RunEvents.layer : RunEvents.layerSilent)

/** A problem, or just its question (plus gold answer and MATH level when known). */
export type ProblemInput =
  | Problem
  | {
      readonly id?: string
      readonly question: string
      readonly gold?: string
      readonly level?: number
    }

/**
 * A problem from its question: the id is derived from the question unless given.
 *
 * @example
 * toProblem({ question: "2+2?", gold: "4" }).id // "question/97c82cba7e5d2a29" (a hash of the whole question)
 */
export const toProblem = (p: ProblemInput): Problem =>
  "meta" in p
    ? p
    : makeProblem({
        id: p.id ?? questionId(p.question),
        question: p.question,
        gold: p.gold,
        meta: p.level === undefined ? {} : { level: p.level }
      })

/**
 * Loads a graph (a built-in name, a path, or a document) and runs it on a problem — the Effect
 * entry point for apps that provide `layer(…)`.
 *
 * @example
 * const result = yield* solve("weighted-best-of-n", { question: "2+2?" }, { params: { N: 8 }, limits: { sequences: 8 } })
 */
export const solve = Effect.fn("mull.solve")(function* (
  graph: string | object,
  problem: ProblemInput,
  options: RunOptions = {}
): Effect.fn.Return<RunResult, RunError | GraphError, MullServices> {
  const loaded = typeof graph === "string" ? yield* Loader.load(graph) : yield* Loader.fromJson(graph)
  return yield* run(loaded, toProblem(problem), options)
})

/** What one Promise-API run takes. */
export interface RunGraphRequest {
  /** a built-in graph name, a path to a graph file, or a graph document (JSON value) */
  readonly graph: string | object
  readonly problem: ProblemInput
  readonly params?: Params
  readonly budget?: Limits.Limits
  readonly seed?: number
  readonly concurrency?: number
  /** called with every run event, as it happens */
  readonly onEvent?: (event: RunEvents.RunEvent) => void
  readonly prices?: RunOptions["prices"]
  /** abort the run (its reservations are released; the promise rejects) */
  readonly signal?: AbortSignal
}

/** What `runGraph` needs: a run and its backend. */
export interface RunGraphOptions extends RunGraphRequest, BackendOptions {}

const runOptionsOf = (r: RunGraphRequest): RunOptions => ({
  ...(r.params === undefined ? {} : { params: r.params }),
  ...(r.budget === undefined ? {} : { limits: r.budget }),
  ...(r.seed === undefined ? {} : { seed: r.seed }),
  ...(r.concurrency === undefined ? {} : { concurrency: r.concurrency }),
  ...(r.prices === undefined ? {} : { prices: r.prices })
})

/** `solve` with the graph from the shared cache: a run does not reload an unchanged graph. */
const solveCached = Effect.fn("mull.solve")(function* (
  graph: string | object,
  problem: ProblemInput,
  options: RunOptions
): Effect.fn.Return<RunResult, RunError | GraphError, MullServices> {
  const loaded = yield* GraphCache.shared.get(graph)
  return yield* run(loaded, toProblem(problem), options)
})

/** One run as an Effect: with an event listener, its own event bus. */
const runRequest = (r: RunGraphRequest) => {
  const onEvent = r.onEvent
  if (onEvent === undefined)
    return solveCached(r.graph, r.problem, runOptionsOf(r)).pipe(Effect.provide(RunEvents.layerSilent))
  return Effect.scoped(
    Effect.gen(function* () {
      const events = yield* RunEvents.RunEvents
      const stream = yield* events.subscribe
      yield* Effect.forkScoped(Stream.runForEach(stream, (e) => Effect.sync(() => onEvent(e))))
      const result = yield* solveCached(r.graph, r.problem, runOptionsOf(r))
      yield* Effect.yieldNow
      return result
    })
  ).pipe(Effect.provide(RunEvents.layer))
}

/**
 * Runs a graph on one problem, for callers that do not use Effect. Rejects with the run's tagged
 * error (`GraphError`, `BudgetTooSmall`, a backend error…), which is an `Error` with a message.
 *
 * @example
 * const result = await runGraph({ graph: "weighted-best-of-n", problem: { question: "2+2?", gold: "4" }, params: { N: 8 } })
 */
export const runGraph = (options: RunGraphOptions): Promise<RunResult> =>
  Effect.runPromise(
    runRequest(options).pipe(Effect.provide(backendOf(options))),
    options.signal === undefined ? undefined : { signal: options.signal }
  )

/** A long-lived runner: the backend is built once and shared by every run (a request handler's). */
export interface Runner {
  readonly run: (request: RunGraphRequest) => Promise<RunResult>
  /** releases the backend (a local model, connections) */
  readonly dispose: () => Promise<void>
}

/**
 * A runner for Promise code that runs many graphs on one backend — e.g. in an Express or Fastify
 * handler, where building the backend per request would be wasteful.
 *
 * @example
 * const mull = makeRunner({ backend: "simulated" })
 * app.post("/solve", async (req, res) => res.json(await mull.run({ graph: "beam-search", problem: { question: req.body.q } })))
 */
export const makeRunner = (options: BackendOptions = {}): Runner => {
  const runtime = ManagedRuntime.make(backendOf(options))
  return {
    run: (request) =>
      runtime.runPromise(runRequest(request), request.signal === undefined ? undefined : { signal: request.signal }),
    dispose: () => runtime.dispose()
  }
}

/** A mounted service: a fetch-style handler and how to release it. */
export interface WebHandler {
  readonly handler: (request: Request) => Promise<Response>
  readonly dispose: () => Promise<void>
}

/**
 * The whole service (`mull serve`'s routes) as a `(Request) => Promise<Response>` handler, to mount
 * in any server that speaks web requests (Node's `fetch`-style frameworks, Bun, Deno, Hono…).
 *
 * @example
 * const { handler } = await webHandler({ backend: "simulated" })
 * const res = await handler(new Request("http://x/v1/models"))
 */
export const webHandler = async (
  options: BackendOptions & { readonly config?: ServerConfig; readonly token?: string } = {}
): Promise<WebHandler> => {
  const policy = policyOf(options.config ?? {}, Loader.builtinDir, options.token)
  const planner = plannerOf(options)
  const parts = await Effect.runPromise(
    Effect.gen(function* () {
      const dry =
        planner === undefined ? undefined : yield* Effect.provide(Effect.context<Server.ServedServices>(), planner)
      return yield* Server.makeParts(policy, { planner: dry })
    }).pipe(Effect.provide(backendOf(options)))
  )
  const web = HttpRouter.toWebHandler(Server.routes(parts), { disableLogger: true })
  return { handler: (request) => web.handler(request), dispose: () => web.dispose() }
}
