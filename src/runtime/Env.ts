/**
 * What nodes run in: the run's environment (problem, backends, events, seed) and the frame of the
 * node (params of its graph, the ledger it pays from, id prefix of its parallel branch, round of its
 * repeat); and how a node reads its numeric fields at run time.
 *
 * @since 0.1.0
 */
import { type Clock, Effect, Semaphore } from "effect"
import type { Hold, Ledger } from "../budget/Ledger.ts"
import type { Candidate } from "../domain/Candidate.ts"
import type { Counts } from "../domain/Population.ts"
import type { Problem } from "../domain/Problem.ts"
import type { RankedAnswer } from "../domain/RunResult.ts"
import type { BoundScope } from "../graph/Bound.ts"
import * as Expression from "../graph/Expression.ts"
import { type NumField, valueProblem } from "../graph/Field.ts"
import * as Scope from "../graph/Scope.ts"
import type { GeneratorShape } from "../services/Generator.ts"
import type { AnswerKeyShape } from "../services/Grader.ts"
import type { VerifierShape } from "../services/Verifier.ts"
import type { Aggregate as AggregateName } from "./Aggregate.ts"
import { InvalidValue } from "./RunError.ts"
import type { RunEventsShape } from "./RunEvents.ts"

/**
 * What a run's calls to one backend take a permit from: a semaphore of the concurrency limit, or
 * `openPermits` when the limit cannot bind (the graph never has that many calls to make). A
 * `Semaphore` is one; call sites use only `withPermits(1)`.
 */
export interface Permits {
  readonly withPermits: (permits: number) => <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
}

const unchanged = <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> => self

/**
 * Permits that never make a call wait: the call runs as it is. A semaphore whose limit is never
 * reached costs five steps and four allocations a call (a mask, a take, an `onExit` to release,
 * the restore) for nothing.
 *
 * @example
 * openPermits.withPermits(1)(Effect.succeed(1)) // the same effect
 */
export const openPermits: Permits = { withPermits: () => unchanged }

/**
 * The permits of a run's calls to a backend: a semaphore of `concurrency` permits, unless the run
 * can never make more than `concurrency` calls at all (`calls`, an upper bound on every backend
 * call of the run: then no call can wait for a permit, and none takes one).
 *
 * @example
 * permitsFor(64, 3) // openPermits: three calls never wait for one of 64 permits
 * permitsFor(2, 3) // a semaphore of 2
 */
export const permitsFor = (concurrency: number, calls: number): Permits =>
  calls <= concurrency ? openPermits : Semaphore.makeUnsafe(concurrency)

export interface RunEnv {
  readonly problem: Problem
  readonly runSeed: bigint
  readonly generator: GeneratorShape
  readonly verifier: VerifierShape
  readonly answers: AnswerKeyShape
  readonly events: RunEventsShape
  readonly delimiter: string
  /** bounds concurrent generator calls (the per-backend concurrency limit) */
  readonly generatorPermits: Permits
  /** bounds concurrent verifier calls */
  readonly verifierPermits: Permits
  /** set when the ledger refused a reservation */
  readonly exhausted: { value: boolean }
  /**
   * fresh-sample counters of parallel branches, by id prefix (`b2/`, `b2/b0/`): kept across every
   * run of a `parallel` node, so a parallel inside a repeat (or two parallels) never repeats an id
   */
  readonly counters: Map<string, { next: number }>
  /**
   * the verifier and aggregation of the last `score` node that ran: what the anytime finisher
   * scores the candidates it completes with (`undefined` until a node scores). A `parallel`
   * gives each branch its own copy and keeps the last branch's, in branch order, that scored, so
   * it never depends on which branch finished last
   */
  lastScore: { readonly verifier: string; readonly aggregate: AggregateName } | undefined
  /**
   * whether nodes open spans: only when a tracer that exports them is installed. The default
   * native tracer keeps spans in memory for nobody, and a span costs more than a small node's own
   * bookkeeping (a 256-branch parallel opens 256)
   */
  readonly traced: boolean
  /**
   * the run's clock, read from its fiber once when it starts: a call reads it in plain code (the
   * start and answer times it meters) instead of an effect to fetch it per call
   */
  readonly clock: Clock.Clock
}

/** The answer chosen by the last `select` of a frame lineage. */
export interface Selection {
  answer?: string
  chosen?: Candidate
  ranking: ReadonlyArray<RankedAnswer>
}

export interface Frame {
  readonly env: RunEnv
  /** the params of the frame's graph (a used graph has its own) */
  readonly params: Scope.Params
  /** the ledger this frame pays from (a parallel branch pays from its share); `budget.*` reads its limits */
  readonly ledger: Ledger["Service"]
  /**
   * the run's reserve to finish (a hold on `ledger`): finishing work may draw on it; absent in a
   * parallel branch (which pays from a share) and when the budget could not keep it back
   */
  readonly hold: Hold | undefined
  /** id prefix of the parallel branch (`""`, `b2/`, `b2/b0/`) */
  readonly prefix: string
  /** group of candidates created in this frame (the parallel branch) */
  readonly group: string | undefined
  /** counter of fresh samples in this branch: the next sample is `${prefix}s${next}` */
  readonly counter: { next: number }
  /** round of the innermost repeat (0 outside any repeat) */
  readonly round: number
  /** where `select` records its choice (a parallel branch has its own) */
  readonly selection: Selection
}

/**
 * The value of a numeric field at run time, without its rule: params, the budget of the ledger the
 * frame pays from (a parallel branch's share), what remains of it now, and the population's counts.
 *
 * @example
 * const threshold = fieldValue(frame, until.threshold, counts)
 */
export const fieldValue = (frame: Frame, field: NumField, counts?: Counts): number =>
  field.expr._tag === "Num"
    ? field.expr.value
    : Expression.evaluate(
        field.expr,
        Scope.lookup(
          frame.params,
          frame.ledger.limits,
          counts,
          field.remaining ? frame.ledger.remainingUnsafe : undefined
        )
      )

/**
 * Evaluates a numeric field of a node at run time and checks its rule.
 *
 * @example
 * const keep = yield* num(frame, node.fields.keep, counts)
 */
export const num = (frame: Frame, field: NumField, counts?: Counts): Effect.Effect<number, InvalidValue> => {
  const v = numNow(frame, field, counts)
  return typeof v === "number" ? Effect.succeed(v) : Effect.fail(v)
}

/**
 * `num` outside Effect: the value, or the error naming the field (for a node that evaluates its
 * fields in one step instead of chaining an effect per field).
 *
 * @example
 * const n = numNow(frame, node.fields.n, counts)
 * if (typeof n !== "number") return Effect.fail(n)
 */
export const numNow = (frame: Frame, field: NumField, counts?: Counts): number | InvalidValue => {
  const v = fieldValue(frame, field, counts)
  const why = valueProblem(field, v)
  return why === undefined ? v : new InvalidValue({ path: field.path, problem: why })
}

/**
 * The static-bound scope of a frame at run time: its params as points, its ledger's limits, and
 * the backend's caps — for a node that asks at run time what a child would cost (e.g. a `parallel`
 * deciding whether each branch's share pays for its first call).
 *
 * @example
 * const first = body.firstCall(boundScopeOf(frame, true))
 */
export const boundScopeOf = (frame: Frame, share: boolean): BoundScope => {
  const g = frame.env.generator
  return {
    params: Object.fromEntries(Object.entries(frame.params).map(([k, v]) => [k, { lo: v, hi: v }])),
    limits: frame.ledger.limits,
    share,
    options: {
      maxTokens: g.maxTokens,
      ...(g.thinks === true ? { thinks: true } : {}),
      ...(g.stepTokens === undefined ? {} : { stepTokens: g.stepTokens }),
      ...(g.maxSteps === undefined ? {} : { maxSteps: g.maxSteps }),
      ...(frame.env.verifier.maxBatch === undefined ? {} : { maxBatch: frame.env.verifier.maxBatch })
    }
  }
}

/** The sampling fields of a generating node: its temperature (a default applied) and its `maxTokens`, if written. */
export interface Sampling {
  readonly temperature: NumField
  readonly maxTokens: NumField | undefined
}

/**
 * The sampling knobs of a generating node: its temperature and its `maxTokens` (default: the
 * backend's cap of one step for `until: "step"`, of a whole solution for `"end"`; cap: the
 * backend's), evaluated and checked.
 *
 * @example
 * const { temperature, maxTokens } = yield* sampling(frame, node.fields, counts, "step")
 */
export const sampling = (
  frame: Frame,
  fields: Sampling,
  counts: Counts,
  until: "step" | "end"
): Effect.Effect<{ readonly temperature: number; readonly maxTokens: number }, InvalidValue> =>
  // `num` answers at once (a success or a failure), so the two are chained without a generator
  Effect.flatMap(num(frame, fields.temperature, counts), (temperature) =>
    fields.maxTokens === undefined
      ? Effect.succeed({ temperature, maxTokens: maxTokensOf(frame, undefined, until) })
      : Effect.map(num(frame, fields.maxTokens, counts), (requested) => ({
          temperature,
          maxTokens: maxTokensOf(frame, requested, until)
        }))
  )

/**
 * `sampling` outside Effect: the knobs, or the error naming the first field that is invalid.
 *
 * @example
 * const knobs = samplingNow(frame, node.fields, counts, "end")
 * if (knobs instanceof InvalidValue) return Effect.fail(knobs)
 */
export const samplingNow = (
  frame: Frame,
  fields: Sampling,
  counts: Counts,
  until: "step" | "end"
): { readonly temperature: number; readonly maxTokens: number } | InvalidValue => {
  const temperature = numNow(frame, fields.temperature, counts)
  if (typeof temperature !== "number") return temperature
  if (fields.maxTokens === undefined) return { temperature, maxTokens: maxTokensOf(frame, undefined, until) }
  const requested = numNow(frame, fields.maxTokens, counts)
  if (typeof requested !== "number") return requested
  return { temperature, maxTokens: maxTokensOf(frame, requested, until) }
}

/**
 * The `maxTokens` of a call: the node's, else the backend's cap of one step (`stepTokens`) or of a
 * whole solution (`maxTokens`); never more than the solution cap.
 *
 * @example
 * maxTokensOf(frame, undefined, "step") // e.g. 512 on the simulated backend
 */
export const maxTokensOf = (frame: Frame, requested: number | undefined, until: "step" | "end" = "end"): number => {
  const g = frame.env.generator
  const cap = requested ?? (until === "step" ? (g.stepTokens ?? g.maxTokens) : g.maxTokens)
  return Math.min(cap, g.maxTokens)
}

/**
 * A call's cap on a lane: no lane (a candidate and its prefix) grows past the backend's solution
 * cap, so a continuation gets at most what its prefix has left; 0 means the lane cannot grow.
 *
 * @example
 * laneCap(frame, 512, candidate) // min(512, maxTokens − the candidate's tokens)
 */
export const laneCap = (frame: Frame, maxTokens: number, prefix: Candidate | undefined): number =>
  Math.max(0, Math.min(maxTokens, frame.env.generator.maxTokens - (prefix?.steps?.tokens ?? 0)))
