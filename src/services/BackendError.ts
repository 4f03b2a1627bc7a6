/**
 * The one error of backends (generators, verifiers): a `BackendError` naming the backend and the
 * operation, with a `reason` saying what went wrong — the shape of Effect's `HttpClientError`.
 * Handle one reason with `Effect.catchReason("BackendError", "RateLimited", …)`; every reason
 * keeps its name (`RateLimited`, `Timeout`, `BadResponse`, `Unavailable`, `Unsupported`,
 * `InvalidRequest`), which error bodies, metrics and tests print.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"

/** The backend asked us to slow down (HTTP 429). Retryable. */
export class RateLimited extends Schema.TaggedClass<RateLimited>()("RateLimited", {
  message: Schema.String,
  retryAfterMs: Schema.optionalKey(Schema.Finite)
}) {}

/** The call took longer than its timeout. Retryable. */
export class Timeout extends Schema.TaggedClass<Timeout>()("Timeout", {
  message: Schema.String,
  timeoutMs: Schema.Finite
}) {}

/** The backend answered with something we cannot use (malformed JSON, wrong shape, wrong n). */
export class BadResponse extends Schema.TaggedClass<BadResponse>()("BadResponse", { message: Schema.String }) {}

/** The backend cannot be reached or failed on its side (connection refused, HTTP 5xx). Retryable. */
export class Unavailable extends Schema.TaggedClass<Unavailable>()("Unavailable", { message: Schema.String }) {}

/** The backend cannot do what was asked (e.g. step-level search on recorded whole solutions). */
export class Unsupported extends Schema.TaggedClass<Unsupported>()("Unsupported", { message: Schema.String }) {}

/** The request itself is invalid for this backend (e.g. a prompt longer than the context). */
export class InvalidRequest extends Schema.TaggedClass<InvalidRequest>()("InvalidRequest", {
  message: Schema.String
}) {}

/** Why a backend call failed. */
export const BackendErrorReason = Schema.Union([
  RateLimited,
  Timeout,
  BadResponse,
  Unavailable,
  Unsupported,
  InvalidRequest
])
export type BackendErrorReason = typeof BackendErrorReason.Type

/** The names of the reasons worth retrying. */
export const retryableReasons = ["RateLimited", "Timeout", "Unavailable"] as const

/**
 * A backend call that failed: which backend, during which operation, and why (`reason`).
 *
 * @example
 * new BackendError({ backend: "openai", operation: "generate", reason: new Timeout({ message: "no reply within 30000 ms", timeoutMs: 30000 }) })
 */
export class BackendError extends Schema.TaggedError<BackendError>()("BackendError", {
  backend: Schema.String,
  operation: Schema.String,
  reason: BackendErrorReason
}) {
  override get message(): string {
    return this.reason.message
  }

  /** Whether retrying may help (rate limits, timeouts, an unavailable server). */
  get retryable(): boolean {
    return (retryableReasons as ReadonlyArray<string>).includes(this.reason._tag)
  }
}

/** Where a failure happened: the backend and the operation. */
export interface Where {
  readonly backend: string
  readonly operation: string
}

/**
 * A `BackendError` from where it happened and a reason's name and message — the short form the
 * plugins use.
 *
 * @example
 * backendError({ backend: "replay", operation: "generate" }, "Unsupported", "step-level search is not supported")
 */
export const backendError = (
  where: Where,
  reason: "BadResponse" | "Unavailable" | "Unsupported" | "InvalidRequest",
  message: string
): BackendError => {
  switch (reason) {
    case "BadResponse":
      return new BackendError({ ...where, reason: new BadResponse({ message }) })
    case "Unavailable":
      return new BackendError({ ...where, reason: new Unavailable({ message }) })
    case "Unsupported":
      return new BackendError({ ...where, reason: new Unsupported({ message }) })
    case "InvalidRequest":
      return new BackendError({ ...where, reason: new InvalidRequest({ message }) })
  }
}

/**
 * Whether an error is worth retrying.
 *
 * @example
 * isRetryable(new BackendError({ backend: "openai", operation: "generate", reason: new Timeout({ message: "30 s", timeoutMs: 30000 }) })) // true
 */
export const isRetryable = (e: BackendError): boolean => e.retryable
