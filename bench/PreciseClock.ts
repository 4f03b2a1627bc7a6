/**
 * A clock whose sleeps end at their deadline, for the scheduling figures' server model. A Node
 * timer fires at the next tick of its millisecond wheel and after the event loop's other work:
 * here a 1 ms `setTimeout` takes about 1.26 ms on average, so a server modelled with it answers a
 * "1 ms" call in 1.26 ms and no runtime could reach a wall time within 1.1 of 1 ms phases. A real
 * server's answer arrives as I/O, when it is ready. This clock arms a timer for all but the last
 * `SPIN_MS` of the earliest sleep, then polls with `setImmediate` (each poll after the event
 * loop's I/O and timers, so the runtime it serves keeps running) and wakes every sleep whose
 * deadline has passed. It costs CPU while it polls: a measuring instrument, not a production clock.
 *
 * @since 0.2.0
 */
import { Clock, Duration, Effect } from "effect"

/** How long before a deadline the timer hands over to polling (a timer lands up to ~1.3 ms late here). */
export const SPIN_MS = 1.5

interface Sleeper {
  readonly at: number
  readonly wake: () => void
}

/** Pending sleeps, ordered by deadline (ties in arrival order). */
const sleepers: Array<Sleeper> = []
let timer: ReturnType<typeof setTimeout> | undefined
let timerAt = Number.POSITIVE_INFINITY
let polling: ReturnType<typeof setImmediate> | undefined

const disarm = (): void => {
  if (timer !== undefined) clearTimeout(timer)
  if (polling !== undefined) clearImmediate(polling)
  timer = undefined
  polling = undefined
  timerAt = Number.POSITIVE_INFINITY
}

const arm = (): void => {
  const first = sleepers[0]
  if (first === undefined) {
    disarm()
    return
  }
  const wait = first.at - performance.now()
  if (wait > SPIN_MS + 0.5) {
    if (polling !== undefined || timerAt <= first.at - SPIN_MS) return
    disarm()
    timerAt = first.at - SPIN_MS
    timer = setTimeout(poll, wait - SPIN_MS)
  } else if (polling === undefined) {
    disarm()
    polling = setImmediate(poll)
  }
}

function poll(): void {
  timer = undefined
  polling = undefined
  timerAt = Number.POSITIVE_INFINITY
  const t = performance.now()
  let due = 0
  while (due < sleepers.length && (sleepers[due]?.at ?? Number.POSITIVE_INFINITY) <= t) due++
  const woken = sleepers.splice(0, due)
  for (const s of woken) s.wake()
  arm()
}

const add = (ms: number, wake: () => void): Sleeper => {
  const s: Sleeper = { at: performance.now() + ms, wake }
  // binary search for the first later deadline: sleeps with equal deadlines wake in arrival order
  let lo = 0
  let hi = sleepers.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if ((sleepers[mid]?.at ?? 0) <= s.at) lo = mid + 1
    else hi = mid
  }
  sleepers.splice(lo, 0, s)
  if (lo === 0) arm()
  return s
}

const remove = (s: Sleeper): void => {
  const i = sleepers.indexOf(s)
  if (i < 0) return
  sleepers.splice(i, 1)
  if (i === 0) arm()
}

const base: Clock.Clock = Clock.Clock.defaultValue()

/**
 * The default clock with deadline-accurate sleeps. Provide it around an effect whose sleeps
 * model a server's latency (the simulated backend sleeps through the `Clock`).
 *
 * @example
 * Effect.runPromise(Effect.sleep("1 millis").pipe(Effect.provideService(Clock.Clock, preciseClock)))
 * // resumes about 1.0 ms later, not 1.1–1.3
 */
export const preciseClock: Clock.Clock = {
  currentTimeMillisUnsafe: () => base.currentTimeMillisUnsafe(),
  currentTimeMillis: base.currentTimeMillis,
  currentTimeNanosUnsafe: () => base.currentTimeNanosUnsafe(),
  currentTimeNanos: base.currentTimeNanos,
  monotonicTimeNanosUnsafe: () => base.monotonicTimeNanosUnsafe(),
  monotonicTimeNanos: base.monotonicTimeNanos,
  sleep: (duration: Duration.Duration) => {
    const ms = Duration.toMillis(duration)
    if (!(ms > 0) || !Number.isFinite(ms)) return base.sleep(duration)
    return Effect.callback<void>((resume) => {
      const s = add(ms, () => resume(Effect.void))
      return Effect.sync(() => remove(s))
    })
  }
}
