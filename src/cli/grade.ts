/**
 * `mull grade <file.jsonl>`: grades model outputs against gold answers with mull's MATH grader,
 * prints the accuracy and — given labels from another grader or from people — the agreement rate
 * and every disagreement, so anyone can check the grader on their own data.
 *
 * Fields are dotted paths (`a.b`, `responses.0`). A response field may hold a list: one verdict
 * per element, with the gold (or a gold list of the same length) and the label (or a label list of
 * the same length) paired by position.
 *
 * Responses and golds are read with `free` extraction by default (the last answer statement, else
 * the last formula or number, else the text as written), and the report says how many answers a
 * fallback found rather than an answer statement.
 *
 * @since 0.1.0
 */
import { Console, Effect, FileSystem, Option } from "effect"
import { Argument, Command, Flag } from "effect/cli"
import { grade } from "../answer/Equivalence.ts"
import { type Extractor, extractAnswer, FALLBACKS, type How, METHODS, type Method } from "../answer/Extract.ts"
import { extractFor, gradeFor } from "../answer/Kinds.ts"
import { ANSWER_KINDS, type AnswerKind, type AnswerSpec } from "../domain/AnswerKind.ts"
import { InvalidInput } from "./InvalidInput.ts"

/** How answers are read from responses (or golds): an extraction method, or the text as it is. */
export type Reading = Method | "none" | { readonly pattern: RegExp }

export interface GradeOptions {
  readonly responseField: string
  readonly goldField: string
  readonly labelField?: string | undefined
  readonly extract: Reading
  readonly goldExtract: Reading
  /** the answers' kind (default math): other kinds extract, compare and grade by `Kinds.ts` */
  readonly answerKind?: AnswerKind | undefined
  /** dotted path of a multiple choice's options (a list of strings), for `answerKind: "choice"` */
  readonly optionsField?: string | undefined
}

/** One graded response. */
export interface Verdict {
  /** 1-based line of the JSONL file */
  readonly line: number
  /** position in the response list (0 for a single response) */
  readonly index: number
  readonly extracted: string | null
  /** how the answer was found: the kind of statement, or a fallback of `free` */
  readonly how?: How
  readonly gold: string
  readonly correct: boolean
  readonly label?: boolean
}

const MAX_PROBLEMS = 50

/** The value at a dotted path (`a.b`, `list.0`); `undefined` when a step is missing. */
export const getPath = (value: unknown, path: string): unknown => {
  let v = value
  for (const step of path.split(".")) {
    if (Array.isArray(v) && /^\d+$/.test(step)) v = v[Number(step)]
    else if (typeof v === "object" && v !== null && Object.hasOwn(v, step)) v = (v as Record<string, unknown>)[step]
    else return undefined
  }
  return v
}

const describe = (v: unknown): string => (v === null ? "null" : Array.isArray(v) ? "a list" : typeof v)

/** Strings (numbers become their decimal text) or a list of them; a problem message otherwise. */
const texts = (v: unknown): ReadonlyArray<string> | string => {
  const one = (x: unknown): string | undefined =>
    typeof x === "string" ? x : typeof x === "number" && Number.isFinite(x) ? String(x) : undefined
  if (Array.isArray(v)) {
    const out = v.map(one)
    const bad = out.indexOf(undefined)
    return bad < 0 ? (out as Array<string>) : `element ${bad}: expected a string, got ${describe(v[bad])}`
  }
  const x = one(v)
  return x === undefined ? `expected a string or a list of strings, got ${describe(v)}` : [x]
}

const booleans = (v: unknown): ReadonlyArray<boolean> | string => {
  const one = (x: unknown): boolean | undefined =>
    typeof x === "boolean" ? x : x === 1 || x === 0 ? x === 1 : x === "true" || x === "false" ? x === "true" : undefined
  if (Array.isArray(v)) {
    const out = v.map(one)
    const bad = out.indexOf(undefined)
    return bad < 0 ? (out as Array<boolean>) : `element ${bad}: expected a boolean, got ${describe(v[bad])}`
  }
  const x = one(v)
  return x === undefined ? `expected a boolean or a list of booleans, got ${describe(v)}` : [x]
}

const read = (text: string, reading: Reading): { readonly answer: string; readonly how?: How } | undefined =>
  reading === "none" ? { answer: text } : extractAnswer(text, reading satisfies Extractor)

/** Pairs a per-line value with n responses: a single value for all, or a list of exactly n. */
const spread = <A>(values: ReadonlyArray<A>, list: boolean, n: number, field: string): ReadonlyArray<A> | string =>
  !list
    ? Array.from({ length: n }, () => values[0] as A)
    : values.length === n
      ? values
      : `field "${field}": ${values.length} elements for ${n} responses`

/**
 * Grades every response of a JSONL text. Returns the verdicts, or one `line N: …` problem per bad
 * line (invalid JSON, a missing field, a field of the wrong type or length).
 *
 * @example
 * gradeJsonl('{"r":"\\\\boxed{2}","g":"2"}', { responseField: "r", goldField: "g", extract: "auto", goldExtract: "none" })
 * // { verdicts: [{ line: 1, index: 0, extracted: "2", gold: "2", correct: true }], problems: [] }
 */
export const gradeJsonl = (
  text: string,
  options: GradeOptions
): { readonly verdicts: ReadonlyArray<Verdict>; readonly problems: ReadonlyArray<string> } => {
  const verdicts: Array<Verdict> = []
  const problems: Array<string> = []
  const lines = text.split("\n")
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]?.trim() ?? ""
    if (raw === "") continue
    const n = i + 1
    let row: unknown
    try {
      row = JSON.parse(raw)
    } catch (e) {
      problems.push(`line ${n}: invalid JSON (${e instanceof Error ? e.message : String(e)})`)
      continue
    }
    if (typeof row !== "object" || row === null || Array.isArray(row)) {
      problems.push(`line ${n}: expected a JSON object, got ${describe(row)}`)
      continue
    }
    const field = (name: string): unknown => {
      const v = getPath(row, name)
      if (v === undefined) problems.push(`line ${n}: field "${name}": missing`)
      return v
    }
    const responseValue = field(options.responseField)
    const goldValue = field(options.goldField)
    const labelValue = options.labelField === undefined ? undefined : field(options.labelField)
    if (responseValue === undefined || goldValue === undefined) continue
    if (options.labelField !== undefined && labelValue === undefined) continue
    const responses = texts(responseValue)
    const golds = texts(goldValue)
    const labels = options.labelField === undefined ? undefined : booleans(labelValue)
    if (typeof responses === "string") problems.push(`line ${n}: field "${options.responseField}": ${responses}`)
    if (typeof golds === "string") problems.push(`line ${n}: field "${options.goldField}": ${golds}`)
    if (typeof labels === "string") problems.push(`line ${n}: field "${options.labelField}": ${labels}`)
    if (typeof responses === "string" || typeof golds === "string" || typeof labels === "string") continue
    const goldList = spread(golds, Array.isArray(goldValue), responses.length, options.goldField)
    const labelList =
      labels === undefined
        ? undefined
        : spread(labels, Array.isArray(labelValue), responses.length, options.labelField ?? "")
    if (typeof goldList === "string") problems.push(`line ${n}: ${goldList}`)
    if (typeof labelList === "string") problems.push(`line ${n}: ${labelList}`)
    if (typeof goldList === "string" || typeof labelList === "string") continue
    const kind = options.answerKind ?? "math"
    let spec: AnswerSpec | undefined
    if (kind !== "math") {
      const choices = options.optionsField === undefined ? undefined : texts(field(options.optionsField))
      if (typeof choices === "string") {
        problems.push(`line ${n}: field "${options.optionsField}": ${choices}`)
        continue
      }
      spec = { kind, ...(choices === undefined ? {} : { options: choices }) }
    }
    responses.forEach((response, index) => {
      const goldText = goldList[index] ?? ""
      if (spec !== undefined) {
        // another kind: the kind's extraction (a --pattern still wins), its reading of the gold, its grading
        const found =
          typeof options.extract === "object" ? read(response, options.extract)?.answer : extractFor(spec, response)
        const gold = extractFor(spec, goldText) ?? goldText.trim()
        const label = labelList?.[index]
        verdicts.push({
          line: n,
          index,
          extracted: found ?? null,
          gold,
          correct: gradeFor(spec, found, gold),
          ...(label === undefined ? {} : { label })
        })
        return
      }
      const gold = read(goldText, options.goldExtract)
      if (gold === undefined) {
        problems.push(`line ${n}: field "${options.goldField}": no answer found by --gold-extract`)
        return
      }
      const extracted = read(response, options.extract)
      const label = labelList?.[index]
      verdicts.push({
        line: n,
        index,
        extracted: extracted?.answer ?? null,
        ...(extracted?.how === undefined ? {} : { how: extracted.how }),
        gold: gold.answer,
        correct: grade(extracted?.answer, gold.answer),
        ...(label === undefined ? {} : { label })
      })
    })
  }
  return { verdicts, problems }
}

const percent = (k: number, n: number): string => (n === 0 ? "n/a" : `${((100 * k) / n).toFixed(1)}%`)

/**
 * The report printed by `mull grade`: accuracy, answers not found and, with labels, the agreement
 * and one line per disagreement.
 *
 * @example
 * report([{ line: 1, index: 0, extracted: "2", gold: "2", correct: true }])
 * // ["graded 1 response", "accuracy 100.0% (1/1), no answer extracted: 0"]
 */
export const report = (verdicts: ReadonlyArray<Verdict>): ReadonlyArray<string> => {
  const n = verdicts.length
  const correct = verdicts.filter((v) => v.correct).length
  const missing = verdicts.filter((v) => v.extracted === null).length
  const lines = [
    `graded ${n} response${n === 1 ? "" : "s"}`,
    `accuracy ${percent(correct, n)} (${correct}/${n}), no answer extracted: ${missing}`
  ]
  const fallbacks = FALLBACKS.map((how) => [how, verdicts.filter((v) => v.how === how).length] as const).filter(
    ([, k]) => k > 0
  )
  if (fallbacks.length > 0)
    lines.push(`answers found with no answer statement: ${fallbacks.map(([how, k]) => `${how} ${k}`).join(", ")}`)
  const labelled = verdicts.filter((v) => v.label !== undefined)
  if (labelled.length > 0) {
    const disagreements = labelled.filter((v) => v.label !== v.correct)
    const agree = labelled.length - disagreements.length
    lines.push(`agreement with labels ${percent(agree, labelled.length)} (${agree}/${labelled.length})`)
    if (disagreements.length > 0) lines.push(`disagreements (${disagreements.length}):`)
    for (const v of disagreements)
      lines.push(
        `  line ${v.line} [${v.index}]: grader ${v.correct}, label ${v.label}; extracted ${JSON.stringify(v.extracted)}, gold ${JSON.stringify(v.gold)}`
      )
  }
  return lines
}

const readingFlag = (name: string, fallback: Method | "none") =>
  Flag.Literals(name, [...METHODS, "none"]).pipe(Flag.withDefault(fallback))

export const gradeCommand = Command.make(
  "grade",
  {
    file: Argument.File("file", { mustExist: true }).pipe(
      Argument.withDescription("a JSONL file, one object per line")
    ),
    responseField: Flag.String("response-field").pipe(
      Flag.withDescription("dotted path of the model output (a string or a list of strings)")
    ),
    goldField: Flag.String("gold-field").pipe(Flag.withDescription("dotted path of the gold answer")),
    labelField: Flag.String("label-field").pipe(
      Flag.withDescription("dotted path of a reference verdict (boolean or list) to measure agreement with"),
      Flag.optional
    ),
    extract: readingFlag("extract", "free").pipe(
      Flag.withDescription(
        "how to find the answer in a response: free (the last answer statement, else the last formula or number, else the text as written), auto (answer statements only), boxed, gsm8k, answer-is, or none (as is)"
      )
    ),
    pattern: Flag.String("pattern").pipe(
      Flag.withDescription(
        "a regular expression that finds the answer (its `answer` group or first group); overrides --extract"
      ),
      Flag.optional
    ),
    goldExtract: readingFlag("gold-extract", "free").pipe(
      Flag.withDescription(
        "how to find the answer in the gold field (default free: a bare answer is read as written, a solution by its last answer statement)"
      )
    ),
    answerKind: Flag.Literals("answer-kind", ANSWER_KINDS).pipe(
      Flag.withDescription(
        "the answers' kind: math (default), number (compared by value), choice (by letter; see --options-field), free (free text, normalised words)"
      ),
      Flag.withDefault("math" as const)
    ),
    optionsField: Flag.String("options-field").pipe(
      Flag.withDescription(
        "with --answer-kind choice: dotted path of the options (a list), so option texts read as letters"
      ),
      Flag.optional
    ),
    out: Flag.String("out").pipe(Flag.withDescription("write one verdict per line to this JSONL file"), Flag.optional)
  },
  Effect.fn("grade")(function* ({
    file,
    responseField,
    goldField,
    labelField,
    extract,
    pattern,
    goldExtract,
    answerKind,
    optionsField,
    out
  }) {
    let reading: Reading = extract
    if (Option.isSome(pattern)) {
      try {
        reading = { pattern: new RegExp(pattern.value) }
      } catch (e) {
        return yield* new InvalidInput({
          subject: "--pattern",
          problems: [`--pattern: invalid regular expression (${e instanceof Error ? e.message : String(e)})`]
        })
      }
    }
    const fs = yield* FileSystem.FileSystem
    const text = yield* fs.readFileString(file)
    const { verdicts, problems } = gradeJsonl(text, {
      responseField,
      goldField,
      labelField: Option.getOrUndefined(labelField),
      extract: reading,
      goldExtract,
      answerKind,
      optionsField: Option.getOrUndefined(optionsField)
    })
    if (problems.length > 0) {
      const shown = problems.slice(0, MAX_PROBLEMS)
      if (problems.length > MAX_PROBLEMS) shown.push(`… and ${problems.length - MAX_PROBLEMS} more problems`)
      return yield* new InvalidInput({ subject: `grade ${file}`, problems: shown })
    }
    for (const line of report(verdicts)) yield* Console.log(line)
    if (Option.isSome(out)) {
      yield* fs.writeFileString(out.value, verdicts.map((v) => `${JSON.stringify(v)}\n`).join(""))
      yield* Console.log(`verdicts written to ${out.value}`)
    }
  })
).pipe(Command.withDescription("Grade model outputs in a JSONL file against gold answers (MATH-grade equivalence)"))
