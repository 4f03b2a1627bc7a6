/**
 * Choosing the final answer (the `select` node): majority vote, best (argmax score), and
 * best-of-N weighted (the sum of scores per equivalent answer, Snell et al. 2024 §5.1, after Li et
 * al. 2023); and hierarchical selection over revision chains (§6): within each chain first, then
 * across chains.
 *
 * Equivalent answers are grouped by the answer key (O(n)); groups with different keys are then
 * merged when `equivalent` says so, comparing only answers that share a value cell (`Merge.ts`):
 * no cap, so a large vote merges every equivalent spelling. Ties go to the answer seen first, or
 * (`ties: "score"`) to the larger total score, then the answer seen first.
 *
 * @since 0.1.0
 */
import type { RankedAnswer } from "../domain/RunResult.ts"
import type { AnswerKeyShape } from "../services/Grader.ts"
import { Merger } from "./Merge.ts"

export type Method = "majority" | "best" | "weighted"

/**
 * How equal weights are ordered: `first`, the answer seen first; `score`, the answer with the
 * larger total verifier score, then the one seen first (the simulator reference's majority vote
 * breaks ties by PRM score this way).
 */
export type Ties = "first" | "score"

/** One vote: a candidate's answer and score (unscored candidates vote with score 0). */
export interface Ballot {
  readonly id: string
  readonly answer: string
  readonly score: number
}

/** Equivalent answers: how many ballots, their total score, and the best of them. */
export interface AnswerGroup {
  readonly answer: string
  readonly count: number
  readonly total: number
  readonly bestScore: number
  /** id of the best-scored ballot (first seen on ties) */
  readonly best: string
}

type Group = { -readonly [K in keyof AnswerGroup]: AnswerGroup[K] }

/**
 * Groups ballots into equivalent answers, in first-seen order.
 *
 * @example
 * group([{ id: "a", answer: "1/2", score: 0.5 }, { id: "b", answer: "0.5", score: 0.7 }], key).length // 1
 */
export const group = (ballots: ReadonlyArray<Ballot>, answers: AnswerKeyShape): ReadonlyArray<AnswerGroup> => {
  // one ballot is one group (a best-of-1, or a chain's own vote): no key, no merger to build
  if (ballots.length === 1) return [single(ballots[0] as Ballot)]
  const merger = new Merger<Group>(answers, (answer) => ({
    answer,
    count: 0,
    total: 0,
    bestScore: Number.NEGATIVE_INFINITY,
    best: ""
  }))
  for (const b of ballots) {
    const g = merger.groupOf(b.answer)
    if (g.count === 0) g.best = b.id
    g.count++
    g.total += b.score
    if (b.score > g.bestScore) {
      g.bestScore = b.score
      g.best = b.id
    }
  }
  return merger.groups
}

/** The group of a ballot alone: the fields the merge loop would give it, computed the same way. */
const single = (b: Ballot): AnswerGroup => ({
  answer: b.answer,
  count: 1,
  total: 0 + b.score,
  // the loop keeps -Infinity unless a score is larger: a NaN score never is
  bestScore: Number.isNaN(b.score) ? Number.NEGATIVE_INFINITY : b.score,
  best: b.id
})

/**
 * Ranks grouped answers by a method: majority by count, best by the best single score, weighted
 * by the total score. Stable: ties keep first-seen order, or with `ties: "score"` go to the larger
 * total score first.
 *
 * @example
 * vote(ballots, "weighted", answers)[0]?.answer
 * vote(ballots, "majority", answers, "score")[0]?.answer // a tied count goes to the higher-scored answer
 */
export const vote = (
  ballots: ReadonlyArray<Ballot>,
  method: Method,
  answers: AnswerKeyShape,
  ties: Ties = "first"
): ReadonlyArray<RankedAnswer> => {
  const weightOf = (g: AnswerGroup) => (method === "majority" ? g.count : method === "best" ? g.bestScore : g.total)
  const groups = group(ballots, answers)
  const byScore = ties === "score"
  return groups
    .map((g, i) => [g, weightOf(g), i] as const)
    .sort((a, b) =>
      b[1] !== a[1]
        ? b[1] > a[1]
          ? 1
          : -1
        : byScore && b[0].total !== a[0].total
          ? b[0].total > a[0].total
            ? 1
            : -1
          : a[2] - b[2]
    )
    .map(([g, w]) => ({ answer: g.answer, weight: w, count: g.count, best: g.best }))
}

/** A ballot with the chain it belongs to. */
export interface ChainBallot extends Ballot {
  readonly chain: string
}

/**
 * Hierarchical selection (Snell et al. 2024 §6): the method picks a winner within each chain
 * (its weight: the winner's count, best score or total score); then the chains' winners vote
 * across chains with those weights (majority: one vote per chain).
 *
 * @example
 * voteHierarchical(ballots, "weighted", answers)[0]?.answer
 */
export const voteHierarchical = (
  ballots: ReadonlyArray<ChainBallot>,
  method: Method,
  answers: AnswerKeyShape,
  ties: Ties = "first"
): ReadonlyArray<RankedAnswer> => {
  const chains = new Map<string, Array<ChainBallot>>()
  for (const b of ballots) {
    const list = chains.get(b.chain)
    if (list === undefined) chains.set(b.chain, [b])
    else list.push(b)
  }
  const winners: Array<Ballot> = []
  for (const list of chains.values()) {
    const top = vote(list, method, answers, ties)[0]
    if (top !== undefined)
      winners.push({ id: top.best, answer: top.answer, score: method === "majority" ? 1 : top.weight })
  }
  return vote(winners, method === "majority" ? "weighted" : method, answers, ties)
}

/** What a consistency judge decided (free-text voting): the chosen ballot and the ballots that agree with it. */
export interface Verdict {
  readonly chosen: string
  readonly agreeing: ReadonlyArray<string>
}

const JUDGED = "\u0000judged"

/**
 * The answer key with a judge's verdict on top: the answers of the agreeing ballots (and every
 * answer with the same key as one of them) form one group; the others group as before.
 *
 * @example
 * judgedKey(answers, ballots, { chosen: "s0", agreeing: ["s0", "s2"] }).key(ballots[2].answer) // the judged group's key
 */
export const judgedKey = (
  answers: AnswerKeyShape,
  ballots: ReadonlyArray<Ballot>,
  verdict: Verdict
): AnswerKeyShape => {
  const members = new Set(verdict.agreeing)
  const keys = new Set(ballots.filter((b) => members.has(b.id)).map((b) => answers.key(b.answer)))
  const key = (answer: string): string => {
    const k = answers.key(answer)
    return keys.has(k) ? JUDGED : k
  }
  return {
    name: `${answers.name}+judge`,
    key,
    equivalent: (a, b) => {
      const ka = key(a)
      const kb = key(b)
      if (ka === kb) return true
      // the judge said these disagree: no merge into or out of its group
      return ka !== JUDGED && kb !== JUDGED && answers.equivalent(a, b)
    }
  }
}

/**
 * A vote with a consistency judge's verdict (universal self-consistency, Chen et al. 2023): the
 * judge's group is one answer. Under `majority` its choice *is* the vote — the judged group ranks
 * first, standing for the chosen ballot's answer — as USC replaces counting by the judge; under
 * `weighted` and `best` the groups rank by score as usual.
 *
 * @example
 * voteJudged(ballots, "majority", answers, { chosen: "s3", agreeing: ["s1", "s3"] })[0]?.best // "s3"
 */
export const voteJudged = (
  ballots: ReadonlyArray<Ballot>,
  method: Method,
  answers: AnswerKeyShape,
  verdict: Verdict
): ReadonlyArray<RankedAnswer> => {
  const overlay = judgedKey(answers, ballots, verdict)
  const ranking = vote(ballots, method, overlay)
  const chosen = ballots.find((b) => b.id === verdict.chosen)
  if (method !== "majority" || chosen === undefined) return ranking
  const i = ranking.findIndex((r) => overlay.key(r.answer) === JUDGED)
  const top = ranking[i]
  if (top === undefined) return ranking
  return [{ ...top, answer: chosen.answer, best: chosen.id }, ...ranking.filter((_, j) => j !== i)]
}
