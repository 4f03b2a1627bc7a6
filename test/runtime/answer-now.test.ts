/**
 * A generator that answers in plain code (`GeneratorShape.answerNow`: the simulator without
 * latency) has a node's whole grants answered without an effect per call (Calls.ts,
 * `answerInTurn`). That path must give the run the effectful path gives — the same candidates,
 * answer, usage, per-node ledger and exhaustion — for every built-in graph under random limits; it
 * must really be taken; a wrapper that replaces `generate` must turn it off; and a failed answer
 * must be charged and fail the run as a failed `generate` is and does.
 */
import { assert, describe, it } from "@effect/vitest"
import { Cause, Effect, Exit, Result } from "effect"
import fc from "fast-check"
import { defaultConfig, make } from "../../plugins/simulated/index.ts"
import { mathAnswerKey } from "../../src/answer/MathGrader.ts"
import * as Ledger from "../../src/budget/Ledger.ts"
import type * as Limits from "../../src/budget/Limits.ts"
import type { Problem } from "../../src/domain/Problem.ts"
import * as Loader from "../../src/graph/Loader.ts"
import { execute, run } from "../../src/runtime/Run.ts"
import { RunEvents, silent } from "../../src/runtime/RunEvents.ts"
import { backendError } from "../../src/services/BackendError.ts"
import { type GenerateRequest, Generator, type GeneratorShape } from "../../src/services/Generator.ts"
import { AnswerKey } from "../../src/services/Grader.ts"
import { Verifier } from "../../src/services/Verifier.ts"
import { comparable, GRAPHS, limitsArb } from "./paths.ts"

const SCALE = Number(process.env.MULL_PROPERTY_SCALE ?? 1)

const problem: Problem = { id: "test/algebra/5.json", question: "What is $6+9$?", gold: "15", meta: { level: 2 } }

/** The same generator without its answers in plain code: every call an effect. */
const effectful = (g: GeneratorShape): GeneratorShape => {
  const { answerNow: _now, ...rest } = g
  return rest
}

const runOn = (generator: GeneratorShape, graph: string, params: Record<string, number>, limits: Limits.Limits) =>
  Effect.gen(function* () {
    const backend = yield* make(defaultConfig)
    const loaded = yield* Loader.load(graph)
    // a graph's own params that this test does not set keep their defaults
    const known = Object.fromEntries(Object.entries(params).filter(([k]) => k in (loaded.doc.params ?? {})))
    return yield* Effect.exit(
      run(loaded, problem, { limits, seed: 13, params: known }).pipe(
        Effect.provideService(RunEvents, silent),
        Effect.provideService(Generator, generator),
        Effect.provideService(Verifier, backend.verifier),
        Effect.provideService(AnswerKey, mathAnswerKey)
      )
    )
  })

/** The simulator's generator with its calls counted: through `answerNow` and through `generate`. */
const counted = (inner: GeneratorShape, counts: { now: number; effect: number }): GeneratorShape => {
  const generate: GeneratorShape["generate"] = (request) =>
    Effect.suspend(() => {
      counts.effect++
      return inner.generate(request)
    })
  const now = inner.answerNow
  if (now === undefined) throw new Error("the simulator without latency answers in plain code")
  return {
    ...inner,
    generate,
    atOnce: generate,
    answerNow: Object.assign(
      (request: GenerateRequest) => {
        counts.now++
        return now(request)
      },
      { of: generate }
    )
  }
}

describe("calls of a generator that answers in plain code", () => {
  it("the simulator without latency offers it, tied to its generate; with latency it does not", () =>
    Effect.runPromise(
      Effect.gen(function* () {
        const quick = yield* make(defaultConfig)
        assert.strictEqual(quick.generator.answerNow?.of, quick.generator.generate)
        const slow = yield* make({
          ...defaultConfig,
          generator: { ...defaultConfig.generator, latency: { fixedMs: 1, perTokenMs: 0 } }
        })
        assert.isUndefined(slow.generator.answerNow)
      })
    ))

  it.effect("give the run the effectful calls give, for every graph, under any limits", () =>
    Effect.promise(() =>
      fc.assert(
        fc.asyncProperty(fc.constantFrom(...GRAPHS), limitsArb, async ([graph, params], limits) => {
          const backend = await Effect.runPromise(make(defaultConfig))
          const outcome = async (generator: GeneratorShape) => {
            const exit = await Effect.runPromise(runOn(generator, graph, params, limits))
            return Exit.isSuccess(exit) ? { ok: comparable(exit.value) } : { failed: String(Cause.squash(exit.cause)) }
          }
          assert.deepStrictEqual(await outcome(backend.generator), await outcome(effectful(backend.generator)), graph)
        }),
        { numRuns: 30 * SCALE }
      )
    )
  )

  it.effect("are taken for whole grants, and turned off by a wrapper that replaces generate", () =>
    Effect.gen(function* () {
      const backend = yield* make(defaultConfig)
      const params = { N: 8, M: 2, rounds: 3 }
      const counts = { now: 0, effect: 0 }
      const exit = yield* runOn(counted(backend.generator, counts), "beam-search", params, {})
      assert.isTrue(Exit.isSuccess(exit))
      assert.isAbove(counts.now, 0)
      assert.strictEqual(counts.effect, 0)
      const answered = counts.now
      // a wrapper that spreads the port and replaces generate (and claims atOnce again) keeps the
      // old answerNow, whose `of` is no longer the port's generate: every call goes through it
      let wrapped = 0
      const inner = counted(backend.generator, counts)
      const generate: GeneratorShape["generate"] = (request) =>
        Effect.suspend(() => {
          wrapped++
          return inner.generate(request)
        })
      counts.now = 0
      const exit2 = yield* runOn({ ...inner, generate, atOnce: generate }, "beam-search", params, {})
      assert.isTrue(Exit.isSuccess(exit2))
      assert.strictEqual(counts.now, 0)
      assert.strictEqual(wrapped, answered)
    })
  )

  it.effect("a failed answer is charged and fails the run as a failed generate does", () =>
    Effect.gen(function* () {
      const backend = yield* make(defaultConfig)
      const loaded = yield* Loader.load("beam-search")
      const error = backendError({ backend: "simulated", operation: "generate" }, "Unavailable", "server gone")
      for (const failAt of [1, 4, 9]) {
        const outcome = (plain: boolean) =>
          Effect.gen(function* () {
            let calls = 0
            const inner = backend.generator
            const generate: GeneratorShape["generate"] = (request) =>
              Effect.suspend(() => (++calls === failAt ? Effect.fail(error) : inner.generate(request)))
            const answerNow = Object.assign(
              (request: GenerateRequest) => {
                if (++calls === failAt) return Result.fail(error)
                const now = inner.answerNow
                if (now === undefined) throw new Error("the simulator without latency answers in plain code")
                return now(request)
              },
              { of: generate }
            )
            const generator: GeneratorShape = plain
              ? { ...inner, generate, atOnce: generate, answerNow }
              : { ...effectful(inner), generate, atOnce: generate }
            const ledger = yield* Ledger.make({ sequences: 500 })
            const exit = yield* Effect.exit(
              execute(loaded, problem, { seed: 7, params: { N: 8, M: 2, rounds: 3 } }).pipe(
                Effect.provideService(Ledger.Ledger, ledger),
                Effect.provideService(RunEvents, silent),
                Effect.provideService(Generator, generator),
                Effect.provideService(Verifier, backend.verifier),
                Effect.provideService(AnswerKey, mathAnswerKey)
              )
            )
            const snap = yield* ledger.snapshot
            return {
              failed: Exit.isFailure(exit) ? String(Cause.squash(exit.cause)) : "succeeded",
              calls,
              open: snap.open,
              committed: { ...snap.committed, wallMs: 0 }
            }
          })
        const viaPlain = yield* outcome(true)
        assert.include(viaPlain.failed, "server gone", `call ${failAt}`)
        assert.deepStrictEqual(viaPlain, yield* outcome(false), `call ${failAt}`)
      }
    })
  )
})
