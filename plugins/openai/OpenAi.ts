/**
 * The openai backend: a `Generator` over any OpenAI-compatible server (vLLM, SGLang, llama.cpp's
 * server, Ollama, OpenAI). Each `generate` is one attempt — one HTTP request, or n concurrent
 * ones on a server without `n` — and the runtime retries under the configured policy, charging
 * every request sent as a call (n on a server without `n`). Capabilities follow the server kind
 * (see `Config.PROFILES` and docs/backends.md).
 *
 * Prompt tokens: with `/tokenize` (vLLM), `promptTokens` is the exact count of every prompt mull
 * has seen — a continuation's prompt is tokenized as soon as the step it continues is generated, and
 * every reply's `usage.prompt_tokens` is remembered — and, for a prompt not yet counted (the very
 * first one), a safe upper bound (its UTF-8 bytes + 128), so a reservation is never exceeded.
 * Without `/tokenize` every prompt is reserved at that bound and the reply's `usage` is committed,
 * so input-token and USD budgets work on any OpenAI-compatible server.
 *
 * @since 0.1.0
 */
import { Context, Effect, Layer, Semaphore } from "effect"
import { FetchHttpClient, HttpClient } from "effect/http"
import * as Candidate from "../../src/domain/Candidate.ts"
import * as Confidence from "../../src/domain/Confidence.ts"
import * as Steps from "../../src/domain/Steps.ts"
import { type BackendError, backendError } from "../../src/services/BackendError.ts"
import type { Capability } from "../../src/services/Capability.ts"
import {
  type GenerateRequest,
  type GenerateResult,
  type Generation,
  Generator,
  type GeneratorShape,
  type StopBelow
} from "../../src/services/Generator.ts"
import { type VerdictToken, verdictYes } from "../../src/services/GenVerify.ts"
import { type HttpEndpoint, postJson, serverRoot } from "../../src/services/HttpAttempt.ts"
import type { VerifierShape } from "../../src/services/Verifier.ts"
import { PROFILES, type ResolvedOpenAiConfig, type ServerKind } from "./Config.ts"
import {
  type Choice,
  outputTokensOf,
  splitThinking,
  splitTotal,
  thinkingGeneration,
  toGeneration
} from "./Generations.ts"
import {
  bodyOf,
  isRefusal,
  prefixText,
  promptBound,
  promptKey,
  type Route,
  routeOf,
  tokenizeBodyOf
} from "./Request.ts"
import { postStream } from "./Stream.ts"
import { ChatResponse, CompletionResponse, TokenizeResponse } from "./Wire.ts"

/** The backend's name in errors, usage records and `--backend`. */
export const BACKEND = "openai"

/** What a configured server can do. */
export const capabilitiesOf = (
  config: Pick<ResolvedOpenAiConfig, "stepMode" | "seeded" | "tokenize" | "nSampling">
): ReadonlySet<Capability> =>
  new Set<Capability>([
    "revise",
    // every supported server returns log-probabilities when asked (chat top_logprobs, completions logprobs)
    "logprobs",
    // budget forcing continues and closes the thinking as a partial answer
    ...(config.stepMode === "none" ? [] : (["stepwise", "thinking"] as const)),
    ...(config.seeded ? (["seeded"] as const) : []),
    ...(config.tokenize ? (["tokenizer"] as const) : []),
    ...(config.nSampling ? (["nSampling"] as const) : [])
  ])

/**
 * What a kind of server can do with its default settings.
 *
 * @example
 * profileCapabilities("openai").has("stepwise") // false
 */
export const profileCapabilities = (server: ServerKind): ReadonlySet<Capability> => {
  const p = PROFILES[server]
  return capabilitiesOf({ stepMode: p.stepMode, seeded: p.seed, tokenize: p.tokenize, nSampling: p.n })
}

/** Per token of a choice: its token confidence (from the top log-probabilities) and its log-probability. */
interface TokenLogprobs {
  readonly confidence: ReadonlyArray<number>
  readonly logprob: ReadonlyArray<number>
}

/** One reply, reduced to what a generation needs. */
interface Reply {
  readonly choices: ReadonlyArray<
    Choice & {
      readonly tokens: number | undefined
      readonly logprobs: TokenLogprobs | undefined
      /** the tokens with their top alternatives, for a verification's P("yes") (built when read) */
      readonly verdictTokens: () => ReadonlyArray<VerdictToken>
      /** the server's reasoning content (a reasoning parser), if any */
      readonly reasoning?: string | null | undefined
    }
  >
  readonly promptTokens: number
  readonly completionTokens: number
  /** of the completion tokens, the thinking ones, when the server reports them */
  readonly reasoningTokens?: number | undefined
}

const chatReply = (r: ChatResponse): Reply => ({
  choices: [...r.choices]
    .sort((a, b) => a.index - b.index)
    .map((c) => ({
      text: c.message.content ?? "",
      reasoning: c.message.reasoning_content ?? c.message.reasoning,
      finishReason: c.finish_reason,
      stopReason: c.stop_reason,
      tokens: c.logprobs?.content?.length,
      logprobs:
        c.logprobs?.content == null
          ? undefined
          : {
              confidence: c.logprobs.content.map((t) =>
                Confidence.tokenConfidence(t.top_logprobs?.map((x) => x.logprob) ?? [t.logprob])
              ),
              logprob: c.logprobs.content.map((t) => t.logprob)
            },
      verdictTokens: () => c.logprobs?.content ?? []
    })),
  promptTokens: r.usage.prompt_tokens,
  completionTokens: r.usage.completion_tokens,
  reasoningTokens: r.usage.completion_tokens_details?.reasoning_tokens ?? undefined
})

const completionReply = (r: CompletionResponse): Reply => ({
  choices: [...r.choices]
    .sort((a, b) => a.index - b.index)
    .map((c) => ({
      text: c.text,
      finishReason: c.finish_reason,
      stopReason: c.stop_reason,
      tokens: c.logprobs?.tokens.length,
      logprobs:
        c.logprobs == null
          ? undefined
          : {
              confidence: c.logprobs.token_logprobs.map((x, i) => {
                const top = c.logprobs?.top_logprobs?.[i]
                return Confidence.tokenConfidence(top == null ? [x ?? -100] : Object.values(top))
              }),
              logprob: c.logprobs.token_logprobs.map((x) => x ?? -100)
            },
      verdictTokens: () =>
        (c.logprobs?.tokens ?? []).map((token, i) => {
          const top = c.logprobs?.top_logprobs?.[i]
          return {
            token,
            logprob: c.logprobs?.token_logprobs[i] ?? -100,
            top_logprobs: top == null ? null : Object.entries(top).map(([t, logprob]) => ({ token: t, logprob }))
          }
        })
    })),
  promptTokens: r.usage.prompt_tokens,
  completionTokens: r.usage.completion_tokens,
  reasoningTokens: r.usage.completion_tokens_details?.reasoning_tokens ?? undefined
})

/**
 * A generation's steps with their token confidences: the choice's tokens taken in order, each
 * step the next `step.tokens` of them (the token counts of steps split a choice's tokens by text
 * length, so a step boundary may be off by a token or two).
 *
 * @example
 * withLogprobs(generation, { confidence: [3, 4], logprob: [-0.1, -0.2] }).steps[0]?.confidence
 */
export const withLogprobs = (g: Generation, lp: TokenLogprobs): Generation => {
  let at = 0
  const last = g.steps.length - 1
  return {
    ...g,
    steps: g.steps.map((s, i) => {
      const end = i === last ? lp.confidence.length : Math.min(lp.confidence.length, at + s.tokens)
      const values = lp.confidence.slice(at, end)
      const logprob = lp.logprob.slice(at, end).reduce((a, b) => a + b, 0)
      at = end
      return { ...s, confidence: Confidence.fromTokens(values, logprob) }
    })
  }
}

/**
 * A think phase's choice (budget forcing): all of it is thinking — the reasoning content and the
 * text, less a kept close tag — ending by itself (`"end"`: the close tag or EOS stopped it) or at
 * the token cap (`"length"`).
 *
 * @example
 * thinkPhase({ text: "Let me see.", finishReason: "stop", stopReason: "</think>" }, 4, "</think>")
 * // { steps: [], done: false, outputTokens: 4, thinkingTokens: 4, thinking: "Let me see.", finishReason: "end" }
 */
export const thinkPhase = (
  c: Choice & { readonly reasoning?: string | null | undefined },
  outputTokens: number,
  close: string
): Generation => {
  const text = `${c.reasoning ?? ""}${c.text}`
  const at = text.indexOf(close)
  return {
    steps: [],
    done: false,
    outputTokens,
    thinkingTokens: outputTokens,
    thinking: at < 0 ? text : text.slice(0, at),
    finishReason: c.finishReason === "length" ? "length" : "end"
  }
}

/** Most prompt counts kept; the oldest go first. */
const CACHE_LIMIT = 100_000

/**
 * The backend's generator, over an `HttpClient`.
 *
 * @example
 * const { generator } = yield* make(yield* resolveConfig({ baseUrl: "http://localhost:8000/v1", model: "m" }))
 */
export const make = Effect.fn("openai.make")(function* (config: ResolvedOpenAiConfig) {
  const client = yield* HttpClient.HttpClient
  const slots = yield* Semaphore.make(config.concurrency)
  const endpoint: HttpEndpoint = { backend: BACKEND, apiKey: config.apiKey, timeoutMs: config.timeoutMs }
  const counts = new Map<string, number>()
  const remember = (key: string, count: number) => {
    if (counts.size >= CACHE_LIMIT) {
      const oldest = counts.keys().next()
      if (oldest.done !== true) counts.delete(oldest.value)
    }
    counts.set(key, count)
  }

  const post = (route: Route, body: unknown): Effect.Effect<Reply, BackendError> =>
    slots.withPermits(1)(
      route.kind === "chat"
        ? Effect.map(
            postJson(client, endpoint, "generate", `${config.baseUrl}/chat/completions`, body, ChatResponse),
            chatReply
          )
        : Effect.map(
            postJson(client, endpoint, "generate", `${config.baseUrl}/completions`, body, CompletionResponse),
            completionReply
          )
    )

  /** Counts a prompt with `/tokenize`; a failure only leaves the prompt uncounted. */
  const tokenize = (route: Route): Effect.Effect<void> => {
    const key = promptKey(route)
    if (counts.has(key)) return Effect.void
    return slots
      .withPermits(1)(
        postJson(
          client,
          endpoint,
          "tokenize",
          `${serverRoot(config.baseUrl)}/tokenize`,
          tokenizeBodyOf(config, route),
          TokenizeResponse
        )
      )
      .pipe(
        Effect.tap((r) => Effect.sync(() => remember(key, r.count))),
        Effect.ignore
      )
  }

  const checkCount = (reply: Reply, n: number): Effect.Effect<void, BackendError> =>
    reply.choices.length === n
      ? Effect.void
      : Effect.fail(
          backendError(
            { backend: BACKEND, operation: "generate" },
            "BadResponse",
            `asked for ${n} choices, got ${reply.choices.length}`
          )
        )

  /**
   * DeepConf online: one streamed request per continuation (so each is stopped on its own), read
   * until it ends or its group confidence falls below the threshold (`Stream.ts`). Charged the
   * tokens received up to the stop; the prompt at the server's reported count, else mull's count
   * of it (exact with /tokenize), else its bound.
   */
  const streamed = Effect.fn("openai.streamed")(function* (request: GenerateRequest, route: Route, rule: StopBelow) {
    const index = request.index ?? 0
    const url = route.kind === "chat" ? `${config.baseUrl}/chat/completions` : `${config.baseUrl}/completions`
    const before = Confidence.trace(request.prefix?.steps)?.values
    const options =
      config.server === "vllm" ? { include_usage: true, continuous_usage_stats: true } : { include_usage: true }
    const replies = yield* Effect.forEach(
      Array.from({ length: request.n }, (_, i) => i),
      (i) =>
        slots.withPermits(1)(
          postStream(
            client,
            endpoint,
            url,
            { ...bodyOf(config, request, route, 1, index + i), stream: true, stream_options: options },
            rule,
            before
          )
        ),
      { concurrency: "unbounded" }
    )
    const shape = {
      until: request.until,
      delimiter: config.stepDelimiter,
      prefixText: prefixText(config, request),
      keepsStop: config.keepStop !== undefined,
      answer: request.problem.answer
    }
    const known = counts.get(promptKey(route)) ?? promptBound(route)
    let inputTokens = 0
    let past = 0
    const generations = replies.map((r): Generation => {
      inputTokens += r.usage?.prompt ?? known
      past += r.past
      const g = withLogprobs(
        toGeneration({ text: r.text, finishReason: r.finishReason, stopReason: r.stopReason }, shape, r.tokens),
        { confidence: r.confidence, logprob: r.logprob }
      )
      return r.stopped ? { ...g, stopped: true } : g
    })
    const first = replies.find((r) => r.usage !== undefined)
    if (first?.usage !== undefined) remember(promptKey(route), first.usage.prompt)
    const outputTokens = generations.reduce((a, g) => a + g.outputTokens, 0)
    const result: GenerateResult = {
      generations,
      inputTokens,
      // tokens that arrived past a stop were paid to the provider but are not the trace's
      ...(past === 0
        ? {}
        : { spent: { calls: request.n, sequences: request.n, inputTokens, outputTokens: outputTokens + past } })
    }
    return result
  })

  const generate = Effect.fn("openai.generate")(function* (request: GenerateRequest) {
    const route = routeOf(config, request)
    if (isRefusal(route))
      return yield* backendError({ backend: BACKEND, operation: "generate" }, "Unsupported", route.message)
    const n = request.n
    if (n === 0) return { generations: [], inputTokens: 0 } satisfies GenerateResult
    if (request.stopBelow !== undefined) return yield* streamed(request, route, request.stopBelow)
    const one = config.nSampling || n === 1
    // continuations index … index + n − 1 of the request's seed (a call paid in parts asks for the rest)
    const index = request.index ?? 0
    const replies: ReadonlyArray<Reply> = one
      ? [yield* post(route, bodyOf(config, request, route, n, index))]
      : yield* Effect.forEach(
          Array.from({ length: n }, (_, i) => i),
          (i) => post(route, bodyOf(config, request, route, 1, index + i)),
          { concurrency: "unbounded" }
        )
    for (const reply of replies) yield* checkCount(reply, one ? n : 1)
    const shape = {
      until: request.until,
      delimiter: config.stepDelimiter,
      prefixText: prefixText(config, request),
      keepsStop: config.keepStop !== undefined,
      answer: request.problem.answer
    }
    const generations: Array<Generation> = []
    const tags = config.thinkTags
    for (const reply of replies) {
      const tokens = outputTokensOf(reply.choices, reply.completionTokens)
      // the server's count of thinking tokens is for the whole reply: shared by the choices' thinking lengths
      const thought = reply.choices.map((c) => splitThinking(c.text, c.reasoning, tags).thinking?.length ?? 0)
      const reported = reply.reasoningTokens === undefined ? undefined : splitTotal(reply.reasoningTokens, thought)
      reply.choices.forEach((c, i) => {
        const g =
          request.think?.phase === "think"
            ? thinkPhase(c, tokens[i] ?? 0, tags.close)
            : thinkingGeneration(c, c.reasoning, shape, tags, tokens[i] ?? 0, reported?.[i])
        const lp = request.logprobs === undefined || c.logprobs === undefined ? g : withLogprobs(g, c.logprobs)
        // ThinkPRM's score: P("yes") at the verification's verdict token
        const yes = request.verify?.verdict === "probability" ? verdictYes(c.verdictTokens()) : undefined
        generations.push(yes === undefined ? lp : { ...lp, verdictYes: yes })
      })
    }
    const first = replies[0]
    const promptTokens = first?.promptTokens ?? 0
    remember(promptKey(route), promptTokens)
    if (config.tokenize && request.context === undefined && request.think === undefined)
      // the prompts that will continue these generations, counted now so their calls reserve exactly
      yield* Effect.forEach(
        generations.filter((g) => !g.done),
        (g) => {
          const next = routeOf(config, {
            ...request,
            prefix: {
              ...Candidate.make({ id: "next", origin: { node: "", round: 0 } }),
              steps: Steps.appendAll(request.prefix?.steps, g.steps)
            },
            until: "step"
          })
          return isRefusal(next) ? Effect.void : tokenize(next)
        },
        { concurrency: "unbounded", discard: true }
      )
    // n separate requests read the prompt n times: each is a request sent, and each reading is charged
    const result: GenerateResult = {
      generations,
      inputTokens: one ? promptTokens : replies.reduce((a, r) => a + r.promptTokens, 0)
    }
    return result
  })

  // exact with /tokenize (every prompt counted as soon as it is known); otherwise the UTF-8 bytes of
  // what the model reads, a bound no byte-level tokenizer exceeds — the reply's usage is committed
  const promptTokens = (request: GenerateRequest): number => {
    const route = routeOf(config, request)
    if (isRefusal(route)) return 0
    return (config.tokenize ? counts.get(promptKey(route)) : undefined) ?? promptBound(route)
  }

  const generator: GeneratorShape = {
    backend: BACKEND,
    model: config.model,
    params: config.params,
    capabilities: capabilitiesOf(config),
    concurrency: config.concurrency,
    maxTokens: config.maxTokens,
    stepTokens: config.stepTokens,
    ...(config.reasoning ? { thinks: true } : {}),
    ...(config.prices === undefined ? {} : { prices: config.prices }),
    stepDelimiter: config.stepDelimiter,
    generate,
    promptTokens,
    retry: config.retry
  }
  return { config, generator }
})

/**
 * The generator as a layer over a given `HttpClient` (tests, custom transports).
 *
 * @example
 * layerNoDeps(config).pipe(Layer.provide(FetchHttpClient.layer))
 */
export const layerNoDeps = (config: ResolvedOpenAiConfig): Layer.Layer<Generator, never, HttpClient.HttpClient> =>
  Layer.effectContext(Effect.map(make(config), (b) => Context.make(Generator, b.generator)))

/**
 * The generator over the platform's `fetch`.
 *
 * @example
 * program.pipe(Effect.provide(layerConfig(yield* resolveConfig({ baseUrl, model }))))
 */
export const layerConfig = (config: ResolvedOpenAiConfig): Layer.Layer<Generator> =>
  layerNoDeps(config).pipe(Layer.provide(FetchHttpClient.layer))

/** Why the openai backend alone cannot score. */
export const NO_VERIFIER =
  'the openai backend has no verifier unless configured: give "verifier": { prm-http config } in --backend-config, or --prm-url/--prm-model (MULL_PRM_URL, MULL_PRM_MODEL); graphs that score are refused until then'

/**
 * The verifier of an openai backend without a reward model: it answers to no verifier name, so
 * the loader refuses graphs that score (naming the missing verifier) before anything is spent.
 */
export const noVerifier: VerifierShape = {
  backend: BACKEND,
  model: "none",
  params: 0,
  verifiers: [],
  concurrency: 1,
  score: () => Effect.fail(backendError({ backend: BACKEND, operation: "score" }, "Unsupported", NO_VERIFIER)),
  inputTokens: undefined
}
