/**
 * The runner side of a sharded sweep (`mull runner --cluster URL`): the `SweepProblem` entity's
 * handler. A cell is looked up in its sweep (the spec is read once from the store's metadata and
 * expanded as the single-machine runner expands it), skipped when its result is already stored (a
 * message delivered again after a crash), run on the sweep's backend under the cell's budget with
 * the problem's generation cache, and its record inserted idempotently into the PostgreSQL results
 * store. At most `concurrency` cells run at once on a runner. A cell that fails for a reason a
 * retry will not fix (the backend after its retries, the graph, the sweep) is recorded as a failure
 * and answered; a store that cannot be written is a defect, so the cluster restarts the entity and
 * delivers the cell again.
 *
 * @since 0.2.0
 */
import { Context, Deferred, Effect, Exit, Layer, Semaphore } from "effect"
import { SqlClient } from "effect/sql"
import type { CacheStats, CacheStore } from "../eval/Cache.ts"
import { cachedGenerator, cachedVerifier } from "../eval/Cache.ts"
import * as PgStore from "../eval/PgStore.ts"
import {
  executeItem,
  finishedItems,
  type Item,
  type Prepared,
  prepare,
  problemCache,
  storeResult
} from "../eval/Runner.ts"
import type { StoreShape } from "../eval/Store.ts"
import { decodeSweep } from "../eval/Sweep.ts"
import * as RunEvents from "../runtime/RunEvents.ts"
import type { BackendServices, Registry } from "../services/Backend.ts"
import { BackendError } from "../services/BackendError.ts"
import { Generator } from "../services/Generator.ts"
import { Verifier } from "../services/Verifier.ts"
import { ensureFailures, recordFailure, SweepProblem, specMetaKey } from "./Cells.ts"

/** A cell that cannot run, for a reason retrying on this runner will not fix. */
class CellFailed {
  readonly _tag = "CellFailed"
  readonly tag: string
  readonly message: string
  constructor(tag: string, message: string) {
    this.tag = tag
    this.message = message
  }
}

export interface CellRunnerOptions {
  /** the backends a sweep's `backend.name` is looked up in */
  readonly registry: Registry
  /** cells run at once on this runner */
  readonly concurrency: number
  /** how this runner is named in failures and logs (its address) */
  readonly name: string
}

/** What a runner counted. */
export interface RunnerStats {
  ran: number
  skipped: number
  failed: number
  readonly cache: CacheStats
}

/** A sweep as a runner knows it: prepared, its cells by key. */
interface Known {
  readonly prepared: Prepared
  readonly byKey: ReadonlyMap<string, Item>
}

/** Memoizes an effect per key; a failure is forgotten (the next call computes again). */
const memoize = <A, E>(compute: (key: string) => Effect.Effect<A, E>) => {
  const cells = new Map<string, Deferred.Deferred<A, E>>()
  return (key: string): Effect.Effect<A, E> =>
    Effect.suspend(() => {
      const known = cells.get(key)
      if (known !== undefined) return Deferred.await(known)
      const deferred = Deferred.makeUnsafe<A, E>()
      cells.set(key, deferred)
      return compute(key).pipe(
        Effect.onExit((exit) => {
          if (Exit.isFailure(exit)) cells.delete(key)
          return Deferred.done(deferred, exit)
        })
      )
    })
}

/** The state every entity on a runner shares: the store, the sweeps it knows, backends, slots. */
export class CellRunner extends Context.Service<
  CellRunner,
  {
    readonly stats: RunnerStats
    readonly runCell: (
      payload: { readonly spec: string; readonly key: string; readonly attempt: number },
      caches: Map<string, CacheStore | undefined>
    ) => Effect.Effect<void>
  }
>()("mull/cluster/CellRunner") {
  /**
   * The shared state of a runner, over the PostgreSQL client in context.
   *
   * @example
   * CellRunner.layer({ registry, concurrency: 8, name: "10.0.0.7:34431" })
   */
  static readonly layer = (options: CellRunnerOptions) =>
    Layer.effect(
      CellRunner,
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        const scope = yield* Effect.scope
        const store: StoreShape = yield* PgStore.makeWith(sql, "cluster").pipe(Effect.orDie)
        yield* ensureFailures(sql).pipe(Effect.orDie)
        const slots = yield* Semaphore.make(Math.max(1, options.concurrency))
        const stats: RunnerStats = { ran: 0, skipped: 0, failed: 0, cache: { hits: 0, misses: 0 } }
        const recorded = new Set<string>()

        const sweep = memoize((hash: string) =>
          Effect.gen(function* () {
            const text = yield* store.getMeta(specMetaKey(hash)).pipe(Effect.orDie)
            if (text === undefined)
              return yield* Effect.fail(new CellFailed("UnknownSweep", `no sweep ${hash} in the store's metadata`))
            const spec = yield* decodeSweep(JSON.parse(text) as unknown).pipe(
              Effect.mapError((e) => new CellFailed(e._tag, e.message))
            )
            const prepared = yield* prepare(spec, options.registry).pipe(
              Effect.mapError((e) => new CellFailed(e._tag, e.message))
            )
            return { prepared, byKey: new Map(prepared.items.map((i) => [i.key, i])) } satisfies Known
          })
        )

        // one backend per (sweep, pass), built once and kept for the runner's life
        const backend = memoize((at: string) =>
          Effect.gen(function* () {
            const [hash = "", pass] = at.split("\u0000")
            const { prepared } = yield* sweep(hash)
            const { spec, descriptor } = prepared
            const config = pass === "large" ? spec.large?.config : spec.backend.config
            return yield* Layer.buildWithScope(options.registry.layer(descriptor.name, config), scope).pipe(
              Effect.mapError((e) => new CellFailed(e._tag, e.message))
            )
          })
        )

        const runCell = (
          payload: { readonly spec: string; readonly key: string; readonly attempt: number },
          caches: Map<string, CacheStore | undefined>
        ) =>
          Effect.gen(function* () {
            const known = yield* sweep(payload.spec)
            const { spec, descriptor } = known.prepared
            const item = known.byKey.get(payload.key)
            if (item === undefined)
              return yield* Effect.fail(
                new CellFailed(
                  "UnknownCell",
                  `cell ${payload.key} is not in sweep ${spec.name} as this runner expands it: its graphs, dataset or mull version differ from the submitter's`
                )
              )
            // everything a cell does to the backend and the database happens in its slot: a runner
            // holding hundreds of entities keeps its connection pool for the cluster's own queries
            yield* slots.withPermits(1)(
              Effect.gen(function* () {
                // delivered again (a runner died after storing it, or the sweep was submitted twice)
                if ((yield* finishedItems(store, spec, [item]).pipe(Effect.orDie)).has(item.key)) {
                  stats.skipped++
                  return
                }
                const pass = item.kind === "large" ? "large" : "main"
                const context: Context.Context<BackendServices> = yield* backend(`${payload.spec}\u0000${pass}`)
                if (!caches.has(pass)) caches.set(pass, problemCache(spec, descriptor, store))
                const cache = caches.get(pass)
                const generator = Context.get(context, Generator)
                const verifier = Context.get(context, Verifier)
                const meta = `sweep:${spec.name}:${pass === "large" ? "largeParams" : "generatorParams"}`
                if (!recorded.has(meta)) {
                  recorded.add(meta)
                  yield* store
                    .putMeta(
                      meta,
                      JSON.stringify(
                        pass === "large" && spec.large?.params !== undefined ? spec.large.params : generator.params
                      )
                    )
                    .pipe(Effect.orDie)
                }
                const result = yield* executeItem(spec, item).pipe(
                  Effect.provideService(
                    Generator,
                    cache === undefined ? generator : cachedGenerator(generator, cache, stats.cache)
                  ),
                  Effect.provideService(
                    Verifier,
                    cache === undefined ? verifier : cachedVerifier(verifier, cache, stats.cache)
                  ),
                  Effect.provide(context),
                  Effect.provide(RunEvents.layerSilent)
                )
                yield* storeResult(store, result).pipe(Effect.orDie)
                stats.ran++
              })
            )
          }).pipe(
            Effect.catch((e) =>
              Effect.gen(function* () {
                const failure =
                  e instanceof CellFailed
                    ? e
                    : new CellFailed(e instanceof BackendError ? e.reason._tag : e._tag, e.message)
                stats.failed++
                yield* Effect.logWarning(`cell ${payload.key} of sweep ${payload.spec} failed: ${failure.message}`)
                yield* recordFailure(sql, payload.spec, {
                  key: payload.key,
                  attempt: payload.attempt,
                  runner: options.name,
                  tag: failure.tag,
                  message: failure.message
                }).pipe(Effect.orDie)
              })
            )
          )

        return CellRunner.of({ stats, runCell })
      })
    )
}

/**
 * The `SweepProblem` entity on a runner: each entity keeps its problem's generation caches (one per
 * backend pass) for as long as it lives, so nested budgets share samples as on one machine.
 *
 * @example
 * Layer.launch(entityLayer({ registry, concurrency: 8, name }).pipe(Layer.provide(runnerLayer(endpoint)), Layer.provide(pg)))
 */
export const entityLayer = (options: CellRunnerOptions) =>
  SweepProblem.toLayer(
    Effect.gen(function* () {
      const runner = yield* CellRunner
      const caches = new Map<string, CacheStore | undefined>()
      return SweepProblem.of({ RunCell: (request) => runner.runCell(request.payload, caches) })
    }),
    // an entity idle this long is stopped (and its cache dropped)
    { maxIdleTime: "30 minutes" }
  ).pipe(Layer.provideMerge(CellRunner.layer(options)))
