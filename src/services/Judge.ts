/**
 * The consistency judge of free-text voting (universal self-consistency, Chen et al. 2023,
 * "Universal Self-Consistency for Large Language Model Generation", arXiv 2311.17311): one model
 * call reads the question and the candidates' answers and names the most consistent one — the
 * answer most of the others agree with — and the ones that agree with it. The prompt is the
 * paper's (numbered from 1), with one added line asking for the agreeing responses; the reply is
 * parsed here. A backend receives it as a generation request with `judge` set (`Generator.ts`).
 *
 * @since 0.2.0
 */

/** What a judge call is asked: the answers to compare, in order (the prompt numbers them from 1). */
export interface JudgeTask {
  readonly responses: ReadonlyArray<string>
}

/** What the judge answered: the chosen response and the ones that agree with it (0-based, the chosen one included). */
export interface JudgeVerdict {
  readonly chosen: number
  readonly agreeing: ReadonlyArray<number>
}

/** Most responses one judge call reads (the first ones of the pool; USC used up to 16). */
export const MAX_JUDGED = 64

/** Longest response text the judge reads; longer ones are cut. */
export const MAX_RESPONSE_CHARS = 2000

/** Most output tokens of a judge call (its reply is one or two short lines). */
export const JUDGE_MAX_TOKENS = 256

/** The judge's instruction, after the responses: the USC paper's, plus the agreeing line. */
export const JUDGE_INSTRUCTION =
  'Evaluate these responses. Select the most consistent response based on majority consensus. Start your answer with "The most consistent response is Response X" (without quotes). Then, on a new line, write "Agreeing: " and the numbers of every response that gives the same answer as Response X, Response X included (e.g. "Agreeing: 1, 3, 4").'

const cut = (text: string): string =>
  text.length > MAX_RESPONSE_CHARS ? `${text.slice(0, MAX_RESPONSE_CHARS)} …` : text

/**
 * The judge's prompt (one user message): the question, each response numbered from 1, and the
 * instruction.
 *
 * @example
 * judgePrompt("Capital of France?", ["Paris", "Lyon", "paris"]).includes("Response 3: paris") // true
 */
export const judgePrompt = (question: string, responses: ReadonlyArray<string>): string =>
  [
    `I have generated the following responses to the question: ${question.trim()}`,
    "",
    ...responses.map((r, i) => `Response ${i + 1}: ${cut(r.trim())}`),
    "",
    JUDGE_INSTRUCTION
  ].join("\n")

const CHOSEN = /most\s+consistent\s+response\s+is\s*[:*]*\s*(?:response\s*)?#?\s*(\d+)/giu
const AGREEING = /agreeing\s*[:：]([^\n]*)/giu

/**
 * The judge's verdict in its reply, or `undefined` when the reply names no response among the
 * `n` judged. Numbers outside 1..n are ignored; the chosen response is always among the agreeing.
 *
 * @example
 * parseVerdict("The most consistent response is Response 2.\nAgreeing: 2, 3", 3) // { chosen: 1, agreeing: [1, 2] }
 */
export const parseVerdict = (reply: string, n: number): JudgeVerdict | undefined => {
  const last = [...reply.matchAll(CHOSEN)].at(-1)
  const chosen = last === undefined ? Number.NaN : Number(last[1]) - 1
  if (!(Number.isInteger(chosen) && chosen >= 0 && chosen < n)) return undefined
  const listed = [...reply.matchAll(AGREEING)].at(-1)?.[1] ?? ""
  const agreeing = new Set<number>([chosen])
  for (const m of listed.matchAll(/\d+/gu)) {
    const i = Number(m[0]) - 1
    if (Number.isInteger(i) && i >= 0 && i < n) agreeing.add(i)
  }
  return { chosen, agreeing: [...agreeing].sort((a, b) => a - b) }
}

/**
 * A judge's reply in the format `parseVerdict` reads (what a simulated judge writes).
 *
 * @example
 * verdictText({ chosen: 1, agreeing: [1, 2] }) // "The most consistent response is Response 2.\nAgreeing: 2, 3"
 */
export const verdictText = (verdict: JudgeVerdict): string =>
  `The most consistent response is Response ${verdict.chosen + 1}.\nAgreeing: ${verdict.agreeing.map((i) => i + 1).join(", ")}`
