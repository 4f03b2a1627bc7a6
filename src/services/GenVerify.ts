/**
 * Generative verifiers: a verifier that is itself a model call. Two styles —
 *
 * - `judge`, LLM-as-a-judge (Zheng et al. 2023, "Judging LLM-as-a-Judge with MT-Bench and Chatbot
 *   Arena", arXiv 2306.05685 — single-answer grading): the model reads the question and one
 *   solution, explains briefly, and ends with `Rating: [[r]]`, r in 1..10; the score is (r − 1)/9
 *   for the solution's last step (an outcome score);
 * - `think`, a verification chain of thought (ThinkPRM: Khalifa et al. 2025, "Process Reward
 *   Models That Think", arXiv 2504.16828): the model checks the solution step by step, writing
 *   `Step k: … \boxed{correct}` or `\boxed{incorrect}` for each, and ends with
 *   `Is the solution correct? \boxed{yes}` (or `no`, or a number in [0, 1]). The score of step k is
 *   1 while every step up to k was judged correct, else 0; the last step's is the final verdict.
 *
 * With `verdict: "probability"` a think sample's final verdict is not the parsed yes/no but ThinkPRM's
 * score, the probability of "yes" at the verdict token — P(yes) / (P(yes) + P(no)) over the
 * token's top log-probabilities (`verdictYes`), which the backend reads from its log-probabilities
 * (`Generation.verdictYes`).
 *
 * With several verification samples of one candidate (ThinkPRM's parallel scaling), the scores
 * are the means over the samples that parsed. A backend receives the call as a generation request
 * with `verify` set (`Generator.ts`); the prompt is built here and the reply parsed here.
 *
 * @since 0.5.0
 */

import type { Candidate } from "../domain/Candidate.ts"

/** The verification styles. */
export const STYLES = ["judge", "think"] as const
export type Style = (typeof STYLES)[number]

/**
 * How a think sample's final verdict becomes a score: the parsed `\boxed{yes|no|x}`, or the
 * probability of "yes" at the verdict token (ThinkPRM's scoring; needs log-probabilities).
 */
export const VERDICTS = ["parse", "probability"] as const
export type VerdictMode = (typeof VERDICTS)[number]

/** Top log-probabilities asked per token when the verdict is read as a probability. */
export const VERDICT_TOP_LOGPROBS = 20

/**
 * What a verification call is asked: the style, the solution's steps (text) to check, and the
 * candidate itself (a backend with private state of its own candidates — the simulator's latents —
 * may read it, as its reward model does).
 */
export interface VerifyTask {
  readonly style: Style
  readonly steps: ReadonlyArray<string>
  readonly candidate?: Candidate
  /** `probability`: the backend sets `Generation.verdictYes` (absent: `parse`) */
  readonly verdict?: VerdictMode
}

/** What one verification sample said: its step scores (one per solution step, or only the last), or nothing parseable. */
export type Verdict =
  | { readonly ok: true; readonly stepScores: ReadonlyArray<number> }
  | { readonly ok: false; readonly why: string }

/** The judge's instruction, after the solution (MT-Bench's single-answer grading, for a math solution). */
export const JUDGE_INSTRUCTION =
  'Please act as an impartial judge and evaluate the correctness of the solution above. Check its reasoning and its final answer. Begin your evaluation with a short explanation. Be as objective as possible. After providing your explanation, you must rate the solution on a scale of 1 to 10 by strictly following this format: "Rating: [[5]]".'

/** The verification chain of thought's instruction (ThinkPRM's prompt, shortened). */
export const THINK_INSTRUCTION =
  'Review and critique each step in the proposed solution to determine whether each step is correct. If the solution is incomplete, only verify the provided steps. For each step, write "Step k:" followed by your check and end it with \\boxed{correct} or \\boxed{incorrect}. Finally, write "Is the solution correct?" followed by \\boxed{yes} or \\boxed{no}.'

/** Longest solution text a verification prompt carries; longer ones are cut (the end kept). */
export const MAX_SOLUTION_CHARS = 16_000

/**
 * The verification prompt (one user message): the question, the solution's steps numbered from 1,
 * and the style's instruction.
 *
 * @example
 * verifyPrompt("What is 1+1?", { style: "judge", steps: ["1+1=2", "\\boxed{2}"] }).includes("Step 2: \\boxed{2}") // true
 */
export const verifyPrompt = (question: string, task: VerifyTask): string => {
  const solution = task.steps.map((s, i) => `Step ${i + 1}: ${s.trim()}`).join("\n")
  const cut = solution.length > MAX_SOLUTION_CHARS ? `… ${solution.slice(-MAX_SOLUTION_CHARS)}` : solution
  return [
    `Problem: ${question.trim()}`,
    "",
    "Proposed solution:",
    cut,
    "",
    task.style === "judge" ? JUDGE_INSTRUCTION : THINK_INSTRUCTION
  ].join("\n")
}

const RATING = /rating\s*:?\s*\[\[\s*(\d+(?:\.\d+)?)\s*\]\]/giu
const STEP = /step\s*(\d+)\s*:[^\n]*?\\boxed\{\s*(correct|incorrect)\s*\}/giu
const FINAL = /is\s+the\s+solution\s+correct\s*\??[^\n]*?\\boxed\{\s*(yes|no|\d*\.?\d+)\s*\}/giu

/**
 * One verification sample's verdict, parsed from its reply — the last rating (judge) or the last
 * final verdict (think) counts; a reply without one (e.g. cut by `maxTokens`) is `ok: false`.
 * A think reply's step verdicts fill the steps it names; a step it does not name counts as
 * correct unless an earlier one was incorrect.
 *
 * @example
 * parseVerdict("Fine.\nRating: [[8]]", { style: "judge", steps: ["a", "b"] }) // { ok: true, stepScores: [0.777…] }
 * parseVerdict("Step 1: ok \\boxed{correct}\nStep 2: no \\boxed{incorrect}\nIs the solution correct? \\boxed{no}", { style: "think", steps: ["a", "b"] })
 * // { ok: true, stepScores: [1, 0] }
 */
export const parseVerdict = (reply: string, task: VerifyTask): Verdict => {
  if (task.style === "judge") {
    const last = [...reply.matchAll(RATING)].at(-1)
    const r = last === undefined ? Number.NaN : Number(last[1])
    if (!(r >= 1 && r <= 10)) return { ok: false, why: "no rating [[1..10]]" }
    return { ok: true, stepScores: [(r - 1) / 9] }
  }
  const final = [...reply.matchAll(FINAL)].at(-1)?.[1]?.toLowerCase()
  if (final === undefined) return { ok: false, why: 'no final "Is the solution correct? \\boxed{…}"' }
  const verdict = final === "yes" ? 1 : final === "no" ? 0 : Number(final)
  if (!(verdict >= 0 && verdict <= 1)) return { ok: false, why: `final verdict ${final} is not yes, no or in [0, 1]` }
  const n = task.steps.length
  const wrongAt = new Array<boolean>(n).fill(false)
  for (const m of reply.matchAll(STEP)) {
    const k = Number(m[1]) - 1
    if (k >= 0 && k < n && m[2]?.toLowerCase() === "incorrect") wrongAt[k] = true
  }
  const scores: Array<number> = []
  let ok = true
  for (let k = 0; k < n; k++) {
    if (wrongAt[k]) ok = false
    scores.push(ok ? 1 : 0)
  }
  if (n > 0) scores[n - 1] = verdict
  return { ok: true, stepScores: scores.length === 0 ? [verdict] : scores }
}

/**
 * The step scores of a candidate from its samples' verdicts: the mean, step by step, over the
 * samples that parsed (`undefined` when none did).
 *
 * @example
 * meanVerdict([{ ok: true, stepScores: [1, 1] }, { ok: true, stepScores: [1, 0] }]) // [1, 0.5]
 */
export const meanVerdict = (verdicts: ReadonlyArray<Verdict>): ReadonlyArray<number> | undefined => {
  const parsed = verdicts.flatMap((v) => (v.ok ? [v.stepScores] : []))
  const first = parsed[0]
  if (first === undefined) return undefined
  return first.map((_, k) => parsed.reduce((a, s) => a + (s[k] ?? 0), 0) / parsed.length)
}

/**
 * A judge's reply with rating `r` (what a simulated judge writes).
 *
 * @example
 * judgeText(7) // "The solution's steps follow … Rating: [[7]]"
 */
export const judgeText = (rating: number): string =>
  `The solution's steps follow from the problem and its final answer is checked against them.\nRating: [[${rating}]]`

/**
 * A verification chain of thought judging each step (`true` = correct) and the solution (what a
 * simulated verifier writes); `filler` is the check written for each step.
 *
 * @example
 * thinkText([true, false], false, "I recompute it.") // "Step 1: I recompute it. \\boxed{correct}\n…\\boxed{no}"
 */
export const thinkText = (steps: ReadonlyArray<boolean>, correct: boolean, filler: string): string =>
  [
    ...steps.map((ok, i) => `Step ${i + 1}: ${filler} The step is \\boxed{${ok ? "correct" : "incorrect"}}.`),
    `Is the solution correct? \\boxed{${correct ? "yes" : "no"}}`
  ].join("\n")

/**
 * Whether a think reply's last final verdict is a word, yes or no (not a number): the verdicts a
 * backend can give a token probability for.
 *
 * @example
 * saysYesOrNo("Is the solution correct? \\boxed{no}") // true
 */
export const saysYesOrNo = (reply: string): boolean => {
  const final = [...reply.matchAll(FINAL)].at(-1)?.[1]?.toLowerCase()
  return final === "yes" || final === "no"
}

/** One generated token with its log-probability and the top alternatives at its position (OpenAI's `logprobs.content`). */
export interface VerdictToken {
  readonly token: string
  readonly logprob: number
  readonly top_logprobs?: ReadonlyArray<{ readonly token: string; readonly logprob: number }> | null
}

const FINAL_AT = new RegExp(FINAL.source, "giud")
const YES_NO = /(?:^|[^a-z])(yes|no)[^a-z]*$/iu

/**
 * ThinkPRM's verdict probability from a reply's tokens: at the token where the last final verdict
 * (`Is the solution correct? \boxed{yes|no}`) begins, P(yes) / (P(yes) + P(no)), summing the
 * probabilities of the alternatives that spell yes or no (any case, with leading or trailing
 * punctuation or spaces: `" yes"`, `"{No"`), the chosen token included. `undefined` when the reply
 * has no yes/no final verdict or no log-probabilities there.
 *
 * @example
 * verdictYes([{ token: "Is the solution correct? \\boxed{", logprob: 0 },
 *   { token: "yes", logprob: -0.1, top_logprobs: [{ token: "yes", logprob: -0.1 }, { token: "no", logprob: -2.4 }] },
 *   { token: "}", logprob: 0 }]) // 0.909…
 */
export const verdictYes = (tokens: ReadonlyArray<VerdictToken>): number | undefined => {
  let text = ""
  const starts: Array<number> = []
  for (const t of tokens) {
    starts.push(text.length)
    text += t.token
  }
  let at: number | undefined
  for (const m of text.matchAll(FINAL_AT)) {
    const word = m[1]?.toLowerCase()
    const span = m.indices?.[1]
    if ((word === "yes" || word === "no") && span !== undefined) at = span[0]
  }
  if (at === undefined) return undefined
  // the token holding the verdict's first character
  let i = starts.length - 1
  while (i > 0 && (starts[i] ?? 0) > at) i--
  const chosen = tokens[i]
  if (chosen === undefined) return undefined
  const seen = new Map<string, number>()
  for (const alt of chosen.top_logprobs ?? []) if (!seen.has(alt.token)) seen.set(alt.token, alt.logprob)
  if (!seen.has(chosen.token)) seen.set(chosen.token, chosen.logprob)
  let yes = 0
  let no = 0
  for (const [token, logprob] of seen) {
    const w = YES_NO.exec(token)?.[1]?.toLowerCase()
    const p = Number.isFinite(logprob) ? Math.exp(logprob) : 0
    if (w === "yes") yes += p
    else if (w === "no") no += p
  }
  return yes + no > 0 ? yes / (yes + no) : undefined
}

/**
 * A think sample's verdict with its final score read as a probability: the parsed step scores,
 * the last replaced by `yes` (P("yes") at the verdict token); not ok when the sample has no verdict
 * or no probability of it.
 *
 * @example
 * withProbability({ ok: true, stepScores: [1, 1] }, 0.8) // { ok: true, stepScores: [1, 0.8] }
 */
export const withProbability = (verdict: Verdict, yes: number | undefined): Verdict => {
  if (!verdict.ok) return verdict
  if (yes === undefined || !(yes >= 0 && yes <= 1))
    return { ok: false, why: 'no probability of "yes" at the final verdict token (a numeric verdict has none)' }
  const scores = [...verdict.stepScores]
  scores[scores.length - 1] = yes
  return { ok: true, stepScores: scores }
}
