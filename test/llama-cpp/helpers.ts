/**
 * Shared setup of the llama-cpp tests: the stories260K model (a real 260K-parameter llama with
 * no chat template; it writes stories, so the tests check mechanics, not math), a backend loaded
 * once per test file, and story "problems".
 */
import { Effect, Exit, Layer, Scope } from "effect"
import * as LlamaCpp from "../../plugins/llama-cpp/index.ts"
import * as MathGrader from "../../src/answer/MathGrader.ts"
import { dataPath } from "../../src/data/DataPath.ts"
import { makeProblem, type Problem } from "../../src/domain/Problem.ts"
import * as RunEvents from "../../src/runtime/RunEvents.ts"
import { Generator } from "../../src/services/Generator.ts"
import { Verifier } from "../../src/services/Verifier.ts"

export const MODEL = dataPath("models", "stories260K.gguf")

/**
 * The test config: one thread (llama.cpp's threads spin-wait, so on a busy 2-core machine one
 * thread is much faster than two), sentences as steps (stories rarely contain "\n\n"), small
 * outputs, and judge answers stories260K's 512-token vocabulary tells apart.
 */
export const CONFIG = {
  modelPath: MODEL,
  threads: 1,
  contextSize: 1024,
  maxTokens: 24,
  stepDelimiter: ".",
  judge: { suffix: " Is this good? Answer:", yes: " Yes", no: " No" }
} as const

export const story = (id: string, question: string): Problem => makeProblem({ id: `story/${id}`, question })

export const STORIES: ReadonlyArray<Problem> = [
  story("cat", "Once upon a time, there was a cat named Tom."),
  story("park", "Lily went to the park with her mom."),
  story("boat", "Ben had a red boat.")
]

/**
 * Builds a backend in a scope that stays open until `close` (after the file's tests).
 *
 * @example
 * const { backend, close } = await openBackend()
 */
export const openBackend = async (config: object = CONFIG) => {
  const scope = await Effect.runPromise(Scope.make())
  const decoded = await Effect.runPromise(LlamaCpp.decodeConfig(config))
  const backend = await Effect.runPromise(LlamaCpp.make(decoded).pipe(Effect.provideService(Scope.Scope, scope)))
  return { backend, close: () => Effect.runPromise(Scope.close(scope, Exit.void)) }
}

/** A built backend's services plus mull's grader and silent run events: what `run` needs. */
export const servicesOf = (backend: LlamaCpp.LlamaCppBackend) =>
  Layer.mergeAll(
    Layer.succeed(Generator, backend.generator),
    Layer.succeed(Verifier, backend.verifier),
    MathGrader.layer,
    RunEvents.layerSilent
  )
