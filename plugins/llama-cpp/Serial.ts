/**
 * A queue that runs async jobs one at a time, in arrival order. A llama.cpp context sequence
 * holds one evaluation state, so its jobs must not overlap — not even when the Effect that
 * started one was interrupted and stopped waiting: the next job starts only when the native work
 * of the previous one has settled.
 *
 * @since 0.1.0
 */
import { Effect } from "effect"

export interface Serial {
  /**
   * Runs `job` after every job queued before it has settled. Interrupting the returned Effect
   * aborts the job's signal (a job that has not started yet is then skipped).
   */
  readonly run: <A, E>(job: (signal: AbortSignal) => Promise<A>, onError: (e: unknown) => E) => Effect.Effect<A, E>
}

/**
 * A new queue.
 *
 * @example
 * const serial = makeSerial()
 * yield* serial.run(async () => 1, (e) => backendError({ backend: "llama-cpp", operation: "generate" }, "Unavailable", String(e)))
 */
export const makeSerial = (): Serial => {
  let tail: Promise<unknown> = Promise.resolve()
  return {
    run: (job, onError) =>
      Effect.tryPromise({
        try: (signal) => {
          const started = tail.then(() => {
            signal.throwIfAborted()
            return job(signal)
          })
          tail = started.catch(() => undefined)
          return started
        },
        catch: onError
      })
  }
}
