/**
 * Scoring new candidates inside a node that searches (a tree search scores every node it grows):
 * verifier calls through `Calls.score`, step scores aggregated, `CandidateScored` published.
 *
 * @since 0.3.0
 */
import { Effect } from "effect"
import type { Candidate } from "../domain/Candidate.ts"
import { type Aggregate, aggregate } from "./Aggregate.ts"
import { score } from "./Calls.ts"
import type { Frame } from "./Env.ts"
import type { RunError } from "./RunError.ts"

/**
 * The candidates with their scores set (those the budget did not pay for come back unscored). With
 * `finishing`, every candidate is complete and the calls may draw on the run's reserve.
 *
 * @example
 * const scored = yield* scoreNew(frame, "root.nodes.0", "prm", "last", children, false)
 */
export const scoreNew: (
  frame: Frame,
  node: string,
  verifier: string,
  how: Aggregate,
  fresh: ReadonlyArray<Candidate>,
  finishing: boolean
) => Effect.Effect<ReadonlyArray<Candidate>, RunError> = Effect.fnUntraced(function* (
  frame: Frame,
  node: string,
  verifier: string,
  how: Aggregate,
  fresh: ReadonlyArray<Candidate>,
  finishing: boolean
) {
  const targets = fresh.filter((c) => c.steps !== undefined)
  if (targets.length === 0) return fresh
  const scores = yield* score(frame, node, verifier, targets, finishing)
  // keyed by the candidate object, not its id (long in a deep search, hashed afresh each time)
  const scored = new Map<Candidate, Candidate>()
  targets.forEach((c, i) => {
    const s = scores[i]
    const total = s === undefined ? undefined : aggregate(s, how)
    if (s !== undefined && total !== undefined) scored.set(c, { ...c, stepScores: s, score: total })
  })
  if (frame.env.events.enabled)
    yield* Effect.forEach(
      [...scored.values()],
      (c) =>
        frame.env.events.publish({
          _tag: "CandidateScored",
          id: c.id,
          node,
          score: c.score ?? 0,
          stepScores: c.stepScores
        }),
      { discard: true }
    )
  return fresh.map((c) => scored.get(c) ?? c)
})
