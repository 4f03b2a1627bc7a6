/**
 * The simulated thinking mode (`GenerateRequest.think`, capability `thinking`): a sample that
 * thinks before it answers, for s1's budget forcing (Muennighoff et al. 2025, "s1: Simple
 * test-time scaling").
 *
 * **Thinking length.** Left alone, sample i thinks in one segment of `T₀` tokens, log-normal
 * around a median that grows with difficulty, `m(δ) = 1000 + 3000·δ` (spread 0.5), and then ends
 * its thinking. When the end is suppressed and "Wait" appended, it thinks on for another segment,
 * log-normal around `0.4·m(δ)` (a re-check is shorter than the first pass). Segment k of sample i
 * is drawn from the call's seed, i and k only, so it is the same at any concurrency and whatever
 * the cap; a think phase stops at its `maxTokens` ("length") or where its segment ends ("end").
 *
 * **Accuracy.** The answer after `T` thinking tokens is a solution lineage of the ordinary model
 * with the pass@1 target `s` replaced by
 *
 *     logit s_T = logit s + β · log2(1 + min(T, 2·m(δ)) / T_u),   β = 0.3, T_u = 256
 *
 * — log-linear in the thinking tokens, then flat past twice the median natural length. The slope
 * is s1's: extending s1-32B's thinking (suppressing the end with "Wait") took AIME24 from 50% to
 * 57%, +0.28 logits for about a doubling of its thinking, and s1 reports the gains flatten when
 * the end is suppressed further. With no thinking (`T = 0`) `s_T = s` and the answer is exactly the
 * plain sample i (the same lineage hash), so thinking changes which answers are right monotonically
 * (a common random number per sample): more thinking never turns a right answer wrong. A problem
 * beyond the model's ceiling stays unsolved however long it thinks.
 *
 * Nothing here is drawn for requests without `think`, so no other simulator number changes.
 *
 * @since 0.6.0
 */
import { Result } from "effect"
import { hash32, seed32, uniform } from "../../src/domain/Hash.ts"
import type { GenerateRequest, GenerateResult, Generation } from "../../src/services/Generator.ts"
import { generate as generatePure } from "./Generate.ts"
import { promptTokens } from "./Prompt.ts"
import { countTokens, truncateTokens } from "./Tokens.ts"
import type { World } from "./World.ts"

/** Segment length draws and thinking text. */
const T_THINK_A = 0x80000071
const T_THINK_B = 0x80000072
const T_THINK_TEXT = 0x80000073

/** Median natural thinking tokens: `BASE + PER_DIFFICULTY·δ`. */
export const BASE = 1000
export const PER_DIFFICULTY = 3000
/** Log-normal spread of a segment's length. */
export const SPREAD = 0.5
/** Median of a segment after a "Wait", relative to the first. */
export const EXTEND = 0.4
/** Logit gain per doubling of the thinking (s1: 50% → 57% on AIME24 for about a doubling). */
export const BETA = 0.3
/** Tokens of thinking that count as one unit of the log (`log2(1 + T/T_u)`). */
export const UNIT = 256
/** Thinking past this multiple of the median natural length adds nothing (s1: extension flattens). */
export const SATURATION = 2

/** The start and end of thinking as the simulated model writes them. */
export const OPEN = "<think>\n"
export const CLOSE = "\n</think>\n\n"

/**
 * The median natural thinking length of a problem's samples.
 *
 * @example
 * medianThinking(world) // 1000 + 3000·δ
 */
export const medianThinking = (world: World): number => BASE + PER_DIFFICULTY * world.delta

/**
 * Tokens segment `k` of sample `index` thinks before it ends its thinking (k = the "Wait"s before it).
 *
 * @example
 * segmentTokens(world, seed32(request.seed), 0, 0) // ≈ medianThinking(world)
 */
export const segmentTokens = (world: World, seed: number, index: number, k: number): number => {
  const h = hash32(hash32(seed, index), k)
  const u1 = Math.max(1e-12, uniform(h, T_THINK_A))
  const u2 = uniform(h, T_THINK_B)
  const z = Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2)
  const median = medianThinking(world) * (k === 0 ? 1 : EXTEND)
  return Math.max(1, Math.round(median * Math.exp(SPREAD * z)))
}

/**
 * The pass@1 target after `tokens` of thinking (see the module doc).
 *
 * @example
 * thinkingAccuracy(world, 0) === world.s // true
 */
export const thinkingAccuracy = (world: World, tokens: number): number => {
  // exactly s, not σ(logit s): no thinking is the plain sample
  if (tokens <= 0) return world.s
  const t = Math.min(Math.max(0, tokens), SATURATION * medianThinking(world))
  const logit = Math.log(world.s / (1 - world.s)) + BETA * Math.log2(1 + t / UNIT)
  return 1 / (1 + Math.exp(-logit))
}

const SENTENCES = [
  " Let me think about what the problem is asking.",
  " Hmm, maybe I should try a small case first.",
  " So the key quantity here is the one we need to bound.",
  " Let me recompute that more carefully.",
  " That seems consistent with the earlier step.",
  " Alternatively, we could set up an equation.",
  " I should double-check the arithmetic.",
  " Okay, so far this looks right."
]
const SENTENCE_TOKENS = SENTENCES.map(countTokens)

/** Thinking text of exactly `tokens` tokens (by the simulated tokenizer), drawn from `h`. */
const thinkingText = (h: number, tokens: number): string => {
  const parts: Array<string> = []
  let n = 0
  for (let k = 0; n < tokens; k++) {
    const j = Math.floor(uniform(hash32(h, k), T_THINK_TEXT) * SENTENCES.length)
    parts.push(SENTENCES[j] ?? "")
    n += SENTENCE_TOKENS[j] ?? 1
  }
  return truncateTokens(parts.join(""), tokens)
}

/** What the model reads of its thinking: the start delimiter, the thinking, and for an answer the end. */
const thinkingPrompt = (request: GenerateRequest): string =>
  request.think === undefined ? "" : `${OPEN}${request.think.text}${request.think.phase === "answer" ? CLOSE : ""}`

/**
 * Exact prompt tokens of a thinking request: the question's template and the thinking so far.
 *
 * @example
 * thinkPromptTokens(request) > promptTokens(request.problem, undefined, undefined) // true
 */
export const thinkPromptTokens = (request: GenerateRequest): number =>
  promptTokens(request.problem, undefined, undefined) + countTokens(thinkingPrompt(request))

/**
 * A thinking request's generations: a think phase's thinking, or the answer after it.
 *
 * @example
 * thinkGeneration(world, { ...request, think: { phase: "think", text: "", tokens: 0, waits: 0 } }, 4096)
 */
export const thinkGeneration = (
  world: World,
  request: GenerateRequest,
  maxTokensCap: number
): Result.Result<GenerateResult, string> => {
  const think = request.think
  if (think === undefined) return Result.fail("not a thinking request")
  if (request.prefix !== undefined || request.context !== undefined)
    return Result.fail("think: a thinking sample starts from the problem; prefix and context must be undefined")
  if (!Number.isInteger(think.tokens) || think.tokens < 0)
    return Result.fail(`think.tokens: expected an integer ≥ 0, got ${think.tokens}`)
  if (!Number.isInteger(think.waits) || think.waits < 0)
    return Result.fail(`think.waits: expected an integer ≥ 0, got ${think.waits}`)
  const inputTokens = thinkPromptTokens(request)
  if (think.phase === "answer") {
    const s = thinkingAccuracy(world, think.tokens)
    const omega = world.config.accuracy.omega
    const thought: World = {
      ...world,
      s,
      q0: world.solvable ? s ** omega : 0,
      q: s ** ((1 - omega) / (world.L - 1))
    }
    const { think: _, ...plain } = request
    return Result.map(generatePure(thought, { ...plain, until: "end" }, maxTokensCap), (r) => ({
      generations: r.generations.map((g) => ({ ...g, thinkingTokens: 0 })),
      inputTokens
    }))
  }
  const maxTokens = Math.min(request.maxTokens, maxTokensCap)
  if (!Number.isInteger(maxTokens) || maxTokens < 1)
    return Result.fail(`maxTokens: expected a positive integer, got ${request.maxTokens}`)
  const seed = seed32(request.seed)
  const first = request.index ?? 0
  const generations: Array<Generation> = []
  for (let i = 0; i < request.n; i++) {
    const natural = segmentTokens(world, seed, first + i, think.waits)
    const tokens = Math.min(natural, maxTokens)
    const text = thinkingText(hash32(hash32(seed, first + i), think.waits), tokens)
    const outputTokens = countTokens(text)
    generations.push({
      steps: [],
      done: false,
      outputTokens,
      thinkingTokens: outputTokens,
      thinking: text,
      finishReason: natural <= maxTokens ? "end" : "length"
    })
  }
  return Result.succeed({ generations, inputTokens })
}
