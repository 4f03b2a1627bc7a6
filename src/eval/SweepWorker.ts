/**
 * A worker thread of a parallel sweep: loads the backend registry from its module (a function
 * cannot cross threads; the registry's module can be imported in each), runs its share of the
 * problems (`workerData.shard`) into the store and reports progress to the main thread. Started by
 * `Parallel.runSweepParallel`.
 *
 * @since 0.1.0
 */
import { parentPort, workerData } from "node:worker_threads"
import { Effect } from "effect"
import { isRegistry } from "../services/Backend.ts"
import { BackendError } from "../services/BackendError.ts"
import { runSweep } from "./Runner.ts"
import * as Store from "./Store.ts"
import type { SweepSpec } from "./Sweep.ts"

/** What the main thread sends. */
export interface WorkerInput {
  readonly spec: SweepSpec
  readonly storePath: string
  /** the URL of the module that exports the sweep's backend registry as `registry` */
  readonly registry: string
  readonly shard: { readonly index: number; readonly count: number }
}

/** What a worker reports. */
export type WorkerMessage =
  | {
      readonly type: "progress"
      readonly done: number
      /** items already stored when this worker started (another process may have stored them since the sweep was prepared) */
      readonly skipped: number
      readonly total: number
      readonly hits: number
      readonly misses: number
    }
  | {
      readonly type: "done"
      readonly ran: number
      readonly others: number
      readonly skipped: number
      readonly total: number
      readonly hits: number
      readonly misses: number
    }
  | { readonly type: "error"; readonly tag: string; readonly message: string }

if (parentPort !== null) {
  const port = parentPort
  const input = workerData as WorkerInput
  const post = (m: WorkerMessage) => port.postMessage(m)
  let last = 0
  const program = Effect.gen(function* () {
    // the specifier is the registry's own module URL (a composition point), given by the caller
    const loaded = yield* Effect.tryPromise({
      try: () => import(input.registry) as Promise<{ readonly registry?: unknown }>,
      catch: (e) => new Error(`cannot load the backend registry ${input.registry}: ${String(e)}`)
    })
    if (!isRegistry(loaded.registry))
      return yield* Effect.fail(new Error(`${input.registry} exports no backend registry named "registry"`))
    return yield* runSweep(input.spec, {
      registry: loaded.registry,
      shard: input.shard,
      onProgress: (p) => {
        const now = Date.now()
        if (now - last < 100 && p.done < p.total) return
        last = now
        post({
          type: "progress",
          done: p.done,
          skipped: p.skipped,
          total: p.total,
          hits: p.cache.hits,
          misses: p.cache.misses
        })
      }
    })
  }).pipe(Effect.provide(Store.layer(input.storePath)), Effect.scoped)
  Effect.runPromise(program).then(
    (s) =>
      post({
        type: "done",
        ran: s.ran,
        others: s.others,
        skipped: s.skipped,
        total: s.total,
        hits: s.cache.hits,
        misses: s.cache.misses
      }),
    (e: unknown) =>
      post({
        type: "error",
        // a backend error is named by its reason (BadResponse, Timeout…), as everywhere else
        tag:
          e instanceof BackendError
            ? e.reason._tag
            : typeof e === "object" && e !== null && "_tag" in e
              ? String(e._tag)
              : "Error",
        message: e instanceof Error ? e.message : String(e)
      })
  )
}
