/**
 * What the simulated models "read": a Qwen-style chat template around the question, the prefix
 * being continued, and (for revisions) the previous attempts. Token counts are exact under the
 * simulated tokenizer.
 *
 * @since 0.1.0
 */
import type { Candidate } from "../../src/domain/Candidate.ts"
import type { Problem } from "../../src/domain/Problem.ts"
import * as Steps from "../../src/domain/Steps.ts"
import { countTokens } from "./Tokens.ts"

const SYSTEM = "Please reason step by step, and put your final answer within \\boxed{}."
const REVISE =
  "Here are your previous attempts. Find the mistakes, if any, and write a corrected solution step by step."

const head = (question: string): string =>
  `<|im_start|>system\n${SYSTEM}<|im_end|>\n<|im_start|>user\n${question}<|im_end|>\n<|im_start|>assistant\n`

/** Tokens of the step delimiter "\n\n" between two steps (steps start and end with non-space). */
const DELIMITER_TOKENS = 1

/** Tokens of a candidate's steps joined by the delimiter (additive: steps never start or end with a space). */
const stepsTokens = (steps: Steps.Steps | undefined): number =>
  steps === undefined ? 0 : steps.tokens + (steps.length - 1) * DELIMITER_TOKENS

/**
 * The prompt of a generation request: the chat template, then the prefix (or, for a revision,
 * the previous attempts in a user turn first).
 *
 * @example
 * promptText(problem, undefined, undefined).endsWith("<|im_start|>assistant\n") // true
 */
export const promptText = (
  problem: Problem,
  prefix: Candidate | undefined,
  context: ReadonlyArray<Candidate> | undefined
): string => {
  if (context !== undefined && context.length > 0) {
    const attempts = context.map((c, i) => `Attempt ${i + 1}:\n${Steps.text(c.steps)}`).join("\n\n")
    return `${head(problem.question)}${attempts}<|im_end|>\n<|im_start|>user\n${REVISE}<|im_end|>\n<|im_start|>assistant\n`
  }
  return head(problem.question) + Steps.text(prefix?.steps)
}

/**
 * Prompt tokens of a generation request (exact: equals `countTokens(promptText(...))`).
 *
 * @example
 * promptTokens(problem, undefined, undefined) // tokens of the template and the question
 */
export const promptTokens = (
  problem: Problem,
  prefix: Candidate | undefined,
  context: ReadonlyArray<Candidate> | undefined
): number => {
  if (context !== undefined && context.length > 0) return countTokens(promptText(problem, prefix, context))
  // the template ends with "\n" and a step starts with "Step": the counts add up
  return countTokens(head(problem.question)) + stepsTokens(prefix?.steps)
}

/**
 * Tokens the verifier reads for a candidate: the template with the question, then the solution.
 *
 * @example
 * verifierTokens(problem, candidate) // > candidate.steps.tokens
 */
export const verifierTokens = (problem: Problem, candidate: Candidate): number =>
  countTokens(head(problem.question)) + stepsTokens(candidate.steps)
