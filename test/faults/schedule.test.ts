import { assert, describe, it } from "@effect/vitest"
import { Schema } from "effect"
import * as Faults from "../../plugins/faults/index.ts"

describe("fault schedules", () => {
  it("draws the same fault for the same (seed, call, attempt)", () => {
    const rates = { rateLimited: 0.2, unavailable: 0.2 }
    for (let a = 0; a < 50; a++) assert.strictEqual(Faults.draw(3, rates, "k", a), Faults.draw(3, rates, "k", a))
  })

  it("draws each fault with its rate", () => {
    const rates = { rateLimited: 0.1, unavailable: 0.3 }
    const counts = new Map<string | undefined, number>()
    const n = 20_000
    for (let i = 0; i < n; i++) {
      const f = Faults.draw(9, rates, `call${i}`, 0)
      counts.set(f, (counts.get(f) ?? 0) + 1)
    }
    assert.closeTo((counts.get("rateLimited") ?? 0) / n, 0.1, 0.01)
    assert.closeTo((counts.get("unavailable") ?? 0) / n, 0.3, 0.015)
    assert.closeTo((counts.get(undefined) ?? 0) / n, 0.6, 0.015)
  })

  it("rate 1 always, rate 0 never", () => {
    for (let a = 0; a < 20; a++) {
      assert.strictEqual(Faults.draw(1, { nan: 1 }, "x", a), "nan")
      assert.strictEqual(Faults.draw(1, { nan: 0 }, "x", a), undefined)
    }
  })

  it("names bad fields and rates that sum past 1", () => {
    const bad = Schema.decodeUnknownExit(Faults.FaultSchedule)({ seed: 1, generator: { rateLimited: 2 } })
    assert.isTrue(bad._tag === "Failure")
    assert.match(String(bad), /rateLimited/u)
    assert.deepStrictEqual(Faults.check({ seed: 1, generator: { rateLimited: 0.7, unavailable: 0.6 } }), [
      "generator: rates sum to 1.3, more than 1"
    ])
  })
})
