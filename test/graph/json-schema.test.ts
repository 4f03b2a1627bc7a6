import { readFileSync } from "node:fs"
import { describe, expect, it } from "@effect/vitest"
import { NODE_TYPES } from "../../src/graph/Graph.ts"
import { graphJsonSchema } from "../../src/graph/JsonSchema.ts"
import { fromRoot } from "../../src/paths.ts"

describe("JSON Schema export", () => {
  it("docs/graph.schema.json is what `mull schema` prints (regenerate it with `npm run -s mull -- schema`)", () => {
    const committed: unknown = JSON.parse(readFileSync(fromRoot("docs", "graph.schema.json"), "utf8"))
    expect(committed).toEqual(graphJsonSchema())
  })

  it("names every node type and rejects extra fields", () => {
    const text = JSON.stringify(graphJsonSchema())
    for (const t of NODE_TYPES) expect(text).toContain(`"enum":["${t}"]`)
    expect(text).toContain('"additionalProperties":false')
  })
})
