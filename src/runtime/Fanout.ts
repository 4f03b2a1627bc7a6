/**
 * Launching a `parallel`'s branches together. A fan-out starts its branches one after another in
 * one task, so whatever a branch does before its first call delays every later branch's call: at
 * 30 µs a branch, 256 branches take 7 ms to start, longer than a fast server takes to answer. So
 * the branches' frames (id prefix, sample counter, env copy, budget share) are made in one pass
 * before any branch runs, and — when nobody listens to node events or exports spans — a branch
 * whose body is a single `sample` (best-of-N as N calls, the common fan-out) is not run through
 * the interpreter at all: its fields are read, and the calls of all branches are built, reserved
 * and launched by one `generateEach`, sixteen at a time (each chunk's calls forked as soon as the
 * chunk is reserved, before the next chunk is built).
 *
 * The result is the same as running each branch's body in its own frame: the same ids, groups,
 * seeds, requests, reservations (in each branch's share) and candidates, in branch order.
 *
 * @since 0.2.0
 */
import { Effect } from "effect"
import * as Ledger from "../budget/Ledger.ts"
import type { Limits } from "../budget/Limits.ts"
import * as CandidateId from "../domain/CandidateId.ts"
import * as Population from "../domain/Population.ts"
import type { NumField } from "../graph/Field.ts"
import { type GenCall, type Generated, generateEach } from "./Calls.ts"
import { type Frame, numNow, type Sampling, samplingNow } from "./Env.ts"
import { freshCall, grownFresh } from "./Grow.ts"
import { InvalidValue, type RunError } from "./RunError.ts"

/**
 * The frames of a fan-out's branches, made in one pass: branch j gets the id prefix `bj/` (inside
 * the frame's own), group `bj`, the sample counter of that prefix (kept across runs in
 * `env.counters`), its own copy of the env (its own `lastScore`; with `ownEnv` false, the frame's:
 * for bodies that never score, as a `sample`), its own ledger — a share of
 * `frame.ledger` with limits `share`, or the frame's ledger when there is no budget — no hold (a
 * branch pays from its share, the run's reserve to finish is not its to spend) and its own
 * selection.
 *
 * @example
 * const frames = branchFrames(frame, 4, Ledger.shareOf(frame.ledger.limits, snapshot, 4))
 */
export const branchFrames = (
  frame: Frame,
  branches: number,
  share: Limits | undefined,
  ownEnv = true
): ReadonlyArray<Frame> => {
  const out: Array<Frame> = new Array(branches)
  for (let j = 0; j < branches; j++) {
    const prefix = CandidateId.branch(frame.prefix, j)
    // branch j of every parallel at this depth counts its fresh samples on from the last one
    let counter = frame.env.counters.get(prefix)
    if (counter === undefined) {
      counter = { next: 0 }
      frame.env.counters.set(prefix, counter)
    }
    out[j] = {
      ...frame,
      env: ownEnv ? { ...frame.env } : frame.env,
      ledger: share === undefined ? frame.ledger : Ledger.makeShareUnsafe(frame.ledger, share),
      hold: undefined,
      prefix,
      group: CandidateId.branchGroup(frame.prefix, j),
      counter,
      selection: { ranking: [] }
    }
  }
  return out
}

/**
 * Whether a fan-out in this frame can launch its branches' calls together (`sampleBranches`):
 * nobody listens to node events or exports spans. The interpreter publishes `NodeEntered` /
 * `NodeExited` and opens a span per node run; a listener gets them from the ordinary path.
 *
 * @example
 * if (launchesTogether(frame)) yield* sampleBranches(frames, body.path, body.fields)
 */
export const launchesTogether = (frame: Frame): boolean => !frame.env.events.enabled && !frame.env.traced

/** The fields of a `sample` node, as its kind compiles them (`nodes/sample.ts`'s `SampleFields`). */
export interface SampleSpec extends Sampling {
  readonly n: NumField
  readonly until: "step" | "end"
  readonly logprobs: number | undefined
}

/**
 * What a branch's `sample` node reads before its call, as `sample.run` reads it on an empty
 * population: its n, temperature and maxTokens in the branch's frame (its `budget.*` is its share),
 * in the same order.
 */
const sampleKnobs = (
  frame: Frame,
  f: SampleSpec
): { readonly n: number; readonly temperature: number; readonly maxTokens: number } | InvalidValue => {
  const counts = Population.counts(Population.empty)
  const n = numNow(frame, f.n, counts)
  if (typeof n !== "number") return n
  const knobs = samplingNow(frame, f, counts, f.until)
  if (knobs instanceof InvalidValue) return knobs
  return { n, temperature: knobs.temperature, maxTokens: knobs.maxTokens }
}

/**
 * Runs a `sample` node (at `path`, with `fields`) in every branch frame with the branches' calls launched together
 * (`generateEach`): what each branch's run would give — its fresh samples `bj/s<k>…`, grown in its
 * frame — in branch order. A field that fails its rule fails the fan-out before any call (the
 * branches read the same params, an equal share and an empty population, so branch 0 would fail
 * first all the same).
 *
 * @example
 * const populations = yield* sampleBranches(branchFrames(frame, 256, undefined), body.path, body.fields)
 */
export const sampleBranches = (
  frames: ReadonlyArray<Frame>,
  path: string,
  fields: SampleSpec
): Effect.Effect<ReadonlyArray<Population.Population>, RunError> =>
  Effect.suspend((): Effect.Effect<ReadonlyArray<Population.Population>, RunError> => {
    const calls: Array<GenCall | undefined> = new Array(frames.length)
    const firsts: Array<number> = new Array(frames.length)
    // every branch reads its fields before any branch reserves, with the same params, an equal
    // share (or the frame's own ledger) and an empty population: they read the same in each, so
    // they are read once, in branch 0's frame
    const first = frames[0]
    if (first === undefined) return Effect.succeed([])
    const knobs = sampleKnobs(first, fields)
    if (knobs instanceof InvalidValue) return Effect.fail(knobs)
    for (let j = 0; j < frames.length; j++) {
      const frame = frames[j] as Frame // j < frames.length
      const made =
        knobs.n === 0
          ? undefined
          : freshCall(frame, knobs.n, fields.until, knobs.temperature, knobs.maxTokens, fields.logprobs)
      calls[j] = made?.call
      firsts[j] = made?.first ?? 0
    }
    // each branch's candidates are grown as its call answers, while later calls still wait
    const populations: Array<Population.Population> = frames.map(() => Population.empty)
    const settled = (j: number, paid: Generated | undefined): void => {
      const frame = frames[j]
      if (paid === undefined || frame === undefined) return
      populations[j] = grownFresh(frame, path, firsts[j] ?? 0, paid).map((c) => c.candidate)
    }
    return Effect.as(generateEach(frames, path, calls, settled), populations)
  })
