/**
 * A candidate: one partial or complete solution, immutable.
 *
 * Ids are deterministic paths: the n-th fresh sample is `s3`, the i-th child of `s3.1` is
 * `s3.1.0`, revision k of the chain started by `s2` is `s2.r3`, a parallel branch j prefixes
 * `b2/`, and the j-th extra copy drawn by a sampling prune is suffixed `~j`. `CandidateId.ts` makes
 * and reads them.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"
import * as Steps from "./Steps.ts"

/** The revision chain a candidate belongs to and its position in it (0 = first attempt). */
export interface ChainRef {
  readonly id: string
  readonly index: number
}

/** The graph node (JSON path) and round that created a candidate. */
export interface Origin {
  readonly node: string
  readonly round: number
}

export interface Candidate {
  readonly id: string
  readonly parentId?: string
  readonly steps: Steps.Steps | undefined
  /** the solution is complete (the model stopped, or produced a final answer) */
  readonly done: boolean
  /** the extracted final answer, when the solution has one */
  readonly answer?: string
  /** verifier scores of each step, in [0, 1]; may be shorter than the step list until scored */
  readonly stepScores: ReadonlyArray<number>
  /** the aggregate score used by prune and select; absent until scored */
  readonly score?: number
  readonly chain?: ChainRef
  readonly group?: string
  readonly origin: Origin
  /**
   * its last generation stopped at a `max_tokens` the budget shrank to what remained (a partial
   * grant in tokens), not where the model would have: the output was cut
   */
  readonly cut?: boolean
}

/**
 * A fresh candidate with no steps.
 *
 * @example
 * const c = make({ id: "s0", origin: { node: "root.nodes.0", round: 0 } })
 */
export const make = (fields: {
  readonly id: string
  readonly origin: Origin
  readonly group?: string | undefined
  readonly chain?: ChainRef | undefined
}): Candidate => ({
  id: fields.id,
  steps: undefined,
  done: false,
  stepScores: [],
  origin: fields.origin,
  ...(fields.group === undefined ? {} : { group: fields.group }),
  ...(fields.chain === undefined ? {} : { chain: fields.chain })
})

/**
 * Whether a candidate can still be extended.
 *
 * @example
 * isActive(make({ id: "s0", origin: { node: "n", round: 0 } })) // true
 */
export const isActive = (c: Candidate): boolean => !c.done

/**
 * The candidate's text (its steps joined by the delimiter).
 *
 * @example
 * text(c, "\n\n")
 */
export const text = (c: Candidate, delimiter: string = Steps.DEFAULT_DELIMITER): string =>
  Steps.text(c.steps, delimiter)

/** Number of steps. */
export const stepCount = (c: Candidate): number => c.steps?.length ?? 0

/** Total tokens of all steps. */
export const tokens = (c: Candidate): number => c.steps?.tokens ?? 0

/** The chain a candidate belongs to: its own chain, or a chain of its own (its id, index 0). */
export const chainOf = (c: Candidate): ChainRef => c.chain ?? { id: c.id, index: 0 }

/** The external (JSON) form of a candidate, for traces, `--json` and the HTTP API. */
export const CandidateJson = Schema.Struct({
  id: Schema.String,
  parentId: Schema.optionalKey(Schema.String),
  text: Schema.String,
  steps: Schema.Array(Schema.String),
  done: Schema.Boolean,
  answer: Schema.optionalKey(Schema.String),
  stepScores: Schema.Array(Schema.Finite),
  score: Schema.optionalKey(Schema.Finite),
  chain: Schema.optionalKey(Schema.Struct({ id: Schema.String, index: Schema.Int })),
  group: Schema.optionalKey(Schema.String),
  origin: Schema.Struct({ node: Schema.String, round: Schema.Int }),
  tokens: Schema.Int,
  cut: Schema.optionalKey(Schema.Boolean)
}).annotate({ identifier: "Candidate" })
export type CandidateJson = typeof CandidateJson.Type

/**
 * The external form of a candidate.
 *
 * @example
 * toJson(make({ id: "s0", origin: { node: "n", round: 0 } })).text // ""
 */
export const toJson = (c: Candidate, delimiter: string = Steps.DEFAULT_DELIMITER): CandidateJson => {
  const steps = Steps.toArray(c.steps).map((s) => s.text)
  return {
    id: c.id,
    ...(c.parentId === undefined ? {} : { parentId: c.parentId }),
    text: steps.join(delimiter),
    steps,
    done: c.done,
    ...(c.answer === undefined ? {} : { answer: c.answer }),
    stepScores: c.stepScores,
    ...(c.score === undefined ? {} : { score: c.score }),
    ...(c.chain === undefined ? {} : { chain: c.chain }),
    ...(c.group === undefined ? {} : { group: c.group }),
    origin: c.origin,
    tokens: tokens(c),
    ...(c.cut === true ? { cut: true } : {})
  }
}
