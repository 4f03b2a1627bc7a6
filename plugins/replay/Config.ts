/**
 * The replay backend's configuration: which recording to serve, in which format, how to grade,
 * and the few knobs of the (in-memory) server.
 *
 * @since 0.1.0
 */
import { resolve } from "node:path"
import { Effect, Schema } from "effect"
import { type AnswerKind, AnswerKindSchema } from "../../src/domain/AnswerKind.ts"
import type { BackendConfigError } from "../../src/services/Backend.ts"
import { decodeStrict, intField, nonNegativeField } from "../../src/services/ConfigSchema.ts"
import { QWEN_POOL, qwenPoolPath } from "./QwenPool.ts"

const int = intField
const nonNegative = nonNegativeField

export const ReplayConfig = Schema.Struct({
  dataset: Schema.NonEmptyString.annotate({
    description: `"${QWEN_POOL}" (the shared Qwen2.5-Math pool) or the path of a recording`
  }).pipe(Schema.withDecodingDefaultKey(Effect.succeed(QWEN_POOL))),
  format: Schema.optionalKey(
    Schema.Literals(["qwen", "jsonl"]).annotate({
      description: `the recording's format; default "qwen" for "${QWEN_POOL}", "jsonl" (docs/replay.md) for a path`
    })
  ),
  grading: Schema.optionalKey(
    Schema.Literals(["labels", "math"]).annotate({
      description:
        'labels: group by exact answer string, grade by the recorded labels (mull\'s grader where none); math: mull\'s answer key and grader. Default "labels" for the qwen format, "math" for jsonl'
    })
  ),
  answer: Schema.optionalKey(
    AnswerKindSchema.annotate({
      description:
        "the answer kind of a jsonl recording's problems: math (default), number, choice (default for records with options) or free"
    })
  ),
  concurrency: int(64, 1, 1_000_000, "concurrent calls the backend accepts"),
  maxTokens: int(4096, 1, 10_000_000, "default and largest maxTokens of one call; longer recorded responses are cut"),
  model: Schema.optionalKey(
    Schema.NonEmptyString.annotate({ description: "generator model name (default replay:<dataset>)" })
  ),
  params: nonNegative(0, "generator parameters, for FLOPs reports (unknown for a recording: 0 unless set)"),
  verifierModel: Schema.optionalKey(
    Schema.NonEmptyString.annotate({ description: "verifier model name (default replay:<dataset>:reward)" })
  ),
  verifierParams: nonNegative(0, "reward-model parameters, for FLOPs reports (0 unless set)")
}).annotate({ identifier: "ReplayConfig", description: "Configuration of the replay backend" })

/** What a user writes: any subset of the knobs. */
export type ReplayConfigInput = typeof ReplayConfig.Encoded

/** A decoded configuration with every default resolved. */
export interface ResolvedReplayConfig {
  /** as configured: `qwen-pool` or a path */
  readonly dataset: string
  /** the file to read */
  readonly path: string
  readonly format: "qwen" | "jsonl"
  readonly grading: "labels" | "math"
  /** the answer kind of a jsonl recording's problems, when set */
  readonly answer: AnswerKind | undefined
  readonly concurrency: number
  readonly maxTokens: number
  readonly model: string | undefined
  readonly params: number
  readonly verifierModel: string | undefined
  readonly verifierParams: number
}

/**
 * Decodes a configuration (missing knobs take their defaults; unknown keys are rejected, so a typo
 * names itself; a bad one fails with a `BackendConfigError` naming the field) and resolves the
 * dataset's path, format and grading.
 *
 * @example
 * import { Effect } from "effect"
 * const config = Effect.runSync(decodeConfig({}))
 * config.format // "qwen"
 * config.grading // "labels"
 */
export const decodeConfig = (input: unknown): Effect.Effect<ResolvedReplayConfig, BackendConfigError> =>
  decodeStrict(
    "replay",
    ReplayConfig
  )(input).pipe(
    Effect.map((c): ResolvedReplayConfig => {
      const builtin = c.dataset === QWEN_POOL
      const format = c.format ?? (builtin ? "qwen" : "jsonl")
      return {
        dataset: c.dataset,
        path: builtin ? qwenPoolPath() : resolve(c.dataset),
        format,
        grading: c.grading ?? (format === "qwen" ? "labels" : "math"),
        answer: c.answer,
        concurrency: c.concurrency,
        maxTokens: c.maxTokens,
        model: c.model,
        params: c.params,
        verifierModel: c.verifierModel,
        verifierParams: c.verifierParams
      }
    })
  )
