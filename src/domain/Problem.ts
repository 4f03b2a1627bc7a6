/**
 * A problem: a question, optionally its gold answer, and metadata (MATH level, subject…).
 *
 * @since 0.1.0
 */
import { Effect, Schema } from "effect"
import { AnswerSpec } from "./AnswerKind.ts"
import { hash64 } from "./Hash.ts"

/** Metadata of a problem. `level` is the MATH level (1–5); `difficulty`, when set, overrides the
 * simulator's latent difficulty; `index` is the problem's position in its dataset. */
export const ProblemMeta = Schema.Struct({
  level: Schema.optionalKey(Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 5 }))),
  subject: Schema.optionalKey(Schema.String),
  difficulty: Schema.optionalKey(Schema.Finite.check(Schema.isBetween({ minimum: 0, maximum: 1 }))),
  index: Schema.optionalKey(Schema.Int.check(Schema.isGreaterThanOrEqualTo(0))),
  dataset: Schema.optionalKey(Schema.String)
})
export type ProblemMeta = typeof ProblemMeta.Type

/** A problem as mull sees it. `id` is stable across runs (MATH-500 uses `unique_id`). */
export const Problem = Schema.Struct({
  id: Schema.NonEmptyString,
  question: Schema.String,
  gold: Schema.optionalKey(Schema.String),
  /** the kind of answer it expects; absent: `math` (see `AnswerKind.ts`) */
  answer: Schema.optionalKey(AnswerSpec),
  meta: ProblemMeta.pipe(Schema.withDecodingDefaultKey(Effect.succeed({})))
}).annotate({ identifier: "Problem" })
export type Problem = typeof Problem.Type

/**
 * Builds a problem from plain values.
 *
 * @example
 * const p = makeProblem({ id: "q1", question: "What is 1+1?", gold: "2", meta: { level: 1 } })
 */
export const makeProblem = (p: {
  readonly id: string
  readonly question: string
  readonly gold?: string | undefined
  readonly answer?: AnswerSpec | undefined
  readonly meta?: ProblemMeta | undefined
}): Problem => ({
  id: p.id,
  question: p.question,
  ...(p.gold === undefined ? {} : { gold: p.gold }),
  ...(p.answer === undefined ? {} : { answer: p.answer }),
  meta: p.meta ?? {}
})

/**
 * The id of a problem given only by its question: `<source>/` and a 64-bit hash of the whole
 * question (hex), so two different questions never share an id (and a run's seeds) by accident.
 * `source` says where the question came from (`question` for `mull run --question` and the
 * embedding API, `chat` for the service).
 *
 * @example
 * questionId("What is the value of 2+2 in base ten?") // "question/…" (16 hex digits at most)
 */
export const questionId = (question: string, source = "question"): string =>
  `${source}/${hash64([question]).toString(16)}`
