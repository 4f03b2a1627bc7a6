/**
 * A model server's concurrency limit, kept on the clock. A real inference server queues the
 * requests past its limit on its own side: the client's thread pays nothing for the limit. The
 * scheduling figures' server model held each call under an in-process `Semaphore` instead, and
 * its take and release (a mask, a take, an `onExit`, the restore) cost the thread being measured
 * about 0.3 µs when a call starts and again when its answer comes (measured: 256 bare sleeps
 * launched at 0.67 µs each, 0.95 under the semaphore; woken at 0.30 µs each, 0.60 under it) —
 * work no client of a real server does. Here each of `concurrency` slots is busy until the answer
 * of its last call; a call takes the slot that frees first and is answered `latencyMs` after the
 * slot takes it: the schedule a first-come, first-served semaphore gives (its waiters take permits
 * in the order they asked), computed in plain code when the call starts.
 *
 * @since 0.4.0
 */

/** A server's slots: when the answer of a call made now comes. */
export interface ServerSlots {
  /**
   * Takes the slot that frees first for a call made now that keeps it `latencyMs`; returns how
   * many ms from now its answer comes (its wait for the slot, then `latencyMs`).
   */
  readonly answerIn: (latencyMs: number) => number
}

/**
 * Slots of a server of `concurrency` calls at once, on `now` (ms; the clock the answers wait on).
 *
 * @example
 * const slots = makeServerSlots(2, () => 0)
 * ;[slots.answerIn(5), slots.answerIn(5), slots.answerIn(5)] // [5, 5, 10]: the third waits for a slot
 */
export const makeServerSlots = (concurrency: number, now: () => number = () => performance.now()): ServerSlots => {
  const size = Math.max(1, Math.floor(concurrency))
  // when each slot frees, as a binary min-heap: the root is the slot that frees first
  const freeAt: Array<number> = new Array(size).fill(Number.NEGATIVE_INFINITY)
  return {
    answerIn: (latencyMs) => {
      const t = now()
      const end = Math.max(t, freeAt[0] as number) + latencyMs
      // the root's slot is busy until `end`: sift it down to its place
      let i = 0
      for (;;) {
        const left = 2 * i + 1
        if (left >= size) break
        const right = left + 1
        const child = right < size && (freeAt[right] as number) < (freeAt[left] as number) ? right : left
        if ((freeAt[child] as number) >= end) break
        freeAt[i] = freeAt[child] as number
        i = child
      }
      freeAt[i] = end
      return end - t
    }
  }
}
