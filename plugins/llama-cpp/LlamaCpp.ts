/**
 * The llama-cpp backend: a GGUF model run in-process by node-llama-cpp (CPU only). It provides a
 * `Generator` (seeded sampling, steps stopped at the step delimiter, exact token counts), a
 * `Verifier` (`prm`/`orm`: a next-token-probability judge, see Judge.ts); prompt tokens are counted
 * exactly, by the model's own tokenizer.
 *
 * Determinism: each call starts from an empty context (`clearHistory`), evaluates its prompt once,
 * and samples continuation i with the seed `continuationSeed(seed, i)`; calls run one at a time on
 * their context's single sequence. So an output depends only on the model file, the config, the
 * request and i — not on call order or concurrency (`concurrency` is 1: one sequence, honestly).
 * The judge reuses evaluated tokens within a call and remembers judged prompts across calls
 * (Memo.ts); neither changes a score, only the real spend it reports.
 *
 * @since 0.1.0
 */
import { basename } from "node:path"
import { Context, Effect, Layer, Result, type Scope } from "effect"
import type { LlamaCompletion, LlamaContextSequence, LlamaModel, Token } from "node-llama-cpp"
import type { Candidate } from "../../src/domain/Candidate.ts"
import * as Confidence from "../../src/domain/Confidence.ts"
import { hash64 } from "../../src/domain/Hash.ts"
import type { Problem } from "../../src/domain/Problem.ts"
import * as Steps from "../../src/domain/Steps.ts"
import type { BackendConfigError } from "../../src/services/Backend.ts"
import { type BackendError, backendError } from "../../src/services/BackendError.ts"
import type { Capability } from "../../src/services/Capability.ts"
import {
  type GenerateRequest,
  type GenerateResult,
  type Generation,
  Generator,
  type GeneratorShape
} from "../../src/services/Generator.ts"
import * as Prompt from "../../src/services/Prompt.ts"
import { type ScoreRequest, type ScoreResult, Verifier, type VerifierShape } from "../../src/services/Verifier.ts"
import { continuationSeed, type StopReason, toGeneration } from "./Completion.ts"
import { decodeConfig, type ResolvedLlamaCppConfig, resolveTemplate } from "./Config.ts"
import {
  evaluatedTokens,
  type JudgeTokens,
  judgedPrefixes,
  judgeScore,
  judgeTokens,
  reuse,
  VERIFIERS
} from "./Judge.ts"
import { acquireLlama, checkFile, importNodeLlamaCpp, LlamaCppLoadError, loadModel } from "./Load.ts"
import { makeMemo } from "./Memo.ts"
import { makeSerial } from "./Serial.ts"

/** The backend's name in errors, usage records and `--backend`. */
export const BACKEND = "llama-cpp"

/** A local model can do everything: continue steps, revise, reproduce from a seed, count tokens, sample n. */
export const CAPABILITIES: ReadonlySet<Capability> = new Set<Capability>([
  "stepwise",
  "revise",
  "seeded",
  "tokenizer",
  "nSampling",
  "logprobs"
])

/**
 * A generation whose steps carry the token confidences of its sampled tokens, in order: each
 * step the next `step.tokens` of them, the last step the rest.
 *
 * @example
 * withConfidences(generation, { confidence: [3.1, 4.2], logprob: [-0.1, -0.3] }).steps[0]?.confidence
 */
export const withConfidences = (
  g: Generation,
  lp: { readonly confidence: ReadonlyArray<number>; readonly logprob: ReadonlyArray<number> }
): Generation => {
  let at = 0
  const last = g.steps.length - 1
  return {
    ...g,
    steps: g.steps.map((s, i) => {
      const end = i === last ? lp.confidence.length : Math.min(lp.confidence.length, at + s.tokens)
      const step = {
        ...s,
        confidence: Confidence.fromTokens(
          lp.confidence.slice(at, end),
          lp.logprob.slice(at, end).reduce((a, b) => a + b, 0)
        )
      }
      at = end
      return step
    })
  }
}

/**
 * Why DeepConf online (`stopBelow`) is refused: node-llama-cpp 3.21's `LlamaCompletion` samples
 * without reporting probabilities (`onToken`/`onTextChunk` give tokens and text only), so a
 * generation cannot be stopped on its confidence while it runs; confidences come afterwards
 * (`controlledEvaluate`), when every token has been generated and paid.
 */
export const NO_ONLINE_STOP = backendError(
  { backend: BACKEND, operation: "generate" },
  "Unsupported",
  "the llama-cpp backend cannot stop a generation on its token confidence (DeepConf online, the deepconf node): node-llama-cpp's LlamaCompletion reports no token probabilities while it samples; use deepconf-offline (token confidences are given after generation), or the openai backend against a llama.cpp or vLLM server"
)

/** Judge scores remembered (a few MB): a beam search of 40 rounds × 256 beams judges ~10k new prefixes per round. */
const MEMO_CAPACITY = 200_000

/** Everything the llama-cpp layer provides. */
export type LlamaCppServices = Generator | Verifier

export interface LlamaCppBackend {
  readonly config: ResolvedLlamaCppConfig
  /** the prompt template in use ("auto" resolved) */
  readonly template: Prompt.TemplateName
  /** the context window of each call, in tokens */
  readonly contextSize: number
  readonly generator: GeneratorShape
  readonly verifier: VerifierShape
  /** the tokens of a text, counted by the generator's model (what `promptTokens` counts with) */
  readonly countTokens: (text: string) => number
  /** the generator's model, for tests and tools that want its tokenizer */
  readonly model: LlamaModel
}

/**
 * Tokenization exactly as node-llama-cpp's completion does it: a beginning-of-sequence token is
 * prepended when the vocabulary asks for one, and the text after it loses SentencePiece's dummy
 * leading space. Template markers are special tokens unless the template is "none".
 */
interface TextTokens {
  /** the token prepended to every prompt, if any */
  readonly bos: Token | undefined
  /** a text's tokens, without the beginning token */
  readonly encode: (text: string) => Array<Token>
}

const textTokens = (model: LlamaModel, special: boolean): TextTokens => {
  // as node-llama-cpp's resolveBeginningTokenToPrepend
  const vocabulary = String(model.vocabularyType)
  const bos =
    vocabulary === "rwkv" || vocabulary === "ugm"
      ? undefined
      : vocabulary === "wpm" || model.tokens.shouldPrependBosToken
        ? (model.tokens.bos ?? undefined)
        : undefined
  return {
    bos,
    encode: (text) => {
      const tokens = model.tokenize(text, special, bos === undefined ? undefined : "trimLeadingSpace")
      // a template that writes the beginning token itself (llama-3) must not get it twice
      return bos !== undefined && tokens[0] === bos ? tokens.slice(1) : tokens
    }
  }
}

const describe = (e: unknown): string => (e instanceof Error ? e.message : String(e))

/** A context with one sequence (one evaluation state), disposed with the scope. */
const acquireSequence = (model: LlamaModel, contextSize: number, threads: number, path: string) =>
  Effect.acquireRelease(
    Effect.tryPromise({
      try: () => model.createContext({ contextSize, sequences: 1, threads }),
      catch: (e) =>
        new LlamaCppLoadError({
          path,
          problem: `cannot create a context of ${contextSize} tokens: ${describe(e)}`
        })
    }),
    (context) => Effect.promise(() => context.dispose())
  ).pipe(Effect.map((context) => context.getSequence()))

/**
 * Loads the model(s) and builds the backend's services; everything native is disposed when the
 * scope closes.
 *
 * @example
 * const backend = yield* make(yield* decodeConfig({ modelPath: "stories260K.gguf", threads: 1 }))
 * const { generations } = yield* backend.generator.generate(request)
 */
export const make = Effect.fn("llama-cpp.make")(function* (
  config: ResolvedLlamaCppConfig
): Effect.fn.Return<LlamaCppBackend, LlamaCppLoadError, Scope.Scope> {
  yield* checkFile(config.modelPath, "modelPath")
  if (config.judge.modelPath !== undefined) yield* checkFile(config.judge.modelPath, "judge.modelPath")
  const llama = yield* acquireLlama(config.threads)
  const model = yield* loadModel(llama, config.modelPath, "modelPath")
  const judgeModel =
    config.judge.modelPath === undefined ? model : yield* loadModel(llama, config.judge.modelPath, "judge.modelPath")
  const contextSize = config.contextSize ?? Math.min(model.trainContextSize, 4096)
  if (config.maxTokens >= contextSize)
    return yield* new LlamaCppLoadError({
      path: "maxTokens",
      problem: `${config.maxTokens} leaves no room for a prompt in the model's context of ${contextSize} tokens (set contextSize or maxTokens)`
    })
  const template =
    config.template === "auto" ? resolveTemplate(model.fileInfo.metadata.tokenizer?.chat_template) : config.template
  const special = template !== "none"
  const system = config.system ?? Prompt.SYSTEM
  const delimiter = config.stepDelimiter
  const tokens = textTokens(model, special)
  const judgeText = textTokens(judgeModel, special)
  const judge: JudgeTokens = yield* Result.match(
    judgeTokens(
      judgeText.encode(config.judge.suffix + config.judge.yes),
      judgeText.encode(config.judge.suffix + config.judge.no)
    ),
    {
      onFailure: (message) => Effect.fail(new LlamaCppLoadError({ path: "judge", problem: message })),
      onSuccess: Effect.succeed
    }
  )

  const sequence: LlamaContextSequence = yield* acquireSequence(model, contextSize, config.threads, "contextSize")
  const judgeSequence: LlamaContextSequence = yield* acquireSequence(
    judgeModel,
    contextSize,
    config.threads,
    "contextSize"
  )
  const { LlamaCompletion: Completion } = yield* importNodeLlamaCpp
  const completion: LlamaCompletion = new Completion({ contextSequence: sequence })
  const generatorQueue = makeSerial()
  const judgeQueue = makeSerial()
  const memo = makeMemo(MEMO_CAPACITY)

  // ---------------------------------------------------------------------------------------------
  // Generator

  const promptText = (request: GenerateRequest): string =>
    Prompt.render(template, Prompt.requestMessages(request, system), Prompt.continuation(request.prefix, delimiter))
  /** what the model reads, without the beginning token (node-llama-cpp prepends it) */
  const promptIds = (request: GenerateRequest): Array<Token> => tokens.encode(promptText(request))
  const promptTokens = (request: GenerateRequest): number =>
    promptIds(request).length + (tokens.bos === undefined ? 0 : 1)

  const checkRequest = (request: GenerateRequest, inputTokens: number): string | undefined => {
    if (!Number.isInteger(request.n) || request.n < 0) return `n: expected a non-negative integer, got ${request.n}`
    if (!Number.isInteger(request.maxTokens) || request.maxTokens < 1)
      return `maxTokens: expected a positive integer, got ${request.maxTokens}`
    if (!Number.isFinite(request.temperature) || request.temperature < 0)
      return `temperature: expected a finite number ≥ 0, got ${request.temperature}`
    if (inputTokens >= contextSize)
      return `the prompt has ${inputTokens} tokens; the context holds ${contextSize} (set contextSize in the backend config)`
    return undefined
  }

  const sample = async (request: GenerateRequest, ids: Array<Token>, signal: AbortSignal) => {
    const maxTokens = Math.min(request.maxTokens, config.maxTokens)
    const soFar = Prompt.continuation(request.prefix, delimiter)
    // every call starts from an empty context, so it does not depend on the calls before it
    await sequence.clearHistory()
    const generations: Array<Generation> = []
    const sampledTokens: Array<ReadonlyArray<Token>> = []
    for (let i = 0; i < request.n; i++) {
      const before = sequence.tokenMeter.getState()
      const released: Array<Token> = []
      const response = await completion.generateCompletionWithMeta(ids.slice(), {
        signal,
        maxTokens,
        temperature: request.temperature,
        seed: continuationSeed(request.seed, (request.index ?? 0) + i),
        topK: config.topK,
        topP: config.topP,
        minP: config.minP,
        // plain temperature sampling, as OpenAI-compatible servers default to
        repeatPenalty: false,
        ...(request.until === "step" ? { customStopTriggers: [delimiter] } : {}),
        // a full context ends the continuation ("length") instead of silently dropping the prompt's start
        disableContextShift: true,
        contextShiftSize: 0,
        onToken: (chunk) => {
          for (const t of chunk) released.push(t)
        }
      })
      const stopReason: StopReason = response.metadata.stopReason
      generations.push(
        toGeneration(
          {
            text: response.response,
            stopReason,
            // sampled tokens: the text's, a stop trigger's and the end-of-sequence token
            outputTokens: sequence.tokenMeter.diff(before).usedOutputTokens,
            textTokens: released.length
          },
          delimiter,
          request.until,
          soFar,
          (k) => model.detokenize(released.slice(0, k)).length,
          request.problem.answer
        )
      )
      if (request.logprobs !== undefined) sampledTokens.push(released)
    }
    // token confidences, when asked: each continuation is read again by the model (the sampled
    // tokens are already chosen, so the generations above are unchanged)
    if (request.logprobs !== undefined) {
      const k = request.logprobs
      for (const [i, released] of sampledTokens.entries()) {
        const g = generations[i]
        if (g !== undefined) generations[i] = withConfidences(g, await tokenLogprobs(ids, released, k))
      }
    }
    return generations
  }

  /**
   * Per sampled token: DeepConf's token confidence from the model's top-k log-probabilities at
   * its position (temperature 1, no truncation: the model's own distribution, as vLLM reports
   * logprobs) and the sampled token's log-probability — by evaluating prompt and continuation once
   * more with `LlamaContextSequence.controlledEvaluate` and `generateNext.probabilities` (the only
   * node-llama-cpp 3.21 API that exposes token probabilities; `LlamaCompletion`'s `onToken` /
   * `onTextChunk` give none).
   */
  const tokenLogprobs = async (
    ids: ReadonlyArray<Token>,
    released: ReadonlyArray<Token>,
    k: number
  ): Promise<{ confidence: Array<number>; logprob: Array<number> }> => {
    const confidence: Array<number> = []
    const logprob: Array<number> = []
    if (released.length === 0) return { confidence, logprob }
    await sequence.clearHistory()
    const input: Array<Token> = [...(tokens.bos === undefined ? [] : [tokens.bos as Token]), ...ids, ...released]
    // the distribution after position p predicts the token at p + 1
    const from = input.length - released.length - 1
    const out = await sequence.controlledEvaluate(
      input.map((t, p) =>
        p >= from && p < input.length - 1
          ? [t, { generateNext: { probabilities: true, options: { temperature: 1, topK: 0, topP: 1, minP: 0 } } }]
          : t
      )
    )
    for (const [j, token] of released.entries()) {
      const probabilities = out[from + j]?.next.probabilities
      const top: Array<number> = []
      if (probabilities !== undefined)
        for (const p of probabilities.values()) {
          if (top.length >= k) break
          top.push(Math.log(Math.max(p, 1e-300)))
        }
      confidence.push(Confidence.tokenConfidence(top))
      logprob.push(Math.log(Math.max(probabilities?.get(token) ?? 0, 1e-300)))
    }
    await sequence.clearHistory()
    return { confidence, logprob }
  }

  const generate = (request: GenerateRequest): Effect.Effect<GenerateResult, BackendError> =>
    Effect.suspend((): Effect.Effect<GenerateResult, BackendError> => {
      const ids = promptIds(request)
      const inputTokens = ids.length + (tokens.bos === undefined ? 0 : 1)
      const bad = checkRequest(request, inputTokens)
      if (bad !== undefined)
        return Effect.fail(backendError({ backend: BACKEND, operation: "generate" }, "InvalidRequest", bad))
      if (request.stopBelow !== undefined) return Effect.fail(NO_ONLINE_STOP)
      return generatorQueue
        .run(
          (signal) => sample(request, ids, signal),
          (e) => backendError({ backend: BACKEND, operation: "generate" }, "Unavailable", describe(e))
        )
        .pipe(Effect.map((generations): GenerateResult => ({ generations, inputTokens })))
    })

  // ---------------------------------------------------------------------------------------------
  // Verifier

  /** the judge's prompt for the first `k` steps: template, question, the steps, suffix, shared answer tokens */
  const judgeIds = (problem: Problem, steps: ReadonlyArray<Steps.Step>, k: number): Array<Token> => [
    ...(judgeText.bos === undefined ? [] : [judgeText.bos]),
    ...judgeText.encode(
      Prompt.render(
        template,
        Prompt.messages(problem, undefined, system),
        steps
          .slice(0, k)
          .map((s) => s.text)
          .join(delimiter)
      )
    ),
    ...(judge.tail as ReadonlyArray<Token>)
  ]

  const judged = (verifier: string, problem: Problem, candidate: Candidate): ReadonlyArray<Array<Token>> => {
    const steps = Steps.toArray(candidate.steps)
    return judgedPrefixes(verifier, steps.length).map((k) => judgeIds(problem, steps, k))
  }

  /** judges prompts in order on the judge's context, reusing what each shares with the one before */
  const judgeAll = async (prompts: ReadonlyArray<Array<Token>>): Promise<Array<number>> => {
    const kept = reuse(prompts)
    await judgeSequence.clearHistory()
    const scores: Array<number> = []
    for (let i = 0; i < prompts.length; i++) {
      const keep = kept[i] ?? 0
      const rest = (prompts[i] ?? []).slice(keep)
      const last = rest[rest.length - 1]
      if (last === undefined) {
        scores.push(0.5)
        continue
      }
      if (judgeSequence.nextTokenIndex > keep)
        await judgeSequence.eraseContextTokenRanges([{ start: keep, end: judgeSequence.nextTokenIndex }])
      const out = await judgeSequence.controlledEvaluate([
        ...rest.slice(0, -1),
        [last, { generateNext: { probabilities: true, options: { temperature: 1, topK: 0, topP: 1, minP: 0 } } }]
      ])
      const probabilities = out[rest.length - 1]?.next.probabilities
      scores.push(judgeScore(probabilities?.get(judge.yes as Token) ?? 0, probabilities?.get(judge.no as Token) ?? 0))
    }
    return scores
  }

  const score = (request: ScoreRequest): Effect.Effect<ScoreResult, BackendError> =>
    Effect.suspend((): Effect.Effect<ScoreResult, BackendError> => {
      if (!(VERIFIERS as ReadonlyArray<string>).includes(request.verifier))
        return Effect.fail(
          backendError(
            { backend: BACKEND, operation: "score" },
            "InvalidRequest",
            `verifier: expected one of ${VERIFIERS.join(", ")}, got ${JSON.stringify(request.verifier)}`
          )
        )
      const prompts = request.candidates.map((c) => judged(request.verifier, request.problem, c))
      const all = prompts.flat()
      const inputTokens = evaluatedTokens(all)
      const tooLong = all.find((p) => p.length >= contextSize)
      if (tooLong !== undefined)
        return Effect.fail(
          backendError(
            { backend: BACKEND, operation: "score" },
            "InvalidRequest",
            `a judge prompt has ${tooLong.length} tokens; the context holds ${contextSize} (set contextSize in the backend config)`
          )
        )
      return judgeQueue.run(
        async (): Promise<ScoreResult> => {
          // prompts judged before (earlier rounds, or shared by siblings in this call) are not evaluated again
          const keys = all.map((p) => hash64(p))
          const known = new Map<bigint, number>()
          const missing: Array<Array<Token>> = []
          const missingKeys: Array<bigint> = []
          const pending = new Set<bigint>()
          all.forEach((p, i) => {
            const key = keys[i] ?? 0n
            if (known.has(key) || pending.has(key)) return
            const hit = memo.get(key)
            if (hit === undefined) {
              missing.push(p)
              missingKeys.push(key)
              pending.add(key)
            } else known.set(key, hit)
          })
          const scored = await judgeAll(missing)
          for (const [i, key] of missingKeys.entries()) {
            const score = scored[i] ?? 0.5
            known.set(key, score)
            memo.set(key, score)
          }
          let at = 0
          const stepScores = prompts.map((ps) => {
            at += ps.length
            return keys.slice(at - ps.length, at).map((key) => known.get(key) ?? 0.5)
          })
          const evaluated = evaluatedTokens(missing)
          return evaluated === inputTokens
            ? { stepScores, inputTokens }
            : { stepScores, inputTokens, spent: { calls: missing.length === 0 ? 0 : 1, inputTokens: evaluated } }
        },
        (e) => backendError({ backend: BACKEND, operation: "score" }, "Unavailable", describe(e))
      )
    })

  const name = config.model ?? basename(config.modelPath).replace(/\.gguf$/iu, "")
  const judgeName =
    config.judge.modelPath === undefined ? name : basename(config.judge.modelPath).replace(/\.gguf$/iu, "")
  const generator: GeneratorShape = {
    backend: BACKEND,
    model: name,
    params: config.params ?? model.fileInsights.totalParameters,
    capabilities: CAPABILITIES,
    concurrency: 1,
    maxTokens: config.maxTokens,
    ...(config.stepTokens === undefined ? {} : { stepTokens: config.stepTokens }),
    stepDelimiter: delimiter,
    generate,
    promptTokens
  }
  const verifier: VerifierShape = {
    backend: BACKEND,
    model: `${judgeName}:judge`,
    params: judgeModel.fileInsights.totalParameters,
    verifiers: VERIFIERS,
    concurrency: 1,
    score,
    // the PRM's cost (every step prefix) judged alone: an upper bound for the ORM, which judges the
    // last prefix only, and for a batch, whose candidates may reuse each other's evaluated tokens
    inputTokens: (problem, candidate) => evaluatedTokens(judged("prm", problem, candidate))
  }
  const countTokens = (text: string) => tokens.encode(text).length
  return { config, template, contextSize, generator, verifier, countTokens, model } satisfies LlamaCppBackend
})

/** The services of a built backend, as a context. */
const contextOf = (backend: LlamaCppBackend) =>
  Context.make(Generator, backend.generator).pipe(Context.add(Verifier, backend.verifier))

/**
 * The backend's services from a decoded configuration; the model is loaded when the layer is
 * built and disposed when it is released.
 *
 * @example
 * program.pipe(Effect.provide(layerConfig(yield* decodeConfig({ modelPath: "stories260K.gguf" }))))
 */
export const layerConfig = (config: ResolvedLlamaCppConfig): Layer.Layer<LlamaCppServices, LlamaCppLoadError> =>
  Layer.effectContext(Effect.map(make(config), contextOf))

/**
 * The backend's services from a JSON configuration (decoded with its defaults).
 *
 * @example
 * program.pipe(Effect.provide(layer({ modelPath: "stories260K.gguf", threads: 1 })))
 */
export const layer = (input: unknown): Layer.Layer<LlamaCppServices, BackendConfigError | LlamaCppLoadError> =>
  Layer.unwrap(Effect.map(decodeConfig(input), layerConfig))
