/**
 * Run events: what a run is doing, as it does it — for progress bars, server-sent events and JSONL
 * traces (`mull run --trace`). A `PubSub`; with no subscriber, events are dropped.
 *
 * @since 0.1.0
 */
import { Context, Effect, Layer, PubSub, type Scope, Stream } from "effect"
import type { Counts } from "../domain/Population.ts"
import type { RankedAnswer } from "../domain/RunResult.ts"
import type { Usage } from "../domain/Usage.ts"

export type RunEvent =
  | {
      readonly _tag: "RunStarted"
      readonly problemId: string
      readonly question: string
      /** the gold answer, when known (so a trace can be graded) */
      readonly gold?: string
      readonly graph: string
      /** the generator's backend and model (so a trace says what wrote it) */
      readonly backend?: string
      readonly model?: string
      readonly params: { readonly [name: string]: number }
      readonly limits: { readonly [meter: string]: number }
      readonly seed: string
      /** when the run started (ms since the epoch, from the Effect clock) */
      readonly at: number
    }
  | {
      readonly _tag: "NodeEntered"
      readonly node: string
      readonly type: string
      readonly round: number
      readonly population: Counts
    }
  | {
      readonly _tag: "NodeExited"
      readonly node: string
      readonly type: string
      readonly round: number
      readonly population: Counts
    }
  | {
      readonly _tag: "CandidateCreated"
      readonly id: string
      readonly parentId?: string
      readonly node: string
      readonly round: number
      readonly done: boolean
      readonly answer?: string
      /** its output was cut at a `max_tokens` the budget shrank */
      readonly cut?: boolean
      readonly tokens: number
      /** the new steps' text */
      readonly text: string
    }
  | {
      readonly _tag: "CandidateScored"
      readonly id: string
      readonly node: string
      readonly score: number
      readonly stepScores: ReadonlyArray<number>
      /** the score came from a lookahead rollout of this many steps */
      readonly lookahead?: number
    }
  | {
      readonly _tag: "CandidatesPruned"
      readonly node: string
      readonly kept: ReadonlyArray<string>
      readonly dropped: ReadonlyArray<string>
    }
  | {
      readonly _tag: "Charged"
      readonly node: string
      readonly usage: Usage
      /** the ledger's committed total after this charge */
      readonly total: Usage
      /** when the charge was committed (ms since the epoch, from the Effect clock) */
      readonly at: number
    }
  | {
      readonly _tag: "Refused"
      readonly node: string
      readonly meter: string
      readonly requested: number
      readonly available: number
    }
  | {
      readonly _tag: "Selected"
      readonly node: string
      readonly answer?: string
      /** id of the candidate that stands for the chosen answer */
      readonly chosen?: string
      /** the select node's method (`majority`, `best`, `weighted`) and hierarchy, if any */
      readonly method: string
      readonly hierarchical?: string
      /**
       * the consistency judge of a free-text vote: the candidate it chose and how many agree with
       * it, or why it did not run
       */
      readonly judge?: { readonly chosen: string; readonly agreeing: number } | { readonly skipped: string }
      /** how many candidates voted */
      readonly candidates: number
      /** the top answers, best first */
      readonly ranking: ReadonlyArray<RankedAnswer>
    }
  | {
      readonly _tag: "Routed"
      readonly node: string
      /** the difficulty estimate: mean final verifier score of the estimate's samples */
      readonly estimate: number
      /** the bin chosen (0 = easiest) */
      readonly bin: number
    }
  | {
      /**
       * a tree search's statistics when it ends (`mcts`, `rebase`): per tree node (candidate id),
       * its visits — MCTS: the size of its subtree; REBASE: the children it was allotted — and
       * its value (MCTS: Q; REBASE: the reward it was ranked by)
       */
      readonly _tag: "TreeVisited"
      readonly node: string
      readonly nodes: ReadonlyArray<{ readonly id: string; readonly visits: number; readonly value: number }>
    }
  | {
      readonly _tag: "RunFinished"
      readonly answer?: string
      readonly correct?: boolean
      readonly exhausted: boolean
      readonly usage: Usage
    }

export interface RunEventsShape {
  /** whether anyone listens; the runtime builds no events when false */
  readonly enabled: boolean
  readonly publish: (event: RunEvent) => Effect.Effect<void>
  /** events published after subscription */
  readonly subscribe: Effect.Effect<Stream.Stream<RunEvent>, never, Scope.Scope>
}

export class RunEvents extends Context.Service<RunEvents, RunEventsShape>()("mull/runtime/RunEvents") {}

/**
 * Events go nowhere (the default for eval sweeps and library calls).
 *
 * @example
 * program.pipe(Effect.provide(layerSilent))
 */
export const layerSilent: Layer.Layer<RunEvents> = Layer.succeed(RunEvents, RunEvents.of(silentShape()))

/**
 * The silent service itself, for `Effect.provideService`: a run that provides it so builds no
 * layer (a layer's memo map and scope cost more than a small run's own bookkeeping).
 *
 * @example
 * program.pipe(Effect.provideService(RunEvents, silent))
 */
export const silent: RunEventsShape = silentShape()

function silentShape(): RunEventsShape {
  return { enabled: false, publish: () => Effect.void, subscribe: Effect.succeed(Stream.empty) }
}

/**
 * Events are published on an unbounded `PubSub`; subscribe before running.
 *
 * @example
 * Effect.gen(function*() {
 *   const events = yield* RunEvents
 *   const stream = yield* events.subscribe
 *   yield* Stream.runForEach(stream, (e) => Console.log(e._tag)).pipe(Effect.forkScoped)
 * })
 */
export const layer: Layer.Layer<RunEvents> = Layer.effect(
  RunEvents,
  Effect.gen(function* () {
    const pubsub = yield* PubSub.unbounded<RunEvent>()
    yield* Effect.addFinalizer(() => PubSub.shutdown(pubsub))
    return RunEvents.of({
      enabled: true,
      publish: (event) => PubSub.publish(pubsub, event).pipe(Effect.asVoid),
      subscribe: PubSub.subscribe(pubsub).pipe(Effect.map((sub) => Stream.fromSubscription(sub)))
    })
  })
)
