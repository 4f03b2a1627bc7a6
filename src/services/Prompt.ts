/**
 * What real models read: the messages of a problem (system instruction, question, and for
 * revisions the previous attempts), and the same rendered as one prompt string under a named chat
 * template — for completion endpoints and local models that continue a partial solution.
 *
 * @since 0.1.0
 */
import type { AnswerKind } from "../domain/AnswerKind.ts"
import type { Candidate } from "../domain/Candidate.ts"
import type { Problem } from "../domain/Problem.ts"
import * as Steps from "../domain/Steps.ts"
import type { GenerateRequest } from "./Generator.ts"
import { verifyPrompt } from "./GenVerify.ts"
import { judgePrompt } from "./Judge.ts"

/** The system instruction of the Qwen2.5-Math evaluations (and of the open reproduction). */
export const SYSTEM = "Please reason step by step, and put your final answer within \\boxed{}."

/**
 * The default system instruction of each answer kind: math and numbers go in a box (Qwen's); a
 * multiple choice ends with "Answer: X"; free text ends with "Answer: …".
 */
export const SYSTEMS: Readonly<Record<AnswerKind, string>> = {
  math: SYSTEM,
  number: SYSTEM,
  choice:
    'Please reason step by step, and finish with a line "Answer: X", where X is the letter of the option you choose.',
  free: 'Answer the question. Finish with a line "Answer: …" that states your final answer briefly.'
}

/**
 * The system instruction for a problem: the configured one, or — when it is the default — the
 * default of the problem's answer kind.
 *
 * @example
 * systemFor({ answer: { kind: "choice" } }, SYSTEM).startsWith("Please reason") // true
 */
export const systemFor = (problem: Pick<Problem, "answer">, system: string = SYSTEM): string =>
  system === SYSTEM ? SYSTEMS[problem.answer?.kind ?? "math"] : system

/** The user turn that asks for a revision, after the previous attempts. */
export const REVISE =
  "Here are your previous attempts. Find the mistakes, if any, and write a corrected solution step by step."

export interface Message {
  readonly role: "system" | "user" | "assistant"
  readonly content: string
}

/** Chat templates mull can render itself: Qwen/ChatML, Llama 3, or none (the bare question). */
export const TEMPLATES = ["chatml", "llama-3", "none"] as const
export type TemplateName = (typeof TEMPLATES)[number]

/**
 * The chat messages of a request: system, the question, and for a revision the previous attempts
 * and the revision instruction. The partial solution being continued is not a message here (see
 * `render` and `continuation`).
 *
 * @example
 * messages(problem, undefined).map((m) => m.role) // ["system", "user"]
 */
export const messages = (
  problem: Problem,
  context: ReadonlyArray<Candidate> | undefined,
  system: string = SYSTEM
): ReadonlyArray<Message> => {
  const head: ReadonlyArray<Message> = [
    { role: "system", content: systemFor(problem, system) },
    { role: "user", content: problem.question }
  ]
  if (context === undefined || context.length === 0) return head
  const attempts = context.map((c, i) => `Attempt ${i + 1}:\n${Steps.text(c.steps)}`).join("\n\n")
  return [...head, { role: "assistant", content: attempts }, { role: "user", content: REVISE }]
}

/**
 * The messages of a generation request: a generative verifier's or a consistency judge's prompt
 * (one user message, no system instruction), else `messages` of the problem.
 *
 * @example
 * requestMessages(request, SYSTEM).at(-1)?.role // "user"
 */
export const requestMessages = (request: GenerateRequest, system: string = SYSTEM): ReadonlyArray<Message> =>
  request.verify !== undefined
    ? [{ role: "user", content: verifyPrompt(request.problem.question, request.verify) }]
    : request.judge === undefined
      ? messages(request.problem, request.context, system)
      : [{ role: "user", content: judgePrompt(request.problem.question, request.judge.responses) }]

/** The text of a partial solution being continued: its steps and, when non-empty, a trailing delimiter. */
export const continuation = (prefix: Candidate | undefined, delimiter: string): string => {
  const text = Steps.text(prefix?.steps, delimiter)
  return text === "" ? "" : `${text}${delimiter}`
}

const renderMessage = (template: TemplateName, m: Message): string => {
  switch (template) {
    case "chatml":
      return `<|im_start|>${m.role}\n${m.content}<|im_end|>\n`
    case "llama-3":
      return `<|start_header_id|>${m.role}<|end_header_id|>\n\n${m.content}<|eot_id|>`
    case "none":
      return m.role === "system" ? "" : `${m.content}\n\n`
  }
}

const assistantHead = (template: TemplateName): string => {
  switch (template) {
    case "chatml":
      return "<|im_start|>assistant\n"
    case "llama-3":
      return "<|start_header_id|>assistant<|end_header_id|>\n\n"
    case "none":
      return ""
  }
}

/**
 * The whole prompt of a completion request under a chat template: the messages, the assistant's
 * turn opened, and the partial solution (with a trailing delimiter, so the model writes the next step).
 *
 * @example
 * render("chatml", messages(problem, undefined), "").endsWith("<|im_start|>assistant\n") // true
 */
export const render = (template: TemplateName, msgs: ReadonlyArray<Message>, partial: string): string =>
  `${template === "llama-3" ? "<|begin_of_text|>" : ""}${msgs.map((m) => renderMessage(template, m)).join("")}${assistantHead(template)}${partial}`

/**
 * A whole conversation under a chat template, every turn closed and no turn opened — what a
 * reward model reads (e.g. Qwen2.5-Math-PRM: system, question, and the assistant's solution).
 *
 * @example
 * conversation("chatml", [{ role: "user", content: "1+1?" }, { role: "assistant", content: "2" }])
 * // "<|im_start|>user\n1+1?<|im_end|>\n<|im_start|>assistant\n2<|im_end|>\n"
 */
export const conversation = (template: TemplateName, msgs: ReadonlyArray<Message>): string =>
  `${template === "llama-3" ? "<|begin_of_text|>" : ""}${msgs.map((m) => renderMessage(template, m)).join("")}`
