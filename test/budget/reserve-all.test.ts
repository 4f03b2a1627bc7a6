import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Fiber, Scope } from "effect"
import fc from "fast-check"
import * as Ledger from "../../src/budget/Ledger.ts"
import type * as Limits from "../../src/budget/Limits.ts"
import * as Usage from "../../src/domain/Usage.ts"
import { guarded } from "../../src/server/Guard.ts"

// `reserveAll` reserves a node's calls in one step: it must grant exactly what `reserve` grants
// one request after another (stopping at the first refusal), and its grants must be released
// when their scope closes — on failure and on interruption — like any reservation.

const SCALE = Number(process.env.MULL_PROPERTY_SCALE ?? 1)

const usageArb = (max: number): fc.Arbitrary<Usage.Usage> =>
  fc
    .record({
      calls: fc.nat(Math.min(max, 3)),
      sequences: fc.nat(max),
      inputTokens: fc.nat(max * 20),
      outputTokens: fc.nat(max * 50),
      verifierCalls: fc.nat(max),
      verifierTokens: fc.nat(max * 40)
    })
    .map((m) => Usage.make(m))

const limitsArb: fc.Arbitrary<Limits.Limits> = fc.record(
  {
    calls: fc.nat(40),
    sequences: fc.nat(120),
    inputTokens: fc.nat(3000),
    outputTokens: fc.nat(6000),
    verifierTokens: fc.nat(5000)
  },
  { requiredKeys: [] }
)

const requestArb: fc.Arbitrary<Ledger.ReserveRequest> = fc
  .record({
    node: fc.constantFrom("root.nodes.0", "root.nodes.1"),
    fixed: usageArb(2),
    perUnit: usageArb(4),
    units: fc.integer({ min: 0, max: 16 }),
    minFraction: fc.double({ min: 0, max: 1, noNaN: true }),
    tentative: fc.boolean(),
    shrink: fc.boolean(),
    unitCosts: fc.option(fc.array(usageArb(4), { maxLength: 6 }), { nil: undefined })
  })
  .map((r) => {
    const units = r.unitCosts === undefined ? r.units : r.unitCosts.length
    const request: {
      -readonly [K in keyof Ledger.ReserveRequest]: Ledger.ReserveRequest[K]
    } = { node: r.node, fixed: r.fixed, perUnit: r.perUnit, units, minUnits: Math.floor(units * r.minFraction) }
    if (r.unitCosts !== undefined) request.unitCosts = r.unitCosts
    if (r.tentative) request.tentative = true
    if (r.shrink && r.unitCosts === undefined) request.shrink = { meter: "outputTokens", min: 1 }
    return request
  })

/** What a grant or refusal says, for comparing two ledgers. */
const described = (granted: Ledger.Granted) => ({
  grants: granted.reservations.map((r) => ({ node: r.node, units: r.units, usage: r.usage, shrunk: r.shrunk })),
  refusal:
    granted.refusal === undefined
      ? undefined
      : {
          node: granted.refusal.node,
          meter: granted.refusal.meter,
          requested: granted.refusal.requested,
          available: granted.refusal.available
        }
})

const snapshotOf = (s: Ledger.LedgerSnapshot) => ({
  reserved: s.reserved,
  committed: s.committed,
  open: s.open,
  refusals: s.refusals
})

type Kind = "plain" | "share" | "tracked" | "guarded"

const ledgerOf = (kind: Kind, limits: Limits.Limits, gauge: { value: number }): Ledger.LedgerShape => {
  switch (kind) {
    case "plain":
      return Ledger.makeUnsafe(limits)
    case "share":
      return Ledger.makeShareUnsafe(Ledger.makeUnsafe({}), limits)
    case "tracked":
      return Ledger.tracked(Ledger.makeUnsafe(limits), gauge)
    case "guarded":
      return guarded(Ledger.makeUnsafe(limits), { soft: { inputTokens: 1_000_000 }, deadline: undefined, now: () => 0 })
  }
}

describe("Ledger.reserveAll", () => {
  it("grants what reserve grants request by request, stopping at the first refusal, and releases it all with its scope", () =>
    fc.assert(
      fc.asyncProperty(
        fc.constantFrom<Kind>("plain", "share", "tracked", "guarded"),
        limitsArb,
        fc.array(requestArb, { maxLength: 8 }),
        async (kind, limits, requests) => {
          const gaugeA = { value: 0 }
          const gaugeB = { value: 0 }
          const batch = ledgerOf(kind, limits, gaugeA)
          const single = ledgerOf(kind, limits, gaugeB)
          await Effect.runPromise(
            Effect.gen(function* () {
              const scopeA = yield* Scope.make()
              const scopeB = yield* Scope.make()
              const a = yield* batch.reserveAll(requests).pipe(Scope.provide(scopeA))
              const b = yield* Ledger.reserveEachWith(single.reserve)(requests).pipe(Scope.provide(scopeB))
              assert.deepStrictEqual(described(a), described(b))
              assert.deepStrictEqual(snapshotOf(yield* batch.snapshot), snapshotOf(yield* single.snapshot))
              assert.strictEqual(gaugeA.value, gaugeB.value)
              // the first grant committed, the rest released when the scope closes (a failure)
              const [first] = a.reservations
              if (first !== undefined) yield* batch.commit(first, first.usage)
              yield* Scope.close(scopeA, Exit.fail("a later call failed"))
              const after = yield* batch.snapshot
              assert.strictEqual(after.open, 0)
              for (const m of Usage.METERS) assert.strictEqual(after.reserved[m], 0, m)
              assert.deepStrictEqual(after.committed, first === undefined ? Usage.zero : first.usage)
              assert.strictEqual(gaugeA.value, 0)
              yield* Scope.close(scopeB, Exit.void)
            })
          )
        }
      ),
      { numRuns: 200 * SCALE }
    ))

  it("an interrupted node's batch is released", () =>
    Effect.runPromise(
      Effect.gen(function* () {
        const gauge = { value: 0 }
        const ledger = Ledger.tracked(Ledger.makeUnsafe({ sequences: 10 }), gauge)
        const ask: Ledger.ReserveRequest = {
          node: "n",
          fixed: Usage.zero,
          perUnit: Usage.make({ sequences: 1 }),
          units: 4
        }
        const fiber = yield* Effect.forkChild(
          Effect.scoped(Effect.andThen(ledger.reserveAll([ask, ask, ask]), Effect.never))
        )
        yield* Effect.yieldNow
        const during = yield* ledger.snapshot
        // two whole asks fit in 10; the third is refused and ends the batch
        assert.strictEqual(during.reserved.sequences, 8)
        assert.strictEqual(during.open, 2)
        assert.strictEqual(gauge.value, 2)
        yield* Fiber.interrupt(fiber)
        const after = yield* ledger.snapshot
        assert.strictEqual(after.reserved.sequences, 0)
        assert.strictEqual(after.open, 0)
        assert.strictEqual(gauge.value, 0)
      })
    ))

  it("a wrapper's own checks apply to a batch: the guard refuses past its deadline", () =>
    Effect.runPromise(
      Effect.gen(function* () {
        let now = 1000
        const ledger = guarded(Ledger.makeUnsafe({}), { soft: {}, deadline: 2000, now: () => now })
        const ask: Ledger.ReserveRequest = { node: "n", fixed: Usage.make({ calls: 1 }), perUnit: Usage.zero, units: 1 }
        const before = yield* Effect.scoped(ledger.reserveAll([ask, ask]))
        assert.strictEqual(before.reservations.length, 2)
        now = 2000
        const after = yield* Effect.scoped(ledger.reserveAll([ask, ask]))
        assert.strictEqual(after.reservations.length, 0)
        assert.strictEqual(after.refusal?.meter, "wallMs")
      })
    ))
})
