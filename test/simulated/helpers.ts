/** Shared helpers of the simulated-backend tests. */
import * as Candidate from "../../src/domain/Candidate.ts"
import type { Problem } from "../../src/domain/Problem.ts"
import * as Steps from "../../src/domain/Steps.ts"
import type { GenerateRequest, Generation } from "../../src/services/Generator.ts"

/** A few problems of different shapes: levels, explicit difficulty, no level, no gold, non-numeric gold. */
export const PROBLEMS: ReadonlyArray<Problem> = [
  { id: "p/easy", question: "What is $1+1$?", gold: "2", meta: { level: 1, index: 3 } },
  { id: "p/mid", question: "Find $x$.", gold: "\\frac{14}{3}", meta: { level: 3, index: 17 } },
  { id: "p/hard", question: "Prove it and give $n$.", gold: "\\left( 3, \\frac{\\pi}{2} \\right)", meta: { level: 5 } },
  { id: "p/explicit", question: "How many?", gold: "-50", meta: { difficulty: 0.6 } },
  { id: "p/nogold", question: "Guess.", meta: { level: 2, index: 250 } }
]

/** A candidate holding the given steps. */
export const candidateOf = (id: string, gen: Generation, parent?: Candidate.Candidate): Candidate.Candidate => ({
  ...Candidate.make({ id, origin: { node: "test", round: 0 } }),
  ...(parent === undefined ? {} : { parentId: parent.id }),
  steps: Steps.appendAll(parent?.steps, gen.steps),
  done: gen.done,
  ...(gen.answer === undefined ? {} : { answer: gen.answer })
})

/** A request with defaults. */
export const request = (problem: Problem, fields: Partial<Omit<GenerateRequest, "problem">> = {}): GenerateRequest => ({
  problem,
  prefix: undefined,
  n: 1,
  until: "end",
  temperature: 0.8,
  maxTokens: 4096,
  seed: 1n,
  ...fields
})
