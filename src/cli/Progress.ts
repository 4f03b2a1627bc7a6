/**
 * Progress of a run on the terminal: one status line on stderr, redrawn in place on a TTY (at most
 * every 100 ms), or printed once a second otherwise.
 *
 * @since 0.1.0
 */
import { Effect, Stream } from "effect"
import type { RunEvent } from "../runtime/RunEvents.ts"
import { fmt } from "./Table.ts"

interface State {
  node: string
  round: number
  candidates: number
  done: number
  sequences: number
  outputTokens: number
  verifierCalls: number
  refused: boolean
}

const line = (s: State): string =>
  `${s.node}${s.round > 0 ? ` round ${s.round}` : ""} · ${s.candidates} candidates (${s.done} done) · ${fmt(s.sequences)} sequences · ${fmt(s.outputTokens)} output tokens · ${fmt(s.verifierCalls)} verifier calls${s.refused ? " · budget reached" : ""}`

/**
 * Consumes run events and draws the status line until the stream ends.
 *
 * @example
 * yield* Effect.forkScoped(render(stream))
 */
export const render = (events: Stream.Stream<RunEvent>): Effect.Effect<void> => {
  const tty = process.stderr.isTTY === true
  const every = tty ? 100 : 1000
  const s: State = {
    node: "starting",
    round: 0,
    candidates: 0,
    done: 0,
    sequences: 0,
    outputTokens: 0,
    verifierCalls: 0,
    refused: false
  }
  // off a TTY, only runs that last more than a second print anything
  let last = tty ? 0 : Date.now()
  let drawn = false
  const draw = (force: boolean) => {
    const now = Date.now()
    if (!force && now - last < every) return
    last = now
    drawn = true
    if (tty) process.stderr.write(`\r\x1b[2K${line(s).slice(0, (process.stderr.columns ?? 120) - 1)}`)
    else process.stderr.write(`${line(s)}\n`)
  }
  return Stream.runForEach(events, (e) =>
    Effect.sync(() => {
      switch (e._tag) {
        case "NodeEntered":
          s.node = e.node
          s.round = e.round
          s.candidates = e.population.size
          s.done = e.population.done
          break
        case "NodeExited":
          s.candidates = e.population.size
          s.done = e.population.done
          break
        case "Charged":
          s.sequences = e.total.sequences
          s.outputTokens = e.total.outputTokens
          s.verifierCalls = e.total.verifierCalls
          break
        case "Refused":
          s.refused = true
          break
        case "RunFinished":
          if (drawn && tty) process.stderr.write("\r\x1b[2K")
          return
        default:
          return
      }
      draw(false)
    })
  )
}
