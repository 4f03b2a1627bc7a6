/**
 * A fault-injecting wrapper around any generator and verifier: seeded errors (429 with
 * `retry-after`, 500, connection reset, timeouts), latency spikes, malformed outputs, fewer
 * continuations than asked, over-long outputs, and verifier scores that are NaN or out of range.
 * It is how mull tests that a budget is never exceeded and a run always ends well-formed when a
 * backend misbehaves (docs/reliability.md).
 *
 * @since 0.1.0
 */
import { Context, Effect, Layer } from "effect"
import { BackendError, backendError, RateLimited, Timeout } from "../../src/services/BackendError.ts"
import { type GenerateRequest, Generator, type GeneratorShape } from "../../src/services/Generator.ts"
import type { RetryPolicy } from "../../src/services/Retry.ts"
import { type ScoreRequest, Verifier, type VerifierShape } from "../../src/services/Verifier.ts"
import { draw, type FaultSchedule, type GeneratorFault, type VerifierFault } from "./Schedule.ts"

/** What the wrapper has injected so far, by fault. */
export interface FaultCounts {
  readonly generator: Map<GeneratorFault, number>
  readonly verifier: Map<VerifierFault, number>
}

export interface FaultOptions {
  readonly schedule: FaultSchedule
  /** the retry policy the wrapped backends declare (the runtime retries); absent: the inner backend's */
  readonly retry?: RetryPolicy | undefined
  /** where injected faults are counted */
  readonly counts?: FaultCounts | undefined
}

/** Fresh, empty fault counts. */
export const makeCounts = (): FaultCounts => ({ generator: new Map(), verifier: new Map() })

const bump = <F>(m: Map<F, number>, f: F): void => {
  m.set(f, (m.get(f) ?? 0) + 1)
}

// Attempts of the same call are told apart by a counter per call key: retries of a call run one
// after another, so the counter (and so the schedule) does not depend on concurrency.
const attemptOf = (attempts: Map<string, number>, key: string): number => {
  const a = attempts.get(key) ?? 0
  attempts.set(key, a + 1)
  return a
}

const generationKey = (r: GenerateRequest): string =>
  `${r.seed}|${r.index ?? 0}|${r.n}|${r.until}|${r.prefix?.id ?? ""}|${r.context?.map((c) => c.id).join(",") ?? ""}`

const scoreKey = (r: ScoreRequest): string => `${r.verifier}|${r.candidates.map((c) => c.id).join(",")}`

/** The faults a generator and a verifier share: transport errors and latency. */
type SharedFault = "rateLimited" | "unavailable" | "timeout" | "spike"

/**
 * A shared fault as an effect around the inner call: the error a server or network would give, or
 * the call after a latency spike.
 */
const sharedFault = <A>(
  fault: SharedFault,
  schedule: FaultSchedule,
  where: { readonly backend: string; readonly operation: string },
  status: number,
  call: Effect.Effect<A, BackendError>
): Effect.Effect<A, BackendError> => {
  switch (fault) {
    case "rateLimited":
      return Effect.fail(
        new BackendError({
          ...where,
          reason: new RateLimited({ message: "HTTP 429 (injected)", retryAfterMs: schedule.retryAfterMs ?? 0 })
        })
      )
    case "unavailable":
      return Effect.fail(backendError(where, "Unavailable", `HTTP ${status} (injected)`))
    case "timeout":
      return Effect.andThen(
        Effect.sleep(schedule.timeoutMs ?? 0),
        Effect.fail(
          new BackendError({
            ...where,
            reason: new Timeout({ message: "no answer in time (injected)", timeoutMs: schedule.timeoutMs ?? 0 })
          })
        )
      )
    case "spike":
      return Effect.andThen(Effect.sleep(schedule.spikeMs ?? 0), call)
  }
}

/**
 * The generator with faults injected per its schedule.
 *
 * @example
 * const faulty = wrapGenerator(generator, { schedule: { seed: 1, generator: { unavailable: 0.1 } } })
 */
export const wrapGenerator = (inner: GeneratorShape, options: FaultOptions): GeneratorShape => {
  const { schedule } = options
  const attempts = new Map<string, number>()
  const fail = { backend: inner.backend, operation: "generate" }
  return {
    ...inner,
    ...(options.retry === undefined ? {} : { retry: options.retry }),
    generate: (request) =>
      Effect.suspend(() => {
        const fault = draw<GeneratorFault>(
          schedule.seed,
          schedule.generator,
          `g|${generationKey(request)}`,
          attemptOf(attempts, generationKey(request))
        )
        if (fault !== undefined && options.counts !== undefined) bump(options.counts.generator, fault)
        switch (fault) {
          case undefined:
            return inner.generate(request)
          case "rateLimited":
          case "unavailable":
          case "timeout":
          case "spike":
            return sharedFault(fault, schedule, fail, 500, inner.generate(request))
          case "reset":
            return Effect.fail(backendError(fail, "Unavailable", "connection reset (injected)"))
          case "malformed":
            return Effect.fail(backendError(fail, "BadResponse", "truncated JSON (injected)"))
          case "fewerChoices":
            return Effect.map(inner.generate(request), (r) => ({ ...r, generations: r.generations.slice(1) }))
          case "overlong":
            return Effect.map(inner.generate(request), (r) => ({
              ...r,
              generations: r.generations.map((g) => ({ ...g, outputTokens: request.maxTokens + 1 }))
            }))
        }
      })
  }
}

/**
 * The verifier with faults injected per its schedule.
 *
 * @example
 * const faulty = wrapVerifier(verifier, { schedule: { seed: 1, verifier: { nan: 0.05 } } })
 */
export const wrapVerifier = (inner: VerifierShape, options: FaultOptions): VerifierShape => {
  const { schedule } = options
  const attempts = new Map<string, number>()
  const fail = { backend: inner.backend, operation: "score" }
  return {
    ...inner,
    ...(options.retry === undefined ? {} : { retry: options.retry }),
    score: (request) =>
      Effect.suspend(() => {
        const key = scoreKey(request)
        const fault = draw<VerifierFault>(schedule.seed, schedule.verifier, `v|${key}`, attemptOf(attempts, key))
        if (fault !== undefined && options.counts !== undefined) bump(options.counts.verifier, fault)
        const corrupt = (value: number) =>
          Effect.map(inner.score(request), (r) => ({
            ...r,
            stepScores: r.stepScores.map((s, i) => (i === 0 ? s.map((x, j) => (j === s.length - 1 ? value : x)) : s))
          }))
        switch (fault) {
          case undefined:
            return inner.score(request)
          case "rateLimited":
          case "unavailable":
          case "timeout":
          case "spike":
            return sharedFault(fault, schedule, fail, 503, inner.score(request))
          case "nan":
            return corrupt(Number.NaN)
          case "outOfRange":
            return corrupt(1.5)
          case "fewerScores":
            return Effect.map(inner.score(request), (r) => ({ ...r, stepScores: r.stepScores.slice(1) }))
        }
      })
  }
}

/**
 * Wraps the generator and verifier in context with faults.
 *
 * @example
 * program.pipe(Effect.provide(Faults.layer({ schedule }).pipe(Layer.provide(Simulated.layer()))))
 */
export const layer = (options: FaultOptions): Layer.Layer<Generator | Verifier, never, Generator | Verifier> =>
  Layer.effectContext(
    Effect.gen(function* () {
      const generator = yield* Generator
      const verifier = yield* Verifier
      return Context.make(Generator, wrapGenerator(generator, options)).pipe(
        Context.add(Verifier, wrapVerifier(verifier, options))
      )
    })
  )
