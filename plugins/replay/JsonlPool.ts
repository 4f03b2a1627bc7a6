/**
 * The generic replay format (documented in docs/replay.md): JSONL, one problem a line,
 *
 * ```json
 * {"id": "algebra/1", "question": "…", "gold": "5", "level": 3, "subject": "Algebra",
 *  "responses": [{"text": "… \\boxed{5}", "answer": "5", "reward": 1.2, "correct": true}, …]}
 * ```
 *
 * `id` (as written: it names the recorded problem; default `<file name>/<index>`, 0-based),
 * `gold`, `level` (1–5 or "Level 3"), `subject` and `options` are optional; `options` (a list of
 * strings) makes a multiple-choice problem whose question lists them lettered (A), (B), …;
 * `responses` is a non-empty list in recorded order. Of a response only `text` is
 * required: `answer` absent ⇒ extracted from the text with mull's extractor for the problem's
 * answer kind (`null` ⇒ the
 * response has no answer); `reward` (a raw logit, or a list whose last entry is the outcome
 * reward) absent ⇒ the verifier refuses to score it; `correct` absent ⇒ graded by mull's grader.
 *
 * @since 0.1.0
 */
import { basename, extname } from "node:path"
import { Effect } from "effect"
import { extractFor } from "../../src/answer/Kinds.ts"
import {
  type DatasetError,
  type FieldProblem,
  getPath,
  isFieldProblem,
  levelField,
  readJsonl,
  textField
} from "../../src/data/Dataset.ts"
import { type AnswerKind, type AnswerSpec, MAX_OPTIONS, withOptions } from "../../src/domain/AnswerKind.ts"
import type { ProblemMeta } from "../../src/domain/Problem.ts"
import { booleanValue, listField, rewardValue, stringValue } from "./Fields.ts"
import { makeDataset, type Pool, type RecordedResponse, type ReplayDataset } from "./Pool.ts"

const RESPONSE_KEYS = new Set(["text", "answer", "reward", "correct"])

/**
 * One response object (the i-th of its line), or the bad field.
 *
 * @example
 * parseResponse({ text: "so \\boxed{5}" }, 0) // { text: "so \\boxed{5}", answer: "5" }
 */
export const parseResponse = (
  value: unknown,
  i: number,
  spec?: AnswerSpec | undefined
): RecordedResponse | FieldProblem => {
  const at = `responses.${i}`
  if (typeof value !== "object" || value === null || Array.isArray(value))
    return { field: at, reason: "expected an object with a text" }
  const o = value as Record<string, unknown>
  const unknown = Object.keys(o).find((k) => !RESPONSE_KEYS.has(k))
  if (unknown !== undefined)
    return { field: `${at}.${unknown}`, reason: "unknown field (expected text, answer, reward, correct)" }
  if (o.text === undefined) return { field: `${at}.text`, reason: "missing" }
  const text = stringValue(o.text, `${at}.text`)
  if (isFieldProblem(text)) return text
  const answer =
    o.answer === undefined
      ? extractFor(spec, text)
      : o.answer === null
        ? undefined
        : stringValue(o.answer, `${at}.answer`)
  if (isFieldProblem(answer)) return answer
  const reward = o.reward === undefined ? undefined : rewardValue(o.reward, `${at}.reward`)
  if (isFieldProblem(reward)) return reward
  const correct = o.correct === undefined ? undefined : booleanValue(o.correct, `${at}.correct`)
  if (isFieldProblem(correct)) return correct
  return {
    text,
    ...(answer === undefined ? {} : { answer }),
    ...(reward === undefined ? {} : { reward }),
    ...(correct === undefined ? {} : { correct })
  }
}

/**
 * One generic-format record (the index-th problem of dataset `dataset`) as a pool, or the bad field.
 *
 * @example
 * parseJsonlRecord({ question: "1+1?", gold: "2", responses: [{ text: "\\boxed{2}" }] }, 0, "tiny")
 */
export const parseJsonlRecord = (
  record: Record<string, unknown>,
  index: number,
  dataset: string,
  kind?: AnswerKind | undefined
): Pool | FieldProblem => {
  // a recording's own ids are kept as written: they name the problems it records (MATH-500's)
  const id = getPath(record, "id") === undefined ? `${dataset}/${index}` : textField(record, "id")
  if (isFieldProblem(id)) return id
  const question = textField(record, "question")
  if (isFieldProblem(question)) return question
  const gold = getPath(record, "gold") === undefined ? undefined : textField(record, "gold")
  if (isFieldProblem(gold)) return gold
  const level = getPath(record, "level") === undefined ? undefined : levelField(record, "level", false)
  if (isFieldProblem(level)) return level
  const subject = getPath(record, "subject") === undefined ? undefined : textField(record, "subject")
  if (isFieldProblem(subject)) return subject
  const options = getPath(record, "options") === undefined ? undefined : listField(record, "options")
  if (isFieldProblem(options)) return options
  const choices: Array<string> = []
  for (const [i, o] of (options ?? []).entries()) {
    if (typeof o !== "string") return { field: `options.${i}`, reason: `expected a string, got ${JSON.stringify(o)}` }
    choices.push(o)
  }
  if (options !== undefined && (choices.length < 2 || choices.length > MAX_OPTIONS))
    return { field: "options", reason: `expected 2 to ${MAX_OPTIONS} options, got ${choices.length}` }
  const answerKind = kind ?? (options === undefined ? undefined : "choice")
  if (options !== undefined && answerKind !== "choice")
    return { field: "options", reason: `options are for the answer kind choice, not ${answerKind}` }
  const spec: AnswerSpec | undefined =
    answerKind === undefined ? undefined : { kind: answerKind, ...(options === undefined ? {} : { options: choices }) }
  const list = listField(record, "responses")
  if (isFieldProblem(list)) return list
  if (list.length === 0) return { field: "responses", reason: "expected at least one response" }
  const responses: Array<RecordedResponse> = []
  for (let i = 0; i < list.length; i++) {
    const r = parseResponse(list[i], i, spec)
    if (isFieldProblem(r)) return r
    responses.push(r)
  }
  const meta: ProblemMeta = {
    ...(level === undefined ? {} : { level }),
    ...(subject === undefined ? {} : { subject }),
    index,
    dataset
  }
  return {
    problem: {
      id,
      question: options === undefined ? question : withOptions(question, choices),
      ...(gold === undefined ? {} : { gold }),
      ...(spec === undefined ? {} : { answer: spec }),
      meta
    },
    responses
  }
}

/**
 * Loads a pool in the generic replay format. The dataset's name is the file's name without
 * extension. A bad line is a `DatasetError` naming the file, the line and the field
 * (`responses.2.reward`).
 *
 * @example
 * const dataset = yield* loadJsonlPool("recordings/aime.jsonl")
 */
export const loadJsonlPool = (
  path: string,
  kind?: AnswerKind | undefined
): Effect.Effect<ReplayDataset, DatasetError> =>
  Effect.suspend(() => {
    const dataset = basename(path, extname(path))
    const pools: Array<Pool> = []
    const parse = (record: Record<string, unknown>, index: number) => {
      const pool = parseJsonlRecord(record, index, dataset, kind)
      if (isFieldProblem(pool)) return pool
      pools.push(pool)
      return pool.problem
    }
    return Effect.map(readJsonl(path, parse), () => makeDataset(dataset, path, pools))
  })
