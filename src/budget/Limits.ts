/**
 * Limits: upper bounds on any subset of the meters, and what each meter needs to be enforceable.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"
import { METERS, type Meter, type Usage } from "../domain/Usage.ts"
import { FLAGS, type PriceKey } from "./Pricing.ts"

export type Limits = { readonly [K in Meter]?: number }

const Bound = Schema.Finite.check(Schema.isGreaterThanOrEqualTo(0))

/** The external form of limits: an object of meter → non-negative number; unknown meters are rejected. */
export const LimitsSchema = Schema.Struct({
  calls: Schema.optionalKey(Bound),
  sequences: Schema.optionalKey(Bound),
  inputTokens: Schema.optionalKey(Bound),
  outputTokens: Schema.optionalKey(Bound),
  thinkingTokens: Schema.optionalKey(Bound),
  verifierCalls: Schema.optionalKey(Bound),
  verifierTokens: Schema.optionalKey(Bound),
  flops: Schema.optionalKey(Bound),
  usd: Schema.optionalKey(Bound),
  wallMs: Schema.optionalKey(Bound)
}).annotate({ identifier: "Limits" })

/** No limits. */
export const none: Limits = {}

/**
 * What a meter needs to be bounded *before* a call, so that a limit on it can be enforced:
 * - `always`: counted from the request itself (calls, sequences, verifier calls; output tokens
 *   through each call's `max_tokens`, and thinking tokens, which are part of them);
 * - `prompt`: needs a bound of a call's input tokens — exact with a tokenizer, else the UTF-8
 *   bytes of what the model reads, which no byte-level tokenizer exceeds (input tokens, verifier
 *   tokens, and FLOPs and USD, which are computed from them, and which also need parameter
 *   counts or prices);
 * - `never`: only known afterwards (wall-clock time) — a limit on it is refused.
 */
export type Requirement = "always" | "prompt" | "never"

export const REQUIREMENTS: Readonly<Record<Meter, Requirement>> = {
  calls: "always",
  sequences: "always",
  inputTokens: "prompt",
  outputTokens: "always",
  thinkingTokens: "always",
  verifierCalls: "always",
  verifierTokens: "prompt",
  flops: "prompt",
  usd: "prompt",
  wallMs: "never"
}

/** Meters whose values are real numbers (derived with prices or parameter counts); the others are integers. */
export const FLOAT_METERS: ReadonlySet<Meter> = new Set<Meter>(["flops", "usd"])

/** What the chosen backends and the graph tell before a call. */
export interface Knowable {
  /** the generator bounds a call's prompt tokens before it (`promptTokens`) */
  readonly generatorInput: boolean
  /** the verifier bounds the tokens it reads before a call (`inputTokens`) */
  readonly verifierInput: boolean
  /** whether the graph calls a verifier at all (verifier meters matter only then) */
  readonly scores: boolean
  /** the prices and parameter counts no configuration set (`Pricing.unset`) */
  readonly unset: ReadonlyArray<PriceKey>
}

const USD_KEYS: ReadonlyArray<PriceKey> = ["input", "output", "verifier"]
const FLOPS_KEYS: ReadonlyArray<PriceKey> = ["generatorParams", "verifierParams"]

/**
 * Problems with a set of limits for the given backends and graph, one `limits.<meter>: message`
 * line each; empty when every limit can be enforced. A meter is refused only when the graph would
 * use what cannot be bounded or priced: the verifier's prices and tokens matter only to a graph
 * that scores.
 *
 * @example
 * check({ usd: 0.1 }, { generatorInput: true, verifierInput: true, scores: false, unset: ["input", "output", "verifier"] })
 * // ["limits.usd: cannot be enforced: no USD price is set for generator input tokens (--price-input), generated tokens (--price-output) …"]
 */
export const check = (limits: Limits, knowable: Knowable): ReadonlyArray<string> => {
  const problems: Array<string> = []
  const unset = new Set(knowable.unset)
  const needed = (keys: ReadonlyArray<PriceKey>) =>
    keys.filter((k) => unset.has(k) && (knowable.scores || (k !== "verifier" && k !== "verifierParams")))
  for (const meter of METERS) {
    const limit = limits[meter]
    if (limit === undefined) continue
    if (!Number.isFinite(limit) || limit < 0) {
      problems.push(`limits.${meter}: expected a finite number ≥ 0, got ${limit}`)
      continue
    }
    switch (REQUIREMENTS[meter]) {
      case "always":
        break
      case "never":
        problems.push(
          `limits.${meter}: cannot be enforced: wall-clock time is only known after a call (use a timeout instead)`
        )
        break
      case "prompt": {
        const gen = meter !== "verifierTokens" && !knowable.generatorInput
        const ver = meter !== "inputTokens" && knowable.scores && !knowable.verifierInput
        if (gen)
          problems.push(
            `limits.${meter}: cannot be enforced: the generator cannot bound a call's prompt tokens before it is made`
          )
        else if (ver)
          problems.push(
            `limits.${meter}: cannot be enforced: the verifier cannot bound the tokens it reads before a call`
          )
        else if (meter === "usd" && needed(USD_KEYS).length > 0)
          problems.push(
            `limits.usd: cannot be enforced: no USD price is set for ${needed(USD_KEYS)
              .map((k) => `${PRICE_WHAT[k]} (${FLAGS[k]})`)
              .join(
                ", "
              )}; set them with those flags, "prices" in the backend config, a sweep or serve config, or use a model of mull's price table (docs/concepts.md#prices-and-flops)`
          )
        else if (meter === "flops" && needed(FLOPS_KEYS).length > 0)
          problems.push(
            `limits.flops: cannot be enforced: no parameter count is set for the ${needed(FLOPS_KEYS)
              .map((k) => `${PRICE_WHAT[k]} (${FLAGS[k]})`)
              .join(", ")}; set it with that flag or "params" in the backend config`
          )
      }
    }
  }
  return problems
}

const PRICE_WHAT: Readonly<Record<PriceKey, string>> = {
  input: "generator input tokens",
  output: "generated tokens",
  verifier: "tokens the verifier reads",
  generatorParams: "generator",
  verifierParams: "verifier"
}

/**
 * Whether `usage` stays within `limits` on every limited meter.
 *
 * @example
 * within({ ...Usage.zero, sequences: 3 }, { sequences: 4 }) // true
 */
export const within = (usage: Usage, limits: Limits): boolean => {
  for (const meter of METERS) {
    const limit = limits[meter]
    if (limit !== undefined && usage[meter] > limit + allowance(meter, limit)) return false
  }
  return true
}

/** Float meters (USD, FLOPs) are compared with a relative tolerance of 1e-9 (rounding of derived sums). */
export const tolerance = (limit: number): number => 1e-9 * Math.max(1, Math.abs(limit))

/**
 * How far a meter's total may pass its limit by rounding: the float tolerance for USD and FLOPs,
 * nothing for the integer meters (a limit of 3e9 output tokens never grants 3e9 + 1).
 *
 * @example
 * allowance("outputTokens", 3e9) // 0
 */
export const allowance = (meter: Meter, limit: number): number => (FLOAT_METERS.has(meter) ? tolerance(limit) : 0)

/**
 * Parses `meter=limit,meter=limit` (the CLI's `--budget`). Numbers may use `e` notation and `_`.
 *
 * @example
 * parse("sequences=10,outputTokens=5e4") // { ok: true, limits: { sequences: 10, outputTokens: 50000 } }
 */
export const parse = (
  text: string
):
  | { readonly ok: true; readonly limits: Limits }
  | { readonly ok: false; readonly problems: ReadonlyArray<string> } => {
  const out: Partial<Record<Meter, number>> = {}
  const problems: Array<string> = []
  for (const raw of text.split(",")) {
    const part = raw.trim()
    if (part === "") continue
    const eq = part.indexOf("=")
    if (eq < 0) {
      problems.push(`budget "${part}": expected meter=limit`)
      continue
    }
    const name = part.slice(0, eq).trim()
    const value = Number(
      part
        .slice(eq + 1)
        .trim()
        .replaceAll("_", "")
    )
    if (!(METERS as ReadonlyArray<string>).includes(name)) {
      problems.push(`budget.${name}: unknown meter (meters: ${METERS.join(", ")})`)
      continue
    }
    if (part.slice(eq + 1).trim() === "" || !Number.isFinite(value) || value < 0) {
      problems.push(`budget.${name}: expected a finite number ≥ 0, got "${part.slice(eq + 1).trim()}"`)
      continue
    }
    out[name as Meter] = value
  }
  return problems.length > 0 ? { ok: false, problems } : { ok: true, limits: out }
}
