/**
 * Tagged errors of backends (generators, verifiers, tokenizers). Each names the backend and the
 * operation and says whether retrying may help.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"

const fields = {
  backend: Schema.String,
  operation: Schema.String,
  message: Schema.String
}

/** The backend asked us to slow down (HTTP 429). Retryable. */
export class RateLimited extends Schema.TaggedError<RateLimited>()("RateLimited", {
  ...fields,
  retryAfterMs: Schema.optionalKey(Schema.Finite)
}) {}

/** The call took longer than its timeout. Retryable. */
export class Timeout extends Schema.TaggedError<Timeout>()("Timeout", { ...fields, timeoutMs: Schema.Finite }) {}

/** The backend answered with something we cannot use (malformed JSON, wrong shape, wrong n). */
export class BadResponse extends Schema.TaggedError<BadResponse>()("BadResponse", fields) {}

/** The backend cannot be reached or failed on its side (connection refused, HTTP 5xx). Retryable. */
export class Unavailable extends Schema.TaggedError<Unavailable>()("Unavailable", fields) {}

/** The backend cannot do what was asked (e.g. step-level search on recorded whole solutions). */
export class Unsupported extends Schema.TaggedError<Unsupported>()("Unsupported", fields) {}

/** The request itself is invalid for this backend (e.g. a prompt longer than the context). */
export class InvalidRequest extends Schema.TaggedError<InvalidRequest>()("InvalidRequest", fields) {}

export type BackendError = RateLimited | Timeout | BadResponse | Unavailable | Unsupported | InvalidRequest

/** Tags of the errors worth retrying. */
export const retryableTags = ["RateLimited", "Timeout", "Unavailable"] as const

/**
 * Whether an error is worth retrying.
 *
 * @example
 * isRetryable(new Timeout({ backend: "openai", operation: "generate", message: "30 s", timeoutMs: 30000 })) // true
 */
export const isRetryable = (e: BackendError): boolean => (retryableTags as ReadonlyArray<string>).includes(e._tag)
