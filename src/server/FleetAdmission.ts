/**
 * The decision of a fleet budget (`FleetBudget.ts`), as a pure function: given a tenant's limits —
 * each a meter, a period, an amount, what the current window has used and what live reservations
 * hold — what a request wants (its worst case per meter) and the least it must be able to pay
 * (its first call), grant each limited meter `min(want, remaining)`, or refuse when some meter's
 * remaining cannot pay the first call. A refusal says what remains per meter, when the binding
 * windows reset, and how long to wait: until the reset when committed usage exhausted the limit,
 * or a moment when reservations of requests in flight hold the rest (they commit or expire soon).
 *
 * @since 0.2.0
 */
import * as Limits from "../budget/Limits.ts"
import { METERS, type Meter, type Usage } from "../domain/Usage.ts"

/** The periods a limit can have: calendar windows (UTC) or the tenant's whole life. */
export const PERIODS = ["minute", "hour", "day", "week", "month", "total"] as const
export type Period = (typeof PERIODS)[number]

/** One limit of a tenant, with the state of its current window. */
export interface LimitState {
  readonly meter: Meter
  readonly period: Period
  readonly amount: number
  /** committed in the current window */
  readonly used: number
  /** held by live reservations */
  readonly reserved: number
  /** when the current window ends (undefined: never, for `total`) */
  readonly resetsAt: Date | undefined
}

export type Decision =
  | {
      readonly _tag: "Granted"
      /** the reservation per limited meter: what the request may spend */
      readonly granted: Limits.Limits
    }
  | {
      readonly _tag: "Refused"
      /** the meters that cannot pay the request's first call */
      readonly exhausted: ReadonlyArray<Meter>
      /** what remains per limited meter (after reservations), never below 0 */
      readonly remaining: { readonly [meter: string]: number }
      /** when each exhausted meter's binding windows have all reset (ISO), or null for `total` */
      readonly resets: { readonly [meter: string]: string | null }
      /** seconds to wait before trying again */
      readonly retryAfterSeconds: number
    }

/** How long to wait when reservations in flight, not committed usage, hold what is missing. */
export const RESERVED_RETRY_SECONDS = 1

/**
 * Decides a request against a tenant's limits at `now`.
 *
 * @example
 * decide([{ meter: "sequences", period: "day", amount: 100, used: 90, reserved: 0, resetsAt }], { sequences: 64 }, { ...zero, sequences: 1 }, now)
 * // { _tag: "Granted", granted: { sequences: 10 } }
 */
export const decide = (limits: ReadonlyArray<LimitState>, want: Limits.Limits, minimum: Usage, now: Date): Decision => {
  const remaining: Partial<Record<Meter, number>> = {}
  const committedRoom: Partial<Record<Meter, number>> = {}
  for (const l of limits) {
    const left = l.amount - l.used - l.reserved
    remaining[l.meter] = Math.min(remaining[l.meter] ?? Number.POSITIVE_INFINITY, left)
    committedRoom[l.meter] = Math.min(committedRoom[l.meter] ?? Number.POSITIVE_INFINITY, l.amount - l.used)
  }
  const granted: Partial<Record<Meter, number>> = {}
  const exhausted: Array<Meter> = []
  for (const meter of METERS) {
    const left = remaining[meter]
    if (left === undefined) continue
    const room = Math.max(0, left)
    const g = Math.min(want[meter] ?? Number.POSITIVE_INFINITY, room)
    granted[meter] = g
    if (g + Limits.tolerance(minimum[meter]) < minimum[meter] || (room <= 0 && minimum[meter] > 0))
      exhausted.push(meter)
  }
  if (exhausted.length === 0) return { _tag: "Granted", granted }
  const resets: Record<string, string | null> = {}
  let waitMs = 0
  for (const meter of exhausted) {
    // every window of this meter too short for the first call has to reset
    const binding = limits.filter((l) => l.meter === meter && l.amount - l.used - l.reserved < minimum[meter])
    const never = binding.some((l) => l.resetsAt === undefined)
    const latest = binding.reduce<Date | undefined>(
      (a, l) => (l.resetsAt === undefined ? a : a === undefined || l.resetsAt > a ? l.resetsAt : a),
      undefined
    )
    resets[meter] = never || latest === undefined ? null : latest.toISOString()
    const byCommitted = (committedRoom[meter] ?? 0) < minimum[meter]
    const wait = byCommitted
      ? never || latest === undefined
        ? Number.POSITIVE_INFINITY
        : latest.getTime() - now.getTime()
      : RESERVED_RETRY_SECONDS * 1000
    waitMs = Math.max(waitMs, wait)
  }
  const shown: Record<string, number> = {}
  for (const [meter, left] of Object.entries(remaining)) shown[meter] = Math.max(0, left)
  return {
    _tag: "Refused",
    exhausted,
    remaining: shown,
    resets,
    // a total limit never resets: the wait is a day, a hint to stop retrying rather than a promise
    retryAfterSeconds: Number.isFinite(waitMs) ? Math.max(1, Math.ceil(waitMs / 1000)) : 86_400
  }
}

/**
 * The budget a request runs with: its own, with each limited meter lowered to what was granted.
 *
 * @example
 * narrow({ sequences: 64 }, { sequences: 10, outputTokens: 5000 }) // { sequences: 10, outputTokens: 5000 }
 */
export const narrow = (budget: Limits.Limits, granted: Limits.Limits): Limits.Limits => {
  const out: Partial<Record<Meter, number>> = { ...budget }
  for (const meter of METERS) {
    const g = granted[meter]
    if (g === undefined) continue
    out[meter] = Math.min(out[meter] ?? Number.POSITIVE_INFINITY, g)
  }
  return out
}
