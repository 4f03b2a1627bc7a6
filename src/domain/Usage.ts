/**
 * Usage: the meters of test-time compute. A `Usage` holds a value for every meter; the budget
 * layer (`src/budget`) bounds any subset of them with `Limits`.
 *
 * It lives in the domain (not in `budget/`) because a `RunResult` carries it.
 *
 * @since 0.1.0
 */
import { Effect, Schema } from "effect"

/** Every meter, in display order. */
export const METERS = [
  "calls",
  "sequences",
  "inputTokens",
  "outputTokens",
  "thinkingTokens",
  "verifierCalls",
  "verifierTokens",
  "flops",
  "usd",
  "wallMs"
] as const

export type Meter = (typeof METERS)[number]

/** What each meter counts. */
export const METER_DESCRIPTIONS: Readonly<Record<Meter, string>> = {
  calls: "backend requests (generator and verifier)",
  sequences: "generated sequences (samples, children, rollout steps, revisions)",
  inputTokens: "prompt tokens sent to the generator",
  outputTokens: "tokens generated",
  thinkingTokens: "tokens a reasoning model spent thinking (also counted in outputTokens)",
  verifierCalls: "candidates scored by a verifier",
  verifierTokens: "tokens read by the verifier",
  flops: "inference FLOPs, 2·params·tokens for the generator and the verifier",
  usd: "price in US dollars, from the configured price table",
  wallMs: "wall-clock milliseconds spent in backend calls"
}

export type Usage = { readonly [K in Meter]: number }

/** The external form of a usage record (every meter a finite number). */
export const UsageSchema = Schema.Struct({
  calls: Schema.Finite,
  sequences: Schema.Finite,
  inputTokens: Schema.Finite,
  outputTokens: Schema.Finite,
  // optional on the wire, 0 when absent: records written before the meter existed still decode
  thinkingTokens: Schema.Finite.pipe(Schema.withDecodingDefaultKey(Effect.succeed(0))),
  verifierCalls: Schema.Finite,
  verifierTokens: Schema.Finite,
  flops: Schema.Finite,
  usd: Schema.Finite,
  wallMs: Schema.Finite
}).annotate({ identifier: "Usage" })

/** Nothing used. */
export const zero: Usage = {
  calls: 0,
  sequences: 0,
  inputTokens: 0,
  outputTokens: 0,
  thinkingTokens: 0,
  verifierCalls: 0,
  verifierTokens: 0,
  flops: 0,
  usd: 0,
  wallMs: 0
}

/**
 * A usage with the given meters set and the rest zero.
 *
 * @example
 * make({ sequences: 4, outputTokens: 900 }).calls // 0
 */
export const make = (meters: Partial<Record<Meter, number>>): Usage => ({
  // field by field, not `{ ...zero, ...meters }`: a run builds several usages per backend call,
  // and an object spread costs several times these ten reads
  calls: meters.calls ?? 0,
  sequences: meters.sequences ?? 0,
  inputTokens: meters.inputTokens ?? 0,
  outputTokens: meters.outputTokens ?? 0,
  thinkingTokens: meters.thinkingTokens ?? 0,
  verifierCalls: meters.verifierCalls ?? 0,
  verifierTokens: meters.verifierTokens ?? 0,
  flops: meters.flops ?? 0,
  usd: meters.usd ?? 0,
  wallMs: meters.wallMs ?? 0
})

const zipWith = (a: Usage, b: Usage, f: (x: number, y: number) => number): Usage => ({
  calls: f(a.calls, b.calls),
  sequences: f(a.sequences, b.sequences),
  inputTokens: f(a.inputTokens, b.inputTokens),
  outputTokens: f(a.outputTokens, b.outputTokens),
  thinkingTokens: f(a.thinkingTokens, b.thinkingTokens),
  verifierCalls: f(a.verifierCalls, b.verifierCalls),
  verifierTokens: f(a.verifierTokens, b.verifierTokens),
  flops: f(a.flops, b.flops),
  usd: f(a.usd, b.usd),
  wallMs: f(a.wallMs, b.wallMs)
})

/**
 * Meter-wise sum.
 *
 * @example
 * add(make({ calls: 1 }), make({ calls: 2 })).calls // 3
 */
export const add = (a: Usage, b: Usage): Usage => ({
  // written out (no callback per meter): the ledger adds usages on every reservation and commit
  calls: a.calls + b.calls,
  sequences: a.sequences + b.sequences,
  inputTokens: a.inputTokens + b.inputTokens,
  outputTokens: a.outputTokens + b.outputTokens,
  thinkingTokens: a.thinkingTokens + b.thinkingTokens,
  verifierCalls: a.verifierCalls + b.verifierCalls,
  verifierTokens: a.verifierTokens + b.verifierTokens,
  flops: a.flops + b.flops,
  usd: a.usd + b.usd,
  wallMs: a.wallMs + b.wallMs
})

/** Meter-wise difference `a − b`. */
export const subtract = (a: Usage, b: Usage): Usage => ({
  calls: a.calls - b.calls,
  sequences: a.sequences - b.sequences,
  inputTokens: a.inputTokens - b.inputTokens,
  outputTokens: a.outputTokens - b.outputTokens,
  thinkingTokens: a.thinkingTokens - b.thinkingTokens,
  verifierCalls: a.verifierCalls - b.verifierCalls,
  verifierTokens: a.verifierTokens - b.verifierTokens,
  flops: a.flops - b.flops,
  usd: a.usd - b.usd,
  wallMs: a.wallMs - b.wallMs
})

/** Meter-wise maximum. */
export const max = (a: Usage, b: Usage): Usage => zipWith(a, b, Math.max)

/** Meter-wise minimum. */
export const min = (a: Usage, b: Usage): Usage => zipWith(a, b, Math.min)

/**
 * Every meter multiplied by `k`.
 *
 * @example
 * scale(make({ sequences: 1, outputTokens: 10 }), 4).outputTokens // 40
 */
export const scale = (a: Usage, k: number): Usage => ({
  calls: a.calls * k,
  sequences: a.sequences * k,
  inputTokens: a.inputTokens * k,
  outputTokens: a.outputTokens * k,
  thinkingTokens: a.thinkingTokens * k,
  verifierCalls: a.verifierCalls * k,
  verifierTokens: a.verifierTokens * k,
  flops: a.flops * k,
  usd: a.usd * k,
  wallMs: a.wallMs * k
})

/**
 * Sum of many usages.
 *
 * @example
 * sum([make({ calls: 1 }), make({ calls: 1 })]).calls // 2
 */
export const sum = (usages: Iterable<Usage>): Usage => {
  let out = zero
  for (const u of usages) out = add(out, u)
  return out
}

/** Whether every meter of `a` is ≤ the same meter of `b` (with a relative tolerance for float meters). */
export const lessOrEqual = (a: Usage, b: Usage): boolean =>
  METERS.every((m) => a[m] <= b[m] + 1e-9 * Math.max(1, Math.abs(b[m])))

/** Whether two usages are equal on every meter. */
export const equals = (a: Usage, b: Usage): boolean => METERS.every((m) => a[m] === b[m])
