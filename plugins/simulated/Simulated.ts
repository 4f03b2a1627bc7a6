/**
 * The simulated backend: the embedded default that lets every strategy run with no model. It
 * provides a `Generator` (a reasoner writing "Step k: …" solutions, its prompts counted exactly) and
 * a `Verifier` (a PRM, and an ORM that scores the last step), both backed by the calibrated model of
 * SIMULATOR.md (see docs/simulator.md). Every output is a pure function of the config, the
 * problem and the request — never of call order or concurrency. Optional latency (fixed + per
 * token, through `Effect.sleep`, so tests can use the TestClock) and a concurrency cap (a
 * semaphore per simulated server) model a real server for benchmarks.
 *
 * @since 0.1.0
 */
import { Context, Duration, Effect, Layer, Result, Schema, Semaphore } from "effect"
import * as Confidence from "../../src/domain/Confidence.ts"
import { Problem } from "../../src/domain/Problem.ts"
import { formatIssues } from "../../src/domain/SchemaProblems.ts"
import type { BackendConfigError } from "../../src/services/Backend.ts"
import { type BackendError, backendError } from "../../src/services/BackendError.ts"
import type { Capability } from "../../src/services/Capability.ts"
import {
  type GenerateRequest,
  type GenerateResult,
  Generator,
  type GeneratorShape
} from "../../src/services/Generator.ts"
import { type ScoreRequest, type ScoreResult, Verifier, type VerifierShape } from "../../src/services/Verifier.ts"
import { forKind } from "./AnswerKinds.ts"
import { decodeConfig, type SimulatedConfig, type SimulatedConfigInput } from "./Config.ts"
import { generate as generatePure } from "./Generate.ts"
import { verifyGeneration, verifyPromptTokens } from "./GenVerify.ts"
import { judgeGeneration, judgePromptTokens } from "./Judge.ts"
import { stopOnline, withConfidence } from "./Logprobs.ts"
import { promptTokens, verifierTokens } from "./Prompt.ts"
import { scoreCandidate, VERIFIERS } from "./Score.ts"
import { thinkGeneration, thinkPromptTokens } from "./Think.ts"
import { makeWorld, type World } from "./World.ts"

/** The backend's name in errors, usage records and `--backend`. */
export const BACKEND = "simulated"

/** What the simulated backend can do: everything. */
export const CAPABILITIES: ReadonlySet<Capability> = new Set<Capability>([
  "stepwise",
  "revise",
  "seeded",
  "tokenizer",
  "nSampling",
  "logprobs",
  "thinking"
])

/**
 * The most steps a simulated solution has: the longest nominal length (MATH level 5, the top of
 * its span), its lineage jitter, and one closing step after a cut final step. Search loops that
 * run until no lane is active are bounded by it (the backend's step-length model).
 *
 * @example
 * maxSteps(defaultConfig) // 11
 */
export const maxSteps = (config: SimulatedConfig): number =>
  Math.max(2, config.length.base + 5 + config.length.span - 1) + config.length.jitter + 1

export interface SimulatedBackend {
  readonly config: SimulatedConfig
  readonly generator: GeneratorShape
  readonly verifier: VerifierShape
  /** the (validated, cached) world of a problem — for calibration, tests and diagnostics */
  readonly world: (problem: Problem, operation?: string) => Effect.Effect<World, BackendError>
}

const invalid = (operation: string, message: string) =>
  backendError({ backend: BACKEND, operation }, "InvalidRequest", message)

/**
 * Builds the backend's services from a decoded configuration.
 *
 * @example
 * const backend = yield* make(defaultConfig)
 * const { generations } = yield* backend.generator.generate(request)
 */
export const make = Effect.fn("simulated.make")(function* (config: SimulatedConfig) {
  const generatorSlots = yield* Semaphore.make(config.generator.concurrency)
  const verifierSlots = yield* Semaphore.make(config.verifier.concurrency)
  // worlds are pure functions of (config, problem); cache them per problem object
  const worlds = new WeakMap<object, World>()
  const decodeProblem = Schema.decodeUnknownResult(Problem)

  // the world of a problem, in plain code (cached per problem object)
  const worldNow = (problem: Problem, operation: string): Result.Result<World, BackendError> => {
    const cached = typeof problem === "object" && problem !== null ? worlds.get(problem) : undefined
    if (cached !== undefined) return Result.succeed(cached)
    const decoded = decodeProblem(problem, { errors: "all" })
    if (Result.isFailure(decoded))
      return Result.fail(invalid(operation, formatIssues(decoded.failure, "problem").join("; ")))
    const w = makeWorld(config, decoded.success)
    if (typeof problem === "object" && problem !== null) worlds.set(problem, w)
    return Result.succeed(w)
  }

  const world = (problem: Problem, operation = "world"): Effect.Effect<World, BackendError> =>
    Effect.suspend(() => Effect.fromResult(worldNow(problem, operation)))

  const sleep = (ms: number) => (ms > 0 ? Effect.sleep(Duration.millis(ms)) : Effect.void)

  // The answer to a generation request, in plain code: what `generate` returns after its latency,
  // and what `answerNow` returns when there is none.
  const answer = (request: GenerateRequest): Result.Result<GenerateResult, BackendError> => {
    // a consistency judge's call (free-text voting) is modelled apart: Judge.ts
    if (request.judge !== undefined) return Result.succeed(judgeGeneration(request))
    const w = worldNow(request.problem, "generate")
    if (Result.isFailure(w)) return Result.fail(w.failure)
    // a generative verifier's call is modelled apart: GenVerify.ts
    if (request.verify !== undefined) {
      const verified = verifyGeneration(w.success, request)
      return Result.isFailure(verified)
        ? Result.fail(invalid("generate", verified.failure))
        : Result.succeed(verified.success)
    }
    // a thinking sample's phases (budget forcing) are modelled apart: Think.ts
    const result =
      request.think === undefined
        ? generatePure(w.success, request, config.generator.maxTokens)
        : thinkGeneration(w.success, request, config.generator.maxTokens)
    if (Result.isFailure(result)) return Result.fail(invalid("generate", result.failure))
    // a multiple choice's answers are letters among its options: AnswerKinds.ts
    const kinded = request.problem.answer === undefined ? result.success : forKind(request.problem, result.success)
    // token confidences only when asked: drawn from tags of their own, they change nothing else
    return Result.succeed(request.logprobs === undefined ? kinded : withLogprobsAsked(w.success, request, kinded))
  }

  // Not `Effect.fn`: its span and the stack trace it captures on every call cost more than the
  // model's own work for one short step (a beam search makes thousands of calls). The result is
  // built by plain code and returned as one effect.
  const generate = (request: GenerateRequest): Effect.Effect<GenerateResult, BackendError> =>
    Effect.suspend(() => {
      const answered = answer(request)
      if (Result.isFailure(answered)) return Effect.fail(answered.failure)
      const out = answered.success
      // a judge's call takes no time here
      if (request.judge !== undefined) return Effect.succeed(out)
      let tokens = 0
      for (const g of out.generations) tokens += g.outputTokens
      const ms = config.generator.latency.fixedMs + config.generator.latency.perTokenMs * tokens
      return ms > 0 ? Effect.as(sleep(ms), out) : Effect.succeed(out)
    })

  const score = (request: ScoreRequest): Effect.Effect<ScoreResult, BackendError> => {
    if (!(VERIFIERS as ReadonlyArray<string>).includes(request.verifier))
      return Effect.fail(
        invalid("score", `verifier: expected one of ${VERIFIERS.join(", ")}, got ${JSON.stringify(request.verifier)}`)
      )
    return Effect.flatMap(world(request.problem, "score"), (w) => {
      const stepScores: Array<ReadonlyArray<number>> = []
      let inputTokens = 0
      for (const candidate of request.candidates) {
        const scores = scoreCandidate(w, candidate, request.verifier)
        if (Result.isFailure(scores)) return Effect.fail(invalid("score", scores.failure))
        stepScores.push(scores.success)
        inputTokens += verifierTokens(request.problem, candidate)
      }
      const ms = config.verifier.latency.fixedMs + config.verifier.latency.perTokenMs * inputTokens
      const out: ScoreResult = { stepScores, inputTokens }
      return ms > 0 ? Effect.as(sleep(ms), out) : Effect.succeed(out)
    })
  }

  // A server that answers at once computes each answer in one synchronous step, so no two calls
  // are ever in progress together and its permit (a semaphore's take and release per call) has
  // nothing to bound: it is taken only when a call waits out a latency.
  const generatorLatent = config.generator.latency.fixedMs > 0 || config.generator.latency.perTokenMs > 0
  const verifierLatent = config.verifier.latency.fixedMs > 0 || config.verifier.latency.perTokenMs > 0

  const generator: GeneratorShape = {
    backend: BACKEND,
    model: config.generator.model,
    params: config.generator.params,
    capabilities: CAPABILITIES,
    concurrency: config.generator.concurrency,
    maxTokens: config.generator.maxTokens,
    stepTokens: Math.min(config.generator.stepTokens, config.generator.maxTokens),
    maxSteps: maxSteps(config),
    ...(config.prices === undefined ? {} : { prices: config.prices }),
    stepDelimiter: "\n\n",
    generate: generatorLatent ? (request) => generatorSlots.withPermits(1)(generate(request)) : generate,
    // a call without latency is plain code (a world is made, once, in an `Effect.suspend`)
    ...(generatorLatent ? {} : { atOnce: generate, answerNow: Object.assign(answer, { of: generate }) }),
    promptTokens: (request) =>
      request.verify !== undefined
        ? verifyPromptTokens(request)
        : request.think !== undefined
          ? thinkPromptTokens(request)
          : request.judge !== undefined
            ? judgePromptTokens(request)
            : promptTokens(request.problem, request.prefix, request.context)
  }
  const verifier: VerifierShape = {
    backend: BACKEND,
    model: config.verifier.model,
    params: config.verifier.params,
    verifiers: VERIFIERS,
    concurrency: config.verifier.concurrency,
    score: verifierLatent ? (request) => verifierSlots.withPermits(1)(score(request)) : score,
    inputTokens: verifierTokens
  }
  return { config, generator, verifier, world } satisfies SimulatedBackend
})

/**
 * The backend's services from a decoded configuration.
 *
 * @example
 * program.pipe(Effect.provide(layerConfig(defaultConfig)))
 */
export const layerConfig = (config: SimulatedConfig): Layer.Layer<Generator | Verifier> =>
  Layer.effectContext(
    Effect.map(make(config), (backend) =>
      Context.make(Generator, backend.generator).pipe(Context.add(Verifier, backend.verifier))
    )
  )

/**
 * The backend's services from a partial configuration (missing knobs take their defaults); a
 * malformed one fails the layer with a `BackendConfigError` naming the field.
 *
 * @example
 * program.pipe(Effect.provide(layer({ worldSeed: 1, generator: { concurrency: 8 } })))
 */
export const layer = (
  config?: SimulatedConfigInput | undefined
): Layer.Layer<Generator | Verifier, BackendConfigError> =>
  Layer.unwrap(Effect.map(decodeConfig(config ?? {}), layerConfig))

/**
 * A result's generations with token confidences, and — for DeepConf online (`stopBelow`) — each
 * cut where its group confidence first falls below the threshold (the prefix's confidences fill
 * the first window), charged the tokens up to the stop.
 */
const withLogprobsAsked = (w: World, request: GenerateRequest, result: GenerateResult): GenerateResult => {
  const rule = request.stopBelow
  const before = rule === undefined ? undefined : Confidence.trace(request.prefix?.steps)?.values
  return {
    ...result,
    generations: result.generations.map((g) => {
      const c = withConfidence(w, g)
      return rule === undefined ? c : stopOnline(c, rule, before)
    })
  }
}
