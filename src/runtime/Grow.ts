/**
 * Building candidates from generations: a fresh sample, a child of a prefix, a revision.
 *
 * @since 0.1.0
 */
import { Effect, type Types } from "effect"
import type { Candidate, ChainRef } from "../domain/Candidate.ts"
import * as CandidateId from "../domain/CandidateId.ts"
import * as Steps from "../domain/Steps.ts"
import type { Generation } from "../services/Generator.ts"
import type { GenCall, Generated } from "./Calls.ts"
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
  // assigned field by field, not built with conditional spreads: every generation makes a
  // candidate, and a spread of `{}` or of a one-field object per optional field costs several
  // times the object; the keys keep the order the spreads gave (JSON output reads the same).
  // `new Object()`, not `{ id }`: V8 may allocate a literal's objects straight into the old
  // generation once most outlived a scavenge, and a dead candidate there keeps its young steps alive
  // through the next ones (`Link` in domain/Steps.ts says more); a constructor's objects start young
  const c = new Object() as Types.Mutable<Candidate>
  c.id = id
  if (parent !== undefined) c.parentId = parent.id
  c.steps = steps
  c.done = generation.done
  if (generation.answer !== undefined) c.answer = generation.answer
  c.stepScores = parent?.stepScores ?? NO_SCORES
  if (chainRef !== undefined) c.chain = chainRef
  if (group !== undefined) c.group = group
  c.origin = originOf(node, frame.round)
  // its output stopped at a max_tokens the budget shrank, not where the model would have
  if (cut && generation.finishReason === "length") c.cut = true
  return c
}

// the origin of the last candidate grown: a node's candidates of a round share one (immutable)
// object, not one each
let lastOrigin: Candidate["origin"] = { node: "", round: -1 }

const originOf = (node: string, round: number): Candidate["origin"] => {
  if (lastOrigin.node !== node || lastOrigin.round !== round) lastOrigin = { node, round }
  return lastOrigin
}

/** The step scores of a fresh candidate (shared: nobody writes to them). */
const NO_SCORES: ReadonlyArray<number> = Object.freeze([])

/**
 * The one call for `n` (> 0) fresh samples in a frame — a `sample` node's, or a fan-out branch's —
 * and its first sample's number; the frame's sample counter moves on by n. One call for the n
 * samples (servers share the prompt), seeded by the first sample's id: sample first+i is
 * continuation i, whatever n is — so best-of-64 gets best-of-256's first 64.
 *
 * @example
 * const { call, first } = freshCall(frame, 4, "end", 0.8, 1024, undefined)
 */
export const freshCall = (
  frame: Frame,
  n: number,
  until: "step" | "end",
  temperature: number,
  maxTokens: number,
  logprobs: number | undefined
): { readonly call: GenCall; readonly first: number } =>
  freshCallAt(frame.prefix, frame.counter, n, until, temperature, maxTokens, logprobs)

/**
 * `freshCall` by the id prefix and sample counter it reads of a frame (a fan-out builds its
 * branches' calls before it makes their frames).
 *
 * @example
 * const { call, first } = freshCallAt("b3/", counter, 1, "end", 0.8, 1024, undefined)
 */
export const freshCallAt = (
  prefix: string,
  counter: { next: number },
  n: number,
  until: "step" | "end",
  temperature: number,
  maxTokens: number,
  logprobs: number | undefined
): { readonly call: GenCall; readonly first: number } => {
  const first = counter.next
  counter.next += n
  const call: GenCall = {
    seedKey: CandidateId.sample(prefix, first),
    prefix: undefined,
    n,
    minN: 1,
    until,
    temperature,
    maxTokens,
    // whole solutions are finishing work: they may draw on the run's reserve to finish
    finishing: until === "end",
    ...(logprobs === undefined ? {} : { logprobs })
  }
  return { call, first }
}

/**
 * The candidates of a paid `freshCall` (none when the budget paid for nothing): sample first+i
 * grown in the frame from generation i.
 *
 * @example
 * const samples = freshCandidates(frame, "root.nodes.0", first, results[0])
 */
export const freshCandidates = (
  frame: Frame,
  node: string,
  first: number,
  paid: Generated | undefined
): Array<Candidate> =>
  (paid?.generations ?? []).map((generation, i) =>
    grow(
      frame,
      node,
      CandidateId.sample(frame.prefix, first + i),
      undefined,
      generation,
      undefined,
      paid?.cut[i] === true
    )
  )

/**
 * `freshCandidates`, each with the generation that made it (what `announce` publishes).
 *
 * @example
 * const created = grownFresh(frame, "root.nodes.0", first, results[0])
 */
export const grownFresh = (frame: Frame, node: string, first: number, paid: Generated | undefined): Array<Created> =>
  freshCandidates(frame, node, first, paid).map((candidate, i) => ({
    candidate,
    generation: paid?.generations[i] as Generation // one candidate per generation
  }))

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
