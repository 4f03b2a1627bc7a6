/**
 * Budget invariants with the llama-cpp backend (DESIGN §6), at a small scale: fast-check draws a
 * built-in graph (voting, search, revisions), small params, a story and random limits on a few
 * meters, and runs it on stories260K twice (concurrency 1 and 4), checking:
 *
 * 1. committed ≤ limit on every limited meter (committed only grows, so the end value bounds every
 *    moment);
 * 2. the ledger's total equals the sum of its per-node entries;
 * 3. nothing stays reserved after the run;
 * 4. actual ≤ the static bound on every bounded meter;
 * 5. same seed ⇒ same answer, population and usage, whatever the concurrency.
 *
 * A budget too small for the graph's first call is refused before anything is spent.
 * test/runtime/invariants.test.ts checks the same over random graphs on the simulated backend.
 */
import { afterAll, assert, describe, it } from "@effect/vitest"
import { Effect, Exit } from "effect"
import fc from "fast-check"
import * as Ledger from "../../src/budget/Ledger.ts"
import * as Limits from "../../src/budget/Limits.ts"
import * as Candidate from "../../src/domain/Candidate.ts"
import * as Usage from "../../src/domain/Usage.ts"
import { staticCost } from "../../src/graph/Cost.ts"
import * as Loader from "../../src/graph/Loader.ts"
import { execute, pricingOf } from "../../src/runtime/Run.ts"
import { CONFIG, openBackend, STORIES, servicesOf } from "./helpers.ts"

const MAX_TOKENS = 8
const { backend, close } = await openBackend({ ...CONFIG, maxTokens: MAX_TOKENS })
afterAll(close)

/** Graphs and the small params they run with. */
const GRAPHS: ReadonlyArray<readonly [string, fc.Arbitrary<Record<string, number>>]> = [
  ["best-of-n", fc.record({ N: fc.integer({ min: 1, max: 4 }) })],
  ["weighted-best-of-n", fc.record({ N: fc.integer({ min: 1, max: 4 }) })],
  ["beam-search", fc.record({ N: fc.constantFrom(2, 4), M: fc.constant(2), rounds: fc.integer({ min: 1, max: 2 }) })],
  ["dvts", fc.record({ N: fc.constant(4), M: fc.constant(2), rounds: fc.integer({ min: 1, max: 2 }) })],
  ["sequential-revisions", fc.record({ N: fc.integer({ min: 1, max: 3 }) })]
]

const LIMITED = ["calls", "sequences", "inputTokens", "outputTokens", "verifierCalls", "verifierTokens"] as const

/** Each meter limited with probability 1/3, from tight (the first call barely fits) to loose. */
const limitsArb: fc.Arbitrary<Limits.Limits> = fc
  .record({
    calls: fc.integer({ min: 1, max: 30 }),
    sequences: fc.integer({ min: 1, max: 30 }),
    inputTokens: fc.integer({ min: 20, max: 1000 }),
    outputTokens: fc.integer({ min: 8, max: 200 }),
    verifierCalls: fc.integer({ min: 1, max: 20 }),
    verifierTokens: fc.integer({ min: 50, max: 3000 })
  })
  .chain((all) =>
    fc.subarray([...LIMITED], { maxLength: 3 }).map((meters) => {
      const limits: Record<string, number> = {}
      for (const m of meters) limits[m] = all[m]
      return limits as Limits.Limits
    })
  )

const caseArb = fc.integer({ min: 0, max: GRAPHS.length - 1 }).chain((g) =>
  fc.record({
    graph: fc.constant(GRAPHS[g]?.[0] ?? "best-of-n"),
    params: GRAPHS[g]?.[1] ?? fc.constant({}),
    limits: limitsArb,
    problem: fc.constantFrom(...STORIES),
    seed: fc.integer({ min: 0, max: 1000 })
  })
)

type CaseOf = {
  readonly graph: string
  readonly params: Record<string, number>
  readonly limits: Limits.Limits
  readonly problem: (typeof STORIES)[number]
  readonly seed: number
}

const runOnce = (c: CaseOf, concurrency: number) =>
  Effect.gen(function* () {
    const loaded = yield* Loader.load(c.graph)
    const ledger = yield* Ledger.make(c.limits, pricingOf(backend.generator, backend.verifier, undefined))
    const exit = yield* Effect.exit(
      execute(loaded, c.problem, { params: c.params, seed: c.seed, concurrency }).pipe(
        Effect.provideService(Ledger.Ledger, ledger)
      )
    )
    return { exit, snapshot: yield* ledger.snapshot, loaded }
  }).pipe(Effect.provide(servicesOf(backend)))

/** What must not depend on concurrency: answer, population (ids, texts, scores) and usage. */
const fingerprint = (
  exit: Exit.Exit<{ answer?: string; population: ReadonlyArray<Candidate.Candidate>; usage: Usage.Usage }, unknown>
) =>
  Exit.isSuccess(exit)
    ? {
        answer: exit.value.answer,
        population: exit.value.population.map((c) => [c.id, Candidate.text(c, "."), c.done, c.score]),
        usage: { ...exit.value.usage, wallMs: 0 }
      }
    : { failure: Exit.isFailure(exit) ? String(exit.cause) : "" }

describe("budget invariants with the llama-cpp backend", () => {
  it.effect("hold over random graphs, params, budgets and seeds on stories260K", () =>
    Effect.gen(function* () {
      const cases = fc.sample(caseArb, { numRuns: 12, seed: 20261126 }) as ReadonlyArray<CaseOf>
      let ran = 0
      let exhausted = 0
      for (const c of cases) {
        const label = JSON.stringify({ graph: c.graph, params: c.params, limits: c.limits, seed: c.seed })
        const a = yield* runOnce(c, 1)
        const b = yield* runOnce(c, 4)
        for (const { exit, snapshot } of [a, b]) {
          // 3: nothing stays reserved
          assert.strictEqual(snapshot.open, 0, label)
          for (const m of Usage.METERS) assert.strictEqual(snapshot.reserved[m], 0, `${label} reserved ${m}`)
          if (Exit.isFailure(exit)) {
            // only a budget too small for the first call may stop a run, before anything is spent
            assert.include(String(exit.cause), "BudgetTooSmall", label)
            assert.strictEqual(snapshot.committed.calls, 0, label)
            continue
          }
          ran++
          const result = exit.value
          if (result.exhausted) exhausted++
          // 1: committed ≤ limit
          for (const m of LIMITED) {
            const limit = c.limits[m]
            if (limit !== undefined) assert.isAtMost(result.usage[m], limit + Limits.tolerance(limit), `${label} ${m}`)
          }
          // 2: the total is the sum of the per-node entries
          const sum = result.ledger.reduce((s, e) => Usage.add(s, e.usage), Usage.zero)
          for (const m of LIMITED) assert.strictEqual(sum[m], result.usage[m], `${label} by node ${m}`)
          // 4: actual ≤ static bound
          const bound = staticCost(a.loaded, { params: c.params, limits: c.limits, maxTokens: MAX_TOKENS }).usage
          for (const m of ["calls", "sequences", "outputTokens", "verifierCalls"] as const)
            assert.isAtMost(result.usage[m], bound[m], `${label} bound ${m}`)
        }
        // 5: same seed ⇒ same result at concurrency 1 and 4
        assert.deepStrictEqual(fingerprint(b.exit), fingerprint(a.exit), label)
      }
      // most cases run (the rest are refused up front), some of them until the budget runs out
      assert.isAbove(exhausted, 0)
      assert.isBelow(exhausted, ran)
      assert.isAtLeast(ran, 16)
    })
  )
})
