/**
 * The CLI's number and name formatting without ICU: `grouped` prints what
 * `toLocaleString("en-US")` prints for every integer `fmt` gives it, and `byName` orders graph names
 * as `localeCompare` does (the plain path for lowercase names, `localeCompare` for the rest).
 */
import { assert, describe, it } from "@effect/vitest"
import fc from "fast-check"
import { fmt, grouped } from "../../src/cli/Table.ts"
import { byName } from "../../src/graph/List.ts"

describe("grouped", () => {
  it("prints what toLocaleString('en-US') prints, for any integer below 1e12", () => {
    for (const n of [
      0, -0, 1, -1, 999, 1000, -1000, 999_999, 1_000_000, 123_456_789, 999_999_999_999, -999_999_999_999
    ])
      assert.strictEqual(grouped(n), n.toLocaleString("en-US"), String(n))
    fc.assert(
      fc.property(fc.integer({ min: -999_999_999_999, max: 999_999_999_999 }), (n) => {
        assert.strictEqual(grouped(n), n.toLocaleString("en-US"))
      }),
      { numRuns: 2000 }
    )
  })

  it("is what fmt prints for integers and rounded floats ≥ 100", () => {
    fc.assert(
      fc.property(fc.double({ min: -1e12, max: 1e12, noNaN: true }), (x) => {
        const expected = Number.isInteger(x)
          ? x.toLocaleString("en-US")
          : Math.abs(x) >= 100
            ? Math.round(x).toLocaleString("en-US")
            : x.toPrecision(3)
        assert.strictEqual(fmt(x), Math.abs(x) >= 1e12 ? x.toExponential(2) : expected)
      }),
      { numRuns: 2000 }
    )
    assert.strictEqual(fmt(1234567), "1,234,567")
    assert.strictEqual(fmt(-1234.6), "-1,235")
  })
})

describe("byName", () => {
  const sign = (n: number) => Math.sign(n)
  it("orders as localeCompare, for plain names and any others", () => {
    const plain = fc.string({ unit: fc.constantFrom(..."abcz09-."), maxLength: 8 })
    const other = fc.string({ unit: fc.constantFrom(..."abAB_-.é0 "), maxLength: 6 })
    for (const arb of [plain, other, fc.oneof(plain, other)])
      fc.assert(
        fc.property(arb, arb, (a, b) => {
          assert.strictEqual(
            sign(byName(a, b)),
            sign(a.localeCompare(b)),
            `${JSON.stringify(a)} vs ${JSON.stringify(b)}`
          )
        }),
        { numRuns: 3000 }
      )
  })

  it("sorts the built-in names as localeCompare does", () => {
    const names = ["best-of-n", "beam-search", "beam-search-sqrt", "dvts", "ab-mcts", "Beam", "a_b", "a-c", "a0"]
    assert.deepStrictEqual(
      [...names].sort(byName),
      [...names].sort((a, b) => a.localeCompare(b))
    )
  })
})
