/**
 * The JSON Schema (draft 2020-12) of graph documents, for editors: `mull schema >
 * docs/graph.schema.json`, and `"$schema": "../docs/graph.schema.json"` in a graph file gives
 * completion and checking while writing it.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"
import { GraphDocument } from "./Graph.ts"

/**
 * The JSON Schema of a graph document.
 *
 * @example
 * JSON.stringify(graphJsonSchema(), null, 2)
 */
export const graphJsonSchema = (): Record<string, unknown> => {
  const doc = Schema.toJsonSchemaDocument(GraphDocument, { onExcessProperty: "error" })
  return {
    $schema: "https://json-schema.org/draft/2020-12/schema",
    $id: "https://mull.dev/graph.schema.json",
    title: "mull graph document",
    ...doc.schema,
    $defs: doc.definitions
  }
}
