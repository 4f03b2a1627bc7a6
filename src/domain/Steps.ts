/**
 * A persistent list of solution steps. Each node points at its parent, so a beam of 256 lanes
 * over 40 rounds shares prefixes instead of copying strings; appending is O(1).
 *
 * @since 0.1.0
 */
import type { TokenConfidence } from "./Confidence.ts"

/** One reasoning step. `latent` is backend-private state (the simulator keeps its ground truth
 * there); it never reaches users and is not part of a step's identity. `confidence`: its tokens'
 * confidences, from a backend that gives log-probabilities when asked (`Confidence.ts`). */
export interface Step {
  readonly text: string
  readonly tokens: number
  readonly latent?: unknown
  readonly confidence?: TokenConfidence
}

/** A non-empty step list: the last step plus a pointer to the list before it. */
export interface Steps {
  readonly parent: Steps | undefined
  readonly step: Step
  /** number of steps */
  readonly length: number
  /** total tokens of all steps */
  readonly tokens: number
}

/** The default step delimiter of the paper's open reproduction (search-and-learn). */
export const DEFAULT_DELIMITER = "\n\n"

/**
 * Appends one step.
 *
 * @example
 * const s = append(append(undefined, { text: "Step 1", tokens: 3 }), { text: "Step 2", tokens: 3 })
 * s.length // 2
 */
export const append = (steps: Steps | undefined, step: Step): Steps => new Link(steps, step)

/**
 * A node of the list. A class, not an object literal: V8 may decide that a literal's objects
 * outlive its young generation and allocate them in the old one from then on ("pretenuring", per
 * literal); a beam's steps then die there, and until the next full collection each dead one keeps
 * its young text and latent alive through every scavenge: in a beam search each scavenge copied
 * 3.4 MB out of the young generation, 2.2 MB with this class and `grow`'s candidates built likewise
 * (docs/performance.md, "Measuring, sixth pass"). A constructor's objects are allocated young.
 */
class Link implements Steps {
  readonly parent: Steps | undefined
  readonly step: Step
  readonly length: number
  readonly tokens: number
  constructor(parent: Steps | undefined, step: Step) {
    this.parent = parent
    this.step = step
    this.length = (parent?.length ?? 0) + 1
    this.tokens = (parent?.tokens ?? 0) + step.tokens
  }
}

/**
 * Appends several steps in order.
 *
 * @example
 * appendAll(undefined, [{ text: "a", tokens: 1 }, { text: "b", tokens: 1 }])?.length // 2
 */
export const appendAll = (steps: Steps | undefined, more: ReadonlyArray<Step>): Steps | undefined => {
  let out = steps
  for (const step of more) out = append(out, step)
  return out
}

/**
 * The steps, first to last.
 *
 * @example
 * toArray(appendAll(undefined, [{ text: "a", tokens: 1 }, { text: "b", tokens: 1 }])).map((s) => s.text) // ["a","b"]
 */
export const toArray = (steps: Steps | undefined): ReadonlyArray<Step> => {
  const out: Array<Step> = new Array(steps?.length ?? 0)
  let node = steps
  let i = out.length - 1
  while (node !== undefined) {
    out[i--] = node.step
    node = node.parent
  }
  return out
}

/**
 * The solution text: steps joined by the delimiter.
 *
 * @example
 * text(appendAll(undefined, [{ text: "a", tokens: 1 }, { text: "b", tokens: 1 }])) // "a\n\nb"
 */
export const text = (steps: Steps | undefined, delimiter: string = DEFAULT_DELIMITER): string =>
  toArray(steps)
    .map((s) => s.text)
    .join(delimiter)

/**
 * The last step, if any.
 *
 * @example
 * last(append(undefined, { text: "a", tokens: 1 }))?.text // "a"
 */
export const last = (steps: Steps | undefined): Step | undefined => steps?.step
