/**
 * The scheduling figures' server model keeps a server's concurrency limit on the clock
 * (`bench/ServerSlots.ts`) instead of a semaphore on the client's thread: each call is answered
 * when a first-come, first-served semaphore of as many permits would let it finish — checked
 * against Effect's own `Semaphore` under the test clock, and against a plain scan of the slots.
 */
import { assert, describe, it } from "@effect/vitest"
import { Clock, Effect, Fiber, Semaphore } from "effect"
import { TestClock } from "effect/testing"
import fc from "fast-check"
import { makeServerSlots } from "../../bench/ServerSlots.ts"

/** Calls as (arrival ms, latency ms), in arrival order. */
type Calls = ReadonlyArray<readonly [number, number]>

/** When each call's answer comes under a semaphore of `concurrency` permits (the test clock's ms). */
const bySemaphore = (concurrency: number, calls: Calls) =>
  Effect.gen(function* () {
    const permits = yield* Semaphore.make(concurrency)
    const ends: Array<number> = new Array(calls.length).fill(Number.NaN)
    const fibers = yield* Effect.forEach(calls, ([at, latency], i) =>
      Effect.forkChild(
        Effect.andThen(
          Effect.sleep(at),
          permits.withPermits(1)(
            Effect.andThen(
              Effect.sleep(latency),
              Effect.flatMap(Clock.currentTimeMillis, (t) =>
                Effect.sync(() => {
                  ends[i] = t
                })
              )
            )
          )
        )
      )
    )
    yield* TestClock.adjust(calls.reduce((total, [at, latency]) => total + at + latency, 1))
    yield* Fiber.joinAll(fibers)
    return ends
  })

/** When each call's answer comes on the slots, each call made at its arrival. */
const bySlots = (concurrency: number, calls: Calls): Array<number> => {
  let t = 0
  const slots = makeServerSlots(concurrency, () => t)
  return calls.map(([at, latency]) => {
    t = at
    return at + slots.answerIn(latency)
  })
}

/** The same schedule by a plain scan: each call takes the slot that frees first. */
const byScan = (concurrency: number, calls: Calls): Array<number> => {
  const freeAt: Array<number> = new Array(concurrency).fill(Number.NEGATIVE_INFINITY)
  return calls.map(([at, latency]) => {
    let first = 0
    for (let s = 1; s < concurrency; s++) if ((freeAt[s] as number) < (freeAt[first] as number)) first = s
    const end = Math.max(at, freeAt[first] as number) + latency
    freeAt[first] = end
    return end
  })
}

const arrivals = (max: number) =>
  fc.array(fc.integer({ min: 0, max }), { minLength: 1, maxLength: 24 }).map((xs) => [...xs].sort((a, b) => a - b))

describe("server slots", () => {
  it("queue the calls past the limit, first come first served", () => {
    let t = 0
    const slots = makeServerSlots(2, () => t)
    assert.deepStrictEqual([slots.answerIn(5), slots.answerIn(5), slots.answerIn(5)], [5, 5, 10])
    t = 7
    // one slot frees at 5 (taken again until 10), the other at 5: the fourth call starts now
    assert.strictEqual(slots.answerIn(1), 1)
    t = 8
    // the slots free at 8 and 10: the fifth starts now, the sixth at 10
    assert.deepStrictEqual([slots.answerIn(4), slots.answerIn(4)], [4, 6])
  })

  it("give the answer times of a first-come, first-served semaphore (property)", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 5 }),
        arrivals(30),
        fc.integer({ min: 1, max: 10 }),
        async (concurrency, at, latency) => {
          const calls: Calls = at.map((a) => [a, latency] as const)
          const ends = await Effect.runPromise(Effect.provide(bySemaphore(concurrency, calls), TestClock.layer()))
          // calls that arrive together are in no order: compare the answer times as a multiset
          const sorted = (xs: ReadonlyArray<number>) => [...xs].sort((a, b) => a - b)
          assert.deepStrictEqual(sorted(bySlots(concurrency, calls)), sorted(ends))
        }
      ),
      { numRuns: 60 }
    )
  })

  it("take the slot that frees first, whatever the latencies (property)", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 300 }),
        arrivals(200),
        fc.array(fc.double({ min: 0, max: 50, noNaN: true }), { minLength: 24, maxLength: 24 }),
        (concurrency, at, latencies) => {
          const calls: Calls = at.map((a, i) => [a, latencies[i] ?? 0] as const)
          assert.deepStrictEqual(bySlots(concurrency, calls), byScan(concurrency, calls))
        }
      )
    )
  })
})
