/**
 * GSM8K (Cobbe et al. 2021), as in `shared/data/gsm8k/test.jsonl`: `question`, and `answer` — a
 * worked solution ending in `#### <number>`.
 *
 * @since 0.1.0
 */
import type { Effect } from "effect"
import type { Problem } from "../domain/Problem.ts"
import { dataPath } from "./DataPath.ts"
import { type DatasetError, isFieldProblem, readJsonl, textField } from "./Dataset.ts"

/** The default location: `<shared data>/gsm8k/test.jsonl` (see `dataDir`, `$MULL_DATA`). */
export const gsm8kPath = (): string => dataPath("gsm8k", "test.jsonl")

/**
 * The final answer of a GSM8K solution: the number after `####`, commas stripped.
 *
 * @example
 * gsm8kAnswer("... so 1,000 in all.\n#### 1,000") // "1000"
 */
export const gsm8kAnswer = (solution: string): string | undefined => {
  const m = /####\s*(-?[\d,]*\.?\d+)\s*$/u.exec(solution)
  return m?.[1]?.replace(/,/gu, "")
}

/**
 * Loads GSM8K: id `gsm8k/<index>`, question, gold = the number after `####`, meta = { index,
 * dataset "gsm8k" } (no level: the simulator uses its default level).
 *
 * @example
 * const problems = yield* loadGsm8k()
 * problems[0].gold // "18"
 */
export const loadGsm8k = (path: string = gsm8kPath()): Effect.Effect<ReadonlyArray<Problem>, DatasetError> =>
  readJsonl(path, (record, index) => {
    const question = textField(record, "question")
    if (isFieldProblem(question)) return question
    const solution = textField(record, "answer")
    if (isFieldProblem(solution)) return solution
    const gold = gsm8kAnswer(solution)
    if (gold === undefined) return { field: "answer", reason: 'expected a solution ending in "#### <number>"' }
    return { id: `gsm8k/${index}`, question, gold, meta: { index, dataset: "gsm8k" } }
  })
