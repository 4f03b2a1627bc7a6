/**
 * The budget promise under backend faults (issue 9): random graphs × random fault schedules ×
 * random budgets × random interruption, on the simulated backend wrapped in the fault injector
 * (429 with retry-after, 500, connection reset, timeouts, latency spikes, malformed output, fewer
 * choices than asked, over-long outputs, NaN and out-of-range verifier scores). For every run:
 *
 * - committed ≤ limit on every limited meter at every moment; nothing stays reserved; the ledger's
 *   total is the sum of its per-node entries; no overrun is ever charged;
 * - the run returns a RunResult or fails with a tagged error (or is interrupted) — never a defect;
 * - retries are on the ledger: a finished run's calls equal the attempts that reached the backend;
 * - no bad verifier score is ever used: every score in a result is a number in [0, 1];
 * - counted *at the backend*, below the fault injector (issue 15): what the backend really did —
 *   requests, sequences and tokens generated, tokens read, and for a request it never finished
 *   (interrupted, or its reply lost to a fault) everything it was asked for — never exceeds a limit,
 *   and the ledger's `backendUsage` is never less than it.
 *
 * `MULL_PROPERTY_SCALE=10` runs ten times as many cases.
 */
import { assert, describe, it } from "@effect/vitest"
import { Cause, Effect, Exit, Fiber, Layer, ManagedRuntime } from "effect"
import fc from "fast-check"
import * as Faults from "../../plugins/faults/index.ts"
import * as Simulated from "../../plugins/simulated/index.ts"
import * as MathGrader from "../../src/answer/MathGrader.ts"
import * as Ledger from "../../src/budget/Ledger.ts"
import type * as Limits from "../../src/budget/Limits.ts"
import * as Pricing from "../../src/budget/Pricing.ts"
import * as Usage from "../../src/domain/Usage.ts"
import * as Loader from "../../src/graph/Loader.ts"
import { execute, pricingOf } from "../../src/runtime/Run.ts"
import { RunEvents } from "../../src/runtime/RunEvents.ts"
import { BackendError } from "../../src/services/BackendError.ts"
import { Generator, type GeneratorShape } from "../../src/services/Generator.ts"
import { Verifier, type VerifierShape } from "../../src/services/Verifier.ts"
import { type Case, caseArb, eventsTo, MAX_TOKENS, over, PRICES, watched } from "../runtime/harness.ts"

const base = ManagedRuntime.make(
  Layer.mergeAll(Simulated.layer({ generator: { maxTokens: MAX_TOKENS } }), MathGrader.layer)
)

const rate = fc.noBias(fc.integer({ min: 0, max: 15 })).map((p) => p / 100)
const rare = fc.noBias(fc.integer({ min: 0, max: 4 })).map((p) => p / 100)

const scheduleArb: fc.Arbitrary<Faults.FaultSchedule> = fc.record({
  seed: fc.integer({ min: 0, max: 1_000_000 }),
  generator: fc.record(
    {
      rateLimited: rate,
      unavailable: rate,
      reset: rate,
      timeout: rare,
      spike: rate,
      malformed: rare,
      fewerChoices: rare,
      overlong: rare
    },
    { requiredKeys: [] }
  ),
  verifier: fc.record(
    {
      rateLimited: rate,
      unavailable: rate,
      timeout: rare,
      spike: rate,
      nan: rare,
      outOfRange: rare,
      fewerScores: rare
    },
    { requiredKeys: [] }
  ),
  retryAfterMs: fc.constantFrom(0, 1),
  timeoutMs: fc.constantFrom(0, 1),
  spikeMs: fc.constantFrom(0, 1, 2)
})

const faultCaseArb = fc.record({
  case: caseArb,
  schedule: scheduleArb,
  retries: fc.integer({ min: 0, max: 4 }),
  concurrency: fc.constantFrom(1, 8, 64),
  /** interrupt after this fraction of the yields a whole run takes (≥ 1: never) */
  interruptAt: fc.oneof(fc.constant(2), fc.double({ min: 0, max: 1, noNaN: true }))
})
type FaultCase = typeof faultCaseArb extends fc.Arbitrary<infer A> ? A : never

/** The errors a run may end with (besides interruption). */
const TAGGED = new Set(["BudgetTooSmall", "RateLimited", "Timeout", "BadResponse", "Unavailable", "InvalidValue"])

const stats = {
  runs: 0,
  ok: 0,
  exhausted: 0,
  failed: new Map<string, number>(),
  interrupted: 0,
  injected: 0,
  retried: 0
}

/**
 * What the backend itself did, counted below the fault injector: a request is counted as soon as it
 * reaches the backend with everything it asks for (n sequences at max_tokens, its prompt, the
 * candidates it must read) as *pending* — what the provider may do — and, when the backend
 * answers, with what it really did instead.
 */
interface Real {
  done: Usage.Usage
  pending: Usage.Usage
}

const realUsage = (r: Real): Usage.Usage => Usage.add(r.done, r.pending)

/** The raw generator and verifier, counting what they do into `real` (a few yields in between, so interruptions land inside). */
const counted = (generator: GeneratorShape, verifier: VerifierShape, real: Real) => {
  const track = <A>(asked: Usage.Usage, call: Effect.Effect<A, BackendError>, did: (a: A) => Usage.Usage) =>
    Effect.gen(function* () {
      real.pending = Usage.add(real.pending, asked)
      yield* Effect.yieldNow
      const a = yield* call
      real.pending = Usage.subtract(real.pending, asked)
      real.done = Usage.add(real.done, did(a))
      return a
    })
  const g: GeneratorShape = {
    ...generator,
    generate: (r) =>
      // a generative verifier's (or a consistency judge's) call is verifier work: the meters charge
      // it to calls, verifierCalls and verifierTokens (prompt + outputs), never to sequences
      r.verify !== undefined || r.judge !== undefined
        ? track(
            Usage.make({
              calls: 1,
              verifierCalls: 1,
              verifierTokens: (generator.promptTokens?.(r) ?? 0) + r.n * r.maxTokens
            }),
            generator.generate(r),
            (out) =>
              Usage.make({
                calls: 1,
                verifierCalls: 1,
                verifierTokens: out.inputTokens + out.generations.reduce((t, x) => t + x.outputTokens, 0)
              })
          )
        : track(
            Usage.make({
              calls: 1,
              sequences: r.n,
              outputTokens: r.n * r.maxTokens,
              inputTokens: generator.promptTokens?.(r) ?? 0
            }),
            generator.generate(r),
            (out) =>
              Usage.make({
                calls: 1,
                sequences: out.generations.length,
                outputTokens: out.generations.reduce((t, x) => t + x.outputTokens, 0),
                inputTokens: out.inputTokens
              })
          )
  }
  const v: VerifierShape = {
    ...verifier,
    score: (r) =>
      track(
        Usage.make({
          calls: 1,
          verifierCalls: r.candidates.length,
          verifierTokens: r.candidates.reduce((t, x) => t + (verifier.inputTokens?.(r.problem, x) ?? 0), 0)
        }),
        verifier.score(r),
        (out) => Usage.make({ calls: 1, verifierCalls: r.candidates.length, verifierTokens: out.inputTokens })
      )
  }
  return { generator: g, verifier: v }
}

/** The backend with faults injected and every attempt that reaches it counted. */
const faultyBackend = (c: FaultCase, counts: Faults.FaultCounts, attempts: { value: number }, real: Real) =>
  Effect.gen(function* () {
    const options = { schedule: c.schedule, retry: { retries: c.retries, baseDelayMs: 0, maxDelayMs: 1 }, counts }
    const raw = counted(yield* Generator, yield* Verifier, real)
    const g = Faults.wrapGenerator(raw.generator, options)
    const v = Faults.wrapVerifier(raw.verifier, options)
    const generator: GeneratorShape = {
      ...g,
      generate: (r) =>
        Effect.suspend(() => {
          attempts.value += 1
          return g.generate(r)
        })
    }
    const verifier: VerifierShape = {
      ...v,
      score: (r) =>
        Effect.suspend(() => {
          attempts.value += 1
          return v.score(r)
        })
    }
    return { generator, verifier }
  })

const run = (c: FaultCase, limits: Limits.Limits, interruptAfter: number) =>
  Effect.gen(function* () {
    const counts = Faults.makeCounts()
    const attempts = { value: 0 }
    const real: Real = { done: Usage.zero, pending: Usage.zero }
    const { generator, verifier } = yield* faultyBackend(c, counts, attempts, real)
    const violations: Array<string> = []
    const inner = yield* Ledger.make(limits, pricingOf(generator, verifier, PRICES))
    const loaded = yield* Loader.fromJson(c.case.doc).pipe(Effect.orDie)
    const program = execute(loaded, c.case.problem, {
      params: c.case.params,
      seed: c.case.seed,
      concurrency: c.concurrency
    }).pipe(
      Effect.provideService(Ledger.Ledger, watched(inner, violations, [])),
      Effect.provideService(
        RunEvents,
        eventsTo(() => undefined)
      ),
      Effect.provideService(Generator, generator),
      Effect.provideService(Verifier, verifier)
    )
    const fiber = yield* Effect.forkChild(program)
    let yields = 0
    while (fiber.pollUnsafe() === undefined && yields < interruptAfter) {
      yield* Effect.yieldNow
      yields++
    }
    if (fiber.pollUnsafe() === undefined) yield* Fiber.interrupt(fiber)
    const exit = yield* Fiber.await(fiber)
    return {
      exit,
      snapshot: yield* inner.snapshot,
      violations,
      yields,
      counts,
      attempts: attempts.value,
      real: Pricing.derive(inner.pricing, realUsage(real))
    }
  })

/** Limits of a case: absolute, or fractions of what a fault-free unlimited run spends. */
const limitsOf = (c: Case) =>
  Effect.gen(function* () {
    if (c.limits._tag === "absolute") return c.limits.limits
    const loaded = yield* Loader.fromJson(c.doc).pipe(Effect.orDie)
    const pricing = pricingOf(yield* Generator, yield* Verifier, PRICES)
    const free = yield* Effect.exit(
      execute(loaded, c.problem, { params: c.params, seed: c.seed }).pipe(
        Effect.provideService(
          RunEvents,
          eventsTo(() => undefined)
        ),
        Effect.provideService(Ledger.Ledger, yield* Ledger.make({}, pricing))
      )
    )
    const used = Exit.isSuccess(free) ? free.value.usage : Usage.zero
    return Object.fromEntries(
      c.limits.fractions.map(([m, f]) => [m, m === "usd" || m === "flops" ? used[m] * f : Math.floor(used[m] * f)])
    )
  })

const property = (c: FaultCase) =>
  Effect.gen(function* () {
    const limits = yield* limitsOf(c.case)
    const whole = c.interruptAt >= 1 ? undefined : yield* run(c, limits, Number.POSITIVE_INFINITY)
    const o =
      whole === undefined
        ? yield* run(c, limits, Number.POSITIVE_INFINITY)
        : yield* run(c, limits, Math.floor(c.interruptAt * whole.yields))
    stats.runs++
    const s = o.snapshot
    const injected = [...o.counts.generator.values(), ...o.counts.verifier.values()].reduce((a, b) => a + b, 0)
    stats.injected += injected
    // the ledger
    assert.deepStrictEqual(o.violations, [], "a limit was passed at some moment")
    assert.deepStrictEqual(over(s.committed, limits), [], "committed within limits")
    assert.strictEqual(s.open, 0, "open reservations")
    for (const m of Usage.METERS) assert.strictEqual(s.reserved[m], 0, `reserved ${m}`)
    const sum = Usage.sum(s.byNode.map((e) => e.usage))
    for (const m of ["calls", "sequences", "inputTokens", "outputTokens", "verifierCalls", "verifierTokens"] as const)
      assert.strictEqual(sum[m], s.committed[m], `byNode sums to committed ${m}`)
    assert.deepStrictEqual(s.overruns, [], "no overrun is charged")
    // at the backend: what it did, or may have done, within every limit, and never more than backendUsage says
    assert.deepStrictEqual(
      over(o.real, limits),
      [],
      `the backend itself did more than a limit: ${JSON.stringify(o.real)}`
    )
    for (const m of ["calls", "sequences", "inputTokens", "outputTokens", "verifierCalls", "verifierTokens"] as const)
      assert.isAtMost(o.real[m], s.backend[m], `backendUsage.${m} covers what the backend did`)
    // the outcome
    if (Exit.isFailure(o.exit)) {
      assert.isFalse(Cause.hasDies(o.exit.cause), `defect: ${Cause.pretty(o.exit.cause)}`)
      if (Cause.hasInterruptsOnly(o.exit.cause)) {
        stats.interrupted++
        return
      }
      const squashed = Cause.squash(o.exit.cause)
      // a backend error is counted by its reason (BadResponse, Timeout…)
      const e =
        squashed instanceof BackendError
          ? { _tag: squashed.reason._tag, message: squashed.message }
          : (squashed as { readonly _tag?: string; readonly message?: string })
      assert.isTrue(TAGGED.has(e._tag ?? ""), `untagged failure: ${Cause.pretty(o.exit.cause)}`)
      assert.isNotEmpty(e.message ?? "", "a tagged error has a message")
      stats.failed.set(e._tag ?? "", (stats.failed.get(e._tag ?? "") ?? 0) + 1)
      return
    }
    const r = o.exit.value
    stats.ok++
    if (r.exhausted) stats.exhausted++
    // every attempt that reached the backend is a call on the ledger
    assert.strictEqual(r.usage.calls, o.attempts, "calls on the ledger = attempts made")
    assert.deepStrictEqual(r.usage, s.committed)
    for (const cand of r.population) {
      if (cand.score !== undefined)
        assert.isTrue(cand.score >= 0 && cand.score <= 1, `score ${cand.score} of ${cand.id}`)
      for (const x of cand.stepScores) assert.isTrue(x >= 0 && x <= 1, `step score ${x} of ${cand.id}`)
    }
  })

const SCALE = Number(process.env.MULL_PROPERTY_SCALE ?? "1") || 1

describe("budget invariants under backend faults", () => {
  it(
    "random graphs × fault schedules × budgets × interruption: within limits, nothing reserved, tagged errors only, retries charged",
    async () => {
      await fc.assert(
        fc.asyncProperty(faultCaseArb, (c) => base.runPromise(property(c))),
        { numRuns: Math.round(400 * SCALE) }
      )
      const failed = [...stats.failed].map(([t, n]) => `${t} ${n}`).join(", ")
      console.log(
        `faults: ${stats.runs} runs, ${stats.ok} answered (${stats.exhausted} exhausted), ${stats.interrupted} interrupted, failed: ${failed || "none"}; ${stats.injected} faults injected`
      )
      // the schedules exercise every outcome
      assert.isAbove(stats.ok, 0)
      assert.isAbove(stats.injected, 0)
      assert.isAbove(
        [...stats.failed.values()].reduce((a, b) => a + b, 0),
        0
      )
    },
    600_000 * SCALE
  )
})
