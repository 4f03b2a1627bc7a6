/**
 * The server's guard around a request's ledger: the ceilings the ledger itself cannot enforce. A
 * meter the backend cannot count before a call (input tokens without a tokenizer) is checked after
 * the fact — once what was committed reaches its ceiling, no further call is granted — and the
 * request's `wallMs` is a deadline after which no call is granted. A refusal is the ledger's own
 * (`BudgetRefused`), so the run winds down as it does when its budget runs out: it answers from
 * what it could pay for, marked `exhausted`. Overshoot on a soft meter is at most the calls
 * already in flight.
 *
 * @since 0.2.0
 */
import { Effect } from "effect"
import { BudgetRefused, Ledger, type LedgerShape, reserveEachWith } from "../budget/Ledger.ts"
import type * as Limits from "../budget/Limits.ts"
import { METERS, type Meter } from "../domain/Usage.ts"

export interface GuardOptions {
  /** ceilings checked against what was committed */
  readonly soft: Limits.Limits
  /** no call is granted at or after this time (ms since the epoch) */
  readonly deadline: number | undefined
  /** the clock (ms since the epoch) */
  readonly now: () => number
}

/**
 * A ledger that refuses reservations past the deadline or once a soft ceiling is reached.
 *
 * @example
 * const ledger = guarded(inner, { soft: { inputTokens: 1_000_000 }, deadline: Date.now() + 60_000, now: Date.now })
 */
export const guarded = (inner: LedgerShape, options: GuardOptions): LedgerShape => {
  const soft = METERS.flatMap((m): ReadonlyArray<readonly [Meter, number]> => {
    const limit = options.soft[m]
    return limit === undefined ? [] : [[m, limit]]
  })
  if (soft.length === 0 && options.deadline === undefined) return inner
  const spent = new Map<Meter, number>(soft.map(([m]) => [m, 0]))
  const refusal = (node: string): BudgetRefused | undefined => {
    if (options.deadline !== undefined && options.now() >= options.deadline)
      return new BudgetRefused({ node, meter: "wallMs", requested: 1, available: 0 })
    for (const [meter, limit] of soft) {
      const used = spent.get(meter) ?? 0
      if (used >= limit) return new BudgetRefused({ node, meter, requested: 1, available: Math.max(0, limit - used) })
    }
    return undefined
  }
  const reserve: LedgerShape["reserve"] = (request) =>
    Effect.suspend(() => {
      const refused = refusal(request.node)
      return refused === undefined ? inner.reserve(request) : Effect.fail(refused)
    })
  return Ledger.of({
    ...inner,
    reserve,
    // each request checked against the deadline and the ceilings as it comes
    reserveAll: reserveEachWith(reserve),
    commit: (reservation, actual, backend) =>
      Effect.andThen(
        Effect.sync(() => {
          for (const [meter] of soft) spent.set(meter, (spent.get(meter) ?? 0) + actual[meter])
        }),
        inner.commit(reservation, actual, backend)
      )
  })
}
