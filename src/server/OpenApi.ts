/**
 * The service's OpenAPI 3.1 document (`GET /openapi.json`), its request schemas generated from the
 * same Schemas the server decodes with, so the two cannot drift.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"
import { ChatRequest, GraphRequest } from "./Wire.ts"

const schemaOf = (schema: Schema.Top, defs: Record<string, unknown>): unknown => {
  const doc = Schema.toJsonSchemaDocument(schema)
  Object.assign(defs, doc.definitions)
  return doc.schema
}

const errorResponse = (description: string) => ({
  description,
  content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } }
})

/**
 * The OpenAPI document.
 *
 * @example
 * openApi().paths["/v1/chat/completions"]
 */
export const openApi = () => {
  const defs: Record<string, unknown> = {}
  const chat = schemaOf(ChatRequest, defs)
  const graph = schemaOf(GraphRequest, defs)
  const auth = [{ bearer: [] }]
  return {
    openapi: "3.1.0",
    info: {
      title: "mull",
      version: "0.1.0",
      description:
        "Test-time compute strategies behind an OpenAI-compatible endpoint: name a graph as the model (`mull/beam-search`), set params and a budget in `mull`, and get the answer with its true usage. See docs/service.md."
    },
    components: {
      securitySchemes: { bearer: { type: "http", scheme: "bearer" } },
      schemas: {
        ...defs,
        ChatRequest: chat,
        GraphRequest: graph,
        Error: {
          type: "object",
          properties: {
            error: {
              type: "object",
              properties: {
                message: { type: "string" },
                type: { type: "string" },
                param: { type: ["string", "null"] },
                code: { type: ["string", "null"] }
              },
              required: ["message", "type"]
            }
          },
          required: ["error"]
        }
      }
    },
    paths: {
      "/v1/chat/completions": {
        post: {
          summary: "Run a graph on the last user message; stream progress with `stream: true`",
          security: auth,
          requestBody: {
            required: true,
            content: { "application/json": { schema: { $ref: "#/components/schemas/ChatRequest" } } }
          },
          responses: {
            "200": {
              description:
                "A chat.completion (or, streaming, text/event-stream of chat.completion.chunk ending in `data: [DONE]`); `usage` sums every internal call, `mull` holds the ledger",
              content: { "application/json": {}, "text/event-stream": {} }
            },
            "400": errorResponse("Malformed body, bad params or budget (the message names the field)"),
            "401": errorResponse("Missing or wrong bearer token"),
            "404": errorResponse("Unknown model; the message lists the available ones"),
            "413": errorResponse("Body larger than the server's limit"),
            "502": errorResponse("The backend failed")
          }
        }
      },
      "/v1/models": {
        get: {
          summary: "The graphs and aliases served, as models",
          security: auth,
          responses: { "200": { description: "A model list" } }
        }
      },
      "/v1/graphs/validate": {
        post: {
          summary: "Validate a graph document (or a served graph by name) against params and a budget",
          security: auth,
          requestBody: {
            required: true,
            content: { "application/json": { schema: { $ref: "#/components/schemas/GraphRequest" } } }
          },
          responses: { "200": { description: "`{ valid, problems }`" }, "400": errorResponse("Malformed body") }
        }
      },
      "/v1/graphs/cost": {
        post: {
          summary:
            "The plan of a graph under a budget, per meter: worst case, worst case under the budget, answer minimum, expected spend from a dry run",
          security: auth,
          requestBody: {
            required: true,
            content: { "application/json": { schema: { $ref: "#/components/schemas/GraphRequest" } } }
          },
          responses: {
            "200": {
              description:
                "`{ worst, bound, underBudget, answerMinimum, minimum, expected: { runs, mean, sd }, binds, population }`"
            },
            "400": errorResponse("Malformed body or invalid graph")
          }
        }
      },
      "/v1/traces/{id}": {
        get: {
          summary: "A request's trace (JSONL run events)",
          security: auth,
          responses: { "200": { description: "JSONL" }, "404": errorResponse("No such trace") }
        }
      },
      "/v1/traces/{id}/html": {
        get: {
          summary: "A request's trace as the trace viewer's self-contained HTML page",
          security: auth,
          responses: { "200": { description: "HTML" }, "404": errorResponse("No such trace") }
        }
      },
      "/healthz": { get: { summary: "Liveness", responses: { "200": { description: '`{ status: "ok" }`' } } } },
      "/metrics": {
        get: { summary: "Prometheus metrics", security: auth, responses: { "200": { description: "Prometheus text" } } }
      },
      "/openapi.json": { get: { summary: "This document", responses: { "200": { description: "OpenAPI 3.1" } } } }
    }
  }
}
