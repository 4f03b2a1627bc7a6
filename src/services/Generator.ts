/**
 * The Generator port: a language model that writes solution steps.
 *
 * @since 0.1.0
 */
import { Context, type Effect, type Result } from "effect"
import type { Candidate } from "../domain/Candidate.ts"
import type { Problem } from "../domain/Problem.ts"
import type { Step } from "../domain/Steps.ts"
import type { BackendError } from "./BackendError.ts"
import type { Capability } from "./Capability.ts"
import type { VerifyTask } from "./GenVerify.ts"
import type { JudgeTask } from "./Judge.ts"
import type { RetryPolicy } from "./Retry.ts"

export interface GenerateRequest {
  readonly problem: Problem
  /** the partial solution to continue; `undefined` starts from the problem */
  readonly prefix: Candidate | undefined
  /** how many independent continuations */
  readonly n: number
  /** one more step, or to the end of the solution */
  readonly until: "step" | "end"
  readonly temperature: number
  /** cap on output tokens of each continuation */
  readonly maxTokens: number
  /** the call's seed (see `Hash.seedOf`); continuation i must depend only on (request, seed, index + i) */
  readonly seed: bigint
  /**
   * the index of the first continuation asked for (default 0): a call paid in parts asks for
   * continuations `index … index + n − 1` of the same seed, so its parts are the continuations one
   * request of all of them would have given
   */
  readonly index?: number
  /** previous attempts of a revision chain, oldest first; present only for revisions */
  readonly context?: ReadonlyArray<Candidate>
  /**
   * give each step its tokens' confidences (`Step.confidence`) from the top `logprobs`
   * log-probabilities at each position (capability `logprobs`; a backend without it ignores this)
   */
  readonly logprobs?: number
  /**
   * DeepConf online early stopping (needs `logprobs`; every backend with capability `logprobs`
   * honours it): each continuation stops as soon as the mean token confidence of its last `window`
   * tokens (the prefix's included) falls below `threshold`. A stopped continuation has the tokens
   * generated up to and including the one that tripped the rule (`outputTokens`, what is charged),
   * `done: false`, no answer, `finishReason: "length"` and `stopped: true`.
   */
  readonly stopBelow?: StopBelow
  /**
   * Present for a consistency judge's call (free-text voting, `Judge.ts`): the model reads the
   * judge's prompt over these responses to `problem` instead of the problem (`Prompt.requestMessages`),
   * and its one generation is the verdict. A backend that cannot judge fails with `Unsupported`.
   */
  readonly judge?: JudgeTask
  /**
   * Present for a generative verifier's call (`GenVerify.ts`): the model reads the verification
   * prompt over these steps of a solution to `problem` instead of the problem
   * (`Prompt.requestMessages`), and each generation is one verification sample. A backend that
   * cannot verify fails with `Unsupported`.
   */
  readonly verify?: VerifyTask
  /**
   * Present for one phase of a sample that thinks before it answers (s1's budget forcing, capability
   * `thinking`): continue the thinking, or close it and answer (see `ThinkRequest`). A backend
   * without the capability fails with `Unsupported`.
   */
  readonly think?: ThinkRequest
}

/**
 * One phase of a thinking sample (`GenerateRequest.think`). The model reads the problem and its
 * thinking so far, opened by the backend's start-of-thinking delimiter (`<think>` by default):
 * - `"think"`: it goes on thinking. The generation is thinking only: no steps, `thinking` its new
 *   text, every output token a thinking token; `finishReason` is `"end"` when the model ended its
 *   thinking (it wrote the end-of-thinking delimiter, which is not kept) and `"length"` at `maxTokens`.
 * - `"answer"`: the backend closes the thinking (appends its end-of-thinking delimiter — forced or
 *   where the model ended it) and the model writes the answer: a generation as without `think`,
 *   whose answer is taken only from what follows the thinking.
 */
export interface ThinkRequest {
  readonly phase: "think" | "answer"
  /** the thinking so far as the model reads it, every appended "Wait" included ("" at the start) */
  readonly text: string
  /** thinking tokens the model generated so far (the appended words excluded) */
  readonly tokens: number
  /** how many times the end of the thinking was suppressed so far */
  readonly waits: number
}

/** DeepConf online's stopping rule for one request (`GenerateRequest.stopBelow`). */
export interface StopBelow {
  /** tokens of a group (≥ 1) */
  readonly window: number
  /** stop when a group's mean token confidence is below this */
  readonly threshold: number
}

/** One continuation: the new steps (appended to the prefix), and whether the solution is complete. */
export interface Generation {
  readonly steps: ReadonlyArray<Step>
  readonly done: boolean
  /** the final answer, when the continuation completed the solution and has one */
  readonly answer?: string
  readonly outputTokens: number
  /** why generation stopped: a step delimiter, the end of the solution, or the token cap */
  readonly finishReason: "step" | "end" | "length"
  /** stopped by `GenerateRequest.stopBelow` (DeepConf online): cut short, not a solution */
  readonly stopped?: boolean
  /**
   * a verification sample asked with `verify.verdict: "probability"`: P("yes") at its final verdict
   * token (`GenVerify.verdictYes`), when the reply has a yes/no verdict and its log-probabilities
   */
  readonly verdictYes?: number
  /**
   * of `outputTokens`, the tokens the model spent thinking (a reasoning model's reasoning content
   * or `<think>` block, a think phase of `GenerateRequest.think`); absent: none
   */
  readonly thinkingTokens?: number
  /** the thinking text of this generation, when it has one (a think phase's output, a reasoning model's reasoning) */
  readonly thinking?: string
}

export interface GenerateResult {
  /** exactly `n` continuations, in order */
  readonly generations: ReadonlyArray<Generation>
  /**
   * prompt tokens the backend read: once for a request with `n` continuations (as OpenAI-compatible
   * servers report them), once per request when the continuations were separate requests
   */
  readonly inputTokens: number
  /**
   * What the backend really spent, when it differs from the logical cost above — a cache hit
   * spends nothing. Absent: the logical cost was spent.
   */
  readonly spent?: BackendSpend
}

/** Real backend spend of a call. */
export interface BackendSpend {
  readonly calls: number
  readonly sequences: number
  readonly inputTokens: number
  readonly outputTokens: number
}

/**
 * A port's answers in plain code (`GeneratorShape.answerNow`), tied to the `generate` they are the
 * answers of.
 *
 * @example
 * const answerNow: AnswerNow = Object.assign((request: GenerateRequest) => Result.succeed(answer(request)), { of: generate })
 */
export interface AnswerNow {
  (request: GenerateRequest): Result.Result<GenerateResult, BackendError>
  /** the `generate` whose answers these are */
  readonly of: (request: GenerateRequest) => Effect.Effect<GenerateResult, BackendError>
}

export interface GeneratorShape {
  /** backend name, e.g. `simulated`, `openai` */
  readonly backend: string
  /** model name */
  readonly model: string
  /** model parameters, for FLOPs (2·params·tokens) */
  readonly params: number
  readonly capabilities: ReadonlySet<Capability>
  /** concurrent calls the backend accepts */
  readonly concurrency: number
  /** default and largest `maxTokens` of one call: the solution cap (no lane grows past it) */
  readonly maxTokens: number
  /** default `maxTokens` of a step-wise call (`until: "step"`); absent: `maxTokens` */
  readonly stepTokens?: number
  /**
   * the most steps a solution of this backend can have (a backend-provided step-length model: the
   * simulator knows it), which bounds search loops that run until no lane is active; absent: unknown
   */
  readonly maxSteps?: number
  /**
   * prices (USD per million tokens) and parameter counts the backend's configuration sets, its
   * verifier's included (the shape of `budget/Pricing.Prices`); absent: none
   */
  readonly prices?: {
    readonly input?: number
    readonly output?: number
    readonly verifier?: number
    readonly generatorParams?: number
    readonly verifierParams?: number
  }
  /**
   * a call that does not ask to think may still spend thinking tokens (a reasoning model behind an
   * OpenAI-compatible server): such calls reserve `thinkingTokens` as output tokens, and static
   * bounds count them; absent: only `think` phases think
   */
  readonly thinks?: boolean
  /** the text between steps */
  readonly stepDelimiter: string
  readonly generate: (request: GenerateRequest) => Effect.Effect<GenerateResult, BackendError>
  /**
   * This port's own `generate`, when every effect it returns completes in the step that runs it:
   * no timer, no I/O, no wait (a simulator without latency, answers served from memory). No two
   * such calls are ever in progress together, so the runtime runs a node's calls one after
   * another in the node's fiber, without a fiber and a permit each. It is the function itself,
   * not a flag, so that a wrapper that replaces `generate` (a cache, a fault, a latency) drops the
   * claim unless it makes it again; absent: calls are forked and take permits.
   */
  readonly atOnce?: (request: GenerateRequest) => Effect.Effect<GenerateResult, BackendError>
  /**
   * A port that answers at once (`atOnce`) may also answer in plain code: what `generate` gives,
   * as a `Result`. The runtime then makes a node's calls without running an effect per call (as a
   * plain loop would), but only while `answerNow.of` is still the port's `generate`: a wrapper
   * that replaces `generate` drops it, as it drops `atOnce`, unless it makes both again.
   */
  readonly answerNow?: AnswerNow
  /**
   * An upper bound of one request's prompt tokens, known before the call: exact with a tokenizer
   * (capability `tokenizer`), else a bound no byte-level tokenizer exceeds (the UTF-8 bytes of what
   * the model reads); `undefined` when the backend cannot bound it. The runtime reserves it and
   * commits what the backend reports.
   */
  readonly promptTokens: ((request: GenerateRequest) => number) | undefined
  /**
   * How the runtime retries this backend's transient failures; each attempt is reserved and
   * charged as a call. Absent: no retries.
   */
  readonly retry?: RetryPolicy
}

/** The generator of a run. */
export class Generator extends Context.Service<Generator, GeneratorShape>()("mull/services/Generator") {}
