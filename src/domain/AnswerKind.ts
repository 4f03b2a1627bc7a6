/**
 * What kind of answer a problem expects: `math` (a MATH-style expression, the default), `number`
 * (a single number, GSM8K-style), `choice` (one letter among lettered options, GPQA-style) or `free`
 * (free text). Extraction, equivalence, voting keys and grading follow the kind (src/answer/Kinds.ts);
 * free-text answers are grouped by a consistency judge when voting (docs/grading.md).
 *
 * @since 0.2.0
 */
import { Schema } from "effect"

export const ANSWER_KINDS = ["math", "number", "choice", "free"] as const
export type AnswerKind = (typeof ANSWER_KINDS)[number]

export const AnswerKindSchema = Schema.Literals(ANSWER_KINDS).annotate({
  description: "math (the default), number, choice (a letter among options) or free (free text)"
})

/** Most options a multiple-choice problem may have: letters A to Z. */
export const MAX_OPTIONS = 26

/**
 * A problem's answer kind, and for `choice` its options (the texts of A, B, C, …). A `choice`
 * without options accepts the letters A to J.
 */
export const AnswerSpec = Schema.Struct({
  kind: AnswerKindSchema,
  options: Schema.optionalKey(
    Schema.Array(Schema.String).check(Schema.isMinLength(2), Schema.isMaxLength(MAX_OPTIONS)).annotate({
      description: "for choice: the options' texts, lettered A, B, C, … in order"
    })
  )
}).annotate({ identifier: "AnswerSpec", description: "The kind of answer a problem expects" })
export type AnswerSpec = typeof AnswerSpec.Type

/** Letters a `choice` without options accepts. */
const DEFAULT_LETTERS = 10

/**
 * The kind of a problem's answer (`math` when it declares none).
 *
 * @example
 * kindOf({ answer: { kind: "free" } }) // "free"
 * kindOf({}) // "math"
 */
export const kindOf = (problem: { readonly answer?: AnswerSpec | undefined }): AnswerKind =>
  problem.answer?.kind ?? "math"

/**
 * The letters of a multiple-choice answer: one per option (A to J when there are no options).
 *
 * @example
 * letters({ kind: "choice", options: ["red", "blue", "green"] }) // ["A", "B", "C"]
 */
export const letters = (spec: AnswerSpec | undefined): ReadonlyArray<string> => {
  const n = Math.min(MAX_OPTIONS, spec?.options?.length ?? DEFAULT_LETTERS)
  return Array.from({ length: n }, (_, i) => String.fromCharCode(65 + i))
}

/**
 * A multiple-choice question as the model reads it: the question, then one lettered line per
 * option.
 *
 * @example
 * withOptions("Which is a prime?", ["4", "6", "7"]) // "Which is a prime?\n\n(A) 4\n(B) 6\n(C) 7"
 */
export const withOptions = (question: string, options: ReadonlyArray<string>): string =>
  `${question.trimEnd()}\n\n${options.map((o, i) => `(${String.fromCharCode(65 + i)}) ${o}`).join("\n")}`
