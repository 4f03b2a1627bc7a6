/**
 * MATH-500 (Lightman et al.'s 500-problem test split of Hendrycks MATH), as in
 * `shared/data/math500/test.jsonl`: `problem, solution, answer, subject, level, unique_id`.
 *
 * @since 0.1.0
 */
import type { Effect } from "effect"
import type { Problem } from "../domain/Problem.ts"
import { dataPath } from "./DataPath.ts"
import { type DatasetError, isFieldProblem, levelField, readJsonl, textField } from "./Dataset.ts"

/** The default location: `<shared data>/math500/test.jsonl` (see `dataDir`, `$MULL_DATA`). */
export const math500Path = (): string => dataPath("math500", "test.jsonl")

/**
 * Loads MATH-500: id = `unique_id`, question = `problem`, gold = `answer`, meta = { level (from
 * "Level 3"), subject, index (line order), dataset "math500" }.
 *
 * @example
 * const problems = yield* loadMath500()
 * problems[0].meta.level // 2
 */
export const loadMath500 = (path: string = math500Path()): Effect.Effect<ReadonlyArray<Problem>, DatasetError> =>
  readJsonl(path, (record, index) => {
    const id = textField(record, "unique_id")
    if (isFieldProblem(id)) return id
    const question = textField(record, "problem")
    if (isFieldProblem(question)) return question
    const gold = textField(record, "answer")
    if (isFieldProblem(gold)) return gold
    const level = levelField(record, "level", true)
    if (isFieldProblem(level)) return level
    const subject = textField(record, "subject")
    if (isFieldProblem(subject)) return subject
    return { id, question, gold, meta: { level, subject, index, dataset: "math500" } }
  })
