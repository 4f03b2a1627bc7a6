/**
 * The service described as an Effect `HttpApi` — every route, the Schemas that decode its requests
 * (`Wire.ts`, the very ones the handlers decode with; a chat's `mull` is `MullOptions`), the
 * Schemas of every reply (a chat completion, its server-sent chunks, the OpenAI-style error of
 * each status) and bearer authentication — from which `effect/http-api`'s `OpenApi.fromApi`
 * generates the OpenAPI 3.1 document served at `/openapi.json`. The handlers are `Server.ts`'s
 * router; this module only describes them, so the document cannot drift from the decoders.
 *
 * @since 0.2.0
 */
import { Schema } from "effect"
import {
  HttpApi,
  HttpApiEndpoint,
  HttpApiGroup,
  HttpApiMiddleware,
  HttpApiSchema,
  HttpApiSecurity,
  OpenApi
} from "effect/http-api"
import { TRACE_ID } from "./Traces.ts"
import * as Wire from "./Wire.ts"

/** An error reply with its status, described. */
const error = (status: number, description: string) =>
  Wire.ErrorBody.annotate({ identifier: `Error${status}`, description }).pipe(HttpApiSchema.status(status))

const E400 = error(
  400,
  "Malformed body, an undeclared param, a budget too small for the first call (the message names the field)"
)
const E401 = error(401, "Missing or wrong bearer token")
const E403 = error(403, "Without a token: a Host that is not this machine, or a foreign Origin")
const E404 = error(404, "Unknown model, graph, trace or route (the message lists what exists)")
const E408 = error(408, "The request did not arrive within the headers or body timeout")
const E413 = error(413, "Body (or, for the graph API, the plan it compiles to) over the limit")
const E415 = error(415, "Without a token: a body that is not application/json")
const E429 = error(429, "This tenant's queue is full; see Retry-After")
const E500 = error(500, "A trace that does not render")
const E502 = error(502, "The backend failed (after its retries); the message names the backend, error and operation")
const E503 = error(503, "The server is at capacity, no slot freed in time, or it is shutting down; see Retry-After")
const E504 = error(504, "The run did not finish within twice its deadline (mull.budget.wallMs)")

const admitted = [E400, E401, E403, E404, E408, E413, E415, E429, E503] as const

/** The bearer token a server with `MULL_SERVE_TOKEN` requires (a description: the router checks it). */
export class Bearer extends HttpApiMiddleware.Service<Bearer>()("mull/server/Api/Bearer", {
  security: { bearer: HttpApiSecurity.bearer }
}) {}

/** A chat request as documented: OpenAI's fields, and `mull` as the Schema it is decoded with. */
export const ChatRequestDocument = Schema.Struct({
  ...Wire.ChatRequest.fields,
  mull: Schema.optionalKey(Wire.MullOptions)
}).annotate({
  identifier: "ChatRequest",
  description:
    "OpenAI's chat-completion request (the fields mull reads; others are accepted and ignored) with mull's extension `mull`"
})

const TraceParams = { id: Schema.String.check(Schema.isPattern(TRACE_ID)) }

const chat = HttpApiGroup.make("chat")
  .add(
    HttpApiEndpoint.post("chatCompletions", "/v1/chat/completions", {
      payload: ChatRequestDocument,
      success: [
        Wire.ChatCompletion,
        Schema.String.annotate({
          description:
            "With stream: true, server-sent events: each `data:` a ChatCompletionChunk (progress, answer, usage), then `data: [DONE]`"
        }).pipe(HttpApiSchema.asText({ contentType: "text/event-stream" }))
      ],
      error: [...admitted, E502, E504]
    }).annotateMerge(
      OpenApi.annotations({
        summary: "Run a graph on the last user message; `stream: true` streams progress, then the answer"
      })
    ),
    HttpApiEndpoint.get("models", "/v1/models", { success: Wire.ModelList, error: [E401, E403] }).annotateMerge(
      OpenApi.annotations({ summary: "The served graphs (mull/<name>) and aliases" })
    )
  )
  .middleware(Bearer)
  .annotateMerge(OpenApi.annotations({ title: "chat", description: "OpenAI-compatible chat completions" }))

const graphs = HttpApiGroup.make("graphs")
  .add(
    HttpApiEndpoint.post("validate", "/v1/graphs/validate", {
      payload: Wire.GraphRequest,
      success: Wire.ValidateReply,
      error: admitted
    }).annotateMerge(
      OpenApi.annotations({
        summary: "Validate a graph document (or a served graph by name) against params and a budget"
      })
    ),
    HttpApiEndpoint.post("cost", "/v1/graphs/cost", {
      payload: Wire.GraphRequest,
      success: Wire.CostReply,
      error: admitted
    }).annotateMerge(
      OpenApi.annotations({
        summary:
          "The plan of a graph under a budget, per meter: worst case, worst case under the budget, answer minimum, expected spend from a dry run"
      })
    )
  )
  .middleware(Bearer)
  .annotateMerge(OpenApi.annotations({ title: "graphs", description: "Validate and cost graph documents" }))

const traces = HttpApiGroup.make("traces")
  .add(
    HttpApiEndpoint.get("trace", "/v1/traces/:id", {
      params: TraceParams,
      success: Schema.String.annotate({ description: "JSONL, one run event per line" }).pipe(
        HttpApiSchema.asText({ contentType: "application/jsonl" })
      ),
      error: [E401, E403, E404]
    }).annotateMerge(OpenApi.annotations({ summary: "A request's trace" })),
    HttpApiEndpoint.get("traceHtml", "/v1/traces/:id/html", {
      params: TraceParams,
      query: { choice: Schema.optionalKey(Schema.String.annotate({ description: "which choice of n (default 0)" })) },
      success: Schema.String.annotate({ description: "the trace viewer's self-contained page" }).pipe(
        HttpApiSchema.asText({ contentType: "text/html" })
      ),
      error: [E401, E403, E404, E500]
    }).annotateMerge(OpenApi.annotations({ summary: "A request's trace as the trace viewer's page" })),
    HttpApiEndpoint.get("metrics", "/metrics", {
      success: Schema.String.annotate({ description: "Prometheus text format 0.0.4" }).pipe(
        HttpApiSchema.asText({ contentType: "text/plain" })
      ),
      error: [E401, E403]
    }).annotateMerge(OpenApi.annotations({ summary: "Prometheus metrics" }))
  )
  .middleware(Bearer)
  .annotateMerge(OpenApi.annotations({ title: "observability", description: "Traces and metrics" }))

const open = HttpApiGroup.make("open")
  .add(
    HttpApiEndpoint.get("health", "/healthz", { success: Wire.Health }).annotateMerge(
      OpenApi.annotations({ summary: "Liveness (never needs a token)" })
    ),
    HttpApiEndpoint.get("openapi", "/openapi.json", {
      success: Schema.Record(Schema.String, Schema.Unknown).annotate({ description: "This document" })
    }).annotateMerge(OpenApi.annotations({ summary: "This OpenAPI document" }))
  )
  .annotateMerge(OpenApi.annotations({ title: "open", description: "Routes that never need a token" }))

/** Schemas of requests the router decodes leniently: unknown fields are accepted and ignored. */
const LENIENT = ["ChatRequest", "GraphRequest"]

/**
 * Opens the lenient request schemas (and the objects inside them) to unknown fields: the generator
 * closes every object, and these are decoded as OpenAI-compatible servers do (`mull` excepted:
 * `MullOptions` is decoded strictly and stays closed).
 */
const openLenient = (spec: Record<string, unknown>): Record<string, unknown> => {
  const open = (node: unknown): void => {
    if (typeof node !== "object" || node === null) return
    const o = node as Record<string, unknown>
    if (typeof o.$ref === "string") return
    if (o.additionalProperties === false) delete o.additionalProperties
    for (const v of Object.values(o)) open(v)
  }
  const components = spec.components as { schemas?: Record<string, unknown> } | undefined
  for (const name of LENIENT) open(components?.schemas?.[name])
  return spec
}

/** The service's API. */
export const Api = HttpApi.make("mull")
  .add(chat)
  .add(graphs)
  .add(traces)
  .add(open)
  .annotateMerge(
    OpenApi.annotations({
      title: "mull",
      version: "0.2.0",
      description:
        "Test-time compute strategies behind an OpenAI-compatible endpoint: name a graph as the model (`mull/beam-search`), set params and a budget in `mull`, and get the answer with its true usage. See docs/service.md.",
      transform: openLenient
    })
  )

/**
 * The OpenAPI 3.1 document of the service, generated from `Api`.
 *
 * @example
 * openApi().paths["/v1/chat/completions"]
 */
export const openApi = (): OpenApi.OpenAPISpec => OpenApi.fromApi(Api)
