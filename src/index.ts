/**
 * mull — spend LLM test-time compute well. Strategies are graph documents run by an Effect runtime
 * with budget accounting built in.
 *
 * Two ways in:
 *
 * - **Effect**: `Loader.load` a graph, then `run(loaded, problem, options)` with the backend's
 *   layer (`backendLayer("simulated")`) and `RunEvents.layerSilent` (or `RunEvents.layer` to
 *   subscribe to progress).
 * - **Promise** (non-Effect callers): `runGraph({ graph, problem, params, budget, seed })`.
 *
 * @example
 * import { runGraph } from "mull"
 * const result = await runGraph({
 *   graph: "beam-search",
 *   problem: { question: "What is $1+1$?", gold: "2", level: 1 },
 *   params: { N: 16 },
 *   budget: { sequences: 200 }
 * })
 * console.log(result.answer, result.usage.sequences, result.exhausted)
 *
 * @since 0.1.0
 */
import { Effect, Layer, Stream } from "effect"
import { type BackendName, backendLayer } from "./backends.ts"
import type * as LimitsModule from "./budget/Limits.ts"
import { makeProblem, type Problem } from "./domain/Problem.ts"
import type { RunResult } from "./domain/RunResult.ts"
import * as LoaderModule from "./graph/Loader.ts"
import type { Params } from "./graph/Scope.ts"
import { type RunOptions, run } from "./runtime/Run.ts"
import * as RunEventsModule from "./runtime/RunEvents.ts"

export * as Answer from "./answer/MathGrader.ts"
export { BACKENDS, BackendConfigError, type BackendName, type BackendServices, backendLayer } from "./backends.ts"
export * as Ledger from "./budget/Ledger.ts"
export * as Limits from "./budget/Limits.ts"
export * as Pricing from "./budget/Pricing.ts"
export * as Candidate from "./domain/Candidate.ts"
export * as Hash from "./domain/Hash.ts"
export * as Population from "./domain/Population.ts"
export * as Problem from "./domain/Problem.ts"
export type { NodeUsage, RankedAnswer, RunResult } from "./domain/RunResult.ts"
export * as Steps from "./domain/Steps.ts"
export * as Usage from "./domain/Usage.ts"
export * as Cost from "./graph/Cost.ts"
export * as Expression from "./graph/Expression.ts"
export * as Graph from "./graph/Graph.ts"
export { GraphError } from "./graph/GraphError.ts"
export * as JsonSchema from "./graph/JsonSchema.ts"
export * as Loader from "./graph/Loader.ts"
export * as Validate from "./graph/Validate.ts"
export { execute, type RunOptions, run } from "./runtime/Run.ts"
export { BudgetTooSmall, InvalidValue, type RunError } from "./runtime/RunError.ts"
export * as RunEvents from "./runtime/RunEvents.ts"
export * as BackendError from "./services/BackendError.ts"
export { CAPABILITIES, type Capability } from "./services/Capability.ts"
export { type GenerateRequest, type GenerateResult, type Generation, Generator } from "./services/Generator.ts"
export { AnswerKey, Grader } from "./services/Grader.ts"
export { Tokenizer } from "./services/Tokenizer.ts"
export { type ScoreRequest, type ScoreResult, Verifier } from "./services/Verifier.ts"

/** What `runGraph` needs. */
export interface RunGraphOptions {
  /** a built-in graph name, a path to a graph file, or a graph document (JSON value) */
  readonly graph: string | object
  /** a problem, or just its question (plus gold and MATH level when known) */
  readonly problem:
    | Problem
    | {
        readonly id?: string
        readonly question: string
        readonly gold?: string
        readonly level?: number
      }
  readonly params?: Params
  readonly budget?: LimitsModule.Limits
  readonly seed?: number
  readonly concurrency?: number
  /** the backend (default `simulated`) and its configuration */
  readonly backend?: BackendName
  readonly backendConfig?: unknown
  /** called with every run event, as it happens */
  readonly onEvent?: (event: RunEventsModule.RunEvent) => void
  readonly prices?: RunOptions["prices"]
}

const toProblem = (p: RunGraphOptions["problem"]): Problem =>
  "meta" in p
    ? p
    : makeProblem({
        id: p.id ?? `question/${Buffer.from(p.question).toString("base64url").slice(0, 24)}`,
        question: p.question,
        gold: p.gold,
        meta: p.level === undefined ? {} : { level: p.level }
      })

/**
 * Runs a graph on one problem, for callers that do not use Effect. Rejects with the run's tagged
 * error (`GraphError`, `BudgetTooSmall`, a backend error…), which is an `Error` with a message.
 *
 * @example
 * const result = await runGraph({ graph: "weighted-best-of-n", problem: { question: "2+2?", gold: "4" }, params: { N: 8 } })
 */
export const runGraph = (options: RunGraphOptions): Promise<RunResult> => {
  const program = Effect.gen(function* () {
    const loaded =
      typeof options.graph === "string"
        ? yield* LoaderModule.load(options.graph)
        : yield* LoaderModule.fromJson(options.graph)
    const runOptions: RunOptions = {
      ...(options.params === undefined ? {} : { params: options.params }),
      ...(options.budget === undefined ? {} : { limits: options.budget }),
      ...(options.seed === undefined ? {} : { seed: options.seed }),
      ...(options.concurrency === undefined ? {} : { concurrency: options.concurrency }),
      ...(options.prices === undefined ? {} : { prices: options.prices })
    }
    const onEvent = options.onEvent
    if (onEvent === undefined) return yield* run(loaded, toProblem(options.problem), runOptions)
    return yield* Effect.scoped(
      Effect.gen(function* () {
        const events = yield* RunEventsModule.RunEvents
        const stream = yield* events.subscribe
        yield* Effect.forkScoped(Stream.runForEach(stream, (e) => Effect.sync(() => onEvent(e))))
        const result = yield* run(loaded, toProblem(options.problem), runOptions)
        yield* Effect.yieldNow
        return result
      })
    )
  })
  const events = options.onEvent === undefined ? RunEventsModule.layerSilent : RunEventsModule.layer
  return Effect.runPromise(
    program.pipe(
      Effect.provide(Layer.mergeAll(backendLayer(options.backend ?? "simulated", options.backendConfig), events))
    )
  )
}
