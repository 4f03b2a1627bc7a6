/**
 * Answer normalisation: one canonical LaTeX spelling per answer, following the Hendrycks MATH /
 * PRM800K rules (see `Rules`) applied to each part of the answer's shape (see `Structures`).
 *
 * @since 0.1.0
 */
import { analyze, render } from "./Structures.ts"

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
