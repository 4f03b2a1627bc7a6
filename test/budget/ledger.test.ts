import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Fiber, Scope } from "effect"
import fc from "fast-check"
import * as Ledger from "../../src/budget/Ledger.ts"
import * as Limits from "../../src/budget/Limits.ts"
import * as Pricing from "../../src/budget/Pricing.ts"
import * as Usage from "../../src/domain/Usage.ts"

const RUNS = 1000

// ---------------------------------------------------------------------------------------------
// Arbitraries

const baseMeters = ["calls", "sequences", "inputTokens", "outputTokens", "verifierCalls", "verifierTokens"] as const

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
    verifierCalls: fc.nat(100),
    verifierTokens: fc.nat(5000),
    flops: fc.integer({ min: 0, max: 4_000_000 }),
    usd: fc.double({ min: 0, max: 0.05, noNaN: true })
  },
  { requiredKeys: [] }
)

const pricingArb: fc.Arbitrary<Pricing.Pricing> = fc.record({
  generatorParams: fc.integer({ min: 0, max: 500 }),
  verifierParams: fc.integer({ min: 0, max: 500 }),
  usdPerMillionInput: fc.double({ min: 0, max: 3, noNaN: true }),
  usdPerMillionOutput: fc.double({ min: 0, max: 15, noNaN: true }),
  usdPerMillionVerifier: fc.double({ min: 0, max: 1, noNaN: true })
})

const requestArb = fc.record({
  node: fc.constantFrom("root.nodes.0", "root.nodes.1.body", "root.nodes.2"),
  fixed: usageArb(2),
  perUnit: usageArb(4),
  units: fc.integer({ min: 0, max: 40 }),
  minUnitsFraction: fc.double({ min: 0, max: 1, noNaN: true }),
  // units of different costs (a batch of candidates to score), half of the time
  unitCosts: fc.option(fc.array(usageArb(4), { maxLength: 12 }), { nil: undefined })
})
type RequestDraw = typeof requestArb extends fc.Arbitrary<infer A> ? A : never

const toRequest = (r: RequestDraw): Ledger.ReserveRequest => {
  const units = r.unitCosts === undefined ? r.units : r.unitCosts.length
  return {
    node: r.node,
    fixed: r.fixed,
    perUnit: r.perUnit,
    units,
    minUnits: Math.floor(units * r.minUnitsFraction),
    ...(r.unitCosts === undefined ? {} : { unitCosts: r.unitCosts })
  }
}

// ---------------------------------------------------------------------------------------------
// A simple reference model: a list of open reservations and the committed total.

interface Model {
  readonly limits: Limits.Limits
  readonly pricing: Pricing.Pricing
  committed: Usage.Usage
  byNode: Map<string, Usage.Usage>
  open: Array<Ledger.Reservation>
}

const fits = (m: Model, extra: Usage.Usage): boolean => {
  const reserved = Usage.sum(m.open.map((r) => r.usage))
  const total = Pricing.derive(m.pricing, Usage.add(Usage.add(m.committed, reserved), extra))
  // integer meters exactly, USD and FLOPs with their rounding tolerance
  return Object.entries(m.limits).every(
    ([meter, limit]) => total[meter as Usage.Meter] <= limit + Limits.allowance(meter as Usage.Meter, limit)
  )
}

/** The worst case of the first k units of a request, summed the obvious way. */
const modelCost = (req: Ledger.ReserveRequest, k: number): Usage.Usage =>
  req.unitCosts === undefined
    ? Usage.add(req.fixed, Usage.scale(req.perUnit, k))
    : Usage.sum([req.fixed, ...req.unitCosts.slice(0, k)])

/** The model's grant: scan every k from `units` down (slow but obviously right). */
const modelGrant = (m: Model, req: Ledger.ReserveRequest): number | undefined => {
  const min = req.minUnits ?? req.units
  for (let k = req.units; k >= min; k--) if (fits(m, modelCost(req, k))) return k
  return undefined
}

type Real = ReturnType<typeof Ledger.makeState>

const checkInvariants = (m: Model, real: Real) => {
  const snap = real.snapshot()
  // 1. committed ≤ limit, and committed + reserved ≤ limit, for every limited meter
  for (const [meter, limit] of Object.entries(m.limits)) {
    const tol = 1e-9 * Math.max(1, limit)
    assert.isAtMost(snap.committed[meter as Usage.Meter], limit + tol, `committed ${meter}`)
    assert.isAtMost(snap.committed[meter as Usage.Meter] + snap.reserved[meter as Usage.Meter], limit + tol, meter)
  }
  // 2. total = sum of per-node entries
  const sum = Usage.sum(snap.byNode.map((e) => e.usage))
  for (const meter of baseMeters) assert.strictEqual(sum[meter], snap.committed[meter], `byNode ${meter}`)
  // matches the model
  for (const meter of baseMeters) assert.strictEqual(snap.committed[meter], m.committed[meter], meter)
  assert.strictEqual(snap.open, m.open.length)
  assert.deepStrictEqual(snap.overruns, [])
}

class ReserveCmd implements fc.Command<Model, Real> {
  readonly draw: RequestDraw
  constructor(draw: RequestDraw) {
    this.draw = draw
  }
  check = () => true
  run(m: Model, real: Real) {
    const req = toRequest(this.draw)
    const expected = modelGrant(m, req)
    const outcome = real.tryReserve(req)
    if (expected === undefined) {
      assert.strictEqual(outcome._tag, "Refused")
    } else {
      assert.strictEqual(outcome._tag, "Granted")
      if (outcome._tag === "Granted") {
        // partial grants never exceed what remains, and are maximal
        assert.strictEqual(outcome.reservation.units, expected)
        m.open.push(outcome.reservation)
      }
    }
    checkInvariants(m, real)
  }
  toString = () => `reserve(${JSON.stringify(toRequest(this.draw))})`
}

class CommitCmd implements fc.Command<Model, Real> {
  readonly pick: number
  readonly fraction: number
  constructor(pick: number, fraction: number) {
    this.pick = pick
    this.fraction = fraction
  }
  check = (m: Readonly<Model>) => m.open.length > 0
  run(m: Model, real: Real) {
    const r = m.open.splice(this.pick % m.open.length, 1)[0]
    if (r === undefined) return
    // the call used at most what it reserved
    const actual = Usage.make(Object.fromEntries(baseMeters.map((k) => [k, Math.floor(r.usage[k] * this.fraction)])))
    real.commit(r, actual)
    m.committed = Usage.add(m.committed, actual)
    checkInvariants(m, real)
  }
  toString = () => `commit(${this.pick}, ${this.fraction})`
}

class ReleaseCmd implements fc.Command<Model, Real> {
  readonly pick: number
  constructor(pick: number) {
    this.pick = pick
  }
  check = (m: Readonly<Model>) => m.open.length > 0
  run(m: Model, real: Real) {
    const r = m.open.splice(this.pick % m.open.length, 1)[0]
    if (r === undefined) return
    real.release(r)
    real.release(r) // idempotent
    checkInvariants(m, real)
  }
  toString = () => `release(${this.pick})`
}

const commands = [
  requestArb.map((d) => new ReserveCmd(d)),
  fc.tuple(fc.nat(), fc.double({ min: 0, max: 1, noNaN: true })).map(([p, f]) => new CommitCmd(p, f)),
  fc.nat().map((p) => new ReleaseCmd(p))
]

describe("Ledger", () => {
  it("matches a reference model under any sequence of reserve / commit / release (fc.commands)", () => {
    fc.assert(
      fc.property(limitsArb, pricingArb, fc.commands(commands, { size: "+1" }), (limits, pricing, cmds) => {
        const setup = () => ({
          model: { limits, pricing, committed: Usage.zero, byNode: new Map(), open: [] } satisfies Model,
          real: Ledger.makeState(limits, pricing)
        })
        fc.modelRun(setup, cmds)
      }),
      { numRuns: RUNS }
    )
    // the runs are the check; their time is the machine's (23 s alone, 80 s on a loaded 2-core one)
  }, 240_000)

  it("partial grants never exceed what remains", () => {
    fc.assert(
      fc.property(limitsArb, pricingArb, fc.array(requestArb, { maxLength: 12 }), (limits, pricing, draws) => {
        const real = Ledger.makeState(limits, pricing)
        for (const draw of draws) {
          const req = toRequest(draw)
          const before = real.snapshot()
          const outcome = real.tryReserve(req)
          if (outcome._tag === "Refused") continue
          const { units, usage } = outcome.reservation
          assert.isAtLeast(units, req.minUnits ?? req.units)
          assert.isAtMost(units, req.units)
          const held = Pricing.derive(pricing, Usage.add(Usage.add(before.committed, before.reserved), usage))
          for (const [meter, limit] of Object.entries(limits))
            assert.isAtMost(held[meter as Usage.Meter], limit + 1e-9 * Math.max(1, limit))
        }
      }),
      { numRuns: RUNS }
    )
  })

  it("a limit of 10 sequences grants 10 of 64 and then refuses", () =>
    Effect.runPromise(
      Effect.gen(function* () {
        const ledger = yield* Ledger.make({ sequences: 10 })
        const perUnit = Usage.make({ sequences: 1, outputTokens: 100 })
        const first = yield* Effect.scoped(
          Effect.gen(function* () {
            const r = yield* ledger.reserve({ node: "n", fixed: Usage.zero, perUnit, units: 64, minUnits: 1 })
            yield* ledger.commit(r, Usage.make({ sequences: r.units, outputTokens: 50 * r.units }))
            return r.units
          })
        )
        assert.strictEqual(first, 10)
        const second = yield* Effect.scoped(
          ledger.reserve({ node: "n", fixed: Usage.zero, perUnit, units: 1, minUnits: 1 })
        ).pipe(Effect.flip)
        assert.strictEqual(second._tag, "BudgetRefused")
        assert.strictEqual(second.meter, "sequences")
        assert.match(second.message, /sequences needs 1, 0 left/)
        const snap = yield* ledger.snapshot
        assert.strictEqual(snap.committed.sequences, 10)
        assert.strictEqual(snap.refusals, 1)
      })
    ))

  it("derives FLOPs and USD from token totals and reports overruns", () => {
    const pricing = {
      ...Pricing.free,
      generatorParams: 1e9,
      verifierParams: 2e9,
      usdPerMillionInput: 1,
      usdPerMillionOutput: 2,
      usdPerMillionVerifier: 0.5
    }
    const real = Ledger.makeState({}, pricing)
    const g = real.tryReserve({
      node: "a",
      fixed: Usage.make({ calls: 1 }),
      perUnit: Usage.make({ outputTokens: 10 }),
      units: 1
    })
    assert.strictEqual(g._tag, "Granted")
    if (g._tag !== "Granted") return
    real.commit(g.reservation, Usage.make({ calls: 1, inputTokens: 5, outputTokens: 20, verifierTokens: 100 }))
    const snap = real.snapshot()
    assert.strictEqual(snap.committed.flops, 2 * 1e9 * 25 + 2 * 2e9 * 100)
    assert.closeTo(snap.committed.usd, (5 * 1 + 20 * 2 + 100 * 0.5) / 1e6, 1e-15)
    assert.deepStrictEqual(
      snap.overruns.map((o) => o.meter),
      ["inputTokens", "outputTokens", "verifierTokens"]
    )
  })

  // the ledger adds into its running totals in place: a snapshot must be a copy, never the totals
  it("a snapshot keeps its figures after later grants and commits", () => {
    const real = Ledger.makeState({})
    const ask = { node: "a", fixed: Usage.make({ calls: 1 }), perUnit: Usage.make({ outputTokens: 10 }), units: 2 }
    const first = real.tryReserve(ask)
    assert.strictEqual(first._tag, "Granted")
    if (first._tag !== "Granted") return
    real.commit(first.reservation, Usage.make({ calls: 1, outputTokens: 15, wallMs: 3 }))
    const before = real.snapshot()
    const copy = structuredClone(before)
    const second = real.tryReserve({ ...ask, node: "b" })
    const third = real.tryReserve(ask)
    assert.isTrue(second._tag === "Granted" && third._tag === "Granted")
    if (second._tag !== "Granted" || third._tag !== "Granted") return
    real.commit(third.reservation, Usage.make({ calls: 1, outputTokens: 4, wallMs: 1 }))
    assert.deepStrictEqual(before, copy)
    const after = real.snapshot()
    assert.strictEqual(after.committed.outputTokens, 19)
    assert.strictEqual(after.reserved.outputTokens, 20)
    assert.deepStrictEqual(
      after.byNode.map((n) => [n.node, n.usage.outputTokens]),
      [["a", 19]]
    )
  })

  it("nothing stays reserved after concurrent fibers succeed, fail or are interrupted", async () => {
    await fc.assert(
      fc.asyncProperty(
        limitsArb,
        fc.array(
          fc.record({
            request: requestArb,
            outcome: fc.constantFrom("commit", "fail", "die", "hang"),
            yields: fc.nat(5),
            interruptAfter: fc.option(fc.nat(8), { nil: undefined })
          }),
          { minLength: 1, maxLength: 24 }
        ),
        async (limits, jobs) => {
          const program = Effect.gen(function* () {
            const ledger = yield* Ledger.make(limits)
            const violations: Array<string> = []
            const check = Effect.gen(function* () {
              const s = yield* ledger.snapshot
              for (const [meter, limit] of Object.entries(limits)) {
                const m = meter as Usage.Meter
                if (s.committed[m] + s.reserved[m] > limit + 1e-9 * Math.max(1, limit)) violations.push(meter)
              }
            })
            const job = (j: (typeof jobs)[number]) =>
              Effect.scoped(
                Effect.gen(function* () {
                  const r = yield* ledger.reserve(toRequest(j.request))
                  yield* check
                  for (let i = 0; i < j.yields; i++) yield* Effect.yieldNow
                  if (j.outcome === "fail") return yield* Effect.fail("backend failed")
                  if (j.outcome === "die") return yield* Effect.die("defect")
                  if (j.outcome === "hang") return yield* Effect.never
                  yield* ledger.commit(r, Usage.make({ sequences: r.usage.sequences }))
                  yield* check
                })
              ).pipe(Effect.exit)
            const fibers = yield* Effect.forEach(jobs, (j) => Effect.forkChild(job(j)))
            yield* Effect.forEach(jobs, (j, i) => {
              const fiber = fibers[i]
              if (fiber === undefined) return Effect.void
              if (j.interruptAfter === undefined && j.outcome !== "hang") return Fiber.join(fiber)
              return Effect.gen(function* () {
                for (let k = 0; k < (j.interruptAfter ?? 0); k++) yield* Effect.yieldNow
                yield* Fiber.interrupt(fiber)
              })
            })
            const snap = yield* ledger.snapshot
            assert.deepStrictEqual(violations, [])
            assert.strictEqual(snap.open, 0)
            for (const m of baseMeters) assert.strictEqual(snap.reserved[m], 0)
            for (const [meter, limit] of Object.entries(limits))
              assert.isAtMost(snap.committed[meter as Usage.Meter], limit + 1e-9 * Math.max(1, limit))
          })
          await Effect.runPromise(Effect.scoped(program))
        }
      ),
      { numRuns: RUNS }
    )
  })

  it("releases on scope close even without commit", () =>
    Effect.runPromise(
      Effect.gen(function* () {
        const ledger = yield* Ledger.make({ sequences: 4 })
        const scope = yield* Scope.make()
        yield* ledger
          .reserve({ node: "n", fixed: Usage.zero, perUnit: Usage.make({ sequences: 1 }), units: 4 })
          .pipe(Scope.provide(scope))
        assert.strictEqual((yield* ledger.snapshot).reserved.sequences, 4)
        yield* Scope.close(scope, Exit.void)
        assert.strictEqual((yield* ledger.snapshot).reserved.sequences, 0)
      })
    ))
})

describe("Ledger: exact meters, holds, shrinking (issue 15)", () => {
  it("integer meters are exact: a limit of 3e9 output tokens never grants 3e9 + 3", () => {
    const real = Ledger.makeState({ outputTokens: 3e9 })
    const over = real.tryReserve({
      node: "n",
      fixed: Usage.zero,
      perUnit: Usage.make({ outputTokens: 3e9 + 3 }),
      units: 1
    })
    assert.strictEqual(over._tag, "Refused")
    const exact = real.tryReserve({
      node: "n",
      fixed: Usage.zero,
      perUnit: Usage.make({ outputTokens: 3e9 }),
      units: 1
    })
    assert.strictEqual(exact._tag, "Granted")
    assert.isFalse(Limits.within(Usage.make({ outputTokens: 3e9 + 1 }), { outputTokens: 3e9 }))
    assert.isTrue(Limits.within(Usage.make({ usd: 0.1 + 0.2 }), { usd: 0.3 }), "usd keeps its rounding tolerance")
  })

  it("shrink: when not one unit fits, one is granted with what remains of the shrinking meter", () => {
    const real = Ledger.makeState({ outputTokens: 1000, calls: 5 })
    const request = {
      node: "n",
      fixed: Usage.make({ calls: 1 }),
      perUnit: Usage.make({ sequences: 1, outputTokens: 4096 }),
      units: 3,
      minUnits: 1,
      shrink: { meter: "outputTokens" as const, min: 1 }
    }
    const g = real.tryReserve(request)
    assert.strictEqual(g._tag, "Granted")
    if (g._tag !== "Granted") return
    assert.strictEqual(g.reservation.units, 1)
    assert.strictEqual(g.reservation.shrunk, 1000)
    assert.strictEqual(g.reservation.usage.outputTokens, 1000)
    // nothing left: not even one token; a tentative ask is not counted as a refusal
    assert.strictEqual(real.tryReserve({ ...request, tentative: true })._tag, "Refused")
    assert.strictEqual(real.snapshot().refusals, 0)
    assert.strictEqual(real.tryReserve(request)._tag, "Refused")
    assert.strictEqual(real.snapshot().refusals, 1)
  })

  it("a hold: only requests naming it use it, and committed + reserved never passes a limit, USD included", () => {
    const opArb = fc.record({
      finishing: fc.boolean(),
      request: requestArb,
      settle: fc.constantFrom("commit", "release", "keep"),
      fraction: fc.double({ min: 0, max: 1, noNaN: true })
    })
    fc.assert(
      fc.property(
        limitsArb,
        pricingArb,
        usageArb(6),
        fc.array(opArb, { maxLength: 14 }),
        (limits, pricing, kept, ops) => {
          const real = Ledger.makeState(limits, pricing)
          const hold = real.hold("root#reserve", kept)
          const within = () => {
            const s = real.snapshot()
            for (const [meter, limit] of Object.entries(limits))
              assert.isAtMost(
                s.committed[meter as Usage.Meter] + s.reserved[meter as Usage.Meter],
                limit + Limits.allowance(meter as Usage.Meter, limit),
                meter
              )
          }
          within()
          for (const op of ops) {
            const req = toRequest(op.request)
            const before = real.snapshot()
            const outcome = real.tryReserve(op.finishing && hold !== undefined ? { ...req, hold } : req)
            if (outcome._tag === "Granted" && !op.finishing) {
              // an ordinary grant fits beside everything held: the hold is not its to use
              const total = Pricing.derive(
                pricing,
                Usage.add(Usage.add(before.committed, before.reserved), outcome.reservation.usage)
              )
              for (const [meter, limit] of Object.entries(limits))
                assert.isAtMost(
                  total[meter as Usage.Meter],
                  limit + Limits.allowance(meter as Usage.Meter, limit),
                  meter
                )
            }
            within()
            if (outcome._tag === "Granted") {
              const r = outcome.reservation
              if (op.settle === "commit")
                real.commit(
                  r,
                  Usage.make(Object.fromEntries(baseMeters.map((k) => [k, Math.floor(r.usage[k] * op.fraction)])))
                )
              else if (op.settle === "release") real.release(r)
            }
            within()
          }
          if (hold !== undefined) real.releaseHold(hold)
          const s = real.snapshot()
          for (const m of baseMeters) assert.isAtLeast(s.reserved[m], 0, m)
          assert.strictEqual(s.held.calls + s.held.outputTokens + s.held.verifierTokens, 0)
        }
      ),
      { numRuns: RUNS }
    )
  })

  it("a hold in a share is held in the parent too, and a finishing grant draws on both", () =>
    Effect.runPromise(
      Effect.gen(function* () {
        const parent = yield* Ledger.make({ sequences: 10 })
        const share = yield* Ledger.makeShare(parent, { sequences: 5 })
        const hold = yield* share.hold("b0#reserve", Usage.make({ sequences: 2 }))
        if (hold === undefined) return assert.fail("the share can hold 2 of its 5")
        assert.strictEqual((yield* parent.snapshot).reserved.sequences, 2)
        const perUnit = Usage.make({ sequences: 1 })
        // ordinary work gets the 3 the hold leaves; finishing work the hold's 2 as well
        yield* Effect.scoped(
          Effect.gen(function* () {
            const ordinary = yield* share.reserve({ node: "n", fixed: Usage.zero, perUnit, units: 5, minUnits: 1 })
            assert.strictEqual(ordinary.units, 3)
            yield* share.commit(ordinary, Usage.make({ sequences: 3 }))
            const finishing = yield* share.reserve({
              node: "n",
              fixed: Usage.zero,
              perUnit,
              units: 5,
              minUnits: 1,
              hold
            })
            assert.strictEqual(finishing.units, 2)
            yield* share.commit(finishing, Usage.make({ sequences: 2 }))
          })
        )
        yield* share.releaseHold(hold)
        const p = yield* parent.snapshot
        assert.strictEqual(p.committed.sequences, 5)
        assert.strictEqual(p.reserved.sequences, 0)
        assert.strictEqual(p.open, 0)
      })
    ))
})
