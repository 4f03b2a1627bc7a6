/**
 * Step scores from a reward model's reply (pure): the positive-class probability of each step
 * separator in a pooling reply, and the "+" probability among "+" and "-" from next-token logprobs.
 *
 * @since 0.1.0
 */
import { Result } from "effect"

/**
 * The step scores of one pooling result: `data` is one row of class probabilities per step
 * separator (vLLM's STEP pooling); the score is the row's `positiveIndex` entry. A result with
 * another number of rows than steps fails — the server is not pooling at the separator (see
 * docs/backends.md for the `--pooler-config` that fixes it).
 *
 * @example
 * poolingScores([[0.1, 0.9], [0.7, 0.3]], 2, 1) // Result.succeed([0.9, 0.3])
 */
export const poolingScores = (
  data: unknown,
  steps: number,
  positiveIndex: number
): Result.Result<ReadonlyArray<number>, string> => {
  if (!Array.isArray(data)) return Result.fail(`expected a list of per-step class probabilities, got ${typeof data}`)
  if (data.length !== steps)
    return Result.fail(
      `expected ${steps} rows (one per step separator), got ${data.length}: the server must pool at the step separator (STEP pooling)`
    )
  const scores: Array<number> = []
  for (let i = 0; i < data.length; i++) {
    const row: unknown = data[i]
    const p = Array.isArray(row) ? row[positiveIndex] : undefined
    if (typeof p !== "number" || !Number.isFinite(p) || p < 0 || p > 1)
      return Result.fail(
        `row ${i}: expected class probabilities with a probability at index ${positiveIndex}, got ${JSON.stringify(row)}`
      )
    scores.push(p)
  }
  return Result.succeed(scores)
}

/**
 * P(good) / (P(good) + P(bad)) from one position's top logprobs (tokens compared without
 * surrounding spaces, so " +" counts as "+"). A token missing from the top list counts as 0; both
 * missing fails.
 *
 * @example
 * plusProbability({ "+": Math.log(0.6), "-": Math.log(0.2) }, "+", "-") // Result.succeed(0.75)
 */
export const plusProbability = (
  top: Readonly<Record<string, number>> | null | undefined,
  good: string,
  bad: string
): Result.Result<number, string> => {
  if (top === null || top === undefined) return Result.fail("no top logprobs for the scored position")
  let pGood = 0
  let pBad = 0
  for (const [token, logprob] of Object.entries(top)) {
    const t = token.trim()
    if (t === good) pGood += Math.exp(logprob)
    else if (t === bad) pBad += Math.exp(logprob)
  }
  if (pGood + pBad === 0)
    return Result.fail(
      `neither ${JSON.stringify(good)} nor ${JSON.stringify(bad)} among the top logprobs (${Object.keys(top).slice(0, 5).join(", ")})`
    )
  return Result.succeed(pGood / (pGood + pBad))
}
