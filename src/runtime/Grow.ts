/**
 * Building candidates from generations: a fresh sample, a child of a prefix, a revision.
 *
 * @since 0.1.0
 */
import { Effect } from "effect"
import type { Candidate, ChainRef } from "../domain/Candidate.ts"
import * as Steps from "../domain/Steps.ts"
import type { Generation } from "../services/Generator.ts"
import type { Frame } from "./Env.ts"

/**
 * A candidate extending `parent` (or starting fresh) with a generation's steps. The new candidate
 * is unscored: its step scores are the parent's (the prefix's), its score absent. `cut`: the call's
 * `max_tokens` was shrunk by the budget; if the generation stopped there, the candidate says so.
 *
 * @example
 * grow(frame, "root.nodes.0", "s0", undefined, generation)
 */
export const grow = (
  frame: Frame,
  node: string,
  id: string,
  parent: Candidate | undefined,
  generation: Generation,
  chain?: ChainRef,
  cut = false
): Candidate => {
  const steps = Steps.appendAll(parent?.steps, generation.steps)
  const group = parent?.group ?? frame.group
  const chainRef = chain ?? parent?.chain
  return {
    id,
    ...(parent === undefined ? {} : { parentId: parent.id }),
    steps,
    done: generation.done,
    ...(generation.answer === undefined ? {} : { answer: generation.answer }),
    stepScores: parent?.stepScores ?? [],
    ...(chainRef === undefined ? {} : { chain: chainRef }),
    ...(group === undefined ? {} : { group }),
    origin: { node, round: frame.round },
    // its output stopped at a max_tokens the budget shrank, not where the model would have
    ...(cut && generation.finishReason === "length" ? { cut: true } : {})
  }
}

/** A candidate and the generation that made it. */
export interface Created {
  readonly candidate: Candidate
  readonly generation: Generation
}

/**
 * Publishes `CandidateCreated` for new candidates (when anyone listens).
 *
 * @example
 * yield* announce(frame, "root.nodes.0", created)
 */
export const announce = (frame: Frame, node: string, created: ReadonlyArray<Created>): Effect.Effect<void> => {
  const events = frame.env.events
  if (!events.enabled || created.length === 0) return Effect.void
  return Effect.forEach(
    created,
    ({ candidate: c, generation }) =>
      events.publish({
        _tag: "CandidateCreated",
        id: c.id,
        ...(c.parentId === undefined ? {} : { parentId: c.parentId }),
        node,
        round: c.origin.round,
        done: c.done,
        ...(c.answer === undefined ? {} : { answer: c.answer }),
        ...(c.cut === true ? { cut: true } : {}),
        tokens: c.steps?.tokens ?? 0,
        text: generation.steps.map((s) => s.text).join(frame.env.delimiter)
      }),
    { discard: true }
  )
}
