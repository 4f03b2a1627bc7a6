/**
 * Pricing: FLOPs and US dollars derived from token meters.
 *
 * FLOPs follow Snell et al. 2024 (§7, after Kaplan et al.): inference costs 2·P FLOPs per token,
 * for the generator (input and output tokens) and the verifier (tokens it reads).
 *
 * @since 0.1.0
 */
import { Schema } from "effect"
import type { Usage } from "../domain/Usage.ts"

export interface Pricing {
  /** generator parameters (P in 2·P·tokens) */
  readonly generatorParams: number
  /** verifier parameters */
  readonly verifierParams: number
  /** US dollars per million generator input tokens */
  readonly usdPerMillionInput: number
  /** US dollars per million generated tokens */
  readonly usdPerMillionOutput: number
  /** US dollars per million tokens read by the verifier */
  readonly usdPerMillionVerifier: number
}

const NonNegative = Schema.Finite.check(Schema.isGreaterThanOrEqualTo(0))

export const PricingSchema = Schema.Struct({
  generatorParams: NonNegative,
  verifierParams: NonNegative,
  usdPerMillionInput: NonNegative,
  usdPerMillionOutput: NonNegative,
  usdPerMillionVerifier: NonNegative
}).annotate({ identifier: "Pricing" })

/** Free, parameter-less pricing: FLOPs and USD stay zero. */
export const free: Pricing = {
  generatorParams: 0,
  verifierParams: 0,
  usdPerMillionInput: 0,
  usdPerMillionOutput: 0,
  usdPerMillionVerifier: 0
}

/**
 * Fills `flops` and `usd` from the token meters (any values already there are replaced).
 *
 * @example
 * derive({ ...free, generatorParams: 1e9 }, { ...Usage.zero, outputTokens: 10 }).flops // 2e10
 */
export const derive = (pricing: Pricing, usage: Usage): Usage => ({
  ...usage,
  flops:
    2 * pricing.generatorParams * (usage.inputTokens + usage.outputTokens) +
    2 * pricing.verifierParams * usage.verifierTokens,
  usd:
    (usage.inputTokens * pricing.usdPerMillionInput +
      usage.outputTokens * pricing.usdPerMillionOutput +
      usage.verifierTokens * pricing.usdPerMillionVerifier) /
    1e6
})
