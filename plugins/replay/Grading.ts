/**
 * Grading a replay: by the recorded labels (`labels`) or by mull's MATH grader (`math`).
 *
 * With `labels`, answers are grouped by their exact string (the recorded extracted answers, e.g.
 * Qwen's `pred`) and an answer is right when the first labelled response of the problem (in
 * recorded order) with exactly that answer is labelled right. An answer no response is labelled
 * for — and any problem the pool does not know — is graded by mull's MATH grader against gold.
 *
 * @since 0.1.0
 */
import { grader as mathGrader } from "../../src/answer/MathGrader.ts"
import type { Problem } from "../../src/domain/Problem.ts"
import type { AnswerKeyShape, GraderShape } from "../../src/services/Grader.ts"
import { type ReplayDataset, recordedLabel } from "./Pool.ts"

/**
 * Groups answers by their exact string: the key is the string itself.
 *
 * @example
 * exactAnswerKey.equivalent("0.5", "\\frac12") // false
 */
export const exactAnswerKey: AnswerKeyShape = {
  name: "exact",
  key: (answer) => answer,
  equivalent: (a, b) => a === b
}

/**
 * The grader of recorded labels, falling back to mull's MATH grader where there is no label.
 *
 * @example
 * labelGrader(dataset).grade(problem, "420") // the recorded label of "420"
 */
export const labelGrader = (dataset: ReplayDataset): GraderShape => ({
  name: "labels",
  grade: (problem: Problem, answer: string): boolean => {
    const pool = dataset.pools.get(problem.id)
    const label = pool === undefined ? undefined : recordedLabel(pool, answer)
    return label ?? mathGrader.grade(problem, answer)
  }
})
