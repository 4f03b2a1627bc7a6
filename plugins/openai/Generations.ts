/**
 * A server's choices as generations (pure): the new text split into steps at the step delimiter,
 * whether the solution is complete, its answer, why it stopped, and each choice's output tokens.
 *
 * A step continuation (`until: "step"`) asks the server to stop at the delimiter. It hit the
 * delimiter when vLLM's `stop_reason` names it, or the kept stop string ends the text; it ended
 * the solution (EOS) when `finish_reason` is `"stop"` otherwise — on a server that keeps stop
 * strings or reports `stop_reason` — or when the new text completes a `\boxed{}` answer.
 * `finish_reason: "length"` is the token cap: not done.
 *
 * @since 0.1.0
 */
import { boxed } from "../../src/answer/Extract.ts"
import { extractFor } from "../../src/answer/Kinds.ts"
import type { AnswerSpec } from "../../src/domain/AnswerKind.ts"
import type { Step } from "../../src/domain/Steps.ts"
import type { Generation } from "../../src/services/Generator.ts"

/** One choice, as every server reports it. */
export interface Choice {
  readonly text: string
  readonly finishReason: string | null
  /** vLLM's `stop_reason`; `undefined` when the server does not report it */
  readonly stopReason: string | number | null | undefined
}

/** What the request asked for. */
export interface Shape {
  readonly until: "step" | "end"
  readonly delimiter: string
  /** the partial solution continued (its steps joined by the delimiter), "" for a fresh one */
  readonly prefixText: string
  /** the server keeps the matched stop string in the text (vLLM, SGLang with the flags mull sends) */
  readonly keepsStop: boolean
  /** the problem's answer kind, which decides how the answer is extracted (absent: math) */
  readonly answer?: AnswerSpec | undefined
}

/**
 * Splits `total` into integer parts proportional to `weights` (largest remainder), so the parts
 * sum to `total` exactly; equal parts when every weight is 0.
 *
 * @example
 * splitTotal(10, [1, 1, 2]) // [3, 2, 5]  (or another split summing to 10, deterministic)
 */
export const splitTotal = (total: number, weights: ReadonlyArray<number>): ReadonlyArray<number> => {
  if (weights.length === 0) return []
  const sum = weights.reduce((a, b) => a + b, 0)
  const w = sum > 0 ? weights : weights.map(() => 1)
  const s = sum > 0 ? sum : weights.length
  const exact = w.map((x) => (total * x) / s)
  const parts = exact.map(Math.floor)
  let left = total - parts.reduce((a, b) => a + b, 0)
  const order = exact.map((x, i) => ({ i, r: x - Math.floor(x) })).sort((a, b) => b.r - a.r || a.i - b.i)
  for (const { i } of order) {
    if (left <= 0) break
    parts[i] = (parts[i] ?? 0) + 1
    left--
  }
  return parts
}

/**
 * Output tokens of each choice: the per-choice counts when the server gave them (logprobs list one
 * entry per token) and they add up to `usage.completion_tokens`; otherwise `completion_tokens`
 * split in proportion to the texts' lengths.
 *
 * @example
 * outputTokensOf([{ text: "ab", tokens: undefined }, { text: "abcd", tokens: undefined }], 6) // [2, 4]
 */
export const outputTokensOf = (
  choices: ReadonlyArray<{ readonly text: string; readonly tokens: number | undefined }>,
  completionTokens: number
): ReadonlyArray<number> => {
  const counts = choices.map((c) => c.tokens)
  if (counts.every((t): t is number => t !== undefined) && counts.reduce((a, b) => a + b, 0) === completionTokens)
    return counts
  return splitTotal(
    completionTokens,
    choices.map((c) => c.text.length)
  )
}

/**
 * One choice as a generation: its new steps (each with a share of the choice's output tokens),
 * `done`, the answer of a complete solution, and the finish reason.
 *
 * @example
 * toGeneration({ text: "x = 2.\n\n", finishReason: "stop", stopReason: "\n\n" },
 *   { until: "step", delimiter: "\n\n", prefixText: "", keepsStop: true }, 5)
 * // { steps: [{ text: "x = 2.", tokens: 5 }], done: false, outputTokens: 5, finishReason: "step" }
 */
export const toGeneration = (choice: Choice, shape: Shape, outputTokens: number): Generation => {
  const { delimiter } = shape
  const text = choice.text
  const length = choice.finishReason === "length"
  const endsWithDelimiter = text.endsWith(delimiter)
  const hitDelimiter =
    shape.until === "step" &&
    !length &&
    (choice.stopReason === delimiter ||
      (choice.stopReason === undefined && endsWithDelimiter) ||
      // a server that trims stop strings and reports no stop_reason: "stop" is ambiguous (the
      // delimiter or EOS); treat non-empty text as a step — an EOS then follows as an empty step
      (choice.stopReason === undefined && !shape.keepsStop && text.trim() !== ""))
  const body = endsWithDelimiter ? text.slice(0, text.length - delimiter.length) : text
  const segments = body.split(delimiter).filter((s) => s.trim() !== "")
  const completedAnswer = shape.until === "step" && boxed(text) !== undefined
  const done = !length && (completedAnswer || !hitDelimiter)
  const weights = segments.map((s, i) => s.length + (i < segments.length - 1 ? delimiter.length : 0))
  const tokens = splitTotal(outputTokens, weights)
  const steps: Array<Step> = segments.map((s, i) => ({ text: s, tokens: tokens[i] ?? 0 }))
  const whole = shape.prefixText === "" ? body : `${shape.prefixText}${delimiter}${body}`
  const answer = done ? extractFor(shape.answer, whole) : undefined
  return {
    steps,
    done,
    ...(answer === undefined ? {} : { answer }),
    outputTokens,
    finishReason: length ? "length" : done ? "end" : "step"
  }
}

/** A reply's text split into a reasoning model's thinking and the answer after it. */
export interface Thought {
  /** the thinking, when the reply has any */
  readonly thinking: string | undefined
  /** what follows the thinking: the only text an answer is read from */
  readonly content: string
}

/**
 * Separates a reasoning model's thinking from its answer: the server's `reasoning_content` (vLLM,
 * DeepSeek) or `reasoning` when it gives one; otherwise a `<think>…</think>` block (the configured
 * tags) at the start of the content — a block never closed (the token cap fell inside the
 * thinking) is all thinking and leaves no answer. A reply without either is all answer.
 *
 * @example
 * splitThinking("<think>2+2 is 5? No, 4.</think>\n\nSo \\boxed{4}.", undefined, { open: "<think>", close: "</think>" })
 * // { thinking: "2+2 is 5? No, 4.", content: "So \\boxed{4}." }
 */
export const splitThinking = (
  text: string,
  reasoning: string | null | undefined,
  tags: { readonly open: string; readonly close: string }
): Thought => {
  const lead = text.trimStart()
  const opened = lead.startsWith(tags.open)
  const end = text.indexOf(tags.close)
  // a server's reasoning parser already took the thinking out; a stray block in the content goes too
  if (reasoning != null && reasoning !== "")
    return { thinking: reasoning, content: end < 0 ? text : text.slice(end + tags.close.length).trimStart() }
  if (end >= 0) {
    // the open tag may be in the prompt (DeepSeek-R1's template writes it): then the thinking starts the reply
    const start = text.slice(0, end).indexOf(tags.open)
    const inner = start < 0 ? text.slice(0, end) : text.slice(start + tags.open.length, end)
    return { thinking: inner.trim(), content: text.slice(end + tags.close.length).trimStart() }
  }
  if (opened) return { thinking: lead.slice(tags.open.length).trim(), content: "" }
  return { thinking: undefined, content: text }
}

/**
 * One choice of a reply that may think: the thinking split off (`splitThinking`), the generation
 * made from what follows it, and its thinking tokens — `thinkingTokens` when the server reported
 * them for this choice, else the choice's output tokens split by the lengths of its thinking and
 * its answer (the estimate the backend uses for step tokens too).
 *
 * @example
 * thinkingGeneration({ text: "<think>hmm</think>\n\nSo \\boxed{4}.", finishReason: "stop", stopReason: null }, undefined,
 *   { until: "end", delimiter: "\n\n", prefixText: "", keepsStop: true }, { open: "<think>", close: "</think>" }, 12, 3)
 * // { steps: [{ text: "So \\boxed{4}.", tokens: 9 }], done: true, answer: "4", outputTokens: 12, thinkingTokens: 3, thinking: "hmm", … }
 */
export const thinkingGeneration = (
  choice: Choice,
  reasoning: string | null | undefined,
  shape: Shape,
  tags: { readonly open: string; readonly close: string },
  outputTokens: number,
  thinkingTokens: number | undefined
): Generation => {
  const thought = splitThinking(choice.text, reasoning, tags)
  if (thought.thinking === undefined) return toGeneration(choice, shape, outputTokens)
  const estimate = splitTotal(outputTokens, [thought.thinking.length, thought.content.length])[0] ?? 0
  const thinking = Math.min(outputTokens, thinkingTokens ?? estimate)
  const g = toGeneration({ ...choice, text: thought.content }, shape, outputTokens - thinking)
  // a block the cap cut inside the thinking has no answer: the solution is not done
  const cutInside = thought.content === "" && choice.finishReason === "length"
  return {
    ...g,
    ...(cutInside ? { done: false, finishReason: "length" as const } : {}),
    outputTokens,
    thinkingTokens: thinking,
    thinking: thought.thinking
  }
}
