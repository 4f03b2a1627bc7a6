/**
 * The layers stay true: every import in `src/` and `plugins/` goes along an edge the Layers table of
 * docs/architecture.md allows, and every edge the table allows is one the code uses — so the table
 * is the import graph, checked. A forbidden import fails with the file and the import.
 */
import { readFileSync } from "node:fs"
import { describe, expect, it } from "@effect/vitest"
import { fromRoot, packageRoot } from "../../src/paths.ts"
import { allowedOf, check, edgesOf, layerOf, readSources, specifiers } from "./imports.ts"

const doc = readFileSync(fromRoot("docs", "architecture.md"), "utf8")

describe("the layers of docs/architecture.md", () => {
  it("allow every import in src/ and plugins/, and list only imports that exist", () => {
    const sources = readSources(packageRoot)
    expect(sources.length).toBeGreaterThan(150)
    const allowed = allowedOf(doc)
    expect(allowed.size).toBeGreaterThan(15)
    expect(
      check(
        edgesOf(sources),
        allowed,
        sources.map((s) => layerOf(s.file))
      )
    ).toEqual([])
  })

  it("catch a forbidden import (runtime → eval) and a layer the table does not list", () => {
    const sources = readSources(packageRoot)
    const forbidden = [
      ...sources,
      { file: "src/runtime/Sneaky.ts", text: 'import type { Summary } from "../eval/Runner.ts"\n' },
      { file: "src/extra/New.ts", text: 'import { x } from "../domain/Hash.ts"\n' }
    ]
    const problems = check(
      edgesOf(forbidden),
      allowedOf(doc),
      forbidden.map((s) => layerOf(s.file))
    )
    expect(problems).toEqual([
      "src/extra/: not in the Layers table of docs/architecture.md",
      "src/runtime/Sneaky.ts imports ../eval/Runner.ts: src/runtime/ → src/eval/ is not allowed by docs/architecture.md"
    ])
  })

  it("read imports as statements, never from doc comments, and literal dynamic imports only", () => {
    const text = [
      "/**",
      ' * import { no } from "../nope.ts"',
      " */",
      'import {\n  a,\n  type B\n} from "./a.ts"',
      'export * as C from "../c.ts"',
      'import "./side.ts"',
      "const m = await import(url)",
      'const n = await import("../n.ts")',
      'const s = `data from "file"`'
    ].join("\n")
    expect(specifiers(text)).toEqual(["./a.ts", "../c.ts", "./side.ts", "../n.ts"])
  })
})
