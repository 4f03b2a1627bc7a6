/**
 * Answer extraction: the final answer of a solution, as the model wrote it (normalisation comes
 * later). Each extractor returns `undefined` — never a guess such as the last number in the text —
 * when the solution has no answer in its format.
 *
 * - `boxed`: the content of the last `\boxed{…}` or `\fbox{…}`, nested braces included (Hendrycks'
 *   `last_boxed_only_string`); `\boxed 5` reads one token. A last box that is never closed (a
 *   truncated output) is no answer.
 * - `gsm8k`: what follows the last `####` on its line.
 * - `answer-is`: what follows the last "the answer is" / "final answer is" / "answer:" — the
 *   math in `$…$` or `\(…\)` right after it, or else the rest of the line without a final period.
 * - `auto`: `boxed`, then `gsm8k`, then `answer-is`.
 * - `{ pattern }`: a dataset's own regular expression; the last match's `answer` group, else its
 *   first group, else the whole match.
 *
 * @since 0.1.0
 */
import { closingBrace } from "./Latex.ts"

export type Method = "boxed" | "gsm8k" | "answer-is" | "auto"
/** A built-in method, or a dataset's own pattern. */
export type Extractor = Method | { readonly pattern: RegExp }

export const METHODS: ReadonlyArray<Method> = ["boxed", "gsm8k", "answer-is", "auto"]

const nonEmpty = (s: string | undefined): string | undefined => {
  const t = s?.trim()
  return t === undefined || t === "" ? undefined : t
}

/**
 * The content of the last `\boxed{…}` / `\fbox{…}`.
 *
 * @example
 * boxed("so $x = \\boxed{\\frac{1}{2}}$.") // "\\frac{1}{2}"
 * boxed("no box here") // undefined
 */
export const boxed = (text: string): string | undefined => {
  const matches = [...text.matchAll(/\\(?:boxed|fbox)(?![a-zA-Z])/g)]
  const last = matches.at(-1)
  if (last === undefined) return undefined
  let i = last.index + last[0].length
  while (text[i] === " ") i++
  if (text[i] === "{") {
    const close = closingBrace(text, i)
    return close < 0 ? undefined : nonEmpty(text.slice(i + 1, close))
  }
  // \boxed 5: one token, up to a space or a math delimiter
  const token = /^[^\s$]+/.exec(text.slice(i))
  return token === null ? undefined : nonEmpty(token[0].replace(/[.,;]+$/, ""))
}

/**
 * What follows the last `####` (GSM8K's answer line).
 *
 * @example
 * gsm8k("She makes 9 * 2 = $18.\n#### 18") // "18"
 */
export const gsm8k = (text: string): string | undefined => {
  const at = text.lastIndexOf("####")
  if (at < 0) return undefined
  const line = text.slice(at + 4).split("\n")[0] ?? ""
  return nonEmpty(line.replace(/\.\s*$/, ""))
}

const ANSWER_IS = /\b(?:final answer|the answer|answer)\s*(?:is\b|:|=)\s*:?\s*/gi

const delimited = (rest: string): string | undefined => {
  for (const [open, close] of [
    ["$$", "$$"],
    ["$", "$"],
    ["\\(", "\\)"],
    ["\\[", "\\]"]
  ] as const) {
    if (rest.startsWith(open)) {
      const end = rest.indexOf(close, open.length)
      return end < 0 ? undefined : nonEmpty(rest.slice(open.length, end))
    }
  }
  return undefined
}

/**
 * What follows the last "the answer is" (also "final answer is", "answer:").
 *
 * @example
 * answerIs("Thus the answer is $\\frac{3}{4}$.") // "\\frac{3}{4}"
 * answerIs("The answer is 42.") // "42"
 */
export const answerIs = (text: string): string | undefined => {
  const last = [...text.matchAll(ANSWER_IS)].at(-1)
  if (last === undefined) return undefined
  const rest = text.slice(last.index + last[0].length)
  if (/\\(?:boxed|fbox)(?![a-zA-Z])/.test(rest.split("\n")[0] ?? "")) return boxed(rest.split("\n")[0] ?? "")
  const math = delimited(rest)
  if (math !== undefined) return math
  const line = (rest.split("\n")[0] ?? "").replace(/\.\s*$|\.\s+[A-Z].*$/, "")
  return nonEmpty(line.replace(/^\*+|\*+$/g, ""))
}

/**
 * The last match of a dataset's pattern: its `answer` group, else its first group, else the match.
 *
 * @example
 * byPattern("Answer: (B)", /Answer: \((?<answer>[A-E])\)/) // "B"
 */
export const byPattern = (text: string, pattern: RegExp): string | undefined => {
  const global = pattern.global ? pattern : new RegExp(pattern.source, `${pattern.flags}g`)
  const last = [...text.matchAll(global)].at(-1)
  if (last === undefined) return undefined
  return nonEmpty(last.groups?.answer ?? last[1] ?? last[0])
}

/**
 * Extracts the final answer of a solution; `undefined` when it has none.
 *
 * @example
 * extract("… so the total is \\boxed{10,080}.") // "10,080"
 * extract("Natalia sold 48+24 = 72 clips.\n#### 72", "gsm8k") // "72"
 * extract("I think it is 5") // undefined
 */
export const extract = (text: string, method: Extractor = "auto"): string | undefined => {
  if (typeof method === "object") return byPattern(text, method.pattern)
  switch (method) {
    case "boxed":
      return boxed(text)
    case "gsm8k":
      return gsm8k(text)
    case "answer-is":
      return answerIs(text)
    case "auto":
      return boxed(text) ?? gsm8k(text) ?? answerIs(text)
  }
}
