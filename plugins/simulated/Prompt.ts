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

// the template's token count per question, computed once (tokenizing is the simulator's hot spot)
const headCache = new Map<string, number>()
// the last question asked about, and its count: a verifier batch asks once per candidate, about
// one question (the same string), and comparing it with the last is cheaper than a lookup
let lastQuestion: string | undefined
let lastHeadTokens = 0
const headTokens = (question: string): number => {
  if (question === lastQuestion) return lastHeadTokens
  let n = headCache.get(question)
  if (n === undefined) {
    n = countTokens(head(question))
    if (headCache.size > 4096) headCache.clear()
    headCache.set(question, n)
  }
  lastQuestion = question
  lastHeadTokens = n
  return n
}

const TAIL = `<|im_end|>\n<|im_start|>user\n${REVISE}<|im_end|>\n<|im_start|>assistant\n`
const TAIL_TOKENS = countTokens(TAIL)
const attemptHeader = (i: number): string => `Attempt ${i}:\n`
const SEPARATOR_TOKENS = countTokens("\n\n")

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
    const attempts = context.map((c, i) => `${attemptHeader(i + 1)}${Steps.text(c.steps)}`).join("\n\n")
    return `${head(problem.question)}${attempts}${TAIL}`
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
  // the pieces meet at whitespace or at "<|", so their token counts add up (tested against
  // countTokens(promptText(…)))
  if (context !== undefined && context.length > 0) {
    let n = headTokens(problem.question) + TAIL_TOKENS + (context.length - 1) * SEPARATOR_TOKENS
    context.forEach((c, i) => {
      n += countTokens(attemptHeader(i + 1)) + stepsTokens(c.steps)
    })
    return n
  }
  return headTokens(problem.question) + stepsTokens(prefix?.steps)
}

/**
 * Tokens the verifier reads for a candidate: the template with the question, then the solution.
 *
 * @example
 * verifierTokens(problem, candidate) // > candidate.steps.tokens
 */
export const verifierTokens = (problem: Problem, candidate: Candidate): number =>
  headTokens(problem.question) + stepsTokens(candidate.steps)
