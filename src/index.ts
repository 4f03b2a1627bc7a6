/**
 * mull — spend LLM test-time compute well. Strategies are graph documents run by an Effect runtime
 * with budget accounting built in.
 *
 * Two ways in:
 *
 * - **Effect**: `Loader.load` a graph, then `run(loaded, problem, options)` with the backend's
 *   layer (`backendLayer("simulated")`, from the `registry` of backends) and `RunEvents.layerSilent`
 *   (or `RunEvents.layer` to subscribe to progress).
 * - **Effect app**: provide `layer({ backend })` and call `solve(graph, problem, options)`.
 * - **Promise** (non-Effect callers): `runGraph({ graph, problem, params, budget, seed })`, or
 *   `makeRunner({ backend })` for many runs on one backend (a request handler).
 * - **The service**: `mull serve`, or `webHandler()` to mount it in another server.
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

export * as Faults from "../plugins/faults/index.ts"
export * as Answer from "./answer/MathGrader.ts"
export { backendLayer, registry } from "./backends/Registry.ts"
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
export {
  type BackendOptions,
  layer,
  type MullServices,
  makeRunner,
  type ProblemInput,
  type RunGraphOptions,
  type RunGraphRequest,
  type Runner,
  runGraph,
  solve,
  toProblem,
  type WebHandler,
  webHandler
} from "./Mull.ts"
export { type ExecuteOptions, execute, type RunOptions, run } from "./runtime/Run.ts"
export { BudgetTooSmall, InvalidValue, type RunError } from "./runtime/RunError.ts"
export * as RunEvents from "./runtime/RunEvents.ts"
export * as ServerAdmission from "./server/Admission.ts"
export * as ServerCeilings from "./server/Ceilings.ts"
export * as ServerPolicy from "./server/Policy.ts"
export * as Server from "./server/Server.ts"
export * as Backend from "./services/Backend.ts"
export {
  BackendConfigError,
  type BackendDescriptor,
  type BackendFlag,
  type BackendServices,
  makeRegistry,
  type Registry
} from "./services/Backend.ts"
export * as BackendError from "./services/BackendError.ts"
export { CAPABILITIES, type Capability } from "./services/Capability.ts"
export * as ConfigSchema from "./services/ConfigSchema.ts"
export { type GenerateRequest, type GenerateResult, type Generation, Generator } from "./services/Generator.ts"
export { AnswerKey, Grader } from "./services/Grader.ts"
export { type ScoreRequest, type ScoreResult, Verifier } from "./services/Verifier.ts"
