/**
 * `repeat {max, until, body}`: runs body up to `max` rounds. Before each round it stops if the
 * condition holds — `no-active` (the default: no candidate can be extended), `done >= expr`, or
 * `none` (never: every round runs, as revision chains need).
 * After a round in which the budget refused a call it stops too (anytime behaviour: the next round
 * could not be paid for either). Rounds are numbered from 1 in candidates' `origin.round`.
 *
 * @since 0.1.0
 */
import { Effect } from "effect"
import * as Population from "../../domain/Population.ts"
import type { RepeatNode } from "../../graph/Graph.ts"
import * as Scope from "../../graph/Scope.ts"
import { type Frame, INT0, num, type RunNode } from "../Env.ts"

export const run = (
  frame: Frame,
  node: RepeatNode,
  path: string,
  population: Population.Population,
  runNode: RunNode
) =>
  Effect.gen(function* () {
    const max = yield* num(frame, `${path}.max`, node.max, INT0, Population.counts(population))
    const until = node.until ?? "no-active"
    const threshold = /^\s*done\s*>=\s*(.+)$/u.exec(until)?.[1]
    let pop = population
    for (let round = 1; round <= max; round++) {
      const counts = Population.counts(pop)
      if (until === "no-active" && counts.active === 0) break
      if (threshold !== undefined && counts.done >= Scope.evaluate(threshold, frame.params, frame.env.limits, counts))
        break
      const refusedBefore = (yield* frame.ledger.snapshot).refusals
      pop = yield* runNode({ ...frame, round }, node.body, `${path}.body`, pop)
      if ((yield* frame.ledger.snapshot).refusals > refusedBefore) break
    }
    return pop
  })
