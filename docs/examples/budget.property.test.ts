/**
 * Property-testing a strategy's budget with fast-check (docs/recipes.md). For random budgets,
 * params and seeds, the strategy in revise-the-best.json must never spend more than its budget,
 * never more than its static bound (`mull cost`), attribute every unit to a graph node, and give
 * the same result twice for the same seed. It runs with `npm test` (vitest includes
 * docs/examples/*.test.ts); run it alone with `npx vitest run docs/examples`.
 *
 * In your own project, import from "mull" instead of "../../src/index.ts".
 */
import { Effect } from "effect"
import * as fc from "fast-check"
import { afterAll, describe, expect, it } from "vitest"
import { Cost, Loader, makeRunner, Usage } from "../../src/index.ts"

const GRAPH = new URL("revise-the-best.json", import.meta.url).pathname
const runner = makeRunner({ backend: "simulated" })
afterAll(() => runner.dispose())

/** The meters a budget may limit here (token limits need `maxTokens` in the bound; see docs/concepts.md). */
const budgets = fc.record(
  { sequences: fc.integer({ min: 0, max: 40 }), calls: fc.integer({ min: 0, max: 20 }) },
  { requiredKeys: [] }
)
const params = fc.record({
  N: fc.integer({ min: 1, max: 8 }),
  K: fc.integer({ min: 1, max: 3 }),
  R: fc.integer({ min: 0, max: 3 })
})
const problem = fc.record({
  question: fc.constantFrom("What is $6 \\cdot 7$?", "Solve $x + 3 = 5$.", "What is $\\frac{1}{2} + \\frac{1}{4}$?"),
  level: fc.integer({ min: 1, max: 5 })
})

describe("revise-the-best under a budget", () => {
  it("never spends more than its budget or its static bound; the ledger adds up; seeded runs repeat", async () => {
    const loaded = await Effect.runPromise(Loader.load(GRAPH))
    await fc.assert(
      fc.asyncProperty(budgets, params, problem, fc.nat(1000), async (budget, p, question, seed) => {
        const request = { graph: GRAPH, problem: question, params: p, budget, seed }
        const result = await runner.run(request).catch((e: unknown) => (e instanceof Error ? e : new Error(String(e))))
        // a budget too small for the graph's first call is refused before anything is spent
        if (result instanceof Error) {
          expect(result.name).toBe("BudgetTooSmall")
          return
        }
        // 1. within every limit
        for (const [meter, limit] of Object.entries(budget))
          expect(result.usage[meter as Usage.Meter]).toBeLessThanOrEqual(limit)
        // 2. within the static bound (the same bound `mull cost` prints)
        const bound = Cost.staticCost(loaded, { params: p, limits: budget, maxTokens: 1_000_000 })
        expect(result.usage.sequences).toBeLessThanOrEqual(bound.usage.sequences)
        expect(result.usage.calls).toBeLessThanOrEqual(bound.usage.calls)
        // 3. every unit is attributed to a node
        const total = result.ledger.reduce((sum, entry) => Usage.add(sum, entry.usage), Usage.zero)
        expect(total.sequences).toBe(result.usage.sequences)
        // 4. the same seed gives the same answer and usage (wall time is measured, so it is left out)
        const again = await runner.run(request)
        const counted = (u: Usage.Usage) => ({ ...u, wallMs: 0 })
        expect([again.answer, counted(again.usage)]).toEqual([result.answer, counted(result.usage)])
      }),
      { numRuns: 40, seed: 42 }
    )
  })
})
