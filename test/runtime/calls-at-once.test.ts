/**
 * A generator that answers each call in the step that makes it (`GeneratorShape.atOnce`: the
 * simulator without latency) has a node's calls run one after another in the node's fiber,
 * without a fiber and a permit each (Calls.ts). That path must give the run the forked path gives
 * — the same candidates, answer, usage, per-node ledger and exhaustion — for every built-in graph,
 * under random limits, at concurrency 1 and 64; it must really run in one fiber; and a node
 * interrupted between its calls must release what it reserved.
 */
import { assert, describe, it } from "@effect/vitest"
import { Cause, Effect, Exit, Fiber } from "effect"
import fc from "fast-check"
import { defaultConfig, make } from "../../plugins/simulated/index.ts"
import { mathAnswerKey } from "../../src/answer/MathGrader.ts"
import * as Ledger from "../../src/budget/Ledger.ts"
import type * as Limits from "../../src/budget/Limits.ts"
import type { Problem } from "../../src/domain/Problem.ts"
import * as Loader from "../../src/graph/Loader.ts"
import { execute, run } from "../../src/runtime/Run.ts"
import { RunEvents, silent } from "../../src/runtime/RunEvents.ts"
import { Generator, type GeneratorShape } from "../../src/services/Generator.ts"
import { AnswerKey } from "../../src/services/Grader.ts"
import { Verifier } from "../../src/services/Verifier.ts"
import { comparable, GRAPHS, limitsArb } from "./paths.ts"

const SCALE = Number(process.env.MULL_PROPERTY_SCALE ?? 1)

const problem: Problem = { id: "test/algebra/3.json", question: "What is $4+9$?", gold: "13", meta: { level: 2 } }

/** The same generator without its claim to answer at once: every call forked, with its permit. */
const forked = (g: GeneratorShape): GeneratorShape => {
  const { atOnce: _claim, ...rest } = g
  return rest
}

const runWith = (
  graph: string,
  params: Record<string, number>,
  limits: Limits.Limits,
  atOnce: boolean,
  concurrency: number
) =>
  Effect.gen(function* () {
    const backend = yield* make(defaultConfig)
    const loaded = yield* Loader.load(graph)
    // a graph's own params that this test does not set keep their defaults
    const known = Object.fromEntries(Object.entries(params).filter(([k]) => k in (loaded.doc.params ?? {})))
    return yield* Effect.exit(
      run(loaded, problem, { limits, seed: 11, concurrency, params: known }).pipe(
        Effect.provideService(RunEvents, silent),
        Effect.provideService(Generator, atOnce ? backend.generator : forked(backend.generator)),
        Effect.provideService(Verifier, backend.verifier),
        Effect.provideService(AnswerKey, mathAnswerKey)
      )
    )
  })

describe("calls of a generator that answers at once", () => {
  it("the simulator without latency claims it; with latency it does not", () =>
    Effect.runPromise(
      Effect.gen(function* () {
        const quick = yield* make(defaultConfig)
        assert.strictEqual(quick.generator.atOnce, quick.generator.generate)
        const slow = yield* make({
          ...defaultConfig,
          generator: { ...defaultConfig.generator, latency: { fixedMs: 1, perTokenMs: 0 } }
        })
        assert.isUndefined(slow.generator.atOnce)
      })
    ))

  it.effect("give the run the forked calls give, for every graph, under any limits, at concurrency 1 and 64", () =>
    Effect.promise(() =>
      fc.assert(
        fc.asyncProperty(fc.constantFrom(...GRAPHS), limitsArb, async ([graph, params], limits) => {
          const outcome = async (atOnce: boolean, concurrency: number) => {
            const exit = await Effect.runPromise(runWith(graph, params, limits, atOnce, concurrency))
            return Exit.isSuccess(exit) ? { ok: comparable(exit.value) } : { failed: String(Cause.squash(exit.cause)) }
          }
          const reference = await outcome(false, 64)
          assert.deepStrictEqual(await outcome(true, 64), reference, `${graph} at 64`)
          assert.deepStrictEqual(await outcome(true, 1), reference, `${graph} at 1`)
          assert.deepStrictEqual(await outcome(false, 1), reference, `${graph} forked at 1`)
        }),
        { numRuns: 30 * SCALE }
      )
    )
  )

  it.effect("run in the node's fiber, not a fiber each", () =>
    Effect.gen(function* () {
      const backend = yield* make(defaultConfig)
      const loaded = yield* Loader.load("beam-search")
      const fibersOf = (claim: boolean) =>
        Effect.gen(function* () {
          const seen = new Set<number>()
          const inner = backend.generator
          const generate: GeneratorShape["generate"] = (request) =>
            Effect.withFiber((fiber) => {
              seen.add(fiber.id)
              return inner.generate(request)
            })
          const generator: GeneratorShape = claim
            ? { ...inner, generate, atOnce: generate }
            : { ...forked(inner), generate }
          yield* run(loaded, problem, { seed: 3, params: { N: 8, M: 2, rounds: 3 } }).pipe(
            Effect.provideService(RunEvents, silent),
            Effect.provideService(Generator, generator),
            Effect.provideService(Verifier, backend.verifier),
            Effect.provideService(AnswerKey, mathAnswerKey)
          )
          return seen.size
        })
      assert.strictEqual(yield* fibersOf(true), 1)
      assert.isAbove(yield* fibersOf(false), 1)
    })
  )

  it.effect("a node interrupted between its calls releases what it reserved", () =>
    Effect.gen(function* () {
      const backend = yield* make(defaultConfig)
      const loaded = yield* Loader.load("beam-search")
      for (const stopAt of [1, 3, 6, 9]) {
        // a port that claims to answer at once but never answers its `stopAt`-th call: the run
        // is interrupted there, with later calls of the node reserved and not yet sent
        let calls = 0
        const inner = backend.generator
        const generate: GeneratorShape["generate"] = (request) =>
          Effect.suspend(() => (++calls === stopAt ? Effect.never : inner.generate(request)))
        const ledger = yield* Ledger.make({ sequences: 200 })
        const fiber = yield* Effect.forkChild(
          execute(loaded, problem, { seed: 5, params: { N: 8, M: 2, rounds: 3 } }).pipe(
            Effect.provideService(Ledger.Ledger, ledger),
            Effect.provideService(RunEvents, silent),
            Effect.provideService(Generator, { ...inner, generate, atOnce: generate }),
            Effect.provideService(Verifier, backend.verifier),
            Effect.provideService(AnswerKey, mathAnswerKey)
          )
        )
        while (calls < stopAt) yield* Effect.yieldNow
        const during = yield* ledger.snapshot
        assert.isAbove(during.open, 0, `reservations open while call ${stopAt} hangs`)
        yield* Fiber.interrupt(fiber)
        const snap = yield* ledger.snapshot
        assert.strictEqual(snap.open, 0, `open reservations after call ${stopAt}`)
        assert.strictEqual(snap.reserved.sequences, 0)
        // the hanging call was sent: it is charged its whole reservation; the others committed theirs
        assert.isAtMost(snap.committed.sequences, 200)
        assert.isAbove(snap.committed.calls, stopAt - 1)
      }
    })
  )
})
