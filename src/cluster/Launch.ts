/**
 * A runner process (`mull runner --cluster URL`): the sweep entity on a socket runner over the
 * cluster's PostgreSQL, until interrupted (SIGINT/SIGTERM: it stops taking shards, its cells in
 * flight are interrupted and delivered again to the runners that take its shards over).
 *
 * @since 0.2.0
 */
import { EventEmitter } from "node:events"
import { Console, Effect, Layer, Schedule } from "effect"
import { ShardId, Sharding } from "effect/cluster"
import * as PgStore from "../eval/PgStore.ts"
import { redactUrl } from "../eval/Store.ts"
import type { Registry } from "../services/Backend.ts"
import { CellRunner, entityLayer } from "./CellRunner.ts"
import { type Health, type RunnerEndpoint, runnerLayer, TIMING } from "./Cluster.ts"

export interface RunnerProcessOptions {
  readonly url: string
  readonly endpoint: RunnerEndpoint
  readonly health: Health
  readonly registry: Registry
  /** cells run at once */
  readonly concurrency: number
  /** print what the runner did this often (0: never) */
  readonly reportEveryMs?: number
}

/**
 * Runs a runner until interrupted.
 *
 * @example
 * yield* runRunner({ url, endpoint: { host: "10.0.0.7", port: 34431 }, health: "ping", registry, concurrency: 8 })
 */
export const runRunner = (options: RunnerProcessOptions): Effect.Effect<never, unknown> => {
  // many cells answered at once over one socket wait on its 'drain' together: not a leak, and a
  // runner process is dedicated to this, so Node's warning at 10 listeners is raised
  EventEmitter.defaultMaxListeners = Math.max(EventEmitter.defaultMaxListeners, 256)
  const name = `${options.endpoint.host}:${options.endpoint.port}`
  const report = Effect.gen(function* () {
    const { stats } = yield* CellRunner
    yield* Console.log(
      `mull runner ${name}: listening on ${options.endpoint.listenHost ?? options.endpoint.host}:${options.endpoint.port}, ${options.concurrency} cells at once, cluster ${redactUrl(options.url)}`
    )
    const every = options.reportEveryMs ?? 30_000
    if (every <= 0) return yield* Effect.never
    // suspended: the line is written anew each time
    return yield* Effect.suspend(() =>
      Console.log(
        `mull runner ${name}: ${stats.ran} cells run, ${stats.skipped} found stored, ${stats.failed} failed; cache ${stats.cache.hits} hits / ${stats.cache.misses} misses`
      )
    ).pipe(Effect.repeat(Schedule.spaced(every)), Effect.andThen(Effect.never))
  })
  // a line whenever the runner's share of the shards changes (runners joined or left)
  const shards = Effect.gen(function* () {
    const sharding = yield* Sharding.Sharding
    let last = -1
    for (;;) {
      let held = 0
      for (let i = 1; i <= TIMING.shardsPerGroup; i++) if (sharding.hasShardId(ShardId.make("default", i))) held++
      if (held !== last) {
        last = held
        yield* Console.log(`mull runner ${name}: holds ${held} of ${TIMING.shardsPerGroup} shards`)
      }
      yield* Effect.sleep(1000)
    }
  })
  const app = Layer.effectDiscard(Effect.all([Effect.forkScoped(report), Effect.forkScoped(shards)])).pipe(
    Layer.provideMerge(entityLayer({ registry: options.registry, concurrency: options.concurrency, name })),
    Layer.provide(runnerLayer(options.endpoint, options.health)),
    // the cells' queries (at most `concurrency` at once) and the cluster's own: storage reads,
    // replies, shard locks (a reserved connection), heartbeats
    Layer.provide(PgStore.clientLayer(options.url, { maxConnections: options.concurrency + 10 }))
  )
  return Layer.launch(app)
}
