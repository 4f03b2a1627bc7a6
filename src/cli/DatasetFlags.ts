/**
 * The flags of `mull eval` that read a dataset from any JSONL file: `--dataset PATH --format
 * qwen|math|gsm8k|jsonl`, field overrides (`--question-field problem.text`, …), how the gold field
 * is read (`--gold-pattern REGEX`, `--gold-extract METHOD`) and the answer kind
 * (`--answer-kind choice`). See docs/evaluation.md.
 *
 * @since 0.2.0
 */
import { Effect, Option } from "effect"
import { Flag } from "effect/cli"
import { METHODS } from "../answer/Extract.ts"
import { FORMATS, type Format } from "../data/Formats.ts"
import { ANSWER_KINDS, type AnswerKind } from "../domain/AnswerKind.ts"
import type { RecordingFile } from "../services/Backend.ts"
import { InvalidInput } from "./InvalidInput.ts"

/** Dataset names `--dataset` knows; anything else is a file's path. */
export const BUILTIN_DATASETS = ["math500", "gsm8k", "qwen-pool", "recording"] as const

const field = (name: string, what: string) =>
  Flag.String(name).pipe(
    Flag.withDescription(`With --dataset PATH: the dotted path of ${what} in each record (then required)`),
    Flag.optional
  )

export const datasetFlags = {
  format: Flag.Literals("format", FORMATS).pipe(
    Flag.withDescription(
      "With --dataset PATH: the records' format — qwen (a Qwen pool: a recording for --backend replay), math (MATH: problem, answer), gsm8k (question, answer ending in #### n), jsonl (question, answer, optional id, options)"
    ),
    Flag.optional
  ),
  idField: field("id-field", "the problem id"),
  questionField: field("question-field", "the question"),
  goldField: field("gold-field", "the gold answer"),
  levelField: field("level-field", "the MATH level"),
  subjectField: field("subject-field", "the subject"),
  optionsField: field("options-field", "a multiple choice's options (a list)"),
  goldPattern: Flag.String("gold-pattern").pipe(
    Flag.withDescription(
      "With --dataset PATH: a regex whose last match in the gold field is the gold (its `answer` group, else its first group)"
    ),
    Flag.optional
  ),
  goldExtract: Flag.Literals("gold-extract", [...METHODS, "as-written"]).pipe(
    Flag.withDescription(
      "With --dataset PATH: read the gold field with this extraction method (default: its answer statement, else as written)"
    ),
    Flag.optional
  ),
  answerKind: Flag.Literals("answer-kind", ANSWER_KINDS).pipe(
    Flag.withDescription("The problems' answer kind: math (default), number, choice (a letter), free (free text)"),
    Flag.optional
  )
}

/** The values of `datasetFlags`, with `--dataset`. */
export interface DatasetFlagValues {
  readonly dataset: string
  readonly format: Option.Option<Format>
  readonly idField: Option.Option<string>
  readonly questionField: Option.Option<string>
  readonly goldField: Option.Option<string>
  readonly levelField: Option.Option<string>
  readonly subjectField: Option.Option<string>
  readonly optionsField: Option.Option<string>
  readonly goldPattern: Option.Option<string>
  readonly goldExtract: Option.Option<(typeof METHODS)[number] | "as-written">
  readonly answerKind: Option.Option<AnswerKind>
}

const FILE_ONLY = [
  ["format", "format"],
  ["idField", "id-field"],
  ["questionField", "question-field"],
  ["goldField", "gold-field"],
  ["levelField", "level-field"],
  ["subjectField", "subject-field"],
  ["optionsField", "options-field"],
  ["goldPattern", "gold-pattern"],
  ["goldExtract", "gold-extract"]
] as const

/**
 * Whether field or gold flags were given (a recording has its own fields).
 *
 * @example
 * hasMapping(flags) // false
 */
export const hasMapping = (flags: DatasetFlagValues): boolean =>
  FILE_ONLY.some(([key]) => key !== "format" && Option.isSome(flags[key]))

/**
 * The file `--dataset` names, with its format and answer kind; `undefined` for a built-in dataset.
 * A file without `--format`, and file flags with a built-in dataset, are `InvalidInput` naming the
 * flag.
 *
 * @example
 * const file = yield* fileDataset(flags) // { path: "data/x.jsonl", format: "qwen" }
 */
export const fileDataset = (flags: DatasetFlagValues): Effect.Effect<RecordingFile | undefined, InvalidInput> => {
  if ((BUILTIN_DATASETS as ReadonlyArray<string>).includes(flags.dataset)) {
    const stray = FILE_ONLY.filter(([key]) => Option.isSome(flags[key])).map(([, name]) => `--${name}`)
    return stray.length === 0
      ? Effect.succeed(undefined)
      : Effect.fail(
          new InvalidInput({
            subject: "--dataset",
            problems: stray.map((f) => `${f}: only with --dataset PATH (a JSONL file), not --dataset ${flags.dataset}`)
          })
        )
  }
  if (Option.isNone(flags.format))
    return Effect.fail(
      new InvalidInput({
        subject: "--format",
        problems: [
          `--dataset ${flags.dataset}: --format missing: give the records' format, --format ${FORMATS.join("|")} (docs/evaluation.md); built-in datasets are ${BUILTIN_DATASETS.join(", ")}`
        ]
      })
    )
  return Effect.succeed({
    path: flags.dataset,
    format: flags.format.value,
    ...(Option.isSome(flags.answerKind) ? { answer: flags.answerKind.value } : {})
  })
}

/**
 * The sweep's dataset for a problem file: `{ name: "file", path, format, mapping, … }`.
 *
 * @example
 * fileSpec({ path: "x.jsonl", format: "gsm8k" }, flags) // { name: "file", path: "x.jsonl", format: "gsm8k" }
 */
export const fileSpec = (file: RecordingFile, flags: DatasetFlagValues): Record<string, unknown> => {
  const mapping = Object.fromEntries(
    (
      [
        ["id", flags.idField],
        ["question", flags.questionField],
        ["gold", flags.goldField],
        ["level", flags.levelField],
        ["subject", flags.subjectField],
        ["options", flags.optionsField]
      ] as const
    ).flatMap(([k, v]) => (Option.isSome(v) ? [[k, v.value]] : []))
  )
  return {
    name: "file",
    path: file.path,
    format: file.format,
    ...(Object.keys(mapping).length > 0 ? { mapping } : {}),
    ...(Option.isSome(flags.goldPattern) ? { goldPattern: flags.goldPattern.value } : {}),
    ...(Option.isSome(flags.goldExtract) ? { goldExtract: flags.goldExtract.value } : {}),
    ...(file.answer === undefined ? {} : { answer: file.answer })
  }
}
