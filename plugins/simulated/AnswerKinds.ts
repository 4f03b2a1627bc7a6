/**
 * The simulated reasoner's answers for problems that are not math (`src/domain/AnswerKind.ts`).
 * The world writes its answers as strings; for a multiple choice only a letter among the options
 * is an answer. A model asked a multiple choice names some option, so an answer the world writes
 * in another shape (a distractor such as `-C` or `C^2`) becomes a *wrong* letter: one of the other
 * options, chosen by the distractor's hash — the same distractor always names the same option, and
 * different distractors spread over the wrong options as a model's mistakes would. Other kinds keep
 * the world's answer.
 *
 * @since 0.2.0
 */
import { letterOf } from "../../src/answer/Kinds.ts"
import { type AnswerSpec, letters } from "../../src/domain/AnswerKind.ts"
import { hashString32 } from "../../src/domain/Hash.ts"
import type { Problem } from "../../src/domain/Problem.ts"
import type { GenerateResult } from "../../src/services/Generator.ts"

/**
 * The letter a simulated answer names: its own letter when it reads as one, else a wrong option
 * picked by its hash (any option when the gold is no letter; none when there is no other option).
 *
 * @example
 * choiceOf("-C", { kind: "choice", options: ["a", "b", "c", "d"] }, "C") // "A", "B" or "D"
 */
export const choiceOf = (answer: string, spec: AnswerSpec, gold: string | undefined): string | undefined => {
  const letter = letterOf(answer, spec)
  if (letter !== undefined) return letter
  const right = gold === undefined ? undefined : letterOf(gold, spec)
  const wrong = letters(spec).filter((l) => l !== right)
  return wrong[hashString32(answer) % wrong.length]
}

/**
 * The generations of a result with their answers read for the problem's kind.
 *
 * @example
 * forKind(problem, result).generations[0]?.answer // "C" for "C"; a wrong letter for "-(C)"
 */
export const forKind = (problem: Problem, result: GenerateResult): GenerateResult => {
  const spec = problem.answer
  if (spec?.kind !== "choice") return result
  return {
    ...result,
    generations: result.generations.map((g) => {
      if (g.answer === undefined) return g
      const letter = choiceOf(g.answer, spec, problem.gold)
      const { answer: _, ...rest } = g
      return letter === undefined ? rest : { ...rest, answer: letter }
    })
  }
}
