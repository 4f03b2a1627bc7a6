/**
 * How an HTTP backend's failures become backend errors (pure): the `retry-after` header, the
 * server's error message, and the status → tagged error mapping shared by the HTTP plugins
 * (`openai`, `prm-http`). See docs/backends.md § Errors and retries.
 *
 * @since 0.1.0
 */
import { BackendError, InvalidRequest, RateLimited, Unavailable } from "./BackendError.ts"

/**
 * The wait a `retry-after` header asks for, in milliseconds: either delay-seconds (`"2"`,
 * `"0.5"`) or an HTTP-date (RFC 9110 §10.2.3), relative to `nowMs`. A date in the past is 0;
 * a missing or malformed header is `undefined`.
 *
 * @example
 * retryAfterMs("2", 0) // 2000
 * retryAfterMs("Wed, 21 Oct 2015 07:28:00 GMT", Date.parse("Wed, 21 Oct 2015 07:27:58 GMT")) // 2000
 * retryAfterMs("soon", 0) // undefined
 */
export const retryAfterMs = (header: string | undefined, nowMs: number): number | undefined => {
  if (header === undefined) return undefined
  const text = header.trim()
  if (text === "") return undefined
  if (/^\d+(\.\d+)?$/u.test(text)) return Math.round(Number(text) * 1000)
  // only full dates: Date.parse would also accept bare numbers and odd fragments
  if (!/[a-z]/iu.test(text)) return undefined
  const at = Date.parse(text)
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowMs)
}

const MAX_MESSAGE = 500

/**
 * The forms a secret can take in a server's reply or in a message built from it: as is,
 * JSON-escaped (a key with `"` or `\\` echoed inside a JSON string), and URL-encoded.
 */
const secretForms = (secret: string): ReadonlyArray<string> =>
  [...new Set([secret, JSON.stringify(secret).slice(1, -1), encodeURIComponent(secret)])]
    // longest first, so a form that contains another is replaced whole
    .sort((a, b) => b.length - a.length)

/**
 * Replaces every occurrence of a secret (an API key) by `***` — as is, JSON-escaped or
 * URL-encoded — so it never reaches an error message or a log: some servers echo the key they
 * rejected. Redact *before* cutting a text to length, or a cut key survives in part.
 *
 * @example
 * redact("Incorrect API key provided: sk-123", "sk-123") // "Incorrect API key provided: ***"
 * redact('{"key":"a\\"b-secret"}', 'a"b-secret') // '{"key":"***"}'
 */
export const redact = (text: string, secret: string | undefined): string => {
  if (secret === undefined || secret.length < 4) return text
  let out = text
  for (const form of secretForms(secret)) out = out.split(form).join("***")
  return out
}

/**
 * The server's own error message from an error body: OpenAI's `{"error": {"message"}}`, vLLM's
 * `{"object": "error", "message"}`, llama.cpp's and Ollama's `{"error": "…"}`; otherwise the body
 * itself — with `secret` redacted first, then cut to 500 characters.
 *
 * @example
 * serverMessage('{"error":{"message":"bad n","type":"invalid_request_error","code":null}}') // "bad n"
 * serverMessage("upstream connect error") // "upstream connect error"
 */
export const serverMessage = (raw: string, secret?: string): string => {
  const body = redact(raw, secret)
  let parsed: unknown
  try {
    parsed = JSON.parse(body)
  } catch {
    return body.trim().slice(0, MAX_MESSAGE) || "(empty body)"
  }
  const cut = (m: string) => redact(m, secret).slice(0, MAX_MESSAGE)
  if (typeof parsed === "object" && parsed !== null) {
    const o = parsed as Record<string, unknown>
    const e = o.error
    if (typeof e === "string") return cut(e)
    if (typeof e === "object" && e !== null) {
      const m = (e as Record<string, unknown>).message
      if (typeof m === "string") return cut(m)
    }
    if (typeof o.message === "string") return cut(o.message)
    if (typeof o.detail === "string") return cut(o.detail)
  }
  return body.trim().slice(0, MAX_MESSAGE)
}

/** What the mapping needs to know about a failed response. */
export interface FailedResponse {
  readonly backend: string
  readonly operation: string
  readonly status: number
  readonly retryAfter: string | undefined
  readonly body: string
  readonly nowMs: number
  readonly secret?: string | undefined
}

/**
 * The backend error of a non-2xx response: 429 → `RateLimited` (with the `retry-after` wait),
 * 408 and 5xx → `Unavailable` (retryable), any other status (400, 401, 403, 404, 413, 422…) →
 * `InvalidRequest` with the server's message, which retrying would not change.
 *
 * @example
 * errorOfStatus({ backend: "openai", operation: "generate", status: 429, retryAfter: "1", body: "", nowMs: 0 }).reason._tag // "RateLimited"
 */
export const errorOfStatus = (r: FailedResponse): BackendError => {
  const message = redact(`HTTP ${r.status}: ${serverMessage(r.body, r.secret)}`, r.secret)
  const where = { backend: r.backend, operation: r.operation }
  if (r.status === 429) {
    const wait = retryAfterMs(r.retryAfter, r.nowMs)
    return new BackendError({
      ...where,
      reason: new RateLimited({ message, ...(wait === undefined ? {} : { retryAfterMs: wait }) })
    })
  }
  if (r.status === 408 || r.status >= 500) return new BackendError({ ...where, reason: new Unavailable({ message }) })
  return new BackendError({ ...where, reason: new InvalidRequest({ message }) })
}
