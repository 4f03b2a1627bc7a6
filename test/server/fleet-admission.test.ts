/**
 * The fleet budget's decision (a pure function): grants `min(want, remaining)` per limited meter,
 * the tightest period binding; refuses when a meter cannot pay the first call, saying what remains,
 * when the windows reset and how long to wait; never grants more than a limit leaves, over random
 * limits and requests.
 */
import { assert, describe, it } from "@effect/vitest"
import fc from "fast-check"
import { type Meter, zero } from "../../src/domain/Usage.ts"
import { decide, type LimitState, narrow, RESERVED_RETRY_SECONDS } from "../../src/server/FleetAdmission.ts"

const now = new Date("2026-12-05T10:00:00.000Z")
const midnight = new Date("2026-12-06T00:00:00.000Z")
const nextHour = new Date("2026-12-05T11:00:00.000Z")
const first = { ...zero, calls: 1, sequences: 1, outputTokens: 512 }

const limit = (over: Partial<LimitState> & Pick<LimitState, "meter">): LimitState => ({
  period: "day",
  amount: 100,
  used: 0,
  reserved: 0,
  resetsAt: midnight,
  ...over
})

describe("fleet admission", () => {
  it("grants what is wanted within what remains; unlimited meters are not touched", () => {
    const d = decide([limit({ meter: "sequences", used: 90 })], { sequences: 64, outputTokens: 9999 }, first, now)
    assert.deepStrictEqual(d, { _tag: "Granted", granted: { sequences: 10 } })
    assert.deepStrictEqual(narrow({ sequences: 64, outputTokens: 9999 }, { sequences: 10 }), {
      sequences: 10,
      outputTokens: 9999
    })
  })

  it("an unbounded want takes what remains; the tightest period binds", () => {
    const d = decide(
      [
        limit({ meter: "outputTokens", period: "hour", amount: 10_000, used: 2_000, resetsAt: nextHour }),
        limit({ meter: "outputTokens", period: "total", amount: 1_000_000, used: 995_000, resetsAt: undefined })
      ],
      {},
      first,
      now
    )
    assert.deepStrictEqual(d, { _tag: "Granted", granted: { outputTokens: 5_000 } })
  })

  it("reservations in flight count against what remains", () => {
    const d = decide([limit({ meter: "sequences", used: 50, reserved: 45 })], { sequences: 16 }, first, now)
    assert.deepStrictEqual(d, { _tag: "Granted", granted: { sequences: 5 } })
  })

  it("refuses when committed usage leaves too little for the first call: remaining, reset, wait until it", () => {
    const d = decide(
      [limit({ meter: "outputTokens", amount: 10_000, used: 9_800 })],
      { outputTokens: 4096 },
      first,
      now
    )
    assert.strictEqual(d._tag, "Refused")
    if (d._tag !== "Refused") return
    assert.deepStrictEqual(d.exhausted, ["outputTokens"])
    assert.deepStrictEqual(d.remaining, { outputTokens: 200 })
    assert.deepStrictEqual(d.resets, { outputTokens: midnight.toISOString() })
    assert.strictEqual(d.retryAfterSeconds, 14 * 3600)
  })

  it("refuses for a moment when reservations, not usage, hold the rest", () => {
    const d = decide([limit({ meter: "sequences", used: 60, reserved: 40 })], { sequences: 4 }, first, now)
    assert.strictEqual(d._tag, "Refused")
    if (d._tag === "Refused") {
      assert.strictEqual(d.retryAfterSeconds, RESERVED_RETRY_SECONDS)
      assert.deepStrictEqual(d.remaining, { sequences: 0 })
    }
  })

  it("a total limit never resets", () => {
    const d = decide(
      [limit({ meter: "calls", period: "total", amount: 3, used: 3, resetsAt: undefined })],
      {},
      first,
      now
    )
    assert.strictEqual(d._tag, "Refused")
    if (d._tag === "Refused") assert.deepStrictEqual(d.resets, { calls: null })
  })

  it("a meter the first call does not use may be exhausted", () => {
    const d = decide([limit({ meter: "verifierCalls", used: 100 })], { verifierCalls: 8 }, first, now)
    assert.deepStrictEqual(d, { _tag: "Granted", granted: { verifierCalls: 0 } })
  })

  it("never grants more than a limit leaves, and grants whenever the first call fits", () => {
    const meters: ReadonlyArray<Meter> = ["calls", "sequences", "outputTokens"]
    const state = fc.record({
      meter: fc.constantFrom(...meters),
      period: fc.constantFrom("minute", "day", "total" as const),
      amount: fc.integer({ min: 0, max: 1000 }),
      used: fc.integer({ min: 0, max: 1200 }),
      reserved: fc.integer({ min: 0, max: 500 })
    })
    fc.assert(
      fc.property(
        fc.array(state, { minLength: 1, maxLength: 5 }),
        fc.record({ calls: fc.integer({ min: 0, max: 600 }), sequences: fc.integer({ min: 0, max: 600 }) }),
        fc.record({ calls: fc.integer({ min: 0, max: 3 }), sequences: fc.integer({ min: 0, max: 3 }) }),
        (raw, extra, min) => {
          const limits = raw.map((l) => ({ ...l, resetsAt: l.period === "total" ? undefined : midnight }))
          const minimum = { ...zero, ...min }
          // a request's worst case covers its first call (the server refuses one that does not)
          const want = { calls: min.calls + extra.calls, sequences: min.sequences + extra.sequences }
          const d = decide(limits, want, minimum, now)
          for (const meter of meters) {
            const mine = limits.filter((l) => l.meter === meter)
            if (mine.length === 0) continue
            const left = Math.max(0, Math.min(...mine.map((l) => l.amount - l.used - l.reserved)))
            if (d._tag === "Granted") {
              const g = d.granted[meter] ?? Number.POSITIVE_INFINITY
              assert.isAtMost(g, left)
              assert.isAtLeast(g, minimum[meter])
            } else assert.strictEqual(d.remaining[meter], left)
          }
          if (d._tag === "Refused")
            assert.isTrue(
              d.exhausted.every(
                (m) => (d.remaining[m] ?? 0) < minimum[m] || ((d.remaining[m] ?? 0) <= 0 && minimum[m] > 0)
              )
            )
        }
      ),
      { numRuns: 500 }
    )
  })
})
