/**
 * The Qwen pool format (QwenLM/Qwen2.5-Math `evaluation/data/eval_rm_maj_example`): one problem a
 * line with `idx`, `question` (or `problem`), `gt`, `answer`, `level` ("Level 3"), and per response
 * the lists `response` (texts), `pred` (extracted answers), `score` (Qwen's grader: booleans) and
 * `pred_score` (the reward model's raw logits, each a number or a one-element list).
 *
 * @since 0.1.0
 */
import { basename, extname } from "node:path"
import { Effect } from "effect"
import { dataPath } from "../../src/data/DataPath.ts"
import {
  type DatasetError,
  type FieldProblem,
  getPath,
  isFieldProblem,
  levelField,
  readJsonl,
  textField
} from "../../src/data/Dataset.ts"
import { booleanValue, listField, rewardValue, stringValue } from "./Fields.ts"
import { makeDataset, type Pool, type RecordedResponse, type ReplayDataset } from "./Pool.ts"

/** The dataset name of the shared Qwen pool (problem ids are `qwen-pool/<idx>`). */
export const QWEN_POOL = "qwen-pool"

/** The shared Qwen pool: `<shared data>/qwen25-math-rm-pool/math_cot_50.jsonl`. */
export const qwenPoolPath = (): string => dataPath("qwen25-math-rm-pool", "math_cot_50.jsonl")

/**
 * One Qwen-format record as a pool, or the bad field.
 *
 * @example
 * parseQwenRecord(JSON.parse(line))
 */
export const parseQwenRecord = (record: Record<string, unknown>, dataset: string = QWEN_POOL): Pool | FieldProblem => {
  const idx = getPath(record, "idx")
  if (typeof idx !== "number" || !Number.isInteger(idx) || idx < 0)
    return { field: "idx", reason: idx === undefined ? "missing" : "expected a non-negative integer" }
  const question = textField(record, getPath(record, "question") === undefined ? "problem" : "question")
  if (isFieldProblem(question)) return question
  const gold = textField(record, "answer")
  if (isFieldProblem(gold)) return gold
  const gt = getPath(record, "gt") === undefined ? undefined : textField(record, "gt")
  if (isFieldProblem(gt)) return gt
  const level = levelField(record, "level", false)
  if (isFieldProblem(level)) return level
  const texts = listField(record, "response")
  if (isFieldProblem(texts)) return texts
  if (texts.length === 0) return { field: "response", reason: "expected at least one response" }
  const preds = listField(record, "pred", texts.length)
  if (isFieldProblem(preds)) return preds
  const scores = listField(record, "score", texts.length)
  if (isFieldProblem(scores)) return scores
  const rewards = listField(record, "pred_score", texts.length)
  if (isFieldProblem(rewards)) return rewards
  const responses: Array<RecordedResponse> = []
  for (let i = 0; i < texts.length; i++) {
    const text = stringValue(texts[i], `response.${i}`)
    if (isFieldProblem(text)) return text
    const answer = stringValue(preds[i], `pred.${i}`)
    if (isFieldProblem(answer)) return answer
    const correct = booleanValue(scores[i], `score.${i}`)
    if (isFieldProblem(correct)) return correct
    const reward = rewardValue(rewards[i], `pred_score.${i}`)
    if (isFieldProblem(reward)) return reward
    responses.push({ text, answer, reward, correct })
  }
  return {
    problem: { id: `${dataset}/${idx}`, question, gold, meta: { level, index: idx, dataset } },
    responses,
    ...(gt === undefined || gt === gold ? {} : { gt })
  }
}

/**
 * Loads a Qwen-format pool: problems `<name>/<idx>` — `name` is `qwen-pool` for the shared pool
 * and the file's name (without extension) for any other file — (gold = `answer`; `gt` kept on the
 * pool when it differs), meta { level, index = idx, dataset: name }, and the recorded responses. A bad line is a `DatasetError` naming the file, the line and the field (`pred_score.3`).
 *
 * @example
 * const dataset = yield* loadQwenPool()
 * dataset.problems.length // 50
 */
export const loadQwenPool = (
  path: string = qwenPoolPath(),
  name: string = path === qwenPoolPath() ? QWEN_POOL : basename(path, extname(path))
): Effect.Effect<ReplayDataset, DatasetError> =>
  Effect.suspend(() => {
    const pools: Array<Pool> = []
    const parse = (record: Record<string, unknown>) => {
      const pool = parseQwenRecord(record, name)
      if (isFieldProblem(pool)) return pool
      pools.push(pool)
      return pool.problem
    }
    return Effect.map(readJsonl(path, parse), () => makeDataset(name, path, pools))
  })
