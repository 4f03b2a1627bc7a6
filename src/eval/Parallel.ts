/**
 * Parallel sweeps: the problems are shared among worker threads (one per core by default), each
 * running `runSweep` on its share into the same store (SQLite's WAL mode lets them write in turn;
 * or PostgreSQL). Other processes on the same store share the work through claims (`Runner.ts`).
 * Validation and the sweep's setup are done once, up front, in the calling thread. A sweep is
 * CPU-bound on the simulated backend, so this is what makes a 2-core machine twice as fast. Each
 * worker loads the sweep's backend registry from its module (`Registry.module`); a registry without
 * one runs the sweep in the calling thread.
 *
 * @since 0.1.0
 */
import { availableParallelism } from "node:os"
import { Worker } from "node:worker_threads"
import { Effect, Schema } from "effect"
import type { Registry } from "../services/Backend.ts"
import { type Progress, runSweep, type Summary } from "./Runner.ts"
import * as Store from "./Store.ts"
import type { SweepSpec } from "./Sweep.ts"
import type { WorkerInput, WorkerMessage } from "./SweepWorker.ts"

/** A worker thread failed (its error's tag and message). */
export class WorkerFailed extends Schema.TaggedError<WorkerFailed>()("WorkerFailed", {
  worker: Schema.Int,
  tag: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `sweep worker ${this.worker} failed (${this.tag}): ${this.reason}`
  }
}

/** The default number of workers: one per core. */
export const defaultWorkers = (): number => Math.max(1, availableParallelism())

// the worker runs from source (Node strips the types) or from the build
const workerUrl = new URL(import.meta.url.endsWith(".ts") ? "./SweepWorker.ts" : "./SweepWorker.js", import.meta.url)

/**
 * Runs a sweep on `workers` threads (in this thread when 1, or when the registry has no module).
 *
 * @example
 * yield* runSweepParallel(spec, "out/mull.db", { registry, workers: 2, onProgress })
 */
export const runSweepParallel = (
  spec: SweepSpec,
  storePath: string,
  options: {
    readonly registry: Registry
    readonly workers?: number
    readonly onProgress?: (p: Progress) => void
  }
) =>
  Effect.gen(function* () {
    const { registry } = options
    const module = registry.module
    const workers = module === undefined ? 1 : Math.max(1, Math.floor(options.workers ?? defaultWorkers()))
    const onProgress = options.onProgress
    // validation, counts and the sweep's setup, once
    const prepared = yield* runSweep(spec, { registry, prepareOnly: true }).pipe(
      Effect.provide(Store.layer(storePath)),
      Effect.scoped
    )
    if (module === undefined || workers === 1 || prepared.total - prepared.skipped <= 1)
      return yield* runSweep(spec, onProgress === undefined ? { registry } : { registry, onProgress }).pipe(
        Effect.provide(Store.layer(storePath)),
        Effect.scoped
      )
    const started = Date.now()
    const state = Array.from({ length: workers }, () => ({
      done: 0,
      ran: 0,
      others: 0,
      skipped: 0,
      total: 0,
      hits: 0,
      misses: 0
    }))
    // what another process stored between the preparation and a worker's start: done, by others
    const lateSkips = () => Math.max(0, state.reduce((a, w) => a + w.skipped, 0) - prepared.skipped)
    const report = () => {
      if (onProgress === undefined) return
      const sum = state.reduce(
        (a, w) => ({ done: a.done + w.done, hits: a.hits + w.hits, misses: a.misses + w.misses }),
        { done: 0, hits: 0, misses: 0 }
      )
      onProgress({
        done: sum.done + lateSkips(),
        total: prepared.total - prepared.skipped,
        skipped: prepared.skipped,
        elapsedMs: Date.now() - started,
        cache: { hits: sum.hits, misses: sum.misses }
      })
    }
    yield* Effect.forEach(
      state.map((_, index) => index),
      (index) =>
        Effect.callback<void, WorkerFailed>((resume) => {
          const input: WorkerInput = { spec, storePath, registry: module, shard: { index, count: workers } }
          const worker = new Worker(workerUrl, { workerData: input })
          let settled = false
          worker.on("message", (m: WorkerMessage) => {
            const w = state[index]
            if (w === undefined) return
            if (m.type === "progress" || m.type === "done") {
              w.done = m.type === "done" ? m.ran + m.others : m.done
              w.skipped = m.skipped
              if (m.type === "done") {
                w.ran = m.ran
                w.others = m.others
              }
              w.total = m.total
              w.hits = m.hits
              w.misses = m.misses
              report()
            }
            if (m.type === "done") {
              settled = true
              resume(Effect.void)
            } else if (m.type === "error") {
              settled = true
              resume(Effect.fail(new WorkerFailed({ worker: index, tag: m.tag, reason: m.message })))
            }
          })
          worker.on("error", (e: unknown) => {
            if (settled) return
            settled = true
            const reason = e instanceof Error ? e.message : String(e)
            resume(Effect.fail(new WorkerFailed({ worker: index, tag: e instanceof Error ? e.name : "Error", reason })))
          })
          worker.on("exit", (code) => {
            if (settled) return
            settled = true
            resume(Effect.fail(new WorkerFailed({ worker: index, tag: "Exit", reason: `exited with code ${code}` })))
          })
          // interruption (Ctrl-C, a failing sibling) stops the thread; finished runs stay stored
          return Effect.promise(() => worker.terminate())
        }),
      { concurrency: "unbounded", discard: true }
    )
    const totals = state.reduce((a, w) => ({ hits: a.hits + w.hits, misses: a.misses + w.misses }), {
      hits: 0,
      misses: 0
    })
    const summary: Summary = {
      sweep: spec.name,
      total: prepared.total,
      ran: state.reduce((a, w) => a + w.ran, 0),
      skipped: prepared.skipped,
      others: state.reduce((a, w) => a + w.others, 0) + lateSkips(),
      elapsedMs: Date.now() - started,
      cache: totals
    }
    return summary
  })
