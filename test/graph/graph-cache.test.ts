/**
 * Loaded graphs are cached by file and content (issue 20): an unchanged graph is not decoded
 * again, an edited one (or an edited `use` target) is reloaded, and `runGraph` uses the cache.
 */
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import * as NodePath from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as GraphCache from "../../src/graph/GraphCache.ts"
import { builtinDir } from "../../src/graph/Loader.ts"
import { runGraph } from "../../src/Mull.ts"

const bestOfN = JSON.parse(readFileSync(NodePath.join(builtinDir, "best-of-n.json"), "utf8")) as Record<string, unknown>
const write = (file: string, description: string) =>
  writeFileSync(file, JSON.stringify({ ...bestOfN, $schema: undefined, description }))

describe("GraphCache", () => {
  it.effect("decodes an unchanged file once and reloads it after an edit", () =>
    Effect.gen(function* () {
      const dir = mkdtempSync(NodePath.join(tmpdir(), "mull-cache-"))
      const file = NodePath.join(dir, "g.json")
      write(file, "first")
      const cache = GraphCache.make(8)
      const a = yield* cache.get(file)
      const b = yield* cache.get(file)
      assert.strictEqual(b, a)
      assert.deepStrictEqual(cache.stats(), { loads: 1, hits: 1 })
      write(file, "second")
      const c = yield* cache.get(file)
      assert.strictEqual(c.doc.description, "second")
      assert.deepStrictEqual(cache.stats(), { loads: 2, hits: 1 })
    })
  )

  it.effect("reloads a graph when a file it uses changes", () =>
    Effect.gen(function* () {
      const dir = mkdtempSync(NodePath.join(tmpdir(), "mull-cache-"))
      const inner = NodePath.join(dir, "inner.json")
      const outer = NodePath.join(dir, "outer.json")
      write(inner, "inner v1")
      writeFileSync(
        outer,
        JSON.stringify({ name: "outer", description: "uses inner", root: { type: "use", graph: "./inner.json" } })
      )
      const cache = GraphCache.make(8)
      const first = yield* cache.get(outer)
      yield* cache.get(outer)
      assert.deepStrictEqual(cache.stats(), { loads: 1, hits: 1 })
      write(inner, "inner v2")
      const second = yield* cache.get(outer)
      assert.notStrictEqual(second, first)
      assert.deepStrictEqual(
        [...second.uses.values()].map((u) => u.doc.description),
        ["inner v2"]
      )
      assert.deepStrictEqual(cache.stats(), { loads: 2, hits: 1 })
    })
  )

  it.effect("keys documents in memory by content, and stays within its size", () =>
    Effect.gen(function* () {
      const cache = GraphCache.make(2)
      const doc = { name: "x", description: "d", root: { type: "select", method: "best" } }
      yield* cache.get(doc)
      yield* cache.get({ ...doc })
      assert.deepStrictEqual(cache.stats(), { loads: 1, hits: 1 })
      yield* cache.get({ ...doc, description: "other" })
      yield* cache.get({ ...doc, description: "third" })
      yield* cache.get(doc) // the least recently used, evicted
      assert.deepStrictEqual(cache.stats(), { loads: 4, hits: 1 })
    })
  )

  it("runGraph does not reload an unchanged graph", async () => {
    const before = GraphCache.shared.stats()
    for (let i = 0; i < 3; i++)
      await runGraph({ graph: "best-of-n", problem: { question: "What is $1+1$?", gold: "2" }, params: { N: 2 } })
    const after = GraphCache.shared.stats()
    assert.isAtMost(after.loads - before.loads, 1)
    assert.isAtLeast(after.hits - before.hits, 2)
  })
})
