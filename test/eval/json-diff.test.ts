import { describe, expect, it } from "@effect/vitest"
import * as fc from "fast-check"
import { jsonDifferences } from "../../src/eval/JsonDiff.ts"

describe("jsonDifferences", () => {
  it("names the leaf paths that differ, and nothing else", () => {
    const a = { name: "paper-full-w0", backend: { name: "simulated", config: { worldSeed: 0 } }, budgets: [1, 2, 4] }
    const b = { name: "paper-full-w1", backend: { name: "simulated", config: { worldSeed: 1 } }, budgets: [1, 2, 4] }
    expect(jsonDifferences(a, b)).toEqual([
      { path: "name", left: "paper-full-w0", right: "paper-full-w1" },
      { path: "backend.config.worldSeed", left: 0, right: 1 }
    ])
  })

  it("a key on one side only, array items and whole arrays of other lengths", () => {
    expect(jsonDifferences({ a: 1 }, { a: 1, b: 2 })).toEqual([{ path: "b", left: undefined, right: 2 }])
    expect(jsonDifferences({ xs: [1, 2] }, { xs: [1, 3] })).toEqual([{ path: "xs[1]", left: 2, right: 3 }])
    expect(jsonDifferences({ xs: [1, 2] }, { xs: [1] })).toEqual([{ path: "xs", left: [1, 2], right: [1] }])
    expect(jsonDifferences(1, "1")).toEqual([{ path: "(whole)", left: 1, right: "1" }])
  })

  it("no differences exactly when the values serialise the same", () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.jsonValue(), (x, y) => {
        const same = JSON.stringify(x) === JSON.stringify(y)
        if (same) expect(jsonDifferences(x, y)).toEqual([])
        // different values (same key order aside) always show at least one path
        if (jsonDifferences(x, y).length === 0) expect(JSON.stringify(sortKeys(x))).toBe(JSON.stringify(sortKeys(y)))
        expect(jsonDifferences(x, x)).toEqual([])
      })
    )
  })
})

const sortKeys = (x: unknown): unknown =>
  Array.isArray(x)
    ? x.map(sortKeys)
    : typeof x === "object" && x !== null
      ? Object.fromEntries(
          Object.entries(x)
            .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
            .map(([k, v]) => [k, sortKeys(v)])
        )
      : x

describe("jsonDifferences on parsed JSON", () => {
  it("reads own keys only (a __proto__ key is data)", () => {
    const a = JSON.parse('{"x": 1}') as unknown
    const b = JSON.parse('{"x": 1, "__proto__": {"y": 2}}') as unknown
    expect(jsonDifferences(a, b)).toEqual([{ path: "__proto__", left: undefined, right: { y: 2 } }])
  })
})
