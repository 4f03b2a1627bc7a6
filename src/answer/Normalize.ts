/**
 * Answer normalisation: one canonical LaTeX spelling per answer, following the Hendrycks MATH /
 * PRM800K rules (see `Rules`) applied to each part of the answer's shape (see `Structures`).
 *
 * @since 0.1.0
 */
import { type Answer, analyze, render } from "./Structures.ts"

/** Longer strings are not final answers; they are left as they are (and compared verbatim). */
export const MAX_ANSWER_LENGTH = 1000

/**
 * The normalised form of an answer. Idempotent: `normalize(normalize(s)) === normalize(s)` for
 * every string, which the rewrite passes reach by iterating to a fixed point.
 *
 * @example
 * normalize("\\left( 3, \\dfrac{\\pi}{2} \\right)") // "(3,\\frac{\\pi}{2})"
 * normalize("x = .5") // "0.5"
 * normalize("10,\\!080") // "10080"
 * normalize("\\text{(B)}") // "B"
 */
export const normalize = (answer: string): string => {
  if (answer.length > MAX_ANSWER_LENGTH) return answer
  let s = answer
  for (let i = 0; i < 8; i++) {
    const next = render(analyze(s))
    if (next === s || next.length > MAX_ANSWER_LENGTH) return next
    s = next
  }
  return s
}

/**
 * The settled shape of an answer: `analyze` iterated to its fixed point like `normalize`, but with
 * percent signs kept, since `equivalent` reads `50\%` as both 50 and 0.5.
 *
 * @example
 * shape("\\boxed{50\\%}") // { _tag: "Scalar", text: "50", percent: true }
 */
export const shape = (answer: string): Answer => {
  if (answer.length > MAX_ANSWER_LENGTH) return { _tag: "Scalar", text: answer, percent: false }
  let a = analyze(answer)
  let s = answer
  for (let i = 0; i < 8; i++) {
    const next = render(a, { percent: true })
    if (next === s || next.length > MAX_ANSWER_LENGTH) return a
    s = next
    a = analyze(s)
  }
  return a
}
