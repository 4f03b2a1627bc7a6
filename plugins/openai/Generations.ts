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
