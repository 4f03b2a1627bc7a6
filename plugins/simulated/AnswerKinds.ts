/**
 * The simulated reasoner's answers for problems that are not math (`src/domain/AnswerKind.ts`).
 * The world writes its answers as strings; for a multiple choice only a letter among the options
 * is an answer, so a wrong answer the world writes in another shape (`-(C)`, a structural
 * variant) becomes no answer, as an unreadable choice would be. Other kinds keep the world's answer.
 *
 * @since 0.2.0
 */
import { letterOf } from "../../src/answer/Kinds.ts"
import type { Problem } from "../../src/domain/Problem.ts"
import type { GenerateResult } from "../../src/services/Generator.ts"

/**
 * The generations of a result with their answers read for the problem's kind.
 *
 * @example
 * forKind(problem, result).generations[0]?.answer // "C", or undefined for "-(C)"
 */
export const forKind = (problem: Problem, result: GenerateResult): GenerateResult => {
  const spec = problem.answer
  if (spec?.kind !== "choice") return result
  return {
    ...result,
    generations: result.generations.map((g) => {
      if (g.answer === undefined) return g
      const letter = letterOf(g.answer, spec)
      const { answer: _, ...rest } = g
      return letter === undefined ? rest : { ...rest, answer: letter }
    })
  }
}
