/**
 * Datasets from any JSONL file, in one of four record formats, with field-mapping overrides:
 *
 * | format  | id          | question                | gold                         | also                 |
 * |---------|-------------|-------------------------|------------------------------|----------------------|
 * | `math`  | `unique_id` | `problem` or `question` | `answer`, else `solution`    | `level`, `subject`   |
 * | `gsm8k` | —           | `question`              | `answer` (a solution: `#### 18`) |                  |
 * | `qwen`  | `idx`       | `question` or `problem` | `answer`                     | `level`              |
 * | `jsonl` | `id`        | `question` or `problem` | `answer` or `gold`           | `level`, `subject`, `options` |
 *
 * A default field that a record lacks is skipped (the question excepted); a field the caller maps
 * explicitly must be there. Problem ids name the file: `<file name>/<record id>`, or
 * `<file name>/<index>` (the record's 0-based position, blank lines skipped) when the format or
 * the record has no id. The gold field is read by a `GoldReader` the caller gives (mull's eval
 * reads answer statements such as `#### 18`, `A: 18` or a box, else the field as written; a
 * `--gold-pattern` or `--gold-extract` replaces it). A record with `options` (a list of strings)
 * is a multiple-choice problem: its question lists the options lettered (A), (B), …
 *
 * @since 0.2.0
 */
import { basename, extname } from "node:path"
import type { Effect } from "effect"
import { type AnswerKind, type AnswerSpec, MAX_OPTIONS, withOptions } from "../domain/AnswerKind.ts"
import type { Problem, ProblemMeta } from "../domain/Problem.ts"
import {
  type DatasetError,
  type FieldProblem,
  getPath,
  isFieldProblem,
  levelField,
  readJsonl,
  textField
} from "./Dataset.ts"

export const FORMATS = ["math", "gsm8k", "qwen", "jsonl"] as const
export type Format = (typeof FORMATS)[number]

/** Field overrides: dotted paths. A field given here is required in every record. */
export interface FileMapping {
  readonly id?: string | undefined
  readonly question?: string | undefined
  readonly gold?: string | undefined
  readonly level?: string | undefined
  readonly subject?: string | undefined
  readonly options?: string | undefined
}

/** Reads a gold field's text as the gold answer; `undefined` when it finds none. */
export type GoldReader = (text: string) => string | undefined

export interface FileOptions {
  readonly format: Format
  readonly mapping?: FileMapping | undefined
  /** how the gold field is read (default: as written, trimmed) */
  readonly gold?: GoldReader | undefined
  /** the reader as the user gave it, for errors (`--gold-pattern "A: (\d+)"`) */
  readonly goldRule?: string | undefined
  /** the problems' answer kind (default: `choice` for records with options, else math) */
  readonly answer?: AnswerKind | undefined
}

/** The fields a format reads by default, each a list of paths tried in order. */
interface Defaults {
  readonly id: ReadonlyArray<string>
  readonly question: ReadonlyArray<string>
  readonly gold: ReadonlyArray<string>
  readonly level: ReadonlyArray<string>
  readonly subject: ReadonlyArray<string>
  readonly options: ReadonlyArray<string>
}

/** Each format's default fields (see the module doc). */
export const FORMAT_FIELDS: Readonly<Record<Format, Defaults>> = {
  math: {
    id: ["unique_id"],
    question: ["problem", "question"],
    gold: ["answer", "solution"],
    level: ["level"],
    subject: ["subject"],
    options: []
  },
  gsm8k: { id: [], question: ["question"], gold: ["answer"], level: [], subject: [], options: [] },
  qwen: {
    id: ["idx"],
    question: ["question", "problem"],
    gold: ["answer"],
    level: ["level"],
    subject: [],
    options: []
  },
  jsonl: {
    id: ["id"],
    question: ["question", "problem"],
    gold: ["answer", "gold"],
    level: ["level"],
    subject: ["subject"],
    options: ["options"]
  }
}

/** The path to read: the mapped one (required), else the first default the record has (optional). */
const pathOf = (
  record: unknown,
  mapped: string | undefined,
  defaults: ReadonlyArray<string>
): { readonly path: string; readonly required: boolean } | undefined => {
  if (mapped !== undefined) return { path: mapped, required: true }
  const found = defaults.find((p) => getPath(record, p) !== undefined)
  return found === undefined ? undefined : { path: found, required: false }
}

const optionsField = (record: unknown, path: string): ReadonlyArray<string> | FieldProblem => {
  const value = getPath(record, path)
  if (!Array.isArray(value))
    return { field: path, reason: value === undefined ? "missing" : "expected a list of strings" }
  if (value.length < 2 || value.length > MAX_OPTIONS)
    return { field: path, reason: `expected 2 to ${MAX_OPTIONS} options, got ${value.length}` }
  const out: Array<string> = []
  for (const [i, v] of value.entries()) {
    if (typeof v === "string") out.push(v)
    else if (typeof v === "number" && Number.isFinite(v)) out.push(String(v))
    else return { field: `${path}.${i}`, reason: `expected a string, got ${JSON.stringify(v)}` }
  }
  return out
}

const show = (text: string): string => JSON.stringify(text.length > 60 ? `${text.slice(0, 57)}...` : text)

/**
 * One record of a file as a problem (the `index`-th of dataset `dataset`), or the bad field.
 *
 * @example
 * parseRecord({ question: "2+2?", answer: "#### 4" }, 0, "tiny", { format: "gsm8k", gold: (t) => t.split("####")[1]?.trim() })
 * // { id: "tiny/0", question: "2+2?", gold: "4", meta: { index: 0, dataset: "tiny" } }
 */
export const parseRecord = (
  record: Record<string, unknown>,
  index: number,
  dataset: string,
  options: FileOptions
): Problem | FieldProblem => {
  const defaults = FORMAT_FIELDS[options.format]
  const mapping = options.mapping ?? {}
  const q = pathOf(record, mapping.question, defaults.question)
  if (q === undefined)
    return {
      field: defaults.question[0] ?? "question",
      reason: `missing (this ${options.format} record has none of ${defaults.question.join(", ")}; map the question with --question-field)`
    }
  const question = textField(record, q.path)
  if (isFieldProblem(question)) return question
  const idAt = pathOf(record, mapping.id, defaults.id)
  const own = idAt === undefined ? undefined : textField(record, idAt.path)
  if (isFieldProblem(own)) return own
  const id = `${dataset}/${own ?? index}`
  let gold: string | undefined
  const g = pathOf(record, mapping.gold, defaults.gold)
  if (g !== undefined) {
    const text = textField(record, g.path)
    if (isFieldProblem(text)) return text
    const read = options.gold === undefined ? text.trim() : options.gold(text)
    if (read === undefined || read.trim() === "")
      return {
        field: g.path,
        reason: `no gold answer in ${show(text)}${options.goldRule === undefined ? "" : ` by ${options.goldRule}`} (set how the gold is read with --gold-pattern or --gold-extract)`
      }
    gold = read.trim()
  }
  const lv = pathOf(record, mapping.level, defaults.level)
  const level = lv === undefined ? undefined : levelField(record, lv.path, false)
  // a default level field in another shape ("hard") is not a MATH level: skipped, not an error
  if (isFieldProblem(level) && lv?.required === true) return level
  const sb = pathOf(record, mapping.subject, defaults.subject)
  const subject = sb === undefined ? undefined : textField(record, sb.path)
  if (isFieldProblem(subject)) return subject
  const op = pathOf(record, mapping.options, defaults.options)
  const choices = op === undefined ? undefined : optionsField(record, op.path)
  if (isFieldProblem(choices)) return choices
  const kind = options.answer ?? (choices === undefined ? undefined : "choice")
  if (choices !== undefined && kind !== "choice")
    return { field: op?.path ?? "options", reason: `options are for --answer-kind choice, not ${kind}` }
  const answer: AnswerSpec | undefined =
    kind === undefined ? undefined : { kind, ...(choices === undefined ? {} : { options: choices }) }
  const meta: ProblemMeta = {
    ...(typeof level === "number" ? { level } : {}),
    ...(subject === undefined ? {} : { subject }),
    index,
    dataset
  }
  return {
    id,
    question: choices === undefined ? question : withOptions(question, choices),
    ...(gold === undefined ? {} : { gold }),
    ...(answer === undefined ? {} : { answer }),
    meta
  }
}

/**
 * The name a file's problems carry: the file's name without its extension.
 *
 * @example
 * datasetName("data/gpqa-mini.jsonl") // "gpqa-mini"
 */
export const datasetName = (path: string): string => basename(path, extname(path))

/**
 * Loads the problems of a JSONL file in a format (see the module doc). A bad line is a
 * `DatasetError` naming the file, the line and the field.
 *
 * @example
 * const problems = yield* loadFile("data/gsm8k-mini.jsonl", { format: "gsm8k", gold: readGold })
 * problems[0]?.id // "gsm8k-mini/0"
 */
export const loadFile = (path: string, options: FileOptions): Effect.Effect<ReadonlyArray<Problem>, DatasetError> => {
  const dataset = datasetName(path)
  return readJsonl(path, (record, index) => parseRecord(record, index, dataset, options))
}
