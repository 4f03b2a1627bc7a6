/**
 * A worker thread of the strategy table (table.ts `runParallel`): runs one job and posts each
 * unit as it finishes.
 */
import { parentPort, workerData } from "node:worker_threads"
import { Effect } from "effect"
import { type Job, runJob, type WorkerMessage } from "./table.ts"

if (parentPort !== null) {
  const port = parentPort
  const post = (m: WorkerMessage) => port.postMessage(m)
  Effect.runPromise(runJob(workerData as Job, (unit) => post({ type: "unit", unit }))).then(
    () => post({ type: "done" }),
    (e: unknown) => post({ type: "error", message: e instanceof Error ? (e.stack ?? e.message) : String(e) })
  )
}
