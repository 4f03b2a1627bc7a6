/**
 * Serving a generation request from a pool (pure): refusals, the seeded draw, and a recorded
 * response as a generation — its text split into steps at the step delimiter, each step's
 * approximate token count (a non-final step's count includes the delimiter after it, so the
 * counts sum to about the whole text's), the recorded answer, `done`, and `finishReason: "end"`.
 * A response longer than the request's `maxTokens` is cut there, as a model with that cap would
 * have been: `finishReason: "length"`, not done, no answer.
 *
 * @since 0.1.0
 */
import { Result } from "effect"
import type { Step } from "../../src/domain/Steps.ts"
import type { GenerateRequest, GenerateResult, Generation } from "../../src/services/Generator.ts"
import type { ReplayLatent } from "./Latent.ts"
import { draw, permutation } from "./Order.ts"
import type { Pool, RecordedResponse, ReplayDataset } from "./Pool.ts"
import { approximateTokens, truncateTokens } from "./Tokens.ts"

/** The text between steps of a recorded response. */
export const STEP_DELIMITER = "\n\n"

/** Why a request cannot be served: the tag of the backend error to raise, and its message. */
export interface Refusal {
  readonly _tag: "Unsupported" | "InvalidRequest"
  readonly message: string
}

/** The refusal of step-level search and revisions. */
export const STEP_LEVEL_REFUSAL =
  "replay serves recorded whole solutions; step-level search (beam search, lookahead, DVTS, particle filtering) and revisions need a generator (e.g. the simulated backend)"

/**
 * What replay cannot do with a request, if anything: a prefix (step continuation), `until:
 * "step"`, a revision context, or a consistency judge's call.
 *
 * @example
 * unsupported({ ...request, until: "step" })?._tag // "Unsupported"
 */
export const unsupported = (request: GenerateRequest): Refusal | undefined => {
  // a recording holds no verifier's chains of thought
  if (request.verify !== undefined)
    return { _tag: "Unsupported", message: "a recording has no generative verifier (use a reward model's scores)" }
  // a recording holds no judge's verdicts: free-text votes group by normalised text instead
  if (request.judge !== undefined)
    return {
      _tag: "Unsupported",
      message: "a recording has no consistency judge (free-text votes group by normalised text)"
    }
  const asked =
    request.context !== undefined
      ? "a revision (context of previous attempts)"
      : request.prefix !== undefined
        ? `a continuation of candidate ${request.prefix.id}`
        : request.until === "step"
          ? 'one step (until: "step")'
          : undefined
  return asked === undefined ? undefined : { _tag: "Unsupported", message: `${STEP_LEVEL_REFUSAL}; asked for ${asked}` }
}

/**
 * The pool of a problem, or a refusal naming the problem id.
 *
 * @example
 * poolOf(dataset, "qwen-pool/0")
 */
export const poolOf = (dataset: ReplayDataset, problemId: string): Result.Result<Pool, Refusal> => {
  const pool = dataset.pools.get(problemId)
  return pool === undefined
    ? Result.fail({
        _tag: "InvalidRequest",
        message: `problem ${JSON.stringify(problemId)} is not in the recorded pool ${dataset.name} (${dataset.problems.length} problems; ids look like ${dataset.problems[0]?.id ?? "?"})`
      })
    : Result.succeed(pool)
}

/**
 * One recorded response as a generation, cut at `maxTokens` approximate tokens.
 *
 * @example
 * toGeneration("qwen-pool/0", 3, response, 4096).answer // "420"
 */
export const toGeneration = (
  problemId: string,
  index: number,
  response: RecordedResponse,
  maxTokens: number
): Generation => {
  const segments = response.text.split(STEP_DELIMITER)
  const complete: ReplayLatent = { _tag: "ReplayLatent", problemId, index, complete: true }
  const steps: Array<Step> = []
  let total = 0
  for (let i = 0; i < segments.length; i++) {
    const text = segments[i] ?? ""
    const last = i === segments.length - 1
    const tokens = approximateTokens(last ? text : text + STEP_DELIMITER)
    if (total + tokens > maxTokens) {
      const cut = truncateTokens(text, maxTokens - total)
      const cutTokens = approximateTokens(cut)
      const latent: ReplayLatent = { ...complete, complete: false }
      if (cut !== "") steps.push({ text: cut, tokens: cutTokens, latent })
      else if (steps.length > 0) {
        const prev = steps.pop()
        if (prev !== undefined) steps.push({ ...prev, latent })
      }
      return { steps, done: false, outputTokens: total + cutTokens, finishReason: "length" }
    }
    total += tokens
    steps.push({ text, tokens, latent: complete })
  }
  return {
    steps,
    done: true,
    ...(response.answer === undefined ? {} : { answer: response.answer }),
    outputTokens: total,
    finishReason: "end"
  }
}

/**
 * Serves a request: n recorded responses of the problem's pool, drawn without replacement in the
 * seeded order of `Order.draw` (the whole pool in recorded order when n is the pool size).
 * Refuses step-level requests and revisions (`Unsupported`), unknown problems and n larger than
 * the pool (`InvalidRequest`). `inputTokens` is the question's approximate token count. Whole
 * generations are kept in `memo` (the backend keeps one per dataset), so a response's text is
 * tokenized once.
 *
 * @example
 * generate(dataset, { problem, prefix: undefined, n: 8, until: "end", temperature: 0.8, maxTokens: 4096, seed: 1n })
 */
/** Whole (uncut) generations already built, by `problemId#index`: building one tokenizes its text. */
export type GenerationMemo = Map<string, Generation>

export const generate = (
  dataset: ReplayDataset,
  request: GenerateRequest,
  memo: GenerationMemo = new Map()
): Result.Result<GenerateResult, Refusal> => {
  const refusal = unsupported(request)
  if (refusal !== undefined) return Result.fail(refusal)
  const found = poolOf(dataset, request.problem.id)
  if (Result.isFailure(found)) return Result.fail(found.failure)
  const pool = found.success
  const size = pool.responses.length
  if (!Number.isInteger(request.n) || request.n < 0)
    return Result.fail({ _tag: "InvalidRequest", message: `n: expected a non-negative integer, got ${request.n}` })
  const offset = request.index ?? 0
  if (offset + request.n > size)
    return Result.fail({
      _tag: "InvalidRequest",
      message: `${offset === 0 ? `n = ${request.n}` : `continuations ${offset}…${offset + request.n - 1}`} is more than the ${size} recorded responses of ${pool.problem.id}; replay draws without replacement, so n ≤ ${size}`
    })
  const id = pool.problem.id
  // continuations index … index + n − 1 of the seeded order (a call paid in parts asks for the rest)
  const order =
    offset === 0
      ? draw(id, request.seed, size, request.n)
      : permutation(id, request.seed, size).slice(offset, offset + request.n)
  const generations = order.map((i): Generation => {
    const response = pool.responses[i]
    // draw returns indices below size
    if (response === undefined) return { steps: [], done: false, outputTokens: 0, finishReason: "end" }
    const key = `${id}#${i}`
    let whole = memo.get(key)
    if (whole === undefined) {
      whole = toGeneration(id, i, response, Number.POSITIVE_INFINITY)
      memo.set(key, whole)
    }
    return whole.outputTokens <= request.maxTokens ? whole : toGeneration(id, i, response, request.maxTokens)
  })
  return Result.succeed({ generations, inputTokens: approximateTokens(request.problem.question) })
}
