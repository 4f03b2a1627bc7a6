import { readFileSync } from "node:fs"
import { describe, expect, it } from "@effect/vitest"
import { NODE_TYPES } from "../../src/graph/Graph.ts"
import { graphReference } from "../../src/graph/Reference.ts"
import { fromRoot } from "../../src/paths.ts"

describe("the graph reference (docs/reference.md)", () => {
  it("is what the Schema generates (regenerate it with `npm run docs:reference`)", () => {
    expect(readFileSync(fromRoot("docs", "reference.md"), "utf8")).toBe(graphReference())
  })

  it("has a section for every node type, and every field of every node", () => {
    const text = graphReference()
    for (const t of NODE_TYPES) expect(text).toContain(`\n### ${t}\n`)
    for (const field of [
      "`lookahead.steps`",
      "`estimate.samples`",
      "`dropUnanswered`",
      "`hierarchical`",
      "`stepDelimiter`"
    ])
      expect(text).toContain(field)
    // defaults come from the key annotations, and agree with the runtime's
    expect(text).toMatch(/\| `context` +\| \[Num\]\(#num\) +\| no +\| `4` +\|/u)
  })
})
