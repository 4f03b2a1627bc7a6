/**
 * Fault schedules: which fault, if any, hits an attempt of a backend call. Pure and seeded — the
 * same schedule, call and attempt always give the same fault — so a failing property-test case
 * replays exactly.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"
import { hash64 } from "../../src/domain/Hash.ts"

/** Faults of a generator attempt. */
export const GENERATOR_FAULTS = [
  "rateLimited",
  "unavailable",
  "reset",
  "timeout",
  "spike",
  "malformed",
  "fewerChoices",
  "overlong"
] as const
export type GeneratorFault = (typeof GENERATOR_FAULTS)[number]

/** Faults of a verifier attempt. */
export const VERIFIER_FAULTS = [
  "rateLimited",
  "unavailable",
  "timeout",
  "spike",
  "nan",
  "outOfRange",
  "fewerScores"
] as const
export type VerifierFault = (typeof VERIFIER_FAULTS)[number]

const Rate = Schema.Finite.check(Schema.isBetween({ minimum: 0, maximum: 1 }))
const Ms = Schema.Finite.check(Schema.isGreaterThanOrEqualTo(0))

/** A fault schedule: the probability of each fault per attempt, and how long the slow ones take. */
export const FaultSchedule = Schema.Struct({
  /** seeds every draw */
  seed: Schema.Finite,
  /** probability of each generator fault per attempt (their sum must be ≤ 1) */
  generator: Schema.optionalKey(
    Schema.Struct(Object.fromEntries(GENERATOR_FAULTS.map((f) => [f, Schema.optionalKey(Rate)])))
  ),
  /** probability of each verifier fault per attempt (their sum must be ≤ 1) */
  verifier: Schema.optionalKey(
    Schema.Struct(Object.fromEntries(VERIFIER_FAULTS.map((f) => [f, Schema.optionalKey(Rate)])))
  ),
  /** the `retry-after` a rate-limited attempt asks for (default 0) */
  retryAfterMs: Schema.optionalKey(Ms),
  /** how long a timed-out attempt hangs before it fails (default 0) */
  timeoutMs: Schema.optionalKey(Ms),
  /** the extra latency of a spike (default 0) */
  spikeMs: Schema.optionalKey(Ms)
})
export type FaultSchedule = typeof FaultSchedule.Type

/**
 * A fault for attempt `attempt` of the call identified by `key`, drawn from `rates` (a fault's
 * probability is its rate; no fault with the remaining probability).
 *
 * @example
 * draw(7, { rateLimited: 1 }, "s0", 0) // "rateLimited"
 */
export const draw = <F extends string>(
  seed: number,
  rates: { readonly [K in F]?: number | undefined } | undefined,
  key: string,
  attempt: number
): F | undefined => {
  if (rates === undefined) return undefined
  // 53 random bits from the seeded hash of (seed, call, attempt)
  const u = Number(hash64([seed, key, attempt]) >> 11n) / 2 ** 53
  let acc = 0
  // the keys of `rates` are faults of type F (the Schema allows no others)
  for (const fault of Object.keys(rates) as Array<F>) {
    acc += rates[fault] ?? 0
    if (u < acc) return fault
  }
  return undefined
}

/**
 * Problems of a schedule that its Schema cannot express (rates summing to more than 1), as
 * `path: message` lines.
 *
 * @example
 * check({ seed: 1, generator: { rateLimited: 0.7, unavailable: 0.6 } }) // ["generator: rates sum to 1.3, more than 1"]
 */
export const check = (schedule: FaultSchedule): ReadonlyArray<string> => {
  const out: Array<string> = []
  for (const part of ["generator", "verifier"] as const) {
    const rates = schedule[part]
    if (rates === undefined) continue
    const sum = Object.values(rates).reduce<number>((a, r) => a + (r ?? 0), 0)
    if (sum > 1 + 1e-12) out.push(`${part}: rates sum to ${Math.round(sum * 1e6) / 1e6}, more than 1`)
  }
  return out
}
