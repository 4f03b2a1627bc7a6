/**
 * A raw llama.cpp completion as a mull `Generation` (pure): its text split into steps, the exact
 * sampled-token count apportioned to the steps, `done` / `finishReason` from why generation
 * stopped, and the answer of a finished solution.
 *
 * Token accounting: `outputTokens` is every token the model sampled — the text's tokens plus a
 * step delimiter that stopped generation (it is not in the text) and the end-of-sequence token.
 * That is what the model computed, it never exceeds `maxTokens`, and each step's `tokens` count
 * includes the delimiter after it, so the steps' counts sum to `outputTokens`.
 *
 * @since 0.1.0
 */
import { extractFor } from "../../src/answer/Kinds.ts"
import type { AnswerSpec } from "../../src/domain/AnswerKind.ts"
import { hash32, seed32 } from "../../src/domain/Hash.ts"
import type { Step } from "../../src/domain/Steps.ts"
import type { Generation } from "../../src/services/Generator.ts"

/** Why node-llama-cpp stopped a completion. */
export type StopReason = "eogToken" | "customStopTrigger" | "maxTokens" | "stopGenerationTrigger" | "abort"

/** What one completion produced. */
export interface RawCompletion {
  /** the generated text (without a stop trigger) */
  readonly text: string
  readonly stopReason: StopReason
  /** tokens sampled, stop trigger and end-of-sequence token included */
  readonly outputTokens: number
  /** tokens of `text` (the sampled tokens before the stop trigger) */
  readonly textTokens: number
}

/**
 * The sampling seed of continuation `i` of a call: a function of the call's seed and `i` only.
 *
 * @example
 * continuationSeed(42n, 0) !== continuationSeed(42n, 1) // true
 */
export const continuationSeed = (seed: bigint, i: number): number => hash32(seed32(seed), i)

/**
 * The steps of a completion's text: the text itself for one step (`until: "step"`: generation
 * stopped at the delimiter), otherwise its parts between delimiters — a trailing delimiter adds
 * no empty step. Always at least one step (possibly empty).
 *
 * @example
 * splitSteps("a\n\nb\n\n", "\n\n", "end") // ["a", "b"]
 */
export const splitSteps = (text: string, delimiter: string, until: "step" | "end"): ReadonlyArray<string> => {
  if (until === "step") return [text]
  const parts = text.split(delimiter)
  if (parts.length > 1 && parts[parts.length - 1] === "") parts.pop()
  return parts
}

/**
 * How many of a text's tokens each step takes: step j ends where its delimiter ends in the text,
 * and takes the tokens up to the first token whose text reaches that offset (`textLength(k)` is the
 * length of the text of the first k tokens, non-decreasing). The last step takes the rest, plus
 * `extra` tokens that are not in the text (a stop trigger, the end-of-sequence token).
 *
 * @example
 * // one token per character: "ab\n\ncd" split at "\n\n"
 * stepTokenCounts(["ab", "cd"], "\n\n", 6, (k) => k, 1) // [4, 3]
 */
export const stepTokenCounts = (
  steps: ReadonlyArray<string>,
  delimiter: string,
  textTokens: number,
  textLength: (k: number) => number,
  extra: number
): ReadonlyArray<number> => {
  const counts: Array<number> = []
  let offset = 0
  let previous = 0
  for (let j = 0; j < steps.length - 1; j++) {
    offset += (steps[j] ?? "").length + delimiter.length
    // smallest k in [previous, textTokens] with textLength(k) >= offset
    let lo = previous
    let hi = textTokens
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (textLength(mid) >= offset) hi = mid
      else lo = mid + 1
    }
    counts.push(lo - previous)
    previous = lo
  }
  counts.push(textTokens - previous + extra)
  return counts
}

/**
 * The generation of a completion. `done` (and `finishReason: "end"`) when the model ended the
 * sequence; `"step"` when it stopped at the delimiter; `"length"` at `maxTokens` or a full context.
 * The answer is extracted from the whole solution (`solutionSoFar` + the new text) when done.
 *
 * @example
 * toGeneration({ text: "x = 2", stopReason: "eogToken", outputTokens: 4, textTokens: 3 }, "\n\n", "end", "", (k) => k)
 * // { steps: [{ text: "x = 2", tokens: 4 }], done: true, outputTokens: 4, finishReason: "end" }
 */
export const toGeneration = (
  raw: RawCompletion,
  delimiter: string,
  until: "step" | "end",
  solutionSoFar: string,
  textLength: (k: number) => number,
  spec?: AnswerSpec
): Generation => {
  const texts = splitSteps(raw.text, delimiter, until)
  const counts = stepTokenCounts(texts, delimiter, raw.textTokens, textLength, raw.outputTokens - raw.textTokens)
  const steps: ReadonlyArray<Step> = texts.map((text, i) => ({ text, tokens: counts[i] ?? 0 }))
  const done = raw.stopReason === "eogToken"
  const finishReason = done ? "end" : raw.stopReason === "customStopTrigger" ? "step" : "length"
  const answer = done ? extractFor(spec, `${solutionSoFar}${raw.text}`) : undefined
  return { steps, done, ...(answer === undefined ? {} : { answer }), outputTokens: raw.outputTokens, finishReason }
}
