/**
 * Problems from JSONL files: one JSON object per line, mapped to `Problem`s through dotted field
 * paths. A bad line is a `DatasetError` naming the file, the line and the field — never a defect.
 *
 * @since 0.1.0
 */
import { readFile } from "node:fs/promises"
import { basename, dirname, extname } from "node:path"
import { Effect, Schema } from "effect"
import type { Problem, ProblemMeta } from "../domain/Problem.ts"

/** A file that cannot be read, or a line that cannot become a problem. */
export class DatasetError extends Schema.TaggedError<DatasetError>()("DatasetError", {
  /** the file, as shown in messages (its folder and name, e.g. `math500/test.jsonl`) */
  file: Schema.String,
  /** 1-based line number, when a line is at fault */
  line: Schema.optionalKey(Schema.Int),
  /** the field at fault (the dotted path in the file) */
  field: Schema.optionalKey(Schema.String),
  message: Schema.String
}) {}

/** Where each part of a problem is in a record: dotted paths such as `"answer"` or `"meta.level"`. */
export interface FieldMapping {
  /** the problem id; absent ⇒ `<file name>/<index>` */
  readonly id?: string | undefined
  readonly question: string
  readonly gold?: string | undefined
  /** a MATH level: 1..5 or "Level 1".."Level 5" */
  readonly level?: string | undefined
  readonly subject?: string | undefined
}

/** A bad field of one record. */
export interface FieldProblem {
  readonly field: string
  readonly reason: string
}

/** Turns one record (the n-th, 0-based) into a problem, or names the bad field. */
export type RecordParser = (record: Record<string, unknown>, index: number) => Problem | FieldProblem

/** The file as shown in messages: its folder and name. */
export const displayName = (path: string): string => `${basename(dirname(path))}/${basename(path)}`

/**
 * The value at a dotted path, or undefined.
 *
 * @example
 * getPath({ a: { b: 1 } }, "a.b") // 1
 */
export const getPath = (record: unknown, path: string): unknown => {
  let value: unknown = record
  for (const key of path.split(".")) {
    if (typeof value !== "object" || value === null || Array.isArray(value)) return undefined
    value = (value as Record<string, unknown>)[key]
  }
  return value
}

/** A string field, or a number written as a string. */
export const textField = (record: unknown, path: string): string | FieldProblem => {
  const value = getPath(record, path)
  if (typeof value === "string") return value
  if (typeof value === "number" && Number.isFinite(value)) return String(value)
  return { field: path, reason: value === undefined ? "missing" : `expected a string, got ${JSON.stringify(value)}` }
}

export const isFieldProblem = (x: unknown): x is FieldProblem =>
  typeof x === "object" && x !== null && "reason" in x && "field" in x

/** A MATH level: "Level 1".."Level 5" (and, unless `strict`, 1..5 as a number or numeric string). */
export const levelField = (record: unknown, path: string, strict: boolean): number | FieldProblem => {
  const value = getPath(record, path)
  const m = typeof value === "string" ? /^\s*(?:Level\s+)?([1-5])\s*$/u.exec(value) : null
  if (typeof value === "string" && m && (!strict || value.trim().startsWith("Level"))) return Number(m[1])
  if (!strict && typeof value === "number" && Number.isInteger(value) && value >= 1 && value <= 5) return value
  return {
    field: path,
    reason: strict ? 'expected "Level 1".."Level 5"' : 'expected 1..5 or "Level 1".."Level 5"'
  }
}

/**
 * Reads a JSONL file with a record parser. Blank lines are skipped (line numbers still count
 * them); ids must be unique.
 *
 * @example
 * readJsonl("/data/x.jsonl", (r, i) => ({ id: `x/${i}`, question: String(r.q), meta: { index: i } }))
 */
export const readJsonl = Effect.fn("Dataset.readJsonl")(function* (path: string, parse: RecordParser) {
  const file = displayName(path)
  const content = yield* Effect.tryPromise({
    try: () => readFile(path, "utf8"),
    catch: (e) =>
      new DatasetError({ file, message: `${file}: cannot read ${path}: ${e instanceof Error ? e.message : String(e)}` })
  })
  const lines = content.split(/\r?\n/u)
  const problems: Array<Problem> = []
  const seen = new Map<string, number>()
  for (let i = 0; i < lines.length; i++) {
    const text = lines[i] ?? ""
    if (text.trim() === "") continue
    const line = i + 1
    let record: unknown
    try {
      record = JSON.parse(text)
    } catch (e) {
      const reason = e instanceof Error ? e.message : String(e)
      return yield* new DatasetError({ file, line, message: `${file} line ${line}: not valid JSON (${reason})` })
    }
    if (typeof record !== "object" || record === null || Array.isArray(record))
      return yield* new DatasetError({ file, line, message: `${file} line ${line}: expected a JSON object` })
    const parsed = parse(record as Record<string, unknown>, problems.length)
    if (isFieldProblem(parsed))
      return yield* new DatasetError({
        file,
        line,
        field: parsed.field,
        message: `${file} line ${line}: field "${parsed.field}": ${parsed.reason}`
      })
    const first = seen.get(parsed.id)
    if (first !== undefined)
      return yield* new DatasetError({
        file,
        line,
        field: "id",
        message: `${file} line ${line}: field "id": duplicate id ${JSON.stringify(parsed.id)} (first on line ${first})`
      })
    if (parsed.id === "")
      return yield* new DatasetError({ file, line, field: "id", message: `${file} line ${line}: field "id": empty` })
    seen.set(parsed.id, line)
    problems.push(parsed)
  }
  return problems as ReadonlyArray<Problem>
})

/**
 * Loads any JSONL file of problems through a field mapping (dotted paths). `meta.index` is the
 * record's position and `meta.dataset` the file's name without extension.
 *
 * @example
 * loadJsonl("data/aime.jsonl", { id: "id", question: "problem", gold: "answer", level: "meta.level" })
 */
export const loadJsonl = (path: string, mapping: FieldMapping): Effect.Effect<ReadonlyArray<Problem>, DatasetError> => {
  const dataset = basename(path, extname(path))
  return readJsonl(path, (record, index) => {
    const question = textField(record, mapping.question)
    if (isFieldProblem(question)) return question
    const id = mapping.id === undefined ? `${dataset}/${index}` : textField(record, mapping.id)
    if (isFieldProblem(id)) return id
    const gold = mapping.gold === undefined ? undefined : textField(record, mapping.gold)
    if (isFieldProblem(gold)) return gold
    const level = mapping.level === undefined ? undefined : levelField(record, mapping.level, false)
    if (isFieldProblem(level)) return level
    const subject = mapping.subject === undefined ? undefined : textField(record, mapping.subject)
    if (isFieldProblem(subject)) return subject
    const meta: ProblemMeta = {
      ...(level === undefined ? {} : { level }),
      ...(subject === undefined ? {} : { subject }),
      index,
      dataset
    }
    return { id, question, ...(gold === undefined ? {} : { gold }), meta }
  })
}
