/**
 * Launching a `parallel`'s branches together. A fan-out starts its branches one after another in
 * one task, so whatever a branch does before its first call delays every later branch's call: at
 * 30 µs a branch, 256 branches take 7 ms to start, longer than a fast server takes to answer. So
 * the branches' frames (id prefix, sample counter, env copy, budget share) are made in one pass
 * before any branch runs, and — when nobody listens to node events or exports spans — a branch
 * whose body is a single `sample` (best-of-N as N calls, the common fan-out) is not run through
 * the interpreter at all: its fields are read once, and the branches' calls are built, reserved
 * and launched by one `generateBranches`, sixteen at a time (each chunk's calls built, and
 * forked as soon as the chunk is reserved, before the next chunk is built). Without a budget a
 * branch's call needs only its id prefix and sample counter: the branches' own frames (what their
 * candidates are grown in) are made once every call has gone out, while the calls wait.
 *
 * The result is the same as running each branch's body in its own frame: the same ids, groups,
 * seeds, requests, reservations (in each branch's share) and candidates, in branch order.
 *
 * @since 0.2.0
 */
import { Effect } from "effect"
import * as Ledger from "../budget/Ledger.ts"
import type { Limits } from "../budget/Limits.ts"
import type { Candidate } from "../domain/Candidate.ts"
import * as CandidateId from "../domain/CandidateId.ts"
import * as Population from "../domain/Population.ts"
import type { NumField } from "../graph/Field.ts"
import { type Branches, type GenCall, type Generated, generateBranches, inOneFiber } from "./Calls.ts"
import { type Frame, numNow, type Sampling, samplingNow } from "./Env.ts"
import { freshCallAt, freshCandidates } from "./Grow.ts"
import { InvalidValue, type RunError } from "./RunError.ts"

/**
 * The frames of a fan-out's branches, made in one pass: branch j gets the id prefix `bj/` (inside
 * the frame's own), group `bj`, the sample counter of that prefix (kept across runs in
 * `env.counters`), its own copy of the env (its own `lastScore`), its own ledger — a share of
 * `frame.ledger` with limits `share`, or the frame's ledger when there is no budget — no hold (a
 * branch pays from its share, the run's reserve to finish is not its to spend) and its own
 * selection.
 *
 * @example
 * const frames = branchFrames(frame, 4, Ledger.shareOf(frame.ledger.limits, snapshot, 4))
 */
export const branchFrames = (frame: Frame, branches: number, share: Limits | undefined): ReadonlyArray<Frame> => {
  const out: Array<Frame> = new Array(branches)
  for (let j = 0; j < branches; j++) out[j] = branchFrame(frame, j, share, true)
  return out
}

/** Branch j's frame (see `branchFrames`); with `ownEnv` false it shares the frame's env. */
const branchFrame = (frame: Frame, j: number, share: Limits | undefined, ownEnv: boolean): Frame => {
  const prefix = CandidateId.branch(frame.prefix, j)
  const counter = counterOf(frame, prefix)
  return {
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

/** The sample counter of a branch's id prefix: branch j of every parallel at this depth counts its fresh samples on from the last one. */
const counterOf = (frame: Frame, prefix: string): { next: number } => {
  let counter = frame.env.counters.get(prefix)
  if (counter === undefined) {
    counter = { next: 0 }
    frame.env.counters.set(prefix, counter)
  }
  return counter
}

/**
 * Whether a fan-out in this frame can launch its branches' calls together (`sampleBranches`):
 * nobody listens to node events or exports spans. The interpreter publishes `NodeEntered` /
 * `NodeExited` and opens a span per node run; a listener gets them from the ordinary path.
 *
 * @example
 * if (launchesTogether(frame)) yield* sampleBranches(frame, branches, share, body.path, body.fields)
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
 * Runs a `sample` node (at `path`, with `fields`) in each of a fan-out's `branches` (their frames
 * as `branchFrames` makes them, but sharing the frame's env: a sample keeps no `lastScore`), with
 * the branches' calls launched together (`generateBranches`): what each branch's run would give —
 * its fresh samples `bj/s<k>…`, grown in its frame — as one population, in branch order. The
 * branches read their fields before any reserves, with the same params, an equal share (or the
 * frame's own ledger) and an empty population: they read the same in each, so they are read once,
 * in branch 0's frame, and a field that fails its rule fails the fan-out before any call. Without
 * a budget (every branch pays from the frame's ledger) a branch's call is made only when its
 * chunk is launched, and paid in branch 0's frame; its own frame is made once every call is out.
 *
 * @example
 * const samples = yield* sampleBranches(frame, 256, undefined, body.path, body.fields)
 */
export const sampleBranches = (
  frame: Frame,
  branches: number,
  share: Limits | undefined,
  path: string,
  fields: SampleSpec
): Effect.Effect<Population.Population, RunError> =>
  Effect.suspend((): Effect.Effect<Population.Population, RunError> => {
    if (branches <= 0) return Effect.succeed(Population.empty)
    const frames: Array<Frame> = new Array(branches)
    const calls: Array<GenCall | undefined> = new Array(branches)
    const firsts: Array<number> = new Array(branches)
    const first = branchFrame(frame, 0, share, false)
    const knobs = sampleKnobs(first, fields)
    if (knobs instanceof InvalidValue) return Effect.fail(knobs)
    // without a budget every branch pays from the frame's ledger: its call is built, reserved and
    // paid in branch 0's frame (the same env and ledger, and no hold: what a branch's own frame
    // would give) from its id prefix and sample counter alone; the branch's own frame — what its
    // candidates are grown in — is made once every call is out (`launched`)
    const oneLedger = share === undefined
    let made = 0
    const prepare = (end: number): void => {
      for (; made < end; made++) {
        const branch = made === 0 ? first : oneLedger ? undefined : branchFrame(frame, made, share, false)
        frames[made] = branch ?? first
        const prefix = branch?.prefix ?? CandidateId.branch(frame.prefix, made)
        const call =
          knobs.n === 0
            ? undefined
            : freshCallAt(
                prefix,
                branch?.counter ?? counterOf(frame, prefix),
                knobs.n,
                fields.until,
                knobs.temperature,
                knobs.maxTokens,
                fields.logprobs
              )
        calls[made] = call?.call
        firsts[made] = call?.first ?? 0
      }
    }
    // the branches' own frames (what their candidates are grown in), made once every call is out
    const own: Array<Frame | undefined> = oneLedger ? new Array(branches) : frames
    const launched = (): void => {
      for (let j = 1; j < made; j++) own[j] ??= branchFrame(frame, j, share, false)
    }
    own[0] = first
    // each branch's candidates are grown as its call answers, while later calls still wait
    const grown: Array<Array<Candidate> | undefined> = new Array(branches)
    const settled = (j: number, paid: Generated | undefined): void => {
      if (paid === undefined) return
      // an answer before every call is out (a refused chunk's calls run one by one) makes its own
      let branch = own[j]
      if (branch === undefined) {
        branch = branchFrame(frame, j, share, false)
        own[j] = branch
      }
      grown[j] = freshCandidates(branch, path, firsts[j] ?? 0, paid)
    }
    const together: Branches = {
      count: branches,
      frames,
      calls,
      prepare,
      ledger: oneLedger ? frame.ledger : undefined,
      oneFiber: inOneFiber(first),
      ...(oneLedger ? { launched } : {})
    }
    // the branches' samples in branch order
    return Effect.map(generateBranches(together, path, settled), () => {
      const out: Array<Candidate> = []
      for (const mine of grown) if (mine !== undefined) for (const c of mine) out.push(c)
      return out
    })
  })
