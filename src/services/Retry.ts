/**
 * How the runtime retries a backend's transient failures (429, 5xx, connection errors, timeouts).
 * The backend makes one attempt per call; the runtime retries, and every attempt — failed or not —
 * is a call on the ledger, reserved before it starts. See docs/backends.md.
 *
 * @since 0.1.0
 */
import type { BackendError } from "./BackendError.ts"

export interface RetryPolicy {
  /** retries after the first attempt (0: never retry) */
  readonly retries: number
  /** the first backoff; each retry doubles it */
  readonly baseDelayMs: number
  /** the longest wait, `retry-after` included */
  readonly maxDelayMs: number
}

/** No retries: the first failure fails the call. */
export const none: RetryPolicy = { retries: 0, baseDelayMs: 0, maxDelayMs: 0 }

/** Defaults for HTTP backends: 4 retries, 0.5 s doubling to at most 30 s. */
export const defaults: RetryPolicy = { retries: 4, baseDelayMs: 500, maxDelayMs: 30_000 }

/**
 * The wait before retry `attempt` (1 = the first retry): exponential backoff with "equal jitter"
 * (half fixed, half random, so concurrent callers spread out), or the server's `retry-after` when it
 * gave one and asked for longer — both capped at `maxDelayMs`. `unit` is a random number in [0, 1).
 *
 * @example
 * delayMs({ retries: 3, baseDelayMs: 100, maxDelayMs: 1000 }, 2, error, 0.5) // 150
 */
export const delayMs = (policy: RetryPolicy, attempt: number, error: BackendError, unit: number): number => {
  const backoff = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, attempt - 1))
  const jittered = backoff / 2 + (backoff / 2) * Math.min(Math.max(unit, 0), 1)
  const asked = error.reason._tag === "RateLimited" ? (error.reason.retryAfterMs ?? 0) : 0
  return Math.min(policy.maxDelayMs, Math.max(jittered, asked))
}
