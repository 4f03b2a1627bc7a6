/**
 * mull's MATH grader as services: the `Grader` port (is an answer right for a problem?) and the
 * `AnswerKey` port (how voting groups answers), both implemented by the pure functions of
 * `src/answer`, which are re-exported here for callers outside Effect.
 *
 * @since 0.1.0
 */
import { Layer } from "effect"
import type { Problem } from "../domain/Problem.ts"
import { AnswerKey, type AnswerKeyShape, Grader, type GraderShape } from "../services/Grader.ts"
import { answerCells, answerKey, equivalent } from "./Equivalence.ts"
import { answerKeyFor, gradeFor } from "./Kinds.ts"

export { answerCells, answerKey, equivalent, grade } from "./Equivalence.ts"
export { type Extractor, extract, type Method } from "./Extract.ts"
export { normalize } from "./Normalize.ts"

/**
 * The grader: an answer is right when it is the same answer as the problem's gold, by the
 * problem's answer kind (`equivalent` for math, by letter for a multiple choice, …; `Kinds.ts`); a
 * problem without gold has no right answer.
 *
 * @example
 * grader.grade(makeProblem({ id: "q", question: "1/2?", gold: "\\frac12" }), "0.5") // true
 */
export const grader: GraderShape = {
  name: "math",
  grade: (problem: Problem, answer: string): boolean =>
    problem.gold !== undefined && gradeFor(problem.answer, answer, problem.gold)
}

/**
 * The answer key for voting: `answerKey` groups the common spellings in O(1) each, `equivalent`
 * merges the groups a key cannot decide (`\frac{\sqrt2}{2}` and `\frac{1}{\sqrt2}`).
 *
 * @example
 * mathAnswerKey.key("0.5") === mathAnswerKey.key("\\frac{1}{2}") // true
 */
export const mathAnswerKey: AnswerKeyShape = {
  name: "math",
  key: answerKey,
  equivalent,
  cells: answerCells,
  // other answer kinds group by their own key (a letter, a number, normalised words)
  forProblem: (problem) => (problem.answer === undefined ? mathAnswerKey : answerKeyFor(problem.answer))
}

/**
 * Provides `Grader` and `AnswerKey` with mull's MATH grader.
 *
 * @example
 * program.pipe(Effect.provide(MathGrader.layer))
 */
export const layer: Layer.Layer<Grader | AnswerKey> = Layer.mergeAll(
  Layer.succeed(Grader, grader),
  Layer.succeed(AnswerKey, mathAnswerKey)
)
