/**
 * A sweep: strategies × budgets × seeds × problems, as a JSON document (a sweep file) or from
 * flags. A strategy's params are expressions over `B`, the budget — the paper's generation budget
 * N — so one entry covers every budget: `{ "graph": "lookahead", "params": { "N": "B / 2", "k": 1 } }`.
 *
 * @since 0.1.0
 */
import { Effect, Schema } from "effect"
import { METHODS } from "../answer/Extract.ts"
import { Prices } from "../budget/Pricing.ts"
import { FORMATS } from "../data/Formats.ts"
import { AnswerKindSchema } from "../domain/AnswerKind.ts"
import { formatIssues } from "../domain/SchemaProblems.ts"
import { METERS } from "../domain/Usage.ts"
import * as Expression from "../graph/Expression.ts"
import { Num } from "../graph/Graph.ts"

export const StrategySpec = Schema.Struct({
  /** how reports name it, e.g. `beam-search M=4` */
  label: Schema.NonEmptyString,
  /** a built-in graph name or a path */
  graph: Schema.NonEmptyString,
  /** the graph's params, numbers or expressions over B (the budget) */
  params: Schema.optionalKey(Schema.Record(Schema.String, Num)),
  /** budgets for this strategy only (defaults to the sweep's) */
  budgets: Schema.optionalKey(Schema.Array(Schema.Int.check(Schema.isGreaterThanOrEqualTo(1))))
})
export type StrategySpec = typeof StrategySpec.Type

export const DatasetSpec = Schema.Struct({
  /**
   * `math500`, `gsm8k`, `file` (any JSONL file: `path` and `format`), `jsonl` (a file in the
   * `jsonl` format), `qwen-pool` (the recorded Qwen pool) or `recording` (the problems of the replay
   * backend's recording, `backend.config.dataset`)
   */
  name: Schema.Literals(["math500", "gsm8k", "qwen-pool", "recording", "jsonl", "file"]),
  /** the file, for `file` and `jsonl` (and to override the default location of the others) */
  path: Schema.optionalKey(Schema.String),
  /** the file's record format, for `file` (src/data/Formats.ts) */
  format: Schema.optionalKey(Schema.Literals(FORMATS)),
  /** field overrides: dotted paths, each then required in every record */
  mapping: Schema.optionalKey(
    Schema.Struct({
      id: Schema.optionalKey(Schema.String),
      question: Schema.optionalKey(Schema.String),
      gold: Schema.optionalKey(Schema.String),
      level: Schema.optionalKey(Schema.String),
      subject: Schema.optionalKey(Schema.String),
      options: Schema.optionalKey(Schema.String)
    })
  ),
  /** the gold answer is the `answer` group (else the first group, else the match) of this regex's last match in the gold field */
  goldPattern: Schema.optionalKey(Schema.String),
  /** the gold answer is extracted from the gold field by this method (`as-written`: the field itself) */
  goldExtract: Schema.optionalKey(Schema.Literals([...METHODS, "as-written"])),
  /** the problems' answer kind (default: math; choice for records with options) */
  answer: Schema.optionalKey(AnswerKindSchema),
  /** keep every k-th problem (k = 5 keeps 100 of MATH-500, every level in proportion) */
  every: Schema.optionalKey(Schema.Int.check(Schema.isGreaterThanOrEqualTo(1))),
  /** then keep at most this many */
  limit: Schema.optionalKey(Schema.Int.check(Schema.isGreaterThanOrEqualTo(1))),
  /** or exactly these problem ids */
  ids: Schema.optionalKey(Schema.Array(Schema.String))
})
export type DatasetSpec = typeof DatasetSpec.Type

export const SweepSpec = Schema.Struct({
  $schema: Schema.optionalKey(Schema.String),
  name: Schema.String.check(
    Schema.isPattern(/^[A-Za-z0-9][A-Za-z0-9._-]*$/u, { message: "sweep names are slugs (letters, digits, . _ -)" })
  ),
  description: Schema.optionalKey(Schema.String),
  dataset: DatasetSpec,
  backend: Schema.Struct({
    name: Schema.String,
    config: Schema.optionalKey(Schema.Unknown)
  }),
  strategies: Schema.Array(StrategySpec).check(Schema.isMinLength(1)),
  /** the paper's generation budgets N */
  budgets: Schema.Array(Schema.Int.check(Schema.isGreaterThanOrEqualTo(1))).check(Schema.isMinLength(1)),
  seeds: Schema.Array(Schema.Int).check(Schema.isMinLength(1)),
  /** optional per-run limits, numbers or expressions over B */
  limits: Schema.optionalKey(Schema.Record(Schema.Literals(METERS), Schema.optionalKey(Num))),
  /** USD per million tokens and parameter counts (they win over the backend's; a usd limit needs them) */
  prices: Schema.optionalKey(Prices),
  /** per-problem difficulty: `samples` complete samples, scored (paper §3.2) */
  difficulty: Schema.optionalKey(
    Schema.Struct({
      samples: Schema.Int.check(Schema.isGreaterThanOrEqualTo(1)),
      seed: Schema.optionalKey(Schema.Int)
    })
  ),
  /**
   * the router's difficulty estimate as it would run: `samples` fresh scored samples per problem
   * (their mean final score; stored as sweep `<name>/estimate`), apart from the oracle samples
   */
  estimate: Schema.optionalKey(
    Schema.Struct({
      samples: Schema.Int.check(Schema.isGreaterThanOrEqualTo(1)),
      seed: Schema.optionalKey(Schema.Int)
    })
  ),
  /** a larger model for the exchange rate: its backend config and parameter count */
  large: Schema.optionalKey(
    Schema.Struct({
      config: Schema.optionalKey(Schema.Unknown),
      samples: Schema.optionalKey(Schema.Int.check(Schema.isGreaterThanOrEqualTo(1))),
      params: Schema.optionalKey(Schema.Finite.check(Schema.isGreaterThan(0)))
    })
  ),
  /** generation cache: per problem in memory (default), in the store (persists), or off */
  cache: Schema.optionalKey(Schema.Literals(["memory", "store", "off"])),
  /** problems evaluated at once */
  concurrency: Schema.optionalKey(Schema.Int.check(Schema.isGreaterThanOrEqualTo(1)))
}).annotate({ identifier: "SweepSpec" })
export type SweepSpec = typeof SweepSpec.Type

/** A sweep file that does not decode or whose expressions do not evaluate. */
export class SweepError extends Schema.TaggedError<SweepError>()("SweepError", {
  problems: Schema.Array(Schema.String)
}) {
  override get message(): string {
    return `invalid sweep:\n${this.problems.join("\n")}`
  }
}

/**
 * Decodes a sweep spec, every problem reported with its path.
 *
 * @example
 * const spec = yield* decodeSweep(JSON.parse(text))
 */
export const decodeSweep = (json: unknown): Effect.Effect<SweepSpec, SweepError> =>
  Schema.decodeUnknownEffect(SweepSpec)(json, { errors: "all", onExcessProperty: "error" }).pipe(
    Effect.mapError((e) => new SweepError({ problems: formatIssues(e) }))
  )

/** One configuration of a sweep: a strategy at a budget. */
export interface Config {
  readonly strategy: StrategySpec
  readonly budget: number
  /** the graph's params at this budget */
  readonly params: { readonly [name: string]: number }
  readonly limits: { readonly [meter: string]: number }
}

const evalB = (value: Num, budget: number, path: string, problems: Array<string>): number | undefined => {
  if (typeof value === "number") return value
  const r = Expression.parse(value)
  if (!r.ok) {
    problems.push(`${path}: ${r.message}`)
    return undefined
  }
  const unknown = Expression.names(r.expr).filter((n) => n !== "B")
  if (unknown.length > 0) {
    problems.push(`${path}: unknown name "${unknown[0]}" (sweep expressions may use B, the budget)`)
    return undefined
  }
  const v = Expression.evaluate(r.expr, () => budget)
  if (!Number.isFinite(v)) {
    problems.push(`${path}: "${value}" is ${v} at B = ${budget}`)
    return undefined
  }
  return v
}

/**
 * The configurations of a sweep: every strategy at each of its budgets, params and limits
 * evaluated at that budget.
 *
 * @example
 * (yield* configs(spec)).map((c) => `${c.strategy.label} @ ${c.budget}`)
 */
export const configs = (spec: SweepSpec): Effect.Effect<ReadonlyArray<Config>, SweepError> => {
  const problems: Array<string> = []
  const out: Array<Config> = []
  spec.strategies.forEach((s, i) => {
    for (const budget of s.budgets ?? spec.budgets) {
      const params: Record<string, number> = {}
      for (const [k, v] of Object.entries(s.params ?? {})) {
        const x = evalB(v, budget, `strategies.${i}.params.${k}`, problems)
        if (x !== undefined) params[k] = x
      }
      const limits: Record<string, number> = {}
      for (const [k, v] of Object.entries(spec.limits ?? {})) {
        if (v === undefined) continue
        const x = evalB(v, budget, `limits.${k}`, problems)
        if (x !== undefined) limits[k] = x
      }
      out.push({ strategy: s, budget, params, limits })
    }
  })
  const labels = new Set<string>()
  spec.strategies.forEach((s, i) => {
    if (labels.has(s.label)) problems.push(`strategies.${i}.label: "${s.label}" is used twice`)
    labels.add(s.label)
  })
  return problems.length > 0 ? Effect.fail(new SweepError({ problems })) : Effect.succeed(out)
}
