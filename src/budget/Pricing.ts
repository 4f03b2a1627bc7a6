/**
 * Pricing: FLOPs and US dollars derived from token meters, and where prices come from.
 *
 * FLOPs follow Snell et al. 2024 (§7, after Kaplan et al.): inference costs 2·P FLOPs per token,
 * for the generator (input and output tokens) and the verifier (tokens it reads).
 *
 * Prices (USD per million tokens) and parameter counts are configuration: CLI flags
 * (`--price-input`, `--price-output`, `--price-verifier`, `--generator-params`,
 * `--verifier-params`), a sweep file's or `mull serve`'s `prices`, the backend configuration's
 * `prices`, and — for well-known hosted models — a small built-in table (`TABLE`). The first
 * source that sets a value wins (`resolve`); what none sets is *unset*, and a limit that needs it
 * (usd without USD prices, flops without parameter counts) is refused at load time
 * (`Limits.check`), never accepted and ignored.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"
import type { Usage } from "../domain/Usage.ts"

/** The five things a price configuration sets. */
export const PRICE_KEYS = ["input", "output", "verifier", "generatorParams", "verifierParams"] as const
export type PriceKey = (typeof PRICE_KEYS)[number]

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
  /**
   * What no configuration set (its value above is 0): a usd limit needs the USD prices of what
   * the graph uses, a flops limit the parameter counts. Absent: everything was set.
   */
  readonly unset?: ReadonlyArray<PriceKey>
}

const NonNegative = Schema.Finite.check(Schema.isGreaterThanOrEqualTo(0))

export const PricingSchema = Schema.Struct({
  generatorParams: NonNegative,
  verifierParams: NonNegative,
  usdPerMillionInput: NonNegative,
  usdPerMillionOutput: NonNegative,
  usdPerMillionVerifier: NonNegative
}).annotate({ identifier: "Pricing" })

/**
 * Prices and parameter counts as configuration writes them (any subset): USD per million tokens
 * of the generator's input and output and of what the verifier reads, and the two models'
 * parameter counts (for FLOPs).
 */
export const Prices = Schema.Struct({
  input: Schema.optionalKey(NonNegative.annotate({ description: "USD per million generator input (prompt) tokens" })),
  output: Schema.optionalKey(NonNegative.annotate({ description: "USD per million generated tokens" })),
  verifier: Schema.optionalKey(NonNegative.annotate({ description: "USD per million tokens the verifier reads" })),
  generatorParams: Schema.optionalKey(
    NonNegative.annotate({ description: "generator parameters, for FLOPs (2·params·tokens)" })
  ),
  verifierParams: Schema.optionalKey(
    NonNegative.annotate({ description: "verifier parameters, for FLOPs (2·params·tokens)" })
  )
}).annotate({
  identifier: "Prices",
  description: "USD per million tokens and parameter counts (each optional; the first source that sets one wins)"
})
export type Prices = typeof Prices.Type

/** Free, parameter-less pricing: FLOPs and USD stay zero, and nothing counts as set. */
export const free: Pricing = {
  generatorParams: 0,
  verifierParams: 0,
  usdPerMillionInput: 0,
  usdPerMillionOutput: 0,
  usdPerMillionVerifier: 0,
  unset: PRICE_KEYS
}

/** The flag that sets each price (what a refusal tells the user to give). */
export const FLAGS: Readonly<Record<PriceKey, string>> = {
  input: "--price-input",
  output: "--price-output",
  verifier: "--price-verifier",
  generatorParams: "--generator-params",
  verifierParams: "--verifier-params"
}

/**
 * Hosted models whose list prices mull knows, USD per million tokens (input, output; standard
 * tier, no caching or batch discount). Transcribed in December 2026 from OpenAI's API pricing page
 * (platform.openai.com/docs/pricing) as quoted by public summaries dated March–June 2026. Prices
 * change: set them explicitly for anything that matters.
 */
export const TABLE: ReadonlyArray<{
  readonly backend: string
  readonly model: string
  readonly input: number
  readonly output: number
}> = [
  { backend: "openai", model: "gpt-4o", input: 2.5, output: 10 },
  { backend: "openai", model: "gpt-4o-mini", input: 0.15, output: 0.6 },
  { backend: "openai", model: "gpt-4.1", input: 2, output: 8 },
  { backend: "openai", model: "gpt-4.1-mini", input: 0.4, output: 1.6 },
  { backend: "openai", model: "gpt-4.1-nano", input: 0.1, output: 0.4 },
  { backend: "openai", model: "gpt-5", input: 1.25, output: 10 },
  { backend: "openai", model: "gpt-5-mini", input: 0.25, output: 2 },
  { backend: "openai", model: "gpt-5-nano", input: 0.05, output: 0.4 },
  { backend: "openai", model: "o3", input: 2, output: 8 },
  { backend: "openai", model: "o3-mini", input: 1.1, output: 4.4 },
  { backend: "openai", model: "o4-mini", input: 1.1, output: 4.4 }
]

/**
 * The built-in table's prices of a model (matched exactly, or with a dated suffix such as
 * `gpt-4o-2024-08-06`), if it lists it.
 *
 * @example
 * tablePrices("openai", "gpt-4o-mini") // { input: 0.15, output: 0.6 }
 */
export const tablePrices = (backend: string, model: string): Prices | undefined => {
  const row = TABLE.find(
    (r) => r.backend === backend && (model === r.model || /^-\d{4}-\d{2}-\d{2}$/u.test(model.slice(r.model.length)))
  )
  return row === undefined ? undefined : { input: row.input, output: row.output }
}

/**
 * Pricing from price sources, the first that sets a value winning (flags, then a sweep's or the
 * server's configuration, then the backend's, then the table). Parameter counts of 0 count as unset.
 *
 * @example
 * resolve([{ output: 2 }, { input: 0.5, output: 1 }]).usdPerMillionOutput // 2
 */
export const resolve = (sources: ReadonlyArray<Prices | undefined>): Pricing => {
  const pick = (key: PriceKey): number | undefined => {
    for (const s of sources) {
      const v = s?.[key]
      if (v !== undefined && !((key === "generatorParams" || key === "verifierParams") && v === 0)) return v
    }
    return undefined
  }
  const values = Object.fromEntries(PRICE_KEYS.map((k) => [k, pick(k)])) as Record<PriceKey, number | undefined>
  const unset = PRICE_KEYS.filter((k) => values[k] === undefined)
  return {
    generatorParams: values.generatorParams ?? 0,
    verifierParams: values.verifierParams ?? 0,
    usdPerMillionInput: values.input ?? 0,
    usdPerMillionOutput: values.output ?? 0,
    usdPerMillionVerifier: values.verifier ?? 0,
    ...(unset.length === 0 ? {} : { unset })
  }
}

/**
 * A pricing's values as `Prices` (what a sweep or a server stores).
 *
 * @example
 * toPrices(resolve([{ input: 1 }])) // { input: 1 }
 */
export const toPrices = (pricing: Pricing): Prices => {
  const unset = new Set(pricing.unset ?? [])
  const all: Record<PriceKey, number> = {
    input: pricing.usdPerMillionInput,
    output: pricing.usdPerMillionOutput,
    verifier: pricing.usdPerMillionVerifier,
    generatorParams: pricing.generatorParams,
    verifierParams: pricing.verifierParams
  }
  return Object.fromEntries(PRICE_KEYS.filter((k) => !unset.has(k)).map((k) => [k, all[k]]))
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
