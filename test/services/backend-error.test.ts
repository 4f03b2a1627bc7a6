/** Backend errors: one tagged error whose `reason` keeps the names error bodies, metrics and tests print. */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import {
  BackendError,
  backendError,
  isRetryable,
  RateLimited,
  retryableReasons,
  Timeout
} from "../../src/services/BackendError.ts"
import { errorOfStatus } from "../../src/services/HttpErrors.ts"
import * as Retry from "../../src/services/Retry.ts"

const where = { backend: "openai", operation: "generate" }

describe("BackendError", () => {
  it("the message is the reason's; the tag is BackendError; the reason keeps its name", () => {
    const e = backendError(where, "BadResponse", "asked for 2 choices, got 1")
    assert.strictEqual(e._tag, "BackendError")
    assert.strictEqual(e.reason._tag, "BadResponse")
    assert.strictEqual(e.message, "asked for 2 choices, got 1")
    assert.strictEqual(e.backend, "openai")
    assert.strictEqual(e.operation, "generate")
    assert.instanceOf(e, Error)
  })

  it("rate limits, timeouts and unavailable servers are retryable; the rest are not", () => {
    const limited = new BackendError({ ...where, reason: new RateLimited({ message: "HTTP 429", retryAfterMs: 10 }) })
    const timeout = new BackendError({ ...where, reason: new Timeout({ message: "slow", timeoutMs: 5 }) })
    assert.deepStrictEqual([...retryableReasons], ["RateLimited", "Timeout", "Unavailable"])
    assert.isTrue(limited.retryable && isRetryable(timeout) && backendError(where, "Unavailable", "x").retryable)
    for (const r of ["BadResponse", "Unsupported", "InvalidRequest"] as const)
      assert.isFalse(backendError(where, r, "x").retryable, r)
  })

  it.effect("one reason is handled with Effect.catchReason; the others pass through", () =>
    Effect.gen(function* () {
      const limited = new BackendError({
        ...where,
        reason: new RateLimited({ message: "HTTP 429", retryAfterMs: 1500 })
      })
      const waited = yield* Effect.fail(limited).pipe(
        Effect.catchReason("BackendError", "RateLimited", (r) => Effect.succeed(r.retryAfterMs ?? 0))
      )
      assert.strictEqual(waited, 1500)
      const other = yield* Effect.fail(backendError(where, "Unsupported", "no steps")).pipe(
        Effect.catchReason("BackendError", "RateLimited", () => Effect.succeed(0)),
        Effect.flip
      )
      assert.strictEqual(other.reason._tag, "Unsupported")
    })
  )

  it("HTTP statuses map to reasons, and the retry delay honours a rate limit's retry-after", () => {
    const at = (status: number, retryAfter?: string) =>
      errorOfStatus({ ...where, status, retryAfter, body: '{"error":{"message":"no"}}', nowMs: 0 })
    assert.strictEqual(at(429, "3").reason._tag, "RateLimited")
    assert.strictEqual(at(503).reason._tag, "Unavailable")
    assert.strictEqual(at(400).reason._tag, "InvalidRequest")
    assert.strictEqual(at(400).message, "HTTP 400: no")
    const policy = { retries: 3, baseDelayMs: 100, maxDelayMs: 10_000 }
    assert.strictEqual(Retry.delayMs(policy, 1, at(429, "3"), 0), 3000)
    assert.strictEqual(Retry.delayMs(policy, 1, at(503), 0), 50)
  })
})
