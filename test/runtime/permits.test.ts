/**
 * A run takes no permits for its calls when the backend's concurrency limit cannot bind: the static
 * bound of its calls (`staticFacts(...).calls`) is at most the limit. That bound must then really
 * bound the calls in flight, and a limit that can bind must still hold.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Semaphore } from "effect"
import { defaultConfig, make } from "../../plugins/simulated/index.ts"
import { mathAnswerKey } from "../../src/answer/MathGrader.ts"
import type { Problem } from "../../src/domain/Problem.ts"
import { load } from "../../src/graph/Loader.ts"
import { openPermits, permitsFor } from "../../src/runtime/Env.ts"
import { run, staticFacts } from "../../src/runtime/Run.ts"
import { layerSilent } from "../../src/runtime/RunEvents.ts"
import { Generator, type GeneratorShape } from "../../src/services/Generator.ts"
import { AnswerKey } from "../../src/services/Grader.ts"
import { Verifier, type VerifierShape } from "../../src/services/Verifier.ts"

const problem: Problem = { id: "permits/1", question: "What is $2+3$?", gold: "5", meta: {} }

/** Calls in flight on both ports: now, the most at once, and all made. */
interface InFlight {
  generator: { now: number; peak: number; made: number }
  verifier: { now: number; peak: number; made: number }
  both: { now: number; peak: number; made: number }
}

/**
 * Ports that count the calls in flight; each call yields before it is served, so the calls a run
 * makes at once (a fan-out's forked calls) are all in flight together.
 */
const counting = (
  ports: { readonly generator: GeneratorShape; readonly verifier: VerifierShape },
  inFlight: InFlight
): { readonly generator: GeneratorShape; readonly verifier: VerifierShape } => {
  const track = <A, E, R>(side: "generator" | "verifier", call: Effect.Effect<A, E, R>) =>
    Effect.suspend(() => {
      for (const c of [inFlight[side], inFlight.both]) {
        c.now++
        c.made++
        c.peak = Math.max(c.peak, c.now)
      }
      return Effect.ensuring(
        Effect.andThen(Effect.yieldNow, call),
        Effect.sync(() => {
          inFlight[side].now--
          inFlight.both.now--
        })
      )
    })
  return {
    generator: { ...ports.generator, generate: (r) => track("generator", ports.generator.generate(r)) },
    verifier: { ...ports.verifier, score: (r) => track("verifier", ports.verifier.score(r)) }
  }
}

const fresh = (): InFlight => ({
  generator: { now: 0, peak: 0, made: 0 },
  verifier: { now: 0, peak: 0, made: 0 },
  both: { now: 0, peak: 0, made: 0 }
})

/** Built-in graphs with params small enough for a quick run, and fan-outs that run calls at once. */
const CASES: ReadonlyArray<readonly [string, Record<string, number>]> = [
  ["weighted-best-of-n", { N: 1 }],
  ["weighted-best-of-n", { N: 8 }],
  ["beam-search", { N: 8, M: 2, rounds: 3 }],
  ["dvts", { N: 8, M: 2, rounds: 3 }],
  ["lookahead", { N: 4, M: 2, rounds: 2 }],
  ["parallel-revisions", { N: 4 }],
  ["sequential-revisions", { N: 3 }],
  ["llm-judge-best-of-n", { N: 4 }]
]

describe("permits", () => {
  it("are open exactly when the calls' bound is within the limit", () => {
    assert.strictEqual(permitsFor(3, 3), openPermits)
    assert.strictEqual(permitsFor(64, 5), openPermits)
    assert.notStrictEqual(permitsFor(2, 3), openPermits)
    assert.notStrictEqual(permitsFor(64, Number.POSITIVE_INFINITY), openPermits)
    const effect = Effect.succeed(1)
    assert.strictEqual(openPermits.withPermits(1)(effect), effect)
  })

  it.effect("a semaphore still makes a call wait when its limit is reached", () =>
    Effect.gen(function* () {
      const sem = permitsFor(1, 2) as Semaphore.Semaphore
      assert.isTrue(yield* Effect.map(Semaphore.take(sem, 1), (n) => n === 1))
      assert.isTrue(Exit.isFailure(yield* Effect.exit(Effect.timeout(sem.withPermits(1)(Effect.void), 0))))
    })
  )

  it.effect("the calls' bound bounds the calls in flight: with the limit at the bound, nothing waits beyond it", () =>
    Effect.gen(function* () {
      const backend = yield* make(defaultConfig)
      for (const [name, params] of CASES) {
        const loaded = yield* load(name)
        const bound = staticFacts(loaded, params, {}, backend.generator, backend.verifier).calls
        assert.isTrue(Number.isFinite(bound), `${name}: a finite bound`)
        for (const concurrency of [bound, 2]) {
          const inFlight = fresh()
          const ports = counting(backend, inFlight)
          const result = yield* run(loaded, problem, { params, seed: 3, concurrency }).pipe(
            Effect.provide(layerSilent),
            Effect.provideService(Generator, ports.generator),
            Effect.provideService(Verifier, ports.verifier),
            Effect.provideService(AnswerKey, mathAnswerKey)
          )
          assert.isAtMost(result.usage.calls, bound, `${name}: calls within the bound`)
          // open permits (concurrency = the bound): all calls at once never exceed it
          assert.isAtMost(inFlight.both.peak, bound, `${name} at ${concurrency}: calls in flight`)
          if (concurrency === 2 && bound > 2) {
            assert.isAtMost(inFlight.generator.peak, 2, `${name}: generator calls in flight under a limit of 2`)
            assert.isAtMost(inFlight.verifier.peak, 2, `${name}: verifier calls in flight under a limit of 2`)
          }
        }
      }
    })
  )

  it.effect("a fan-out at a limit below its calls waits for permits; at or above its bound it runs all at once", () =>
    Effect.gen(function* () {
      const backend = yield* make(defaultConfig)
      const loaded = yield* load("beam-search")
      const params = { N: 8, M: 2, rounds: 2 }
      const bound = staticFacts(loaded, params, {}, backend.generator, backend.verifier).calls
      const peakAt = (concurrency: number) =>
        Effect.gen(function* () {
          const inFlight = fresh()
          const ports = counting(backend, inFlight)
          yield* run(loaded, problem, { params, seed: 1, concurrency }).pipe(
            Effect.provide(layerSilent),
            Effect.provideService(Generator, ports.generator),
            Effect.provideService(Verifier, ports.verifier),
            Effect.provideService(AnswerKey, mathAnswerKey)
          )
          return inFlight.generator.peak
        })
      // a round of beam search expands its kept beams at once: more than 3 calls in flight when
      // nothing holds them back
      assert.strictEqual(yield* peakAt(1), 1)
      assert.strictEqual(yield* peakAt(3), 3)
      assert.isAbove(yield* peakAt(bound), 3)
    })
  )

  it.effect(
    "the generator's own bound bounds its calls made and in flight; a fan-out scored after is bounded by its branches",
    () =>
      Effect.gen(function* () {
        const backend = yield* make(defaultConfig)
        for (const [name, params] of CASES) {
          const loaded = yield* load(name)
          const facts = staticFacts(loaded, params, {}, backend.generator, backend.verifier)
          assert.isAtMost(facts.generatorCalls, facts.generatorCallsFree, `${name}: a judge only adds`)
          assert.isAtMost(facts.generatorCallsFree, facts.calls, `${name}: within the calls of both backends`)
          // the generator's calls run under no permits when its bound is the limit
          const inFlight = fresh()
          const ports = counting(backend, inFlight)
          yield* run(loaded, problem, { params, seed: 3, concurrency: Math.max(1, facts.generatorCalls) }).pipe(
            Effect.provide(layerSilent),
            Effect.provideService(Generator, ports.generator),
            Effect.provideService(Verifier, ports.verifier),
            Effect.provideService(AnswerKey, mathAnswerKey)
          )
          assert.isAtMost(inFlight.generator.made, facts.generatorCalls, `${name}: generator calls made`)
          assert.isAtMost(inFlight.generator.peak, facts.generatorCalls, `${name}: generator calls in flight`)
        }
        // best-of-N as N one-sample calls, then a verifier's call and a vote: the verifier's call is
        // not the generator's, so N calls within a cap of N take no generator permits (on a
        // free-text problem the vote may ask the consistency judge: one generator call more)
        const fanOut = yield* load(`${import.meta.dirname}/../fixtures/graphs/fan-out.json`)
        const facts = staticFacts(fanOut, { N: 8 }, {}, backend.generator, backend.verifier)
        assert.strictEqual(facts.generatorCalls, 8)
        assert.strictEqual(facts.generatorCallsFree, 9)
        // the bound of both backends' calls, which decided the generator's permits before
        assert.strictEqual(facts.calls, 19)
      })
  )
})
