/**
 * What the tests of the runtime's fast paths share: each checks that a path (calls in one fiber,
 * answers in plain code, a fan-out launched together) gives the run the ordinary path gives, for
 * the built-in graphs under random limits.
 */
import fc from "fast-check"
import type * as Limits from "../../src/budget/Limits.ts"
import type { RunResult } from "../../src/domain/RunResult.ts"

/** What must not depend on the path taken (wall times dropped). */
export const comparable = (r: RunResult) => ({
  answer: r.answer,
  population: r.population,
  exhausted: r.exhausted,
  usage: { ...r.usage, wallMs: 0 },
  backendUsage: { ...r.backendUsage, wallMs: 0 },
  ledger: r.ledger.map((n) => ({ node: n.node, usage: { ...n.usage, wallMs: 0 } }))
})

/** The built-in graphs with small parameters, so that a property run stays short; their own shapes otherwise. */
export const GRAPHS: ReadonlyArray<readonly [string, Record<string, number>]> = [
  ["beam-search", { N: 8, M: 2, rounds: 4 }],
  ["dvts", { N: 8, M: 2, rounds: 4 }],
  ["best-of-n", { N: 6 }],
  ["weighted-best-of-n", { N: 6 }],
  ["lookahead", { N: 4, M: 2, k: 2, rounds: 3 }],
  ["particle-filter", { N: 6, rounds: 4 }],
  ["rebase", { N: 6, rounds: 4 }],
  ["sequential-revisions", { N: 4 }],
  ["parallel-revisions", { N: 6 }],
  ["mcts", { N: 6 }],
  ["deepconf-online", { N: 12, warmup: 4 }]
]

/** Limits from none to tight ones on sequences, output tokens and calls. */
export const limitsArb: fc.Arbitrary<Limits.Limits> = fc.oneof(
  fc.constant({}),
  fc.record({ sequences: fc.integer({ min: 1, max: 60 }) }),
  fc.record({ outputTokens: fc.integer({ min: 50, max: 30_000 }) }),
  fc.record({ calls: fc.integer({ min: 1, max: 30 }), sequences: fc.integer({ min: 1, max: 80 }) })
)
