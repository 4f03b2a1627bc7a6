/**
 * The simulated consistency judge (free-text voting, `src/services/Judge.ts`): a deterministic
 * model of universal self-consistency. It groups the responses it reads by mull's free-text key
 * (normalised words; answers without words by their math key), chooses the first response of the
 * largest group (the earliest group on ties), and lists that group as agreeing — a judge that never
 * errs about agreement. Its prompt is the judge's under the simulator's chat template, counted
 * exactly by the simulated tokenizer, and its reply is `verdictText`, counted the same way.
 *
 * @since 0.2.0
 */
import { keyFor } from "../../src/answer/Kinds.ts"
import type { GenerateRequest, GenerateResult } from "../../src/services/Generator.ts"
import { judgePrompt, verdictText } from "../../src/services/Judge.ts"
import { countTokens } from "./Tokens.ts"

const FREE = { kind: "free" } as const

const promptOf = (request: GenerateRequest): string =>
  `<|im_start|>user\n${judgePrompt(request.problem.question, request.judge?.responses ?? [])}<|im_end|>\n<|im_start|>assistant\n`

/**
 * Exact prompt tokens of a judge request.
 *
 * @example
 * judgePromptTokens({ ...request, judge: { responses: ["Paris", "Lyon"] } }) > 0 // true
 */
export const judgePromptTokens = (request: GenerateRequest): number => countTokens(promptOf(request))

/**
 * The judge's one generation: the verdict over the request's responses (see the module doc).
 *
 * @example
 * judgeGeneration({ ...request, judge: { responses: ["Paris", "Lyon", "paris"] } }).generations[0]?.steps[0]?.text
 * // "The most consistent response is Response 1.\nAgreeing: 1, 3"
 */
export const judgeGeneration = (request: GenerateRequest): GenerateResult => {
  const responses = request.judge?.responses ?? []
  const groups = new Map<string, Array<number>>()
  responses.forEach((r, i) => {
    const key = keyFor(FREE, r)
    const members = groups.get(key)
    if (members === undefined) groups.set(key, [i])
    else members.push(i)
  })
  let best: ReadonlyArray<number> = []
  for (const members of groups.values()) if (members.length > best.length) best = members
  const text = verdictText({ chosen: best[0] ?? 0, agreeing: best })
  const outputTokens = Math.min(countTokens(text), request.maxTokens)
  return {
    generations: [{ steps: [{ text, tokens: outputTokens }], done: true, outputTokens, finishReason: "end" }],
    inputTokens: judgePromptTokens(request)
  }
}
