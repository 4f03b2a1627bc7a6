/**
 * The llama-cpp backend's configuration: the GGUF file, CPU threads, context size, prompt
 * template, sampling knobs and the next-token-probability judge. Unknown keys are rejected, so a
 * typo names itself.
 *
 * @since 0.1.0
 */
import { availableParallelism } from "node:os"
import { resolve } from "node:path"
import { Effect, Schema } from "effect"
import { type BackendConfigError, configError } from "../../src/services/Backend.ts"
import { decodeStrict } from "../../src/services/ConfigSchema.ts"
import { TEMPLATES, type TemplateName } from "../../src/services/Prompt.ts"

const withDefault = <S extends Schema.Top & { readonly "~type.make": unknown }>(schema: S, value: S["Type"]) =>
  schema.pipe(Schema.withDecodingDefaultKey(Effect.succeed(value)))

const int = (minimum: number, maximum: number, description: string) =>
  Schema.Int.check(Schema.isBetween({ minimum, maximum })).annotate({ description })

const unit = (description: string) =>
  Schema.Finite.check(Schema.isBetween({ minimum: 0, maximum: 1 })).annotate({ description })

/**
 * Threads when none are configured: all cores but one (at least 1). llama.cpp's worker threads
 * spin while they wait for each other, so a thread per core slows to a crawl when anything else
 * runs (measured: 2 threads on a busy 2-core machine were ~60× slower than 1).
 *
 * @example
 * defaultThreads(2) // 1
 */
export const defaultThreads = (cores: number = availableParallelism()): number => Math.max(1, Math.min(8, cores - 1))

/** The judge: what the verifier appends to a solution, and the two answers it compares. */
export const JudgeConfig = Schema.Struct({
  suffix: withDefault(
    Schema.String.annotate({ description: "appended to the solution so far (a PRM) or the whole solution (an ORM)" }),
    "\nIs this step correct? Answer:"
  ),
  yes: withDefault(Schema.NonEmptyString.annotate({ description: "the answer that means correct" }), " Yes"),
  no: withDefault(Schema.NonEmptyString.annotate({ description: "the answer that means wrong" }), " No"),
  modelPath: Schema.optionalKey(
    Schema.NonEmptyString.annotate({ description: "a GGUF file for the judge (default: the generator's model)" })
  )
})

export const LlamaCppConfig = Schema.Struct({
  modelPath: Schema.NonEmptyString.annotate({ description: "the GGUF model file" }),
  threads: Schema.optionalKey(
    int(1, 1024, "CPU threads of llama.cpp (default: all cores but one; 1 on a shared 2-core machine)")
  ),
  contextSize: Schema.optionalKey(
    int(16, 1 << 20, "context window in tokens (default: the model's training context, at most 4096)")
  ),
  maxTokens: withDefault(int(1, 1 << 20, "default and largest maxTokens of one call: the solution cap"), 512),
  stepTokens: Schema.optionalKey(int(1, 1 << 20, "default maxTokens of a step-wise call (default: maxTokens)")),
  template: withDefault(
    Schema.Literals(["auto", ...TEMPLATES]).annotate({
      description:
        'prompt template: "auto" reads the GGUF\'s chat template (ChatML or Llama 3) and uses "none" (the bare question) when it has none'
    }),
    "auto"
  ),
  system: Schema.optionalKey(Schema.String.annotate({ description: 'the system instruction (dropped by "none")' })),
  stepDelimiter: withDefault(Schema.NonEmptyString.annotate({ description: "the text between steps" }), "\n\n"),
  topK: withDefault(int(0, 1 << 20, "sample among the k likeliest tokens (0: all)"), 0),
  topP: withDefault(unit("nucleus sampling threshold (1: off)"), 1),
  minP: withDefault(unit("drop tokens below this fraction of the top probability (0: off)"), 0),
  model: Schema.optionalKey(Schema.NonEmptyString.annotate({ description: "model name (default: the file name)" })),
  params: Schema.optionalKey(
    Schema.Finite.check(Schema.isGreaterThanOrEqualTo(0)).annotate({
      description: "generator parameters, for FLOPs (default: counted from the GGUF)"
    })
  ),
  judge: withDefault(JudgeConfig, { suffix: "\nIs this step correct? Answer:", yes: " Yes", no: " No" })
}).annotate({ identifier: "LlamaCppConfig", description: "Configuration of the llama-cpp backend" })

/** What a user writes (`modelPath` and any subset of the knobs). */
export type LlamaCppConfigInput = typeof LlamaCppConfig.Encoded

/** A decoded configuration: defaults resolved except those that need the model (context size, template). */
export interface ResolvedLlamaCppConfig {
  /** absolute path of the GGUF file */
  readonly modelPath: string
  readonly threads: number
  readonly contextSize: number | undefined
  readonly maxTokens: number
  readonly stepTokens: number | undefined
  readonly template: TemplateName | "auto"
  readonly system: string | undefined
  readonly stepDelimiter: string
  readonly topK: number
  readonly topP: number
  readonly minP: number
  readonly model: string | undefined
  readonly params: number | undefined
  readonly judge: {
    readonly suffix: string
    readonly yes: string
    readonly no: string
    /** absolute path, or undefined for the generator's model */
    readonly modelPath: string | undefined
  }
}

/**
 * Decodes a configuration: missing knobs take their defaults, unknown keys and bad values are
 * reported with their path; relative model paths resolve against the working directory.
 *
 * @example
 * import { Effect } from "effect"
 * const config = Effect.runSync(decodeConfig({ modelPath: "stories260K.gguf", threads: 1 }))
 * config.stepDelimiter // "\n\n"
 */
export const decodeConfig = (input: unknown): Effect.Effect<ResolvedLlamaCppConfig, BackendConfigError> =>
  decodeStrict(
    "llama-cpp",
    LlamaCppConfig
  )(input).pipe(
    Effect.flatMap((c) =>
      c.contextSize !== undefined && c.maxTokens >= c.contextSize
        ? Effect.fail(
            configError(
              "llama-cpp",
              ["maxTokens"],
              `${c.maxTokens} leaves no room for a prompt in a context of ${c.contextSize} tokens`
            )
          )
        : Effect.succeed(c)
    ),
    Effect.map(
      (c): ResolvedLlamaCppConfig => ({
        modelPath: resolve(c.modelPath),
        threads: c.threads ?? defaultThreads(),
        contextSize: c.contextSize,
        maxTokens: c.maxTokens,
        stepTokens: c.stepTokens === undefined ? undefined : Math.min(c.stepTokens, c.maxTokens),
        template: c.template,
        system: c.system,
        stepDelimiter: c.stepDelimiter,
        topK: c.topK,
        topP: c.topP,
        minP: c.minP,
        model: c.model,
        params: c.params,
        judge: {
          suffix: c.judge.suffix,
          yes: c.judge.yes,
          no: c.judge.no,
          modelPath: c.judge.modelPath === undefined ? undefined : resolve(c.judge.modelPath)
        }
      })
    )
  )

/**
 * The prompt template for a GGUF's chat template (`tokenizer.chat_template`): ChatML or Llama 3
 * when recognised, "none" (the bare question) otherwise — stories260K has none.
 *
 * @example
 * resolveTemplate("{% for m in messages %}<|im_start|>{{ m.role }}…") // "chatml"
 * resolveTemplate(undefined) // "none"
 */
export const resolveTemplate = (chatTemplate: string | undefined): TemplateName =>
  chatTemplate === undefined
    ? "none"
    : chatTemplate.includes("<|im_start|>")
      ? "chatml"
      : chatTemplate.includes("<|start_header_id|>")
        ? "llama-3"
        : "none"
