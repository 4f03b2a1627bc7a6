/**
 * The HTTP edge of the service: early replies (OpenAI-style errors), bearer-token checks, and
 * request bodies read within the size limit and decoded with errors that name the field.
 *
 * @since 0.1.0
 */
import { timingSafeEqual } from "node:crypto"
import { ByteSize, Effect, Schema } from "effect"
import { HttpIncomingMessage, type HttpServerRequest, HttpServerResponse } from "effect/http"
import { formatIssues } from "../domain/SchemaProblems.ts"
import type { Policy } from "./Policy.ts"
import * as Wire from "./Wire.ts"

/** A reply the handler decided on before running anything. */
export class Reply extends Schema.TaggedError<Reply>()("Reply", { status: Schema.Number, body: Schema.Unknown }) {}

/**
 * Ends a handler early with an OpenAI-style error.
 *
 * @example
 * return yield* fail(404, `unknown model "${model}"`, "model_not_found", "model")
 */
export const fail = (status: number, message: string, code: string | null = null, param: string | null = null) =>
  Effect.fail(new Reply({ status, body: Wire.errorBody(status, message, code, param) }))

/**
 * A JSON response with a status.
 *
 * @example
 * return json(200, { valid: true, problems: [] })
 */
export const json = (status: number, body: unknown) => HttpServerResponse.jsonUnsafe(body, { status })

const sameSecret = (a: string, b: string): boolean => {
  const x = Buffer.from(a)
  const y = Buffer.from(b)
  return x.length === y.length && timingSafeEqual(x, y)
}

/**
 * Checks the bearer token when the policy has one (compared in constant time); 401 otherwise.
 *
 * @example
 * yield* authorize(policy, yield* HttpServerRequest.HttpServerRequest)
 */
export const authorize = (policy: Policy, request: HttpServerRequest.HttpServerRequest) => {
  if (policy.token === undefined) return Effect.void
  const header = request.headers.authorization ?? ""
  const token = header.startsWith("Bearer ") ? header.slice(7).trim() : ""
  return token !== "" && sameSecret(token, policy.token)
    ? Effect.void
    : fail(401, "missing or wrong bearer token (send Authorization: Bearer <token>)", "invalid_api_key")
}

const isTooLarge = (e: unknown): boolean =>
  /MaxBytes|too large|exceed/iu.test(`${String(e)} ${String((e as { cause?: unknown })?.cause)}`)

/** Reads a JSON body within the size limit: 413 past it, 400 when it is not JSON. */
export const readJson = (policy: Policy, request: HttpServerRequest.HttpServerRequest) =>
  Effect.gen(function* () {
    const declared = Number(request.headers["content-length"] ?? "0")
    if (declared > policy.maxBodyBytes)
      return yield* fail(
        413,
        `request body of ${declared} bytes is larger than the limit of ${policy.maxBodyBytes} bytes`
      )
    const bytes = yield* request.arrayBuffer.pipe(
      Effect.provideService(HttpIncomingMessage.MaxBodySize, ByteSize.bytes(policy.maxBodyBytes)),
      Effect.catch((e) =>
        isTooLarge(e)
          ? fail(413, `request body is larger than the limit of ${policy.maxBodyBytes} bytes`)
          : fail(400, `cannot read the request body: ${String(e)}`)
      )
    )
    const text = new TextDecoder().decode(bytes)
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
