/**
 * The scheduling figures' server clock (`bench/PreciseClock.ts`): a sleep never ends before its
 * deadline, sleeps wake in deadline order whatever order they started in, and an interrupted
 * sleep is forgotten (the others still wake, and a later sleep is not held up by it).
 */
import { assert, describe, it } from "@effect/vitest"
import { Clock, Effect, Fiber } from "effect"
import { preciseClock } from "../../bench/PreciseClock.ts"

const precise = <A, E>(effect: Effect.Effect<A, E>) => effect.pipe(Effect.provideService(Clock.Clock, preciseClock))

describe("precise clock", () => {
  it.live("wakes each sleep at or after its deadline, in deadline order", () =>
    precise(
      Effect.gen(function* () {
        const woke: Array<number> = []
        const early: Array<string> = []
        const sleeps = [7, 1, 4, 2, 4, 0.5, 12, 3].map((ms, i) =>
          Effect.suspend(() => {
            const t0 = performance.now()
            return Effect.sleep(ms).pipe(
              Effect.tap(() =>
                Effect.sync(() => {
                  const took = performance.now() - t0
                  if (took < ms) early.push(`sleep ${i} of ${ms} ms ended after ${took.toFixed(3)} ms`)
                  woke.push(ms)
                })
              )
            )
          })
        )
        yield* Effect.all(sleeps, { concurrency: "unbounded" })
        assert.deepStrictEqual(early, [])
        assert.deepStrictEqual(woke, [0.5, 1, 2, 3, 4, 4, 7, 12])
      })
    )
  )

  it.live("forgets an interrupted sleep", () =>
    precise(
      Effect.gen(function* () {
        const long = yield* Effect.forkChild(Effect.sleep(30))
        const short = yield* Effect.forkChild(Effect.sleep(5))
        yield* Fiber.interrupt(long)
        yield* Fiber.join(short)
        const t0 = performance.now()
        yield* Effect.sleep(2)
        assert.isAtLeast(performance.now() - t0, 2)
      })
    )
  )
})
