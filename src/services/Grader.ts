/**
 * The Grader port: is an answer right? And the answer key that groups equivalent answers for
 * voting. The default implementation is mull's MATH grader (`src/answer`); a replay of recorded
 * responses may instead group by the recorded answer strings and grade by recorded labels.
 *
 * @since 0.1.0
 */
import { Context } from "effect"
import type { Problem } from "../domain/Problem.ts"

export interface GraderShape {
  readonly name: string
  /** whether `answer` is right for `problem` (false when the problem has no gold) */
  readonly grade: (problem: Problem, answer: string) => boolean
}

export class Grader extends Context.Service<Grader, GraderShape>()("mull/services/Grader") {}

export interface AnswerKeyShape {
  readonly name: string
  /**
   * A key such that equal keys mean equivalent answers. Grouping by key is O(n); answers whose
   * equivalence a key cannot decide are merged by `equivalent`.
   */
  readonly key: (answer: string) => string
  /** full equivalence, used to merge groups with different keys */
  readonly equivalent: (a: string, b: string) => boolean
  /**
   * Optional buckets for `equivalent`: two answers it calls equivalent share at least one cell, so
   * a vote compares an answer only with groups in its cells; `undefined` for an answer means
   * "unknown" — it is compared with every group, and every answer with it.
   */
  readonly cells?: (answer: string) => ReadonlyArray<string> | undefined
  /**
   * The key for one problem, when it depends on the problem's answer kind (a multiple-choice
   * question groups by letter, free text by its normalised words); absent: this key for every problem.
   */
  readonly forProblem?: (problem: Problem) => AnswerKeyShape
}

/** How select groups answers into votes. */
export class AnswerKey extends Context.Service<AnswerKey, AnswerKeyShape>()("mull/services/AnswerKey") {}
