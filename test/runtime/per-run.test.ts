/**
 * What a run computes once per graph rather than once per run (its static facts: validation,
 * effective params, the first call's cost) must still answer for the params, limits and backend
 * of each run; and node spans, skipped under Effect's default tracer, are there when a tracer is
 * installed.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Tracer } from "effect"
import { defaultConfig, make } from "../../plugins/simulated/index.ts"
import { mathAnswerKey } from "../../src/answer/MathGrader.ts"
import type { Problem } from "../../src/domain/Problem.ts"
import { load } from "../../src/graph/Loader.ts"
import { type RunOptions, run, staticFacts } from "../../src/runtime/Run.ts"
import { layerSilent } from "../../src/runtime/RunEvents.ts"
import { Generator } from "../../src/services/Generator.ts"
import { AnswerKey } from "../../src/services/Grader.ts"
import { Verifier } from "../../src/services/Verifier.ts"

const problem: Problem = { id: "memo/1", question: "What is $2+3$?", gold: "5", meta: {} }

// one loaded graph for every run: the static facts are memoised per loaded graph object
const loaded = Effect.runSync(Effect.cached(load("weighted-best-of-n")))

const runWith = (options: RunOptions, tracer?: Tracer.Tracer) =>
  Effect.gen(function* () {
    const backend = yield* make(defaultConfig)
    const program = Effect.flatMap(loaded, (graph) => run(graph, problem, options)).pipe(
      Effect.provide(layerSilent),
      Effect.provideService(Generator, backend.generator),
      Effect.provideService(Verifier, backend.verifier),
      Effect.provideService(AnswerKey, mathAnswerKey)
    )
    return yield* Effect.exit(tracer === undefined ? program : Effect.withTracer(program, tracer))
  })

const tagOf = <A, E>(exit: Exit.Exit<A, E>): string =>
  Exit.isSuccess(exit) ? "ok" : String((exit.cause.reasons[0] as { error?: { _tag?: string } })?.error?._tag)

describe("static facts of a run", () => {
  it.effect("follow each run's params, limits and backend, whatever ran before", () =>
    Effect.gen(function* () {
      const ok = yield* runWith({ params: { N: 4 } })
      assert.strictEqual(tagOf(ok), "ok")
      assert.strictEqual(tagOf(yield* runWith({ params: { N: 4, X: 1 } as never })), "GraphError")
      assert.strictEqual(tagOf(yield* runWith({ params: { N: 4 }, limits: { wallMs: 10 } })), "GraphError")
      assert.strictEqual(tagOf(yield* runWith({ params: { N: 4 }, limits: { calls: 0 } })), "BudgetTooSmall")
      const again = yield* runWith({ params: { N: 4 } })
      assert.strictEqual(tagOf(again), "ok")
      if (Exit.isSuccess(ok) && Exit.isSuccess(again)) assert.deepStrictEqual(again.value.answer, ok.value.answer)
    })
  )
})

describe("node spans", () => {
  it.effect("are opened under an installed tracer, one per node", () =>
    Effect.gen(function* () {
      const names: Array<string> = []
      const recording = Tracer.make({
        span: (options) => {
          names.push(options.name)
          return Tracer.nativeTracer.span(options)
        }
      })
      const exit = yield* runWith({ params: { N: 4 } }, recording)
      assert.strictEqual(tagOf(exit), "ok")
      assert.includeMembers(names, [
        "mull.execute",
        "mull.node.sequence",
        "mull.node.sample",
        "mull.node.score",
        "mull.node.select"
      ])
    })
  )
})

describe("static facts keyed by the backend", () => {
  it.effect("a generator that thinks gets its own first call, after one that does not (and before)", () =>
    Effect.gen(function* () {
      const backend = yield* make(defaultConfig)
      const graph = yield* loaded
      const thinking = { ...backend.generator, thinks: true }
      const plain = { ...backend.generator, thinks: false }
      const a = staticFacts(graph, { N: 4 }, {}, plain, backend.verifier).firstCall
      const b = staticFacts(graph, { N: 4 }, {}, thinking, backend.verifier).firstCall
      const c = staticFacts(graph, { N: 4 }, {}, { ...plain }, backend.verifier).firstCall
      assert.strictEqual(a.thinkingTokens, 0)
      // the thinking generator's first call may think as long as it writes
      assert.strictEqual(b.thinkingTokens, b.outputTokens)
      assert.isAbove(b.thinkingTokens, 0)
      assert.deepStrictEqual(c, a)
    })
  )
})
