/**
 * The next-token-probability judge (pure parts): which token tells "yes" from "no", which step
 * prefixes a verifier judges, and the score from the two probabilities.
 *
 * The judge reads a prompt (the solution so far and a question such as "Is this step correct?
 * Answer:") and compares the probabilities of the answers' first distinguishing tokens. With a
 * large vocabulary " Yes" and " No" are single tokens; with a tiny one they may share a first
 * token (stories260K spells both as "▁" then "Y…"/"N…"), so the shared tokens are appended to the
 * prompt and the next token is compared.
 *
 * @since 0.1.0
 */
import { Result } from "effect"

/** The verifiers of the backend: a PRM (every step prefix) and an ORM (the whole solution). */
export const VERIFIERS = ["prm", "orm"] as const

/** The tokens the judge appends to every prompt, and the two tokens it compares. */
export interface JudgeTokens {
  /** the suffix's tokens and the tokens both answers start with */
  readonly tail: ReadonlyArray<number>
  readonly yes: number
  readonly no: number
}

/**
 * The judge's tokens from the tokenizations of `suffix + yes` and `suffix + no`: the tokens they
 * share, then the first tokens where they differ. Fails when one is a prefix of the other.
 *
 * @example
 * judgeTokens([7, 8, 1, 5], [7, 8, 1, 6]) // Result.succeed({ tail: [7, 8, 1], yes: 5, no: 6 })
 */
export const judgeTokens = (
  withYes: ReadonlyArray<number>,
  withNo: ReadonlyArray<number>
): Result.Result<JudgeTokens, string> => {
  let i = 0
  while (i < withYes.length && i < withNo.length && withYes[i] === withNo[i]) i++
  const yes = withYes[i]
  const no = withNo[i]
  return yes === undefined || no === undefined
    ? Result.fail("judge.yes and judge.no must differ in some token (one tokenizes as a prefix of the other)")
    : Result.succeed({ tail: withYes.slice(0, i), yes, no })
}

/**
 * The step counts a verifier judges for a solution of `steps` steps: every prefix for a PRM, the
 * whole solution for an ORM (none for an empty solution).
 *
 * @example
 * judgedPrefixes("prm", 3) // [1, 2, 3]
 * judgedPrefixes("orm", 3) // [3]
 */
export const judgedPrefixes = (verifier: string, steps: number): ReadonlyArray<number> =>
  steps === 0 ? [] : verifier === "orm" ? [steps] : Array.from({ length: steps }, (_, i) => i + 1)

/**
 * The score of a judgement: p(yes) normalised over the two answers; 0.5 when the model gives
 * neither any probability.
 *
 * @example
 * judgeScore(0.3, 0.1) // 0.75
 */
export const judgeScore = (pYes: number, pNo: number): number => {
  const total = pYes + pNo
  return total > 0 && Number.isFinite(total) ? Math.min(1, Math.max(0, pYes / total)) : 0.5
}

/**
 * How much of each prompt the judge can keep from the one before it: the prompts are evaluated in
 * order on one context, and prompt k reuses the evaluated tokens it shares with prompt k − 1 (a
 * PRM's prompts for steps 1…K share the question and the first steps). The last token is always
 * evaluated again, since its next-token probabilities are what the judge reads.
 *
 * @example
 * reuse([[1, 2, 3, 9], [1, 2, 3, 4, 9]]) // [0, 3]
 */
export const reuse = (prompts: ReadonlyArray<ReadonlyArray<number>>): ReadonlyArray<number> => {
  let state: ReadonlyArray<number> = []
  return prompts.map((prompt) => {
    let common = 0
    while (common < state.length && common < prompt.length && state[common] === prompt[common]) common++
    state = prompt
    return Math.max(0, Math.min(common, prompt.length - 1))
  })
}

/**
 * The tokens the judge evaluates for prompts judged in order (see `reuse`).
 *
 * @example
 * evaluatedTokens([[1, 2, 3, 9], [1, 2, 3, 4, 9]]) // 4 + 2
 */
export const evaluatedTokens = (prompts: ReadonlyArray<ReadonlyArray<number>>): number => {
  const kept = reuse(prompts)
  return prompts.reduce((sum, p, i) => sum + p.length - (kept[i] ?? 0), 0)
}
