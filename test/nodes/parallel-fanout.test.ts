/**
 * A `parallel` whose body is one `sample` launches its branches' calls together (Fanout.ts) when
 * nobody listens to node events; with a listener it runs each branch through the interpreter. The
 * two must give the same run: the same candidates (ids, groups, texts, cut flags), answer, usage,
 * per-node ledger and exhaustion — under random limits (shares that pay for all, part, or none of
 * a branch's call, shrunk `max_tokens`), at concurrency 1 and 64 — and an interrupted fan-out
 * leaves nothing reserved.
 */
import { assert, describe, it } from "@effect/vitest"
import { Cause, Effect, Exit, Fiber } from "effect"
import fc from "fast-check"
import * as Faults from "../../plugins/faults/index.ts"
import { defaultConfig, make } from "../../plugins/simulated/index.ts"
import { mathAnswerKey } from "../../src/answer/MathGrader.ts"
import * as Ledger from "../../src/budget/Ledger.ts"
import type * as Limits from "../../src/budget/Limits.ts"
import type { Problem } from "../../src/domain/Problem.ts"
import { fromJson } from "../../src/graph/Loader.ts"
import { execute, run } from "../../src/runtime/Run.ts"
import { RunEvents, type RunEventsShape, silent } from "../../src/runtime/RunEvents.ts"
import { Generator } from "../../src/services/Generator.ts"
import { AnswerKey } from "../../src/services/Grader.ts"
import { Verifier } from "../../src/services/Verifier.ts"
import { eventsTo } from "../runtime/harness.ts"
import { comparable } from "../runtime/paths.ts"

const problem: Problem = { id: "test/algebra/1.json", question: "What is $2+3$?", gold: "5", meta: { level: 1 } }

interface Spec {
  readonly branches: number | string
  readonly n: number | string
  readonly until: "end" | "step"
  readonly maxTokens?: number | string | undefined
  readonly temperature?: number | undefined
  readonly score: boolean
}

const docOf = (s: Spec) => ({
  name: "fan-out",
  description: "a parallel of one sample",
  params: { M: 3 },
  root: {
    type: "sequence",
    nodes: [
      {
        type: "parallel",
        branches: s.branches,
        body: {
          type: "sample",
          n: s.n,
          until: s.until,
          ...(s.maxTokens === undefined ? {} : { maxTokens: s.maxTokens }),
          ...(s.temperature === undefined ? {} : { temperature: s.temperature })
        }
      },
      // a second fan-out at the same depth: its branches count their samples on from the first's
      { type: "parallel", branches: 2, body: { type: "sample", n: 1, until: s.until } },
      ...(s.score ? [{ type: "score", verifier: "prm", aggregate: "last" }] : []),
      { type: "select", method: s.score ? "weighted" : "majority" }
    ]
  }
})

const runWith = (
  s: Spec,
  limits: Limits.Limits,
  events: RunEventsShape,
  concurrency: number,
  faults?: Faults.FaultOptions,
  latencyMs = 0
) =>
  Effect.gen(function* () {
    const backend = yield* make(
      latencyMs === 0
        ? defaultConfig
        : {
            ...defaultConfig,
            generator: { ...defaultConfig.generator, latency: { fixedMs: latencyMs, perTokenMs: 0 } }
          }
    )
    const loaded = yield* fromJson(docOf(s))
    // a fault is drawn per request and attempt, so both paths meet the same faults
    const generator = faults === undefined ? backend.generator : Faults.wrapGenerator(backend.generator, faults)
    return yield* Effect.exit(
      run(loaded, problem, { limits, seed: 7, concurrency }).pipe(
        Effect.provideService(RunEvents, events),
        Effect.provideService(Generator, generator),
        Effect.provideService(Verifier, backend.verifier),
        Effect.provideService(AnswerKey, mathAnswerKey)
      )
    )
  })

const specArb: fc.Arbitrary<Spec> = fc.record({
  branches: fc.constantFrom(1, 2, 5, 16, 40, "M"),
  n: fc.constantFrom(0, 1, 3, "M", "budget.sequences", "budget.sequences / 2"),
  until: fc.constantFrom("end" as const, "step" as const),
  maxTokens: fc.option(fc.constantFrom(64, 400, "budget.outputTokens"), { nil: undefined }),
  temperature: fc.option(fc.constantFrom(0, 0.7), { nil: undefined }),
  score: fc.boolean()
})

const limitsArb: fc.Arbitrary<Limits.Limits> = fc.oneof(
  fc.constant({}),
  fc.record({ sequences: fc.integer({ min: 1, max: 40 }) }),
  fc.record({ outputTokens: fc.integer({ min: 50, max: 20_000 }) }),
  fc.record({ calls: fc.integer({ min: 1, max: 30 }), sequences: fc.integer({ min: 1, max: 60 }) }),
  fc.record({ sequences: fc.integer({ min: 4, max: 80 }), outputTokens: fc.integer({ min: 200, max: 40_000 }) })
)

/**
 * A fan-out of 64 branches on a backend that waits, under `limits`, interrupted after each number
 * of yields: nothing stays reserved, and what was committed is within the limits.
 */
const interruptedFanOut = (limits: Limits.Limits, yields: ReadonlyArray<number>) =>
  Effect.gen(function* () {
    const backend = yield* make({
      ...defaultConfig,
      generator: { ...defaultConfig.generator, latency: { fixedMs: 5, perTokenMs: 0 } }
    })
    const loaded = yield* fromJson(docOf({ branches: 64, n: 2, until: "end", score: false }))
    for (const after of yields) {
      const ledger = yield* Ledger.make(limits)
      const fiber = yield* Effect.forkChild(
        execute(loaded, problem, { seed: 1 }).pipe(
          Effect.provideService(Ledger.Ledger, ledger),
          Effect.provideService(RunEvents, silent),
          Effect.provideService(Generator, backend.generator),
          Effect.provideService(Verifier, backend.verifier),
          Effect.provideService(AnswerKey, mathAnswerKey)
        )
      )
      for (let i = 0; i < after; i++) yield* Effect.yieldNow
      yield* Fiber.interrupt(fiber)
      const snap = yield* ledger.snapshot
      assert.strictEqual(snap.open, 0, `open reservations after ${after} yields`)
      assert.strictEqual(snap.reserved.sequences, 0)
      assert.isAtMost(snap.committed.sequences, limits.sequences ?? Number.POSITIVE_INFINITY)
    }
  })

describe("parallel of one sample: branches launched together", () => {
  it.effect("gives the run the interpreter gives, at concurrency 1 and 64, under any limits", () =>
    Effect.promise(() =>
      fc.assert(
        fc.asyncProperty(specArb, limitsArb, async (s, limits) => {
          const listened = eventsTo(() => {})
          const outcome = async (events: RunEventsShape, concurrency: number) => {
            const exit = await Effect.runPromise(runWith(s, limits, events, concurrency))
            return Exit.isSuccess(exit) ? { ok: comparable(exit.value) } : { failed: String(Cause.squash(exit.cause)) }
          }
          const interpreted = await outcome(listened, 64)
          const together = await outcome(silent, 64)
          const together1 = await outcome(silent, 1)
          assert.deepStrictEqual(together, interpreted)
          assert.deepStrictEqual(together1, interpreted)
        }),
        { numRuns: 60 * Number(process.env.MULL_PROPERTY_SCALE ?? 1) }
      )
    )
  )

  it.effect("the same under backend faults and retries: the same runs answer, with the same run", () =>
    Effect.promise(() =>
      fc.assert(
        fc.asyncProperty(
          specArb,
          limitsArb,
          fc.integer({ min: 0, max: 1_000_000 }),
          fc.integer({ min: 0, max: 3 }),
          async (s, limits, seed, retries) => {
            const faults = (): Faults.FaultOptions => ({
              schedule: {
                seed,
                generator: { rateLimited: 0.1, unavailable: 0.1, reset: 0.05, malformed: 0.03, fewerChoices: 0.03 }
              },
              retry: { retries, baseDelayMs: 0, maxDelayMs: 1 }
            })
            const outcome = async (events: RunEventsShape, concurrency: number) => {
              const exit = await Effect.runPromise(runWith(s, limits, events, concurrency, faults()))
              // which failing branch fails the run first depends on timing: only that it fails is compared
              return Exit.isSuccess(exit) ? { ok: comparable(exit.value) } : { failed: true }
            }
            const interpreted = await outcome(
              eventsTo(() => {}),
              64
            )
            assert.deepStrictEqual(await outcome(silent, 64), interpreted)
            assert.deepStrictEqual(await outcome(silent, 1), interpreted)
          }
        ),
        { numRuns: 40 * Number(process.env.MULL_PROPERTY_SCALE ?? 1) }
      )
    )
  )

  it.effect("the same on a backend that waits (each call in a fiber of its own), at concurrency 1 and 64", () =>
    Effect.promise(() =>
      fc.assert(
        fc.asyncProperty(specArb, limitsArb, async (s, limits) => {
          const outcome = async (events: RunEventsShape, concurrency: number) => {
            const exit = await Effect.runPromise(runWith(s, limits, events, concurrency, undefined, 1))
            return Exit.isSuccess(exit) ? { ok: comparable(exit.value) } : { failed: String(Cause.squash(exit.cause)) }
          }
          const interpreted = await outcome(
            eventsTo(() => {}),
            64
          )
          assert.deepStrictEqual(await outcome(silent, 64), interpreted)
          assert.deepStrictEqual(await outcome(silent, 1), interpreted)
        }),
        { numRuns: 15 * Number(process.env.MULL_PROPERTY_SCALE ?? 1) }
      )
    )
  )

  it.live(
    "without a budget, a fan-out's calls are reserved sixteen at a time, each chunk launched before the next is built",
    () =>
      Effect.gen(function* () {
        const backend = yield* make({
          ...defaultConfig,
          generator: { ...defaultConfig.generator, latency: { fixedMs: 1, perTokenMs: 0 } }
        })
        const loaded = yield* fromJson(docOf({ branches: 40, n: 1, until: "end", score: false }))
        const inner = yield* Ledger.make({})
        const asked = { reserve: 0, reserveAll: 0 }
        // the grants made when each call went out
        let granted = 0
        const grantedAtCall: Array<number> = []
        const ledger: Ledger.LedgerShape = {
          ...inner,
          reserve: (request) => {
            asked.reserve++
            return inner.reserve(request)
          },
          reserveAll: (requests) => {
            asked.reserveAll++
            return Effect.map(inner.reserveAll(requests), (g) => {
              granted += g.reservations.length
              return g
            })
          }
        }
        const generator = {
          ...backend.generator,
          generate: (request: Parameters<typeof backend.generator.generate>[0]) =>
            Effect.suspend(() => {
              grantedAtCall.push(granted)
              return backend.generator.generate(request)
            })
        }
        const result = yield* execute(loaded, problem, { seed: 1 }).pipe(
          Effect.provideService(Ledger.Ledger, ledger),
          Effect.provideService(RunEvents, silent),
          Effect.provideService(Generator, generator),
          Effect.provideService(Verifier, backend.verifier),
          Effect.provideService(AnswerKey, mathAnswerKey)
        )
        assert.strictEqual(result.usage.calls, 42)
        // two fan-outs (40 branches in chunks of 16, 16 and 8; then 2): one ledger step a chunk
        assert.deepStrictEqual(asked, { reserve: 0, reserveAll: 4 })
        // the first fan-out's calls went out as their chunk was reserved: 16 grants, then 32, then 40
        assert.deepStrictEqual(
          grantedAtCall.slice(0, 40),
          Array.from({ length: 40 }, (_, i) => (i < 16 ? 16 : i < 32 ? 32 : 40))
        )
      })
  )

  it.effect("an interrupted fan-out without a budget, on a backend that waits, leaves nothing reserved", () =>
    interruptedFanOut({}, [0, 1, 3, 10, 100])
  )

  it.effect("candidates carry their branch's ids and groups, in branch order", () =>
    Effect.gen(function* () {
      const exit = yield* runWith({ branches: 3, n: 2, until: "end", score: false }, { sequences: 9 }, silent, 64)
      assert.isTrue(Exit.isSuccess(exit))
      if (Exit.isFailure(exit)) return
      assert.deepStrictEqual(
        exit.value.population.map((c) => [c.id, c.group]),
        [
          ["b0/s0", "b0"],
          ["b0/s1", "b0"],
          ["b1/s0", "b1"],
          ["b1/s1", "b1"],
          ["b2/s0", "b2"],
          ["b2/s1", "b2"],
          // the second fan-out: 9 − 6 = 3 left, a share of 1 each
          ["b0/s2", "b0"],
          ["b1/s2", "b1"]
        ]
      )
    })
  )

  it.effect("a field that breaks its rule fails the run before any call", () =>
    Effect.gen(function* () {
      const exit = yield* runWith({ branches: 4, n: -1, until: "end", score: false }, {}, silent, 64)
      assert.isTrue(Exit.isFailure(exit))
      assert.include(String(Exit.isFailure(exit) ? exit.cause : ""), "root.nodes.0.body.n")
    })
  )

  it.effect("an interrupted fan-out leaves nothing reserved and commits within the limits", () =>
    interruptedFanOut({ sequences: 100 }, [0, 1, 3, 10])
  )
})
