/**
 * Limits: upper bounds on any subset of the meters, and what each meter needs to be enforceable.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"
import { METERS, type Meter, type Usage } from "../domain/Usage.ts"

export type Limits = { readonly [K in Meter]?: number }

const Bound = Schema.Finite.check(Schema.isGreaterThanOrEqualTo(0))

/** The external form of limits: an object of meter → non-negative number; unknown meters are rejected. */
export const LimitsSchema = Schema.Struct({
  calls: Schema.optionalKey(Bound),
  sequences: Schema.optionalKey(Bound),
  inputTokens: Schema.optionalKey(Bound),
  outputTokens: Schema.optionalKey(Bound),
  verifierCalls: Schema.optionalKey(Bound),
  verifierTokens: Schema.optionalKey(Bound),
  flops: Schema.optionalKey(Bound),
  usd: Schema.optionalKey(Bound),
  wallMs: Schema.optionalKey(Bound)
}).annotate({ identifier: "Limits" })

/** No limits. */
export const none: Limits = {}

/**
 * What a meter needs to be known *before* a call, so that a limit on it can be enforced:
 * - `always`: counted from the request itself (calls, sequences, verifier calls; output tokens
 *   through each call's `maxTokens`);
 * - `tokenizer`: needs exact input-token counts before the call (input tokens, verifier tokens,
 *   and FLOPs and USD, which are computed from them);
 * - `never`: only known afterwards (wall-clock time) — a limit on it is refused.
 */
export type Requirement = "always" | "tokenizer" | "never"

export const REQUIREMENTS: Readonly<Record<Meter, Requirement>> = {
  calls: "always",
  sequences: "always",
  inputTokens: "tokenizer",
  outputTokens: "always",
  verifierCalls: "always",
  verifierTokens: "tokenizer",
  flops: "tokenizer",
  usd: "tokenizer",
  wallMs: "never"
}

/** What the chosen backends can tell before a call. */
export interface Knowable {
  /** the generator counts prompt tokens exactly (capability `tokenizer`) */
  readonly generatorTokenizer: boolean
  /** the verifier counts its input tokens exactly */
  readonly verifierTokenizer: boolean
}

/**
 * Problems with a set of limits for the given backends, one `limits.<meter>: message` line each;
 * empty when every limit can be enforced.
 *
 * @example
 * check({ inputTokens: 1000 }, { generatorTokenizer: false, verifierTokenizer: false })
 * // ["limits.inputTokens: cannot be enforced: the generator has no tokenizer, so input tokens are only known after a call"]
 */
export const check = (limits: Limits, knowable: Knowable): ReadonlyArray<string> => {
  const problems: Array<string> = []
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
      case "tokenizer": {
        const gen = meter !== "verifierTokens" && !knowable.generatorTokenizer
        const ver = meter !== "inputTokens" && !knowable.verifierTokenizer
        if (gen)
          problems.push(
            `limits.${meter}: cannot be enforced: the generator has no tokenizer, so input tokens are only known after a call`
          )
        else if (ver)
          problems.push(
            `limits.${meter}: cannot be enforced: the verifier has no tokenizer, so its input tokens are only known after a call`
          )
      }
    }
  }
  return problems
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
    if (limit !== undefined && usage[meter] > limit + tolerance(limit)) return false
  }
  return true
}

/** Float meters (USD, FLOPs) are compared with a relative tolerance of 1e-9. */
export const tolerance = (limit: number): number => 1e-9 * Math.max(1, Math.abs(limit))

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
