/**
 * What nodes run in: the run's environment (problem, backends, events, seed) and the frame of the
 * node (params, ledger, id prefix of its parallel branch, round of its repeat, the graph document
 * it belongs to).
 *
 * @since 0.1.0
 */
import { Effect, type Semaphore } from "effect"
import type { Ledger } from "../budget/Ledger.ts"
import type { Limits } from "../budget/Limits.ts"
import type { Candidate } from "../domain/Candidate.ts"
import type { Counts } from "../domain/Population.ts"
import type { Problem } from "../domain/Problem.ts"
import type { RankedAnswer } from "../domain/RunResult.ts"
import { Defaults, type Num } from "../graph/Graph.ts"
import type { LoadedGraph } from "../graph/Loader.ts"
import * as Scope from "../graph/Scope.ts"
import { checkRule, type FieldRule } from "../graph/Walk.ts"
import type { GeneratorShape } from "../services/Generator.ts"
import type { AnswerKeyShape } from "../services/Grader.ts"
import type { VerifierShape } from "../services/Verifier.ts"
import { InvalidValue } from "./RunError.ts"
import type { RunEventsShape } from "./RunEvents.ts"

export interface RunEnv {
  readonly problem: Problem
  readonly runSeed: bigint
  readonly limits: Limits
  readonly generator: GeneratorShape
  readonly verifier: VerifierShape
  readonly answers: AnswerKeyShape
  readonly events: RunEventsShape
  readonly delimiter: string
  /** bounds concurrent generator calls (the per-backend concurrency limit) */
  readonly generatorPermits: Semaphore.Semaphore
  /** bounds concurrent verifier calls */
  readonly verifierPermits: Semaphore.Semaphore
  /** set when the ledger refused a reservation */
  readonly exhausted: { value: boolean }
  /**
   * fresh-sample counters of parallel branches, by id prefix (`b2/`, `b2/b0/`): kept across every
   * run of a `parallel` node, so a parallel inside a repeat (or two parallels) never repeats an id
   */
  readonly counters: Map<string, { next: number }>
  /**
   * whether nodes open spans: only when a tracer that exports them is installed. The default
   * native tracer keeps spans in memory for nobody, and a span costs more than a small node's own
   * bookkeeping (a 256-branch parallel opens 256)
   */
  readonly traced: boolean
}

/** The answer chosen by the last `select` of a frame lineage. */
export interface Selection {
  answer?: string
  chosen?: Candidate
  ranking: ReadonlyArray<RankedAnswer>
}

export interface Frame {
  readonly env: RunEnv
  readonly graph: LoadedGraph
  readonly params: Scope.Params
  /** the ledger this frame pays from (a parallel branch pays from its share) */
  readonly ledger: Ledger["Service"]
  /** id prefix of the parallel branch (`""`, `b2/`, `b2/b0/`) */
  readonly prefix: string
  /** group of candidates created in this frame (the parallel branch) */
  readonly group: string | undefined
  /** counter of fresh samples in this branch: the next sample is `${prefix}s${next}` */
  readonly counter: { next: number }
  /** round of the innermost repeat (0 outside any repeat) */
  readonly round: number
  /** prefix of node paths inside a used graph (`root.nodes.0[beam-search].`), `""` at the top */
  readonly pathPrefix: string
  /** where `select` records its choice (a parallel branch has its own) */
  readonly selection: Selection
}

/**
 * Evaluates a numeric field of a node at run time and checks its rule.
 *
 * @example
 * const keep = yield* num(frame, "root.nodes.2.keep", "N / M", { integer: true, min: 0 }, counts)
 */
export const num = (
  frame: Frame,
  path: string,
  value: Num,
  rule: FieldRule,
  counts?: Counts
): Effect.Effect<number, InvalidValue> => {
  const v = Scope.evaluate(value, frame.params, frame.env.limits, counts)
  const why = checkRule(v, rule)
  if (why === undefined) return Effect.succeed(v)
  return Effect.fail(
    new InvalidValue({
      path: `${frame.pathPrefix}${path}`,
      problem: `${why}${typeof value === "string" ? ` (from "${value}")` : ""}`
    })
  )
}

/**
 * Evaluates an optional numeric field, with a default.
 *
 * @example
 * const t = yield* numOr(frame, "root.nodes.0.temperature", node.temperature, 0.8, { integer: false, min: 0 })
 */
export const numOr = (
  frame: Frame,
  path: string,
  value: Num | undefined,
  fallback: number,
  rule: FieldRule,
  counts?: Counts
): Effect.Effect<number, InvalidValue> =>
  value === undefined ? Effect.succeed(fallback) : num(frame, path, value, rule, counts)

/** The full path of a node of the frame's graph (node paths inside a used graph are prefixed). */
export const pathOf = (frame: Frame, path: string): string => `${frame.pathPrefix}${path}`

export const INT0: FieldRule = { integer: true, min: 0 }
export const INT1: FieldRule = { integer: true, min: 1 }
export const NONNEG: FieldRule = { integer: false, min: 0 }
export const POSITIVE: FieldRule = { integer: false, min: 0, exclusive: true }

/** Runs one node on a population (the interpreter; passed to combinators so they can recurse). */
export type RunNode = (
  frame: Frame,
  node: import("../graph/Graph.ts").Node,
  path: string,
  population: import("../domain/Population.ts").Population
) => Effect.Effect<import("../domain/Population.ts").Population, import("./RunError.ts").RunError>

/**
 * The sampling knobs of a generating node: its temperature (default 0.8) and its `maxTokens`
 * (default and cap: the backend's), evaluated and checked.
 *
 * @example
 * const { temperature, maxTokens } = yield* sampling(frame, path, node, counts)
 */
export const sampling = (
  frame: Frame,
  path: string,
  node: { readonly temperature?: Num; readonly maxTokens?: Num },
  counts: Counts,
  defaultTemperature: number = Defaults.temperature
): Effect.Effect<{ readonly temperature: number; readonly maxTokens: number }, InvalidValue> =>
  // `num` answers at once (a success or a failure), so the two are chained without a generator
  Effect.flatMap(
    numOr(frame, `${path}.temperature`, node.temperature, defaultTemperature, NONNEG, counts),
    (temperature) =>
      node.maxTokens === undefined
        ? Effect.succeed({ temperature, maxTokens: maxTokensOf(frame, undefined) })
        : Effect.map(num(frame, `${path}.maxTokens`, node.maxTokens, INT1, counts), (requested) => ({
            temperature,
            maxTokens: maxTokensOf(frame, requested)
          }))
  )

/** The `maxTokens` of a call: the node's, capped by the backend's. */
export const maxTokensOf = (frame: Frame, requested: number | undefined): number =>
  Math.min(requested ?? frame.env.generator.maxTokens, frame.env.generator.maxTokens)
