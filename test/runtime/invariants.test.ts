/**
 * Budget invariants of the runtime over random graphs (DESIGN §6, issue 3): fast-check builds valid
 * node trees of every node type (and `use` of the built-ins) with random params and random limits,
 * runs each at concurrency 1 and 64 on the simulated backend (whose calls yield a pseudo-random
 * number of times, so the fibers interleave differently), and checks:
 *
 * 1. committed ≤ limit on every limited meter at every moment (a wrapped ledger checks committed
 *    and committed + reserved after each reserve and commit; `Charged` events carry the total);
 * 2. the ledger's total equals the sum of its per-node entries;
 * 3. nothing stays reserved after a run — also after a random interruption;
 * 4. actual ≤ the static bound on every bounded meter (and the population's size);
 * 5. same seed ⇒ same answer, population and usage at concurrency 1 and 64;
 * 6. for graphs of whole-solution samples, a larger budget never yields a smaller population prefix.
 */
import { afterAll, assert, describe, it } from "@effect/vitest"
import { Cause, Effect, Exit, Fiber, Layer, ManagedRuntime } from "effect"
import fc from "fast-check"
import * as Simulated from "../../plugins/simulated/index.ts"
import * as MathGrader from "../../src/answer/MathGrader.ts"
import * as Ledger from "../../src/budget/Ledger.ts"
import type * as Limits from "../../src/budget/Limits.ts"
import * as Pricing from "../../src/budget/Pricing.ts"
import type { Problem } from "../../src/domain/Problem.ts"
import type { RunResult } from "../../src/domain/RunResult.ts"
import * as Usage from "../../src/domain/Usage.ts"
import { staticCost } from "../../src/graph/Cost.ts"
import * as Loader from "../../src/graph/Loader.ts"
import { execute, pricingOf, staticFacts } from "../../src/runtime/Run.ts"
import { RunEvents } from "../../src/runtime/RunEvents.ts"
import { Generator, type GeneratorShape } from "../../src/services/Generator.ts"
import type { AnswerKey } from "../../src/services/Grader.ts"
import { Verifier, type VerifierShape } from "../../src/services/Verifier.ts"
import {
  type Case,
  caseArb,
  documentArb,
  eventsTo,
  type Json,
  limitSpecArb,
  MAX_TOKENS,
  obj,
  opt,
  over,
  PARAMS,
  PRICES,
  PROBLEMS,
  paramsArb,
  selectArb,
  temperature,
  watched
} from "./harness.ts"

// ---------------------------------------------------------------------------------------------
// The backend: the simulated one, with calls that yield a pseudo-random number of times first

const runtime = ManagedRuntime.make(
  Layer.mergeAll(Simulated.layer({ generator: { maxTokens: MAX_TOKENS } }), MathGrader.layer)
)

/** 0–5 yields, a pure function of the request's seed: interleavings differ with concurrency. */
const jitter = (seed: bigint): Effect.Effect<void> => {
  const k = Number(seed % 6n)
  return k === 0 ? Effect.void : Effect.forEach(Array.from({ length: k }), () => Effect.yieldNow, { discard: true })
}

const jittered = Effect.gen(function* () {
  const generator = yield* Generator
  const verifier = yield* Verifier
  const g: GeneratorShape = {
    ...generator,
    generate: (request) => Effect.andThen(jitter(request.seed), generator.generate(request))
  }
  let count = 0n
  const v: VerifierShape = {
    ...verifier,
    score: (request) => Effect.andThen(jitter(count++), verifier.score(request))
  }
  return { generator: g, verifier: v }
})

interface Outcome {
  readonly exit: Exit.Exit<RunResult, unknown>
  readonly snapshot: Ledger.LedgerSnapshot
  readonly violations: ReadonlyArray<string>
  /** how many times the test fiber yielded before the run ended (or was interrupted) */
  readonly yields: number
  /** every reservation asked for, in order */
  readonly requests: ReadonlyArray<Ledger.ReserveRequest>
  /** the most calls in flight at once, per port */
  readonly peak: { readonly generator: number; readonly verifier: number }
}

interface RunSpec {
  readonly params: Case["params"]
  readonly limits: Limits.Limits
  readonly problem: Problem
  readonly seed: number
}

/**
 * Runs a loaded graph with a fresh watched ledger, forked; the test fiber yields until the run
 * ends, or interrupts it after `interruptAfter` yields.
 */
const runCase = (
  loaded: Loader.LoadedGraph,
  c: RunSpec,
  concurrency: number,
  interruptAfter = Number.POSITIVE_INFINITY
) =>
  Effect.gen(function* () {
    const ports = yield* jittered
    // calls in flight per port: never more than the concurrency limit (a run whose calls' bound
    // is within the limit takes no permits, so a bound too small would show here)
    const now = { generator: 0, verifier: 0 }
    const peak = { generator: 0, verifier: 0 }
    const inFlight = <A, E, R>(side: "generator" | "verifier", call: Effect.Effect<A, E, R>) =>
      Effect.suspend(() => {
        now[side]++
        peak[side] = Math.max(peak[side], now[side])
        return Effect.ensuring(
          call,
          Effect.sync(() => {
            now[side]--
          })
        )
      })
    const generator: GeneratorShape = {
      ...ports.generator,
      generate: (request) => inFlight("generator", ports.generator.generate(request))
    }
    const verifier: VerifierShape = {
      ...ports.verifier,
      score: (request) => inFlight("verifier", ports.verifier.score(request))
    }
    const violations: Array<string> = []
    const requests: Array<Ledger.ReserveRequest> = []
    const inner = yield* Ledger.make(c.limits, pricingOf(generator, verifier, PRICES))
    const ledger = watched(inner, violations, requests)
    const events = eventsTo((e) => {
      if (e._tag === "Charged") {
        stats.charged++
        for (const v of over(e.total, c.limits)) violations.push(`Charged event at ${e.node}: ${v}`)
      }
    })
    const program = execute(loaded, c.problem, { params: c.params, seed: c.seed, concurrency }).pipe(
      Effect.provideService(Ledger.Ledger, ledger),
      Effect.provideService(RunEvents, events),
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
    const snapshot = yield* inner.snapshot
    if (peak.generator > concurrency || peak.verifier > concurrency)
      violations.push(`calls in flight ${JSON.stringify(peak)} above the concurrency limit ${concurrency}`)
    return { exit, snapshot, violations, yields, requests, peak } satisfies Outcome
  })

/** The invariants every run satisfies, whatever its outcome. */
const checkLedger = (o: Outcome, limits: Limits.Limits, what: string) => {
  const s = o.snapshot
  assert.deepStrictEqual(o.violations, [], `${what}: a limit was passed`)
  assert.deepStrictEqual(over(s.committed, limits), [], `${what}: committed within limits`)
  // the total is the sum of the per-node entries (token meters are exact integers)
  const sum = Usage.sum(s.byNode.map((e) => e.usage))
  for (const m of ["calls", "sequences", "inputTokens", "outputTokens", "verifierCalls", "verifierTokens"] as const)
    assert.strictEqual(sum[m], s.committed[m], `${what}: byNode sums to committed ${m}`)
  assert.strictEqual(s.open, 0, `${what}: open reservations`)
  for (const m of Usage.METERS) assert.strictEqual(s.reserved[m], 0, `${what}: reserved ${m}`)
  assert.deepStrictEqual(s.overruns, [], `${what}: overruns`)
  if (Exit.isFailure(o.exit))
    assert.isFalse(Cause.hasDies(o.exit.cause), `${what}: defect ${Cause.pretty(o.exit.cause)}`)
}

/** What must be equal between two runs of the same case (wall time excluded). */
const fingerprint = (r: RunResult) => ({
  answer: r.answer,
  chosen: r.chosen?.id,
  ranking: r.ranking,
  exhausted: r.exhausted,
  population: r.population.map((c) => ({
    id: c.id,
    done: c.done,
    answer: c.answer,
    score: c.score,
    stepScores: c.stepScores,
    tokens: c.steps?.tokens ?? 0,
    chain: c.chain,
    group: c.group,
    origin: c.origin
  })),
  usage: { ...r.usage, wallMs: 0 },
  ledger: r.ledger.map((e) => ({ node: e.node, usage: { ...e.usage, wallMs: 0 } }))
})

const BOUNDED = ["calls", "sequences", "outputTokens", "verifierCalls"] as const

const loadCase = (doc: Json) =>
  Effect.map(Effect.result(Loader.fromJson(doc)), (r) => {
    if (r._tag === "Failure") throw new Error(`a generated graph did not load:\n${r.failure.message}`)
    return r.success
  })

const stats = {
  cases: 0,
  runs: 0,
  failures: new Map<string, number>(),
  exhausted: 0,
  interruptions: 0,
  interrupted: 0,
  population: 0,
  calls: 0,
  charged: 0,
  /** cases also run at their calls' bound (no permits taken) */
  atBound: 0
}

const tagOf = (cause: Cause.Cause<unknown>): string => {
  const e = Cause.squash(cause)
  return typeof e === "object" && e !== null && "_tag" in e ? String(e._tag) : String(e)
}

/** The limits of a case: absolute, or fractions of what an unlimited run spends. */
const limitsOf = (loaded: Loader.LoadedGraph, c: Case) =>
  Effect.gen(function* () {
    if (c.limits._tag === "absolute") return c.limits.limits
    const free = yield* runCase(loaded, { ...c, limits: {} }, 64)
    checkLedger(free, {}, "without a budget")
    const used = free.snapshot.committed
    return Object.fromEntries(
      c.limits.fractions.map(([m, f]) => [m, m === "usd" || m === "flops" ? used[m] * f : Math.floor(used[m] * f)])
    )
  })

/**
 * A run refused up front (`BudgetTooSmall`) really could not pay for its first call: the first
 * reservation an unlimited run asks for (at its least acceptable size) passes a limit.
 */
const checkRefusedUpFront = (loaded: Loader.LoadedGraph, c: RunSpec) =>
  Effect.gen(function* () {
    const { generator, verifier } = yield* jittered
    const free = yield* runCase(loaded, { ...c, limits: {} }, 1)
    const first = free.requests[0]
    if (first === undefined) return assert.fail("refused up front, but the graph makes no call")
    const need = Pricing.derive(
      pricingOf(generator, verifier, PRICES),
      Usage.add(first.fixed, Usage.scale(first.perUnit, first.minUnits ?? first.units))
    )
    assert.notDeepEqual(
      over(need, c.limits),
      [],
      `the first call (${first.node}) fits the budget, yet the run was refused`
    )
  })

/** Invariants 1–5 on one case. */
const property = (c: Case) =>
  Effect.gen(function* () {
    stats.cases++
    const loaded = yield* loadCase(c.doc)
    const limits = yield* limitsOf(loaded, c)
    const bound = staticCost(loaded, { params: c.params, limits, maxTokens: MAX_TOKENS })
    const outcomes: Array<Outcome> = []
    // also at the run's bound of calls in flight, when it is finite: the largest limit at which the
    // run still takes no permits (`permitsFor`), which the bound must then justify
    const { generator, verifier } = yield* jittered
    const callsBound = staticFacts(
      loaded,
      c.params,
      limits,
      generator,
      verifier,
      pricingOf(generator, verifier, PRICES)
    ).calls
    const third = Number.isFinite(callsBound) && callsBound > 1 && callsBound !== 64 ? [callsBound] : []
    stats.atBound += third.length
    for (const concurrency of [1, 64, ...third]) {
      const o = yield* runCase(loaded, { ...c, limits }, concurrency)
      checkLedger(o, limits, `concurrency ${concurrency}`)
      outcomes.push(o)
      stats.runs++
      if (Exit.isFailure(o.exit)) {
        const tag = tagOf(o.exit.cause)
        const sq = Cause.squash(o.exit.cause) as { problems?: ReadonlyArray<string> }
        const key = `${tag} ${c.limits._tag} ${(sq.problems ?? []).map((p) => p.split(":")[0]).join(",")}`
        stats.failures.set(key, (stats.failures.get(key) ?? 0) + 1)
        // the only way a valid random graph fails: the budget cannot pay its first call
        assert.strictEqual(tag, "BudgetTooSmall", Cause.pretty(o.exit.cause))
        assert.strictEqual(o.snapshot.committed.calls, 0)
        if (concurrency === 1) yield* checkRefusedUpFront(loaded, { ...c, limits })
        continue
      }
      const r = o.exit.value
      if (r.exhausted) stats.exhausted++
      stats.population += r.population.length
      stats.calls += r.usage.calls
      // actual ≤ static bound
      // every meter the bound bounds (input and verifier tokens only when nothing is called)
      for (const m of Usage.METERS)
        if (Number.isFinite(bound.usage[m]))
          assert.isAtMost(r.usage[m], bound.usage[m], `concurrency ${concurrency}: ${m} within the static bound`)
      for (const m of BOUNDED) assert.isTrue(Number.isFinite(bound.usage[m]), `${m} is bounded`)
      assert.isAtMost(r.population.length, bound.population.size, "population within the static bound")
      const ids = r.population.map((c) => c.id)
      assert.deepStrictEqual(
        ids.filter((id, i) => ids.indexOf(id) !== i),
        [],
        "candidate ids are unique"
      )
      assert.deepStrictEqual(r.usage, o.snapshot.committed)
    }
    const [a, ...others] = outcomes
    if (a === undefined) return
    for (const b of others) {
      assert.strictEqual(a.exit._tag, b.exit._tag, "same outcome at concurrency 1 and 64 (and the bound)")
      if (Exit.isSuccess(a.exit) && Exit.isSuccess(b.exit))
        assert.deepStrictEqual(
          fingerprint(b.exit.value),
          fingerprint(a.exit.value),
          "same run at concurrency 1 and 64 (and the bound)"
        )
    }
  })

/**
 * Invariant 3 under interruption: a first run counts how many yields of the test fiber it takes;
 * a second is interrupted after a random fraction of them.
 */
const interruption = (c: Case & { readonly at: number; readonly concurrency: number }) =>
  Effect.gen(function* () {
    stats.cases++
    const loaded = yield* loadCase(c.doc)
    const limits = yield* limitsOf(loaded, c)
    const whole = yield* runCase(loaded, { ...c, limits }, c.concurrency)
    checkLedger(whole, limits, "whole run")
    const o = yield* runCase(loaded, { ...c, limits }, c.concurrency, Math.floor(c.at * whole.yields))
    stats.interruptions++
    if (Exit.isFailure(o.exit) && Cause.hasInterruptsOnly(o.exit.cause)) stats.interrupted++
    checkLedger(o, limits, `interrupted after ${o.yields} of ${whole.yields} yields`)
  })

/** `MULL_PROPERTY_SCALE=10` multiplies the number of cases (for hunting, not for CI). */
const SCALE = Number(process.env.MULL_PROPERTY_SCALE ?? "1") || 1

const TIMEOUT = 300_000 * SCALE

/** `MULL_PROPERTY_SEED=<seed>` replays the cases of a failing run (fast-check prints its seed). */
const SEED = process.env.MULL_PROPERTY_SEED === undefined ? undefined : Number(process.env.MULL_PROPERTY_SEED)

const check = <A, E>(
  arb: fc.Arbitrary<A>,
  f: (a: A) => Effect.Effect<void, E, Generator | Verifier | AnswerKey>,
  numRuns: number
) =>
  fc.assert(
    fc.asyncProperty(arb, (a) => runtime.runPromise(f(a))),
    { numRuns: Math.round(numRuns * SCALE), ...(SEED === undefined ? {} : { seed: SEED }) }
  )

// ---------------------------------------------------------------------------------------------

describe("budget invariants over random graphs", () => {
  it(
    "committed ≤ limits at every moment, byNode sums, nothing reserved, ≤ static bound, same at concurrency 1, 64 and the calls' bound",
    async () => {
      await check(caseArb, property, 1200)
    },
    TIMEOUT
  )

  it(
    "a random interruption leaves nothing reserved and committed ≤ limits",
    async () => {
      await check(
        fc.record({
          doc: documentArb,
          params: paramsArb,
          limits: limitSpecArb,
          problem: fc.constantFrom(...PROBLEMS),
          seed: fc.integer({ min: 0, max: 1000 }),
          at: fc.double({ min: 0, max: 1, noNaN: true }),
          concurrency: fc.constantFrom(1, 64)
        }),
        interruption,
        800
      )
    },
    TIMEOUT
  )

  it(
    "whole-solution sample graphs: a larger budget never yields a smaller population prefix",
    async () => {
      await check(monotoneArb, monotone, 500)
    },
    TIMEOUT
  )
})

// ---------------------------------------------------------------------------------------------
// Invariant 6: monotone anytime behaviour of sample-only graphs

/**
 * Sample nodes of whole solutions (best-of-n-like), optionally scored (not on a calls budget:
 * scoring costs calls). Step samples are not monotone: a run exhausted with partial candidates
 * finishes the best of them from its reserve, so a smaller budget's population holds completions
 * a larger one's does not (docs/concepts.md#anytime-behaviour).
 */
const sampleOnlyArb = (scored: boolean): fc.Arbitrary<Json> =>
  fc
    .record({
      samples: fc.array(
        fc
          .record({
            n: fc.constantFrom(0, 1, 2, 3, 5, 8, "N"),
            until: fc.constant("end"),
            temperature,
            maxTokens: opt(fc.constantFrom(64, 512))
          })
          .map((r) => obj({ type: "sample", ...r })),
        { minLength: 1, maxLength: 3 }
      ),
      score: scored ? fc.boolean() : fc.constant(false),
      select: selectArb
    })
    .map(({ samples, score, select }) => ({
      name: "sample-only",
      description: "samples, then a vote",
      params: PARAMS,
      root: { type: "sequence", nodes: [...samples, ...(score ? [{ type: "score" }] : []), select] }
    }))

const monotoneArb = fc
  .constantFrom("sequences" as const, "calls" as const)
  .chain((meter) =>
    fc.record({
      meter: fc.constant(meter),
      doc: sampleOnlyArb(meter === "sequences"),
      params: paramsArb,
      a: fc.integer({ min: 0, max: 30 }),
      b: fc.integer({ min: 0, max: 30 }),
      problem: fc.constantFrom(...PROBLEMS),
      seed: fc.integer({ min: 0, max: 1000 }),
      concurrency: fc.constantFrom(1, 64)
    })
  )
  .filter((c) => c.a < c.b)

const monotone = (c: typeof monotoneArb extends fc.Arbitrary<infer A> ? A : never) =>
  Effect.gen(function* () {
    stats.cases++
    const loaded = yield* loadCase(c.doc)
    const populationOf = (limit: number) =>
      Effect.map(runCase(loaded, { ...c, limits: { [c.meter]: limit } }, c.concurrency), (o) => {
        checkLedger(o, { [c.meter]: limit }, `${c.meter} ≤ ${limit}`)
        // refused up front (the budget cannot pay one sample): nothing at all
        if (Exit.isFailure(o.exit)) return []
        return fingerprint(o.exit.value).population
      })
    const small = yield* populationOf(c.a)
    const large = yield* populationOf(c.b)
    assert.isAtMost(small.length, large.length, "a larger budget never yields a smaller population")
    assert.deepStrictEqual(small, large.slice(0, small.length), "the smaller budget's population is a prefix")
  })

// ---------------------------------------------------------------------------------------------
// Regressions: shrunk counterexamples the properties found

const graph = (nodes: ReadonlyArray<Json>): Json => ({
  name: "regression",
  description: "a shrunk counterexample",
  params: PARAMS,
  root: { type: "sequence", nodes: [...nodes, { type: "select", method: "majority" }] }
})

const [easy] = PROBLEMS as [Problem]

/** Runs a document with a fresh ledger on the simulated backend; the exit, never a defect. */
const runDoc = (doc: Json, limits: Limits.Limits = {}) =>
  Effect.gen(function* () {
    const loaded = yield* loadCase(doc)
    const o = yield* runCase(loaded, { params: {}, limits, problem: easy, seed: 0 }, 64)
    checkLedger(o, limits, "regression")
    return { loaded, o, bound: staticCost(loaded, { limits, maxTokens: MAX_TOKENS }) }
  })

const resultOf = (o: Outcome): RunResult => {
  if (Exit.isFailure(o.exit)) return assert.fail(`the run failed: ${Cause.pretty(o.exit.cause)}`)
  return o.exit.value
}

const withinBound = (r: RunResult, bound: ReturnType<typeof staticCost>) => {
  for (const m of BOUNDED) assert.isAtMost(r.usage[m], bound.usage[m], m)
  assert.isAtMost(r.population.length, bound.population.size, "population")
}

describe("regressions", () => {
  it("static bound: a candidate the finisher completes stays in its partial's revision chain", () =>
    // the finisher at best-of-n's select completed s0–s3 as chain-less s0.0–s3.0 beside their
    // revisions s0.r1–s3.r1, so the next revise saw 11 chains where the bound counts 9 (22 > 21)
    runtime.runPromise(
      property({
        doc: {
          name: "random",
          description: "a random graph",
          params: { N: 4, M: 2, K: 2, R: 2 },
          root: {
            type: "sequence",
            nodes: [
              { type: "sample", n: "N", until: "step" },
              {
                type: "sequence",
                nodes: [{ type: "sequence", nodes: [{ type: "revise" }, { type: "deepconf", n: 0 }] }]
              },
              {
                type: "sequence",
                nodes: [
                  { type: "use", graph: "best-of-n", params: { N: "min(N, 3)" } },
                  { type: "sequence", nodes: [{ type: "revise" }] }
                ]
              },
              { type: "parallel", branches: 1, body: { type: "score" } },
              { type: "select", method: "majority" }
            ]
          }
        },
        params: {},
        limits: { _tag: "relative", fractions: [["verifierCalls", 0.1]] },
        problem: { id: "inv/easy", question: "What is $1+1$?", gold: "2", meta: { level: 1 } },
        seed: 0
      })
    ))

  it("parallel branches that score differently: the finisher scores with the last in branch order, at any concurrency", () =>
    // at concurrency 64 branch 1 (score) finished after branch 0 (a generative judge), at 1 before
    // it, so "the verifier the graph last scored with" was a race (CI, seed -393835425)
    runtime.runPromise(
      property({
        doc: {
          name: "random",
          description: "a random graph",
          params: { N: 4, M: 2, K: 2, R: 2 },
          root: {
            type: "sequence",
            nodes: [
              { type: "sample", n: 1, until: "step" },
              {
                type: "parallel",
                branches: 2,
                body: {
                  type: "route",
                  estimate: { samples: 1 },
                  bins: [0.9, 0.6, 0.2],
                  cases: [
                    { type: "waves", max: 0, stop: { rule: "esc", window: 2 } },
                    { type: "score" },
                    { type: "score", generative: { style: "judge" }, aggregate: "last" },
                    { type: "waves", max: 0, stop: { rule: "esc", window: 2 } }
                  ]
                }
              },
              { type: "parallel", branches: 1, body: { type: "repeat", max: 0, body: { type: "prune", keep: 0 } } },
              { type: "select", method: "majority" }
            ]
          }
        },
        params: { N: 1 },
        limits: { _tag: "absolute", limits: { outputTokens: 1636, verifierCalls: 3 } },
        problem: { id: "inv/mid", question: "Find $x$.", gold: "\\frac{14}{3}", meta: { level: 3 } },
        seed: 357
      })
    ))

  it("static bound: a prune among active keeps the done candidates (size − active is no bound)", () =>
    runtime.runPromise(
      Effect.gen(function* () {
        const { o, bound } = yield* runDoc(
          graph([
            { type: "sample", n: 3, until: "step" },
            { type: "revise" },
            { type: "prune", keep: 0 },
            { type: "score" }
          ])
        )
        const r = resultOf(o)
        assert.strictEqual(r.population.length, 3)
        withinBound(r, bound)
      })
    ))

  it("static bound: a repeat may stop before its last round, so its population is the join over rounds", () =>
    runtime.runPromise(
      Effect.gen(function* () {
        const { o, bound } = yield* runDoc(
          graph([
            { type: "sample", n: 1, until: "end" },
            { type: "repeat", max: 1, body: { type: "prune", keep: 0, among: "all" } }
          ])
        )
        const r = resultOf(o)
        assert.strictEqual(r.population.length, 1)
        withinBound(r, bound)
      })
    ))

  it("static bound: a sampling prune's copies are chains of their own", () =>
    runtime.runPromise(
      Effect.gen(function* () {
        const { o, bound } = yield* runDoc(
          graph([
            { type: "sample", n: 1, until: "step" },
            { type: "prune", keep: 3, mode: "sample" },
            { type: "revise" }
          ])
        )
        const r = resultOf(o)
        assert.strictEqual(r.usage.calls, 4)
        withinBound(r, bound)
      })
    ))

  it("static bound: `use` params keep their lower bounds (M ≥ 1), and 0 × ∞ is 0, not NaN", () =>
    runtime.runPromise(
      Effect.gen(function* () {
        const sqrt = staticCost(yield* Loader.load("beam-search-sqrt"), { maxTokens: MAX_TOKENS })
        const plain = staticCost(yield* Loader.load("beam-search"), { maxTokens: MAX_TOKENS })
        assert.deepStrictEqual(sqrt.usage, plain.usage)
        const { o, bound } = yield* runDoc(
          graph([
            {
              type: "route",
              estimate: { samples: "M" },
              bins: [0.8, 0.3],
              cases: [
                { type: "use", graph: "dvts", params: { N: 4, M: 2, rounds: 2 } },
                { type: "prune", keep: 0 },
                { type: "sample", n: 0, until: "step" }
              ]
            },
            { type: "expand", n: 1, until: "step" }
          ])
        )
        for (const m of BOUNDED) assert.isFalse(Number.isNaN(bound.usage[m]), m)
        assert.isFalse(Number.isNaN(bound.population.size))
        withinBound(resultOf(o), bound)
      })
    ))

  it("a graph that makes no call is not refused up front for its prompt", () =>
    runtime.runPromise(
      Effect.gen(function* () {
        const { o } = yield* runDoc(graph([{ type: "repeat", max: 0, body: { type: "score" } }]), { usd: 0 })
        assert.isTrue(Exit.isSuccess(o.exit))
      })
    ))

  it("the first call is found past a loop that never runs and inside `use` with its own params", () =>
    runtime.runPromise(
      Effect.gen(function* () {
        // the loop's body would need 1024 output tokens; the first call really made needs 100
        const skipped = yield* runDoc(
          graph([
            { type: "repeat", max: 1, body: { type: "sample", n: 1, until: "end" } },
            { type: "sample", n: 1, until: "end", maxTokens: 100 }
          ]),
          { outputTokens: 150 }
        )
        assert.strictEqual(resultOf(skipped.o).usage.calls, 1)
        // best-of-n with N = 0 makes no call; the graph's first call is the later 100-token sample
        const used = yield* runDoc(
          graph([
            { type: "use", graph: "best-of-n", params: { N: 0 } },
            { type: "sample", n: 1, until: "end", maxTokens: 100 }
          ]),
          { outputTokens: 150 }
        )
        assert.strictEqual(resultOf(used.o).usage.calls, 1)
      })
    ))

  it("a parallel inside a repeat draws fresh samples each round, with unique ids", () =>
    runtime.runPromise(
      Effect.gen(function* () {
        const { o, bound } = yield* runDoc(
          graph([
            { type: "sample", n: 1, until: "step" },
            {
              type: "repeat",
              max: 2,
              body: { type: "parallel", branches: 1, body: { type: "sample", n: 2, until: "step" } }
            },
            { type: "prune", keep: 2 },
            { type: "expand", n: 1, until: "step" }
          ])
        )
        const r = resultOf(o)
        assert.deepStrictEqual(
          r.population.map((c) => c.id),
          ["s0.0", "b0/s0.0"]
        )
        withinBound(r, bound)
        const twice = resultOf(
          (yield* runDoc(
            graph([
              { type: "parallel", branches: 2, body: { type: "sample", n: 1, until: "end" } },
              { type: "parallel", branches: 2, body: { type: "sample", n: 1, until: "end" } }
            ])
          )).o
        )
        assert.deepStrictEqual(
          twice.population.map((c) => c.id),
          ["b0/s0", "b1/s0", "b0/s1", "b1/s1"]
        )
      })
    ))

  it("a second sampling prune numbers its copies past the first one's", () =>
    runtime.runPromise(
      Effect.gen(function* () {
        const r = resultOf(
          (yield* runDoc(
            graph([
              { type: "sample", n: 1, until: "end" },
              { type: "prune", keep: 2, mode: "sample", among: "all" },
              { type: "prune", keep: 4, mode: "sample", among: "all" }
            ])
          )).o
        )
        const ids = r.population.map((c) => c.id)
        // before the fix, the copy of s0 drawn by the second prune was a second "s0~1"
        assert.deepStrictEqual(ids, ["s0", "s0~2", "s0~1", "s0~1~1"])
        assert.strictEqual(new Set(ids).size, 4)
      })
    ))
})

afterAll(() => {
  // MULL_PROPERTY_STATS=1 prints what the generated cases did (outcomes, exhaustion, sizes)
  if (process.env.MULL_PROPERTY_STATS !== undefined)
    console.log(JSON.stringify({ ...stats, failures: [...stats.failures] }))
})
