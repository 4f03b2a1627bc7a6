/**
 * The replay backend: serves recorded completions and reward scores (the Qwen pool format and the
 * generic JSONL format of docs/replay.md). It provides a `Generator` (n recorded whole solutions
 * drawn without replacement in a seeded order; capabilities `seeded` and `nSampling` only), a
 * `Verifier` (`orm`/`prm`: σ of the recorded raw reward, for the last step), and a `Grader` and
 * `AnswerKey` (recorded labels and exact answer strings, or mull's
 * MATH grader). Step-level search and revisions are refused with `Unsupported`.
 *
 * @since 0.1.0
 */
import { basename, extname } from "node:path"
import { Context, Effect, Layer, Result, Semaphore } from "effect"
import * as MathGrader from "../../src/answer/MathGrader.ts"
import type { DatasetError } from "../../src/data/Dataset.ts"
import type { Problem } from "../../src/domain/Problem.ts"
import type { BackendConfigError } from "../../src/services/Backend.ts"
import { backendError } from "../../src/services/BackendError.ts"
import type { Capability } from "../../src/services/Capability.ts"
import { type GenerateRequest, Generator, type GeneratorShape } from "../../src/services/Generator.ts"
import { AnswerKey, type AnswerKeyShape, Grader, type GraderShape } from "../../src/services/Grader.ts"
import { type ScoreRequest, Verifier, type VerifierShape } from "../../src/services/Verifier.ts"
import { decodeConfig, type ResolvedReplayConfig } from "./Config.ts"
import { type GenerationMemo, generate as generatePure, type Refusal, STEP_DELIMITER } from "./Generate.ts"
import { exactAnswerKey, labelGrader } from "./Grading.ts"
import { loadJsonlPool } from "./JsonlPool.ts"
import { hasRewards, type ReplayDataset } from "./Pool.ts"
import { loadQwenPool, QWEN_POOL } from "./QwenPool.ts"
import { scoreCandidate, VERIFIERS } from "./Score.ts"
import { approximateTokens } from "./Tokens.ts"

/** The backend's name in errors, usage records and `--backend`. */
export const BACKEND = "replay"

/**
 * What replay can do: reproduce a draw from its seed, and return n samples from one call. Not
 * `stepwise`, not `revise` (recordings are whole solutions), not `tokenizer` (counts are
 * approximate).
 */
export const CAPABILITIES: ReadonlySet<Capability> = new Set<Capability>(["seeded", "nSampling"])

/** Everything the replay layer provides. */
export type ReplayServices = Generator | Verifier | Grader | AnswerKey

export interface ReplayBackend {
  readonly config: ResolvedReplayConfig
  readonly dataset: ReplayDataset
  /** the problems the recording covers, in file order */
  readonly problems: ReadonlyArray<Problem>
  readonly generator: GeneratorShape
  readonly verifier: VerifierShape
  readonly grader: GraderShape
  readonly answerKey: AnswerKeyShape
}

/**
 * Reads the recording a configuration names.
 *
 * @example
 * const dataset = yield* loadDataset(yield* decodeConfig({ dataset: "qwen-pool" }))
 */
export const loadDataset = (config: ResolvedReplayConfig): Effect.Effect<ReplayDataset, DatasetError> =>
  config.format === "qwen"
    ? loadQwenPool(config.path, config.dataset === QWEN_POOL ? QWEN_POOL : basename(config.path, extname(config.path)))
    : loadJsonlPool(config.path, config.answer)

const refusalError = (operation: string, refusal: Refusal) =>
  backendError({ backend: BACKEND, operation }, refusal._tag, refusal.message)

/**
 * Builds the backend's services over a loaded recording.
 *
 * @example
 * const backend = yield* fromDataset(dataset, config)
 * const { generations } = yield* backend.generator.generate(request)
 */
export const fromDataset = Effect.fn("replay.fromDataset")(function* (
  dataset: ReplayDataset,
  config: ResolvedReplayConfig
) {
  const generatorSlots = yield* Semaphore.make(config.concurrency)
  const verifierSlots = yield* Semaphore.make(config.concurrency)

  const memo: GenerationMemo = new Map()

  const generate = (request: GenerateRequest) =>
    Effect.suspend(() => {
      const result = generatePure(dataset, request, memo)
      return Result.isFailure(result)
        ? Effect.fail(refusalError("generate", result.failure))
        : Effect.succeed(result.success)
    })

  const score = (request: ScoreRequest) =>
    Effect.suspend(() => {
      const stepScores: Array<ReadonlyArray<number>> = []
      let inputTokens = 0
      for (const candidate of request.candidates) {
        const scores = scoreCandidate(dataset, request.problem, candidate, request.verifier)
        if (Result.isFailure(scores)) return Effect.fail(refusalError("score", scores.failure))
        stepScores.push(scores.success)
        inputTokens += approximateTokens(request.problem.question) + (candidate.steps?.tokens ?? 0)
      }
      return Effect.succeed({ stepScores, inputTokens })
    })

  const generator: GeneratorShape = {
    backend: BACKEND,
    model: config.model ?? `replay:${dataset.name}`,
    params: config.params,
    capabilities: CAPABILITIES,
    concurrency: config.concurrency,
    maxTokens: config.maxTokens,
    stepDelimiter: STEP_DELIMITER,
    generate: (request) => generatorSlots.withPermits(1)(generate(request)),
    // a recording charges the question's approximate token count for every call: known before it
    promptTokens: (request) => approximateTokens(request.problem.question)
  }
  const verifier: VerifierShape = {
    backend: BACKEND,
    model: config.verifierModel ?? `replay:${dataset.name}:reward`,
    params: config.verifierParams,
    // a recording without rewards has no verifier, so graphs that score are refused at load time
    verifiers: hasRewards(dataset) ? VERIFIERS : [],
    concurrency: config.concurrency,
    score: (request) => verifierSlots.withPermits(1)(score(request)),
    // what `score` charges for a candidate, computed the same way before the call
    inputTokens: (problem, candidate) => approximateTokens(problem.question) + (candidate.steps?.tokens ?? 0)
  }
  const grader = config.grading === "labels" ? labelGrader(dataset) : MathGrader.grader
  const answerKey = config.grading === "labels" ? exactAnswerKey : MathGrader.mathAnswerKey
  return {
    config,
    dataset,
    problems: dataset.problems,
    generator,
    verifier,
    grader,
    answerKey
  } satisfies ReplayBackend
})

/**
 * Reads the recording and builds the backend's services.
 *
 * @example
 * const backend = yield* make(yield* decodeConfig({}))
 * backend.problems.length // 50
 */
export const make = (config: ResolvedReplayConfig): Effect.Effect<ReplayBackend, DatasetError> =>
  Effect.flatMap(loadDataset(config), (dataset) => fromDataset(dataset, config))

/** The services of a built backend, as a context. */
const contextOf = (backend: ReplayBackend) =>
  Context.make(Generator, backend.generator).pipe(
    Context.add(Verifier, backend.verifier),
    Context.add(Grader, backend.grader),
    Context.add(AnswerKey, backend.answerKey)
  )

/**
 * The services of a built backend as a layer.
 *
 * @example
 * Layer.unwrap(Effect.map(make(config), layerBackend))
 */
export const layerBackend = (backend: ReplayBackend): Layer.Layer<ReplayServices> =>
  Layer.succeedContext(contextOf(backend))

/**
 * The backend's services over an already loaded recording (tests, in-memory pools).
 *
 * @example
 * program.pipe(Effect.provide(layerDataset(dataset, config)))
 */
export const layerDataset = (dataset: ReplayDataset, config: ResolvedReplayConfig): Layer.Layer<ReplayServices> =>
  Layer.effectContext(Effect.map(fromDataset(dataset, config), contextOf))

/**
 * The backend's services from a decoded configuration; an unreadable or malformed recording fails
 * the layer with a `DatasetError` naming the file, the line and the field.
 *
 * @example
 * program.pipe(Effect.provide(layerConfig(yield* decodeConfig({ grading: "math" }))))
 */
export const layerConfig = (config: ResolvedReplayConfig): Layer.Layer<ReplayServices, DatasetError> =>
  Layer.effectContext(Effect.map(make(config), contextOf))

/**
 * The backend's services from a configuration (missing knobs take their defaults: the shared Qwen
 * pool, graded by its labels).
 *
 * @example
 * program.pipe(Effect.provide(layer({ dataset: "qwen-pool" })))
 */
export const layer = (config?: unknown): Layer.Layer<ReplayServices, BackendConfigError | DatasetError> =>
  Layer.unwrap(Effect.map(decodeConfig(config ?? {}), layerConfig))

/**
 * The problems a configuration's recording covers, in file order (for an evaluation to iterate
 * the dataset the backend serves).
 *
 * @example
 * const pool = yield* problems({ dataset: "qwen-pool" }) // 50 problems, ids qwen-pool/0 … qwen-pool/49
 */
export const problems = (config?: unknown): Effect.Effect<ReadonlyArray<Problem>, BackendConfigError | DatasetError> =>
  decodeConfig(config ?? {}).pipe(
    Effect.flatMap(loadDataset),
    Effect.map((dataset) => dataset.problems)
  )
