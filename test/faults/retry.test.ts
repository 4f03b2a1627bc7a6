/**
 * Retries and bad backend output, through the runtime: every attempt is a call on the ledger, a
 * retry the budget cannot pay for leaves its call unpaid (anytime), non-retryable errors fail the
 * run with their tag, and bad verifier scores or over-long outputs are rejected, never used.
 */
import { assert, describe, it } from "@effect/vitest"
import { Cause, Effect, Exit, Layer } from "effect"
import * as Faults from "../../plugins/faults/index.ts"
import * as Simulated from "../../plugins/simulated/index.ts"
import * as MathGrader from "../../src/answer/MathGrader.ts"
import * as Ledger from "../../src/budget/Ledger.ts"
import type { Limits } from "../../src/budget/Limits.ts"
import type { Problem } from "../../src/domain/Problem.ts"
import type { Usage } from "../../src/domain/Usage.ts"
import * as Loader from "../../src/graph/Loader.ts"
import { execute, run } from "../../src/runtime/Run.ts"
import * as RunEvents from "../../src/runtime/RunEvents.ts"
import { BackendError } from "../../src/services/BackendError.ts"
import type { RetryPolicy } from "../../src/services/Retry.ts"

const PROBLEM: Problem = { id: "p/retry", question: "What is $6 \\cdot 7$?", gold: "42", meta: { level: 2 } }
const FAST: RetryPolicy = { retries: 3, baseDelayMs: 1, maxDelayMs: 5 }

const backend = (options: Faults.FaultOptions) =>
  Layer.mergeAll(
    Faults.layer(options).pipe(Layer.provide(Simulated.layer({ worldSeed: 3 }))),
    MathGrader.layer,
    RunEvents.layerSilent
  )

const runWith = (graph: string, params: Record<string, number>, options: Faults.FaultOptions, limits: Limits = {}) =>
  Effect.gen(function* () {
    const loaded = yield* Loader.load(graph)
    return yield* Effect.exit(run(loaded, PROBLEM, { params, limits, seed: 1 }).pipe(Effect.provide(backend(options))))
  })

describe("retries", () => {
  it.live("every failed attempt is a call on the ledger, and the run answers", () =>
    Effect.gen(function* () {
      const clean = yield* runWith("beam-search", { N: 8 }, { schedule: { seed: 1 } })
      const counts = Faults.makeCounts()
      // a rate limit is answered before any work: each costs one call and nothing else
      const faulty = yield* runWith(
        "beam-search",
        { N: 8 },
        {
          schedule: { seed: 5, generator: { rateLimited: 0.4 } },
          retry: { ...FAST, retries: 30 },
          counts
        }
      )
      assert.isTrue(Exit.isSuccess(clean) && Exit.isSuccess(faulty))
      if (!Exit.isSuccess(clean) || !Exit.isSuccess(faulty)) return
      const injected = [...counts.generator.values()].reduce((a, b) => a + b, 0)
      assert.isAbove(injected, 0, "the schedule injected faults")
      // same answer, same tokens; one more call per failed attempt
      assert.strictEqual(faulty.value.answer, clean.value.answer)
      assert.strictEqual(faulty.value.usage.outputTokens, clean.value.usage.outputTokens)
      assert.strictEqual(faulty.value.usage.calls, clean.value.usage.calls + injected)
      assert.strictEqual(faulty.value.backendUsage.calls, clean.value.backendUsage.calls + injected)
      // a 500 may come after the work was done (and billed): the attempt is charged what it reserved
      const counted = Faults.makeCounts()
      const billed = yield* runWith(
        "beam-search",
        { N: 8 },
        { schedule: { seed: 5, generator: { unavailable: 0.3 } }, retry: { ...FAST, retries: 30 }, counts: counted }
      )
      assert.isTrue(Exit.isSuccess(billed))
      if (!Exit.isSuccess(billed)) return
      const failed = [...counted.generator.values()].reduce((a, b) => a + b, 0)
      assert.isAbove(failed, 0)
      assert.strictEqual(billed.value.answer, clean.value.answer)
      assert.strictEqual(billed.value.usage.calls, clean.value.usage.calls + failed)
      assert.isAbove(
        billed.value.usage.outputTokens,
        clean.value.usage.outputTokens,
        "each 500 charged its reservation"
      )
      assert.isAbove(billed.value.usage.sequences, clean.value.usage.sequences)
    })
  )

  it.live("a retry the budget cannot pay for leaves the call unpaid: the run is exhausted, not failed", () =>
    Effect.gen(function* () {
      // every first attempt fails; the budget pays for one attempt only
      const exit = yield* runWith(
        "best-of-n",
        { N: 4 },
        { schedule: { seed: 1, generator: { unavailable: 1 } }, retry: FAST },
        { calls: 1 }
      )
      assert.isTrue(Exit.isSuccess(exit))
      if (!Exit.isSuccess(exit)) return
      assert.isTrue(exit.value.exhausted)
      assert.strictEqual(exit.value.usage.calls, 1)
      // the failed attempt may have generated what it asked for: it is charged its 4 sequences
      assert.strictEqual(exit.value.usage.sequences, 4)
      assert.strictEqual(exit.value.population.length, 0)
    })
  )

  it.live("after the last retry the run fails with the backend's tagged error, calls counted", () =>
    Effect.gen(function* () {
      const exit = yield* runWith(
        "best-of-n",
        { N: 2 },
        { schedule: { seed: 1, generator: { reset: 1 } }, retry: FAST }
      )
      assert.isTrue(Exit.isFailure(exit))
      assert.match(String(Exit.isFailure(exit) ? exit.cause : ""), /Unavailable|connection reset/u)
    })
  )

  it.live("rate limits wait at least retry-after", () =>
    Effect.gen(function* () {
      const t0 = Date.now()
      const clean = yield* runWith("beam-search", { N: 4 }, { schedule: { seed: 1 } })
      const exit = yield* runWith(
        "beam-search",
        { N: 4 },
        {
          schedule: { seed: 2, generator: { rateLimited: 0.3 }, retryAfterMs: 20 },
          retry: { retries: 20, baseDelayMs: 1, maxDelayMs: 1000 }
        }
      )
      assert.isTrue(Exit.isSuccess(exit) && Exit.isSuccess(clean))
      if (!Exit.isSuccess(exit) || !Exit.isSuccess(clean)) return
      const retries = exit.value.usage.calls - clean.value.usage.calls
      assert.isAbove(retries, 0)
      // retries of one call wait one after another; calls of a node wait side by side
      assert.isAtLeast(Date.now() - t0, 20)
    })
  )

  it.live("non-retryable errors are not retried", () =>
    Effect.gen(function* () {
      const counts = Faults.makeCounts()
      const exit = yield* runWith(
        "best-of-n",
        { N: 2 },
        { schedule: { seed: 1, generator: { malformed: 1 } }, retry: FAST, counts }
      )
      assert.isTrue(Exit.isFailure(exit))
      assert.strictEqual(counts.generator.get("malformed"), 1)
    })
  )
})

describe("bad backend output is rejected, never used", () => {
  for (const fault of ["nan", "outOfRange", "fewerScores"] as const)
    it.live(`verifier ${fault}`, () =>
      Effect.gen(function* () {
        const exit = yield* runWith("best-of-n", { N: 4 }, { schedule: { seed: 1, verifier: { [fault]: 1 } } })
        assert.isTrue(Exit.isFailure(exit))
        assert.match(String(Exit.isFailure(exit) ? exit.cause : ""), /BadResponse|step scores in \[0, 1\]/u)
      })
    )

  for (const fault of ["fewerChoices", "overlong"] as const)
    it.live(`generator ${fault}`, () =>
      Effect.gen(function* () {
        const exit = yield* runWith(
          "best-of-n",
          { N: 4 },
          { schedule: { seed: 1, generator: { [fault]: 1 } } },
          { outputTokens: 100_000 }
        )
        assert.isTrue(Exit.isFailure(exit))
        const error = Exit.isFailure(exit) ? Cause.squash(exit.cause) : undefined
        assert.strictEqual(error instanceof BackendError ? error.reason._tag : "", "BadResponse")
      })
    )
})

describe("one attempt: without a retry policy as with a policy of no retries", () => {
  // a generator without a retry policy takes the runtime's one-attempt path (`Calls.paidOnce`), one
  // with a policy of no retries the general one (`paidCallAs`): the same failures, charged the same
  const NONE: RetryPolicy = { retries: 0, baseDelayMs: 1, maxDelayMs: 1 }
  const FANOUT = Loader.load(`${import.meta.dirname}/../fixtures/graphs/fan-out.json`)
  /** The run's outcome (its answer or its error's tag) and its ledger, wall times left out. */
  const charged = (
    graph: "best-of-n" | "fan-out",
    seed: number,
    rates: NonNullable<Faults.FaultOptions["schedule"]["generator"]>,
    retry: RetryPolicy | undefined
  ) =>
    Effect.gen(function* () {
      const loaded = graph === "fan-out" ? yield* FANOUT : yield* Loader.load(graph)
      const ledger = Ledger.makeUnsafe({})
      const exit = yield* Effect.exit(
        execute(loaded, PROBLEM, { params: { N: 8 }, seed }).pipe(
          Effect.provideService(Ledger.Ledger, ledger),
          Effect.provide(
            // 2 ms a call: a failure fails the node while earlier calls are out, and they are
            // interrupted after their requests went out (charged what they reserved)
            Layer.mergeAll(
              Faults.layer({ schedule: { seed, generator: rates }, retry }).pipe(
                Layer.provide(Simulated.layer({ worldSeed: 3, generator: { latency: { fixedMs: 2 } } }))
              ),
              MathGrader.layer,
              RunEvents.layerSilent
            )
          )
        )
      )
      const snap = yield* ledger.snapshot
      const noWall = (u: Usage) => ({ ...u, wallMs: 0 })
      return {
        outcome: Exit.isSuccess(exit)
          ? exit.value.answer
          : (() => {
              const error = Cause.squash(exit.cause)
              return error instanceof BackendError ? error.reason._tag : String(error)
            })(),
        committed: noWall(snap.committed),
        backend: noWall(snap.backend),
        byNode: snap.byNode.map((n) => [n.node, noWall(n.usage)]),
        open: snap.open
      }
    })

  for (const graph of ["best-of-n", "fan-out"] as const)
    for (const fault of ["rateLimited", "unavailable", "reset", "malformed", "fewerChoices", "overlong"] as const)
      it.live(`${graph}, generator ${fault}`, () =>
        Effect.gen(function* () {
          const rate = graph === "fan-out" ? 0.3 : 1
          for (const seed of [1, 2, 3]) {
            const once = yield* charged(graph, seed, { [fault]: rate }, undefined)
            const general = yield* charged(graph, seed, { [fault]: rate }, NONE)
            assert.deepStrictEqual(once, general)
            assert.strictEqual(once.open, 0, "nothing left reserved")
            assert.isAbove(once.committed.calls, 0, "the failed attempt is a call on the ledger")
          }
        })
      )
})
