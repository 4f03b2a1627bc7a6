/**
 * The prm-http verifier: a process reward model behind HTTP. Each `score` is one request for a
 * batch of candidates (at most `maxBatch`; the runtime batches) — one pooling input per candidate,
 * or one completions prompt per scored step — and one attempt: the runtime retries under the
 * configured policy, charging every attempt. Verifier names: `prm` (every step) and `orm` (the
 * whole solution, one score).
 *
 * @since 0.1.0
 */
import { Context, Effect, Layer, Result, Semaphore } from "effect"
import { FetchHttpClient, HttpClient } from "effect/http"
import { backendError } from "../../src/services/BackendError.ts"
import { type HttpEndpoint, postJson, serverRoot } from "../../src/services/HttpAttempt.ts"
import { type ScoreRequest, type ScoreResult, Verifier, type VerifierShape } from "../../src/services/Verifier.ts"
import type { ResolvedPrmHttpConfig } from "./Config.ts"
import { logprobPrompt, poolingInput, scoredSteps } from "./Prompts.ts"
import { plusProbability, poolingScores } from "./Scores.ts"
import { LogprobsResponse, PoolingResponse } from "./Wire.ts"

/** The backend's name in errors and usage records. */
export const BACKEND = "prm-http"

/** The verifier names prm-http answers to. */
export const VERIFIERS = ["prm", "orm"] as const

const bad = (message: string) => backendError({ backend: BACKEND, operation: "score" }, "BadResponse", message)

/**
 * The verifier over an `HttpClient`.
 *
 * @example
 * const verifier = yield* make(yield* resolveConfig({ baseUrl: "http://localhost:8001", model: "Qwen/Qwen2.5-Math-PRM-7B" }))
 */
const encoder = new TextEncoder()

export const make = Effect.fn("prm-http.make")(function* (config: ResolvedPrmHttpConfig) {
  const client = yield* HttpClient.HttpClient
  const slots = yield* Semaphore.make(config.concurrency)
  const endpoint: HttpEndpoint = { backend: BACKEND, apiKey: config.apiKey, timeoutMs: config.timeoutMs }
  const root = serverRoot(config.baseUrl)

  const byPooling = Effect.fn("prm-http.pooling")(function* (
    request: ScoreRequest,
    steps: ReadonlyArray<ReadonlyArray<string>>
  ) {
    const reply = yield* slots.withPermits(1)(
      postJson(
        client,
        endpoint,
        "score",
        `${root}/pooling`,
        {
          model: config.model,
          input: steps.map((s) => poolingInput(config, request.problem, s)),
          ...(config.poolingTask === undefined ? {} : { task: config.poolingTask })
        },
        PoolingResponse
      )
    )
    if (reply.data.length !== steps.length)
      return yield* bad(`sent ${steps.length} inputs, got ${reply.data.length} results`)
    const rows = [...reply.data].sort((a, b) => a.index - b.index)
    const stepScores: Array<ReadonlyArray<number>> = []
    for (let i = 0; i < rows.length; i++) {
      const scores = poolingScores(rows[i]?.data, steps[i]?.length ?? 0, config.positiveIndex)
      if (Result.isFailure(scores)) return yield* bad(`candidate ${request.candidates[i]?.id}: ${scores.failure}`)
      stepScores.push(scores.success)
    }
    return { stepScores, inputTokens: reply.usage.prompt_tokens } satisfies ScoreResult
  })

  const byLogprobs = Effect.fn("prm-http.logprobs")(function* (
    request: ScoreRequest,
    steps: ReadonlyArray<ReadonlyArray<string>>
  ) {
    const prompts = steps.flatMap((s) => s.map((_, k) => logprobPrompt(config, request.problem, s, k)))
    const reply = yield* slots.withPermits(1)(
      postJson(
        client,
        endpoint,
        "score",
        `${root}/v1/completions`,
        {
          model: config.model,
          prompt: prompts,
          max_tokens: 1,
          temperature: 0,
          logprobs: config.topLogprobs
        },
        LogprobsResponse
      )
    )
    if (reply.choices.length !== prompts.length)
      return yield* bad(`sent ${prompts.length} prompts, got ${reply.choices.length} choices`)
    const choices = [...reply.choices].sort((a, b) => a.index - b.index)
    const stepScores: Array<ReadonlyArray<number>> = []
    let at = 0
    for (let i = 0; i < steps.length; i++) {
      const scores: Array<number> = []
      for (let k = 0; k < (steps[i]?.length ?? 0); k++, at++) {
        const p = plusProbability(choices[at]?.logprobs?.top_logprobs?.[0], config.goodToken, config.badToken)
        if (Result.isFailure(p))
          return yield* bad(`candidate ${request.candidates[i]?.id}, step ${k + 1}: ${p.failure}`)
        scores.push(p.success)
      }
      stepScores.push(scores)
    }
    return { stepScores, inputTokens: reply.usage.prompt_tokens } satisfies ScoreResult
  })

  const score = Effect.fn("prm-http.score")(function* (request: ScoreRequest) {
    if (!(VERIFIERS as ReadonlyArray<string>).includes(request.verifier))
      return yield* backendError(
        { backend: BACKEND, operation: "score" },
        "InvalidRequest",
        `verifier: expected one of ${VERIFIERS.join(", ")}, got ${JSON.stringify(request.verifier)}`
      )
    if (request.candidates.length === 0) return { stepScores: [], inputTokens: 0 } satisfies ScoreResult
    // a candidate without steps is scored as an empty solution, so it still gets one score
    const steps = request.candidates.map((c) => {
      const s = scoredSteps(c, request.verifier, config.stepDelimiter)
      return s.length === 0 ? [""] : s
    })
    return config.mode === "pooling" ? yield* byPooling(request, steps) : yield* byLogprobs(request, steps)
  })

  /**
   * A bound of what the server reads for a candidate before it is sent: the UTF-8 bytes of every
   * input made for it (one per step for a logprob judge), plus 128 each for what a template adds.
   * No byte-level tokenizer makes more tokens than bytes; the reply's `usage` is what is committed.
   */
  const inputTokens = (problem: ScoreRequest["problem"], candidate: ScoreRequest["candidates"][number]): number => {
    let worst = 0
    for (const v of VERIFIERS) {
      const s = scoredSteps(candidate, v, config.stepDelimiter)
      const steps = s.length === 0 ? [""] : s
      const texts =
        config.mode === "pooling"
          ? [poolingInput(config, problem, steps)]
          : steps.map((_, k) => logprobPrompt(config, problem, steps, k))
      worst = Math.max(
        worst,
        texts.reduce((a, t) => a + encoder.encode(t).length + 128, 0)
      )
    }
    return worst
  }

  const verifier: VerifierShape = {
    backend: BACKEND,
    model: config.model,
    params: config.params,
    verifiers: VERIFIERS,
    concurrency: config.concurrency,
    maxBatch: config.maxBatch,
    score,
    inputTokens,
    retry: config.retry
  }
  return verifier
})

/**
 * The verifier as a layer over a given `HttpClient`.
 *
 * @example
 * layerNoDeps(config).pipe(Layer.provide(FetchHttpClient.layer))
 */
export const layerNoDeps = (config: ResolvedPrmHttpConfig): Layer.Layer<Verifier, never, HttpClient.HttpClient> =>
  Layer.effectContext(Effect.map(make(config), (v) => Context.make(Verifier, v)))

/**
 * The verifier over the platform's `fetch`.
 *
 * @example
 * program.pipe(Effect.provide(layerConfig(yield* resolveConfig({ baseUrl, model }))))
 */
export const layerConfig = (config: ResolvedPrmHttpConfig): Layer.Layer<Verifier> =>
  layerNoDeps(config).pipe(Layer.provide(FetchHttpClient.layer))
