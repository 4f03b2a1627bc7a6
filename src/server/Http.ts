/**
 * The HTTP edge of the service: early replies (OpenAI-style errors, with headers such as
 * `Retry-After`), who is calling (bearer tokens and their tenants; without tokens, only this
 * machine: loopback `Host`, same-origin `Origin`, JSON bodies, so that no web page can drive a
 * local server), and request bodies read within a size limit and a time limit and decoded with
 * errors that name the field.
 *
 * @since 0.1.0
 */
import { timingSafeEqual } from "node:crypto"
import { ByteSize, Effect, Option, Schema } from "effect"
import { HttpIncomingMessage, type HttpServerRequest, HttpServerResponse } from "effect/http"
import { formatIssues } from "../domain/SchemaProblems.ts"
import { isLoopback, type Policy } from "./Policy.ts"
import * as Wire from "./Wire.ts"

/** A reply the handler decided on before running anything. */
export class Reply extends Schema.TaggedError<Reply>()("Reply", {
  status: Schema.Number,
  body: Schema.Unknown,
  headers: Schema.optionalKey(Schema.Record(Schema.String, Schema.String))
}) {}

/**
 * Ends a handler early with an OpenAI-style error.
 *
 * @example
 * return yield* fail(404, `unknown model "${model}"`, "model_not_found", "model")
 */
export const fail = (
  status: number,
  message: string,
  code: string | null = null,
  param: string | null = null,
  headers?: Record<string, string>
) =>
  Effect.fail(
    new Reply({
      status,
      body: Wire.errorBody(status, message, code, param),
      ...(headers === undefined ? {} : { headers })
    })
  )

/**
 * A JSON response with a status.
 *
 * @example
 * return json(200, { valid: true, problems: [] })
 */
export const json = (status: number, body: unknown, headers?: Record<string, string>) =>
  HttpServerResponse.jsonUnsafe(body, { status, ...(headers === undefined ? {} : { headers }) })

const sameSecret = (a: string, b: string): boolean => {
  const x = Buffer.from(a)
  const y = Buffer.from(b)
  return x.length === y.length && timingSafeEqual(x, y)
}

/** The tenant of a request without tokens: its peer address (a web handler has none: `local`). */
const peerOf = (request: HttpServerRequest.HttpServerRequest): string =>
  Option.getOrElse(request.remoteAddress, () => "local")

/** The host name of a `Host` header (`[::1]:8080` → `[::1]`, `localhost:80` → `localhost`). */
const hostName = (host: string): string => {
  const h = host.trim().toLowerCase()
  if (h.startsWith("[")) return h.slice(0, h.indexOf("]") + 1)
  const colon = h.lastIndexOf(":")
  return colon < 0 ? h : h.slice(0, colon)
}

/**
 * Without tokens, only this machine may call: a `Host` that names loopback (or an allowed host),
 * and no `Origin` but this server's own (or an allowed one). That refuses DNS rebinding and a
 * web page's cross-site requests to a local server. 403 otherwise.
 *
 * @example
 * yield* checkLocal(policy, request)
 */
export const checkLocal = (policy: Policy, request: HttpServerRequest.HttpServerRequest) => {
  if (policy.tokens.length > 0) return Effect.void
  const host = request.headers.host
  if (host !== undefined && !isLoopback(hostName(host)) && !policy.allowedHosts.includes(hostName(host)))
    return fail(
      403,
      `Host "${host.slice(0, 100)}" is not this machine; a server without MULL_SERVE_TOKEN answers only to localhost`,
      "forbidden_host"
    )
  const origin = request.headers.origin
  if (origin !== undefined && !policy.allowedOrigins.includes(origin)) {
    const own = host === undefined ? undefined : [`http://${host}`, `https://${host}`]
    if (own === undefined || !own.includes(origin))
      return fail(
        403,
        `Origin "${origin.slice(0, 100)}" is not this server's; a server without MULL_SERVE_TOKEN refuses cross-origin requests`,
        "forbidden_origin"
      )
  }
  return Effect.void
}

/**
 * Who is calling: checks the bearer token when the policy has tokens (in constant time; 401
 * otherwise) and returns its tenant; without tokens checks the caller is local and returns its
 * address.
 *
 * @example
 * const tenant = yield* authorize(policy, yield* HttpServerRequest.HttpServerRequest)
 */
export const authorize = (policy: Policy, request: HttpServerRequest.HttpServerRequest) => {
  if (policy.tokens.length === 0) return Effect.as(checkLocal(policy, request), peerOf(request))
  const header = request.headers.authorization ?? ""
  const token = header.startsWith("Bearer ") ? header.slice(7).trim() : ""
  // every token is compared, so the time taken does not say which one nearly matched
  let tenant: string | undefined
  for (const t of policy.tokens)
    if (token !== "" && sameSecret(token, t.secret) && tenant === undefined) tenant = t.tenant
  return tenant !== undefined
    ? Effect.succeed(tenant)
    : fail(401, "missing or wrong bearer token (send Authorization: Bearer <token>)", "invalid_api_key")
}

const isTooLarge = (e: unknown): boolean =>
  /MaxBytes|BodyTooLarge|too large|exceed/iu.test(`${String(e)} ${String((e as { cause?: unknown })?.cause)}`)

/** Whether a `content-type` is JSON (`application/json`, `application/*+json`, with parameters). */
const isJsonType = (type: string | undefined): boolean => {
  const media = (type ?? "").split(";")[0]?.trim().toLowerCase() ?? ""
  return media === "application/json" || (media.startsWith("application/") && media.endsWith("+json"))
}

/**
 * How long a handler waits for a body: past the server's own request timeout (headers + body,
 * answered 408 by `Connections.ts`), so on Node this is only a backstop; it bounds web handlers.
 */
export const bodyDeadline = (policy: Policy): number => policy.timeouts.headersMs + policy.timeouts.bodyMs + 1000

/** How a body is read. */
export interface BodyLimits {
  readonly maxBytes: number
  /** the body must arrive within this many ms (then 408) */
  readonly timeoutMs: number
}

/** One decoder for every body (a whole buffer per call, so no state is carried between calls). */
const utf8 = new TextDecoder()

/**
 * Reads a JSON body within the size and time limits: 413 past the size, 408 past the time, 400
 * when it is not JSON; without tokens, 415 unless the `content-type` is JSON (a web page can send
 * `text/plain` across origins without asking, never `application/json`).
 *
 * @example
 * const body = yield* readJson(policy, http, { maxBytes: policy.maxBodyBytes, timeoutMs: bodyDeadline(policy) })
 */
export const readJson = (
  policy: Policy,
  request: HttpServerRequest.HttpServerRequest,
  limits: BodyLimits = { maxBytes: policy.maxBodyBytes, timeoutMs: bodyDeadline(policy) }
) =>
  Effect.gen(function* () {
    if (policy.tokens.length === 0 && !isJsonType(request.headers["content-type"]))
      return yield* fail(
        415,
        `content-type must be application/json, got "${(request.headers["content-type"] ?? "(none)").slice(0, 100)}"`,
        "unsupported_media_type"
      )
    const declared = Number(request.headers["content-length"] ?? "0")
    if (declared > limits.maxBytes)
      return yield* fail(413, `request body of ${declared} bytes is larger than the limit of ${limits.maxBytes} bytes`)
    const bytes = yield* request.arrayBuffer.pipe(
      Effect.provideService(HttpIncomingMessage.MaxBodySize, ByteSize.bytes(limits.maxBytes)),
      Effect.catch((e) =>
        isTooLarge(e)
          ? fail(413, `request body is larger than the limit of ${limits.maxBytes} bytes`)
          : fail(400, `cannot read the request body: ${String(e)}`)
      ),
      // on Node, the server's request timeout answers first (`Connections.ts`); this bounds web handlers
      Effect.timeoutOrElse({
        duration: limits.timeoutMs,
        orElse: () =>
          fail(408, `the request body did not arrive within ${limits.timeoutMs} ms`, "request_timeout", null, {
            connection: "close"
          })
      })
    )
    const text = utf8.decode(bytes)
    try {
      return JSON.parse(text) as unknown
    } catch (e) {
      return yield* fail(400, `the body is not JSON: ${e instanceof Error ? e.message : String(e)}`)
    }
  })

/**
 * Decodes a body with a Schema; a 400 whose message names every bad field (`strict`: unknown keys too).
 *
 * @example
 * const request = yield* decode(Wire.ChatRequest, yield* readJson(policy, http))
 */
export const decode = <S extends Schema.Top & { readonly DecodingServices: never }>(
  schema: S,
  body: unknown,
  options: { readonly strict?: boolean; readonly prefix?: string } = {}
) =>
  Schema.decodeUnknownEffect(schema)(body, {
    errors: "all",
    ...(options.strict === true ? { onExcessProperty: "error" as const } : {})
  }).pipe(
    Effect.catch((e) => {
      const problems = formatIssues(e, options.prefix ?? "")
      const first = problems[0] ?? ""
      const param = first.includes(":") ? first.slice(0, first.indexOf(":")) : null
      return fail(400, problems.join("; "), "invalid_body", param)
    })
  )
