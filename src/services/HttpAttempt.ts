/**
 * One HTTP attempt of an HTTP backend: POST a JSON body, read the whole reply within a timeout,
 * decode it with a Schema — and map every way this can fail to a backend error. It never retries:
 * the runtime does (`services/Retry.ts`), so that every attempt is reserved and charged as a call.
 *
 * - connection refused or reset, a body cut off by the connection → `Unavailable`
 * - no complete reply within `timeoutMs` → `Timeout`
 * - 429 → `RateLimited` (`retry-after` honoured), 408/5xx → `Unavailable`, other 4xx → `InvalidRequest`
 * - a reply that is not JSON (e.g. truncated) or not of the expected shape → `BadResponse`
 *
 * The API key is sent as a bearer token and redacted from every message — before any text is cut
 * to length, in every form it may take (`HttpErrors.redact`).
 *
 * @since 0.1.0
 */
import { Clock, Effect, Redacted, Schema } from "effect"
import { type HttpClient, HttpClientRequest } from "effect/http"
import { formatIssues } from "../domain/SchemaProblems.ts"
import { BackendError, BadResponse, InvalidRequest, Timeout, Unavailable } from "./BackendError.ts"
import { errorOfStatus, redact } from "./HttpErrors.ts"

/** Where and how to call. */
export interface HttpEndpoint {
  /** backend name, for errors */
  readonly backend: string
  readonly apiKey: Redacted.Redacted<string> | undefined
  /** the whole attempt — connect, send, wait, read the body */
  readonly timeoutMs: number
}

/** The first few problems of a decode failure, as `path: message`. */
const issuesOf = (error: Schema.SchemaError): string => formatIssues(error, "", { root: "(root)", limit: 3 }).join("; ")

/**
 * POSTs `body` to `url` once and decodes the JSON reply with `schema`.
 *
 * @example
 * const reply = yield* postJson(client, endpoint, "generate", "http://localhost:8000/v1/completions", body, CompletionResponse)
 */
export const postJson = <A>(
  client: HttpClient.HttpClient,
  endpoint: HttpEndpoint,
  operation: string,
  url: string,
  body: unknown,
  schema: Schema.Decoder<A>
): Effect.Effect<A, BackendError> => {
  const secret = endpoint.apiKey === undefined ? undefined : Redacted.value(endpoint.apiKey)
  const where = { backend: endpoint.backend, operation }
  const fields = (message: string) => ({ message: redact(message, secret) })
  const request = HttpClientRequest.post(url).pipe(
    HttpClientRequest.acceptJson,
    HttpClientRequest.bodyText(JSON.stringify(body), "application/json"),
    secret === undefined ? (r) => r : HttpClientRequest.bearerToken(secret)
  )
  const attempt = Effect.gen(function* () {
    const response = yield* client.execute(request).pipe(
      Effect.mapError((e) =>
        e.reason._tag === "TransportError"
          ? new BackendError({
              ...where,
              reason: new Unavailable(fields(`cannot reach ${url}: ${e.reason.description ?? e.message}`))
            })
          : new BackendError({
              ...where,
              reason: new InvalidRequest(fields(`cannot send the request to ${url}: ${e.message}`))
            })
      )
    )
    // a body cut off by the connection is a transport failure, worth retrying
    const text = yield* response.text.pipe(
      Effect.mapError(
        (e) =>
          new BackendError({ ...where, reason: new Unavailable(fields(`reply from ${url} broke off: ${e.message}`)) })
      )
    )
    if (response.status < 200 || response.status >= 300) {
      const nowMs = yield* Clock.currentTimeMillis
      return yield* Effect.fail(
        errorOfStatus({
          backend: endpoint.backend,
          operation,
          status: response.status,
          retryAfter: response.headers["retry-after"],
          body: text,
          nowMs,
          secret
        })
      )
    }
    let json: unknown
    try {
      // decoding problems quote values (cut to length): a key echoed in a reply must be gone first
      json = JSON.parse(redact(text, secret))
    } catch (e) {
      return yield* new BackendError({
        ...where,
        reason: new BadResponse(
          fields(
            `reply from ${url} is not JSON (${e instanceof Error ? e.message : String(e)}): ${JSON.stringify(redact(text, secret).slice(0, 120))}`
          )
        )
      })
    }
    return yield* Schema.decodeUnknownEffect(schema)(json).pipe(
      Effect.mapError(
        (e) =>
          new BackendError({
            ...where,
            reason: new BadResponse(fields(`unexpected reply from ${url}: ${issuesOf(e)}`))
          })
      )
    )
  })
  return attempt.pipe(
    Effect.timeoutOrElse({
      duration: endpoint.timeoutMs,
      orElse: () =>
        Effect.fail(
          new BackendError({
            ...where,
            reason: new Timeout({
              ...fields(`no reply from ${url} within ${endpoint.timeoutMs} ms`),
              timeoutMs: endpoint.timeoutMs
            })
          })
        )
    })
  )
}

/**
 * The server root of an OpenAI-style base URL: without a trailing `/v1` (vLLM serves `/tokenize`
 * and `/pooling` at the root).
 *
 * @example
 * serverRoot("http://localhost:8000/v1/") // "http://localhost:8000"
 */
export const serverRoot = (baseUrl: string): string => baseUrl.replace(/\/+$/u, "").replace(/\/v1$/u, "")
