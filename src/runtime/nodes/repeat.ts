/**
 * `repeat {max, until, body}`: runs body up to `max` rounds. Before each round it stops if the
 * condition holds — `no-active` (the default: no candidate can be extended), `done >= expr`, or
 * `none` (never: every round runs, as revision chains need).
 * After a round in which the budget refused a call it stops too (anytime behaviour: the next round
 * could not be paid for either), and after a round that changed nothing — the same candidates and
 * nothing spent — since every later round would do the same nothing (a `max` of 1e9 would
 * otherwise spin). Rounds are numbered from 1 in candidates' `origin.round`.
 *
 * @since 0.1.0
 */
import { Effect } from "effect"
import * as Population from "../../domain/Population.ts"
import * as Usage from "../../domain/Usage.ts"
import type { RepeatNode } from "../../graph/Graph.ts"
import * as Scope from "../../graph/Scope.ts"
import { type Frame, INT0, num, type RunNode } from "../Env.ts"

const sameCandidates = (a: Population.Population, b: Population.Population): boolean =>
  a.length === b.length && a.every((c, i) => c === b[i])

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
      const before = yield* frame.ledger.snapshot
      const previous = pop
      pop = yield* runNode({ ...frame, round }, node.body, `${path}.body`, pop)
      const after = yield* frame.ledger.snapshot
      if (after.refusals > before.refusals) break
      if (sameCandidates(previous, pop) && Usage.equals(before.committed, after.committed)) break
    }
    return pop
  })
