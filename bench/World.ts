/**
 * What every benchmark works with: MATH-500, the built-in graphs, and the simulated backend built
 * from a configuration, provided to the runtime and to the plain reference implementations of
 * `test/reference/` alike (as `test/runtime/reference.test.ts` drives them side by side).
 *
 * @since 0.1.0
 */
import { Effect } from "effect"
import {
  decodeConfigUnsafe,
  make,
  type SimulatedBackend,
  type SimulatedConfigInput
} from "../plugins/simulated/index.ts"
import { mathAnswerKey } from "../src/answer/MathGrader.ts"
import { loadMath500 } from "../src/data/DatasetMath500.ts"
import type { Problem } from "../src/domain/Problem.ts"
import { type LoadedGraph, load } from "../src/graph/Loader.ts"
import { Generator, type GeneratorShape } from "../src/services/Generator.ts"
import { AnswerKey } from "../src/services/Grader.ts"
import { Verifier, type VerifierShape } from "../src/services/Verifier.ts"
import type { Ports } from "../test/reference/kit.ts"

/**
 * Simulated solutions long enough (46–50 steps) that a beam search runs all of its 40 rounds: the
 * default solutions end within about 10 rounds, which would leave the loop, the prefixes and the
 * memory figure untested.
 */
export const LONG: SimulatedConfigInput = { length: { base: 45, jitter: 0 } }

/**
 * A configuration with every server's latency and concurrency set (the rest from `base`).
 *
 * @example
 * withServer(LONG, { latencyMs: 20, concurrency: 64 })
 */
export const withServer = (
  base: SimulatedConfigInput,
  server: { readonly latencyMs: number; readonly concurrency: number; readonly verifierLatencyMs?: number }
): SimulatedConfigInput => ({
  ...base,
  generator: { concurrency: server.concurrency, latency: { fixedMs: server.latencyMs } },
  verifier: { concurrency: server.concurrency, latency: { fixedMs: server.verifierLatencyMs ?? server.latencyMs } }
})

/** The simulated backend of a configuration. */
export const backendOf = (config: SimulatedConfigInput): Promise<SimulatedBackend> =>
  Effect.runPromise(make(decodeConfigUnsafe(config)))

/**
 * Provides the ports (generator, verifier, answer key) of a backend to a program.
 *
 * @example
 * await Effect.runPromise(provide(backend, bestOfN(problem, 0, { N: 16, method: "weighted" })))
 */
export const provide = <A, E>(
  ports: { readonly generator: GeneratorShape; readonly verifier: VerifierShape },
  effect: Effect.Effect<A, E, Ports>
): Effect.Effect<A, E> =>
  effect.pipe(
    Effect.provideService(Generator, ports.generator),
    Effect.provideService(Verifier, ports.verifier),
    Effect.provideService(AnswerKey, mathAnswerKey)
  )

let problems: ReadonlyArray<Problem> | undefined

/** MATH-500 (loaded once). */
export const math500 = async (): Promise<ReadonlyArray<Problem>> => {
  problems ??= await Effect.runPromise(loadMath500())
  return problems
}

/**
 * The i-th MATH-500 problem (cycling).
 *
 * @example
 * const p = await problem(7)
 */
export const problem = async (i: number): Promise<Problem> => {
  const all = await math500()
  const p = all[i % all.length]
  if (p === undefined) throw new Error("MATH-500 is empty")
  return p
}

const graphs = new Map<string, LoadedGraph>()

/**
 * A built-in graph, loaded once.
 *
 * @example
 * const beam = await graph("beam-search")
 */
export const graph = async (name: string): Promise<LoadedGraph> => {
  const hit = graphs.get(name)
  if (hit !== undefined) return hit
  const g = await Effect.runPromise(load(name))
  graphs.set(name, g)
  return g
}
