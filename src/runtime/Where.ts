/**
 * What an expression may read about one candidate of a pool (`candidate.<name>`): the finer
 * controls of existing nodes — `expand`'s per-candidate `n`, `revise`'s `where` — evaluate their
 * expressions once per candidate with these names in front of the usual ones (params, `budget.*`,
 * `remaining.*`, `population.*`).
 *
 * - `candidate.score`: its score clamped to [0, 1] (0 when unscored), so a static bound holds
 *   whatever the verifier returns;
 * - `candidate.rank`: its place in the pool by score, 0 = best (unscored last; ties in population
 *   order — the order of a top-k `prune`);
 * - `candidate.scored`, `candidate.answered`, `candidate.done`: 1 or 0;
 * - `candidate.votes`: how many candidates of the pool give an answer equivalent to its answer
 *   (itself included; 0 without an answer), answers compared as the vote compares them;
 * - `candidate.share`: `votes` over the pool's answered candidates (0 without an answer).
 *
 * Pure functions.
 *
 * @since 0.5.0
 */
import type { Candidate } from "../domain/Candidate.ts"
import { type CheckScope, checkNums } from "../graph/Check.ts"
import type { Interval } from "../graph/Expression.ts"
import type { NumField } from "../graph/Field.ts"
import * as Scope from "../graph/Scope.ts"
import type { AnswerKeyShape } from "../services/Grader.ts"
import { Merger } from "./Merge.ts"

/** The names of a candidate (`candidate.<name>`). */
export const CANDIDATE_NAMES = ["score", "rank", "scored", "answered", "done", "votes", "share"] as const
export type CandidateName = (typeof CANDIDATE_NAMES)[number]

/** What a candidate's expressions read. */
export type CandidateStats = { readonly [K in CandidateName]: number }

/**
 * The stats of each candidate of a pool, in pool order.
 *
 * @example
 * candidateStats([a, b], answers)[1].rank // 0 when b scores higher than a
 */
export const candidateStats = (
  pool: ReadonlyArray<Candidate>,
  answers: AnswerKeyShape
): ReadonlyArray<CandidateStats> => {
  const order = pool
    .map((c, i) => [c.score ?? Number.NEGATIVE_INFINITY, i] as const)
    .sort((a, b) => (b[0] !== a[0] ? (b[0] > a[0] ? 1 : -1) : a[1] - b[1]))
  const rank = new Array<number>(pool.length).fill(0)
  order.forEach(([, i], r) => {
    rank[i] = r
  })
  const merger = new Merger(answers, (answer) => ({ answer, n: 0 }))
  const groupOf = pool.map((c) => {
    if (c.answer === undefined) return undefined
    const { group } = merger.find(c.answer)
    group.n++
    return group
  })
  const answered = groupOf.filter((g) => g !== undefined).length
  return pool.map((c, i) => {
    const g = groupOf[i]
    const votes = g === undefined ? 0 : g.n
    return {
      score: c.score === undefined || Number.isNaN(c.score) ? 0 : Math.min(1, Math.max(0, c.score)),
      rank: rank[i] ?? 0,
      scored: c.score === undefined ? 0 : 1,
      answered: c.answer === undefined ? 0 : 1,
      done: c.done ? 1 : 0,
      votes,
      share: answered === 0 ? 0 : votes / answered
    }
  })
}

/**
 * A lookup of `candidate.<name>` in front of another lookup.
 *
 * @example
 * Expression.evaluate(expr, candidateLookup(stats, Scope.lookup(params, limits)))
 */
export const candidateLookup =
  (stats: CandidateStats, rest: (name: string) => number | undefined) =>
  (name: string): number | undefined => {
    if (name.startsWith("candidate.")) {
      const key = name.slice(10)
      return (CANDIDATE_NAMES as ReadonlyArray<string>).includes(key) ? stats[key as CandidateName] : undefined
    }
    return rest(name)
  }

/**
 * The range of each candidate name in a pool of at most `size` candidates: what a static bound
 * assumes of an expression that reads them.
 *
 * @example
 * candidateRange("candidate.rank", 4) // { lo: 0, hi: 3 }
 */
export const candidateRange = (name: string, size: number): Interval | undefined => {
  if (!name.startsWith("candidate.")) return undefined
  const n = Math.max(0, size)
  switch (name.slice(10)) {
    case "score":
    case "scored":
    case "answered":
    case "done":
    case "share":
      return { lo: 0, hi: 1 }
    case "rank":
      return { lo: 0, hi: Math.max(0, n - 1) }
    case "votes":
      return { lo: 0, hi: n }
    default:
      return undefined
  }
}

/**
 * Why a `candidate.` name cannot be read, or `undefined` when it can (or is not a candidate name).
 *
 * @example
 * unknownCandidateName("candidate.rnak") // 'unknown name "candidate.rnak" (candidate: candidate.score, …)'
 */
export const unknownCandidateName = (name: string): string | undefined =>
  !name.startsWith("candidate.") || (CANDIDATE_NAMES as ReadonlyArray<string>).includes(name.slice(10))
    ? undefined
    : `unknown name "${name}" (candidate: ${CANDIDATE_NAMES.map((n) => `candidate.${n}`).join(", ")})`

/**
 * The problems of numeric fields that may read `candidate.*`: unknown names, and — for a field
 * that reads neither a candidate nor anything else known only at run time — a value that breaks
 * its rule (`Check.checkNums` for the rest).
 *
 * @example
 * checkCandidateNums(scope, [node.n]) // [] for "candidate.rank < 2 ? 4 : 1"
 */
export const checkCandidateNums = (
  scope: CheckScope,
  fields: ReadonlyArray<NumField | undefined>
): ReadonlyArray<string> => {
  const out: Array<string> = []
  const rest: Array<NumField> = []
  for (const f of fields) {
    if (f === undefined) continue
    if (!f.names.some((n) => n.startsWith("candidate."))) {
      rest.push(f)
      continue
    }
    for (const name of f.names) {
      const why = name.startsWith("candidate.") ? unknownCandidateName(name) : Scope.unknownName(name, scope.params)
      if (why !== undefined) out.push(`${f.path}: ${why}`)
    }
  }
  return [...out, ...checkNums(scope, rest)]
}

/**
 * Whether a field reads a candidate (so it has one value per candidate).
 *
 * @example
 * readsCandidate(node.n) // true for "candidate.rank < 2 ? 4 : 1"
 */
export const readsCandidate = (f: NumField): boolean => f.names.some((n) => n.startsWith("candidate."))
