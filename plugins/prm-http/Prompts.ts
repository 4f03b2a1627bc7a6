/**
 * What a process reward model reads (pure), in the formats its authors document:
 *
 * - Qwen2.5-Math-PRM (pooling): the chat of system, question and the solution, each step followed
 *   by the step separator `<extra_0>`; the model classifies every separator;
 * - Math-Shepherd (logprobs): `question step₁ ки\nstep₂ ки…`; the next token after a tag is "+" or "-";
 * - RLHFlow (logprobs): a chat whose user turns are the steps (the first with the question) and
 *   whose assistant turns are "+"; the next token of the open assistant turn scores the last step.
 *
 * An ORM scores the whole solution as one step.
 *
 * @since 0.1.0
 */
import type { Candidate } from "../../src/domain/Candidate.ts"
import type { Problem } from "../../src/domain/Problem.ts"
import * as Steps from "../../src/domain/Steps.ts"
import * as Prompt from "../../src/services/Prompt.ts"
import type { ResolvedPrmHttpConfig } from "./Config.ts"

/**
 * The step texts a verifier scores: every step (`prm`), or the whole solution as one (`orm`).
 *
 * @example
 * scoredSteps(candidate, "orm", "\n\n") // ["Step 1…\n\nStep 2…"]
 */
export const scoredSteps = (candidate: Candidate, verifier: string, delimiter: string): ReadonlyArray<string> => {
  const steps = Steps.toArray(candidate.steps).map((s) => s.text)
  if (steps.length === 0) return []
  return verifier === "orm" ? [steps.join(delimiter)] : steps
}

/**
 * The pooling input of one candidate: system, question, and the steps each followed by the
 * separator, under the PRM's chat template.
 *
 * @example
 * poolingInput(config, problem, ["a", "b"]) // "<|im_start|>system\n…<|im_start|>assistant\na<extra_0>b<extra_0><|im_end|>\n"
 */
export const poolingInput = (config: ResolvedPrmHttpConfig, problem: Problem, steps: ReadonlyArray<string>): string =>
  Prompt.conversation(config.template, [
    { role: "system", content: config.system },
    { role: "user", content: problem.question },
    { role: "assistant", content: steps.map((s) => `${s}${config.stepSeparator}`).join("") }
  ])

/**
 * The prompt whose next token scores step `k` (0-based) of `steps`.
 *
 * @example
 * logprobPrompt({ ...config, format: "math-shepherd" }, problem, ["a", "b"], 1) // "Q a ки\nb ки"
 */
export const logprobPrompt = (
  config: ResolvedPrmHttpConfig,
  problem: Problem,
  steps: ReadonlyArray<string>,
  k: number
): string => {
  const upTo = steps.slice(0, k + 1)
  if (config.format === "math-shepherd")
    return `${problem.question} ${upTo.map((s) => `${s} ${config.stepTag}`).join("\n")}`
  const msgs: Array<Prompt.Message> = []
  upTo.forEach((s, i) => {
    msgs.push({ role: "user", content: i === 0 ? `${problem.question} ${s}` : s })
    if (i < upTo.length - 1) msgs.push({ role: "assistant", content: config.goodToken })
  })
  return Prompt.render(config.template, msgs, "")
}
