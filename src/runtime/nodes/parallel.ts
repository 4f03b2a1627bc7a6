/**
 * `parallel {branches, body}`: runs body once per branch j, concurrently, each from an empty
 * population with ids prefixed `bj/` and group `bj`; returns the incoming population followed by
 * the branches' populations in branch order. Under a budget, each branch pays from an equal share
 * of what remains, so a branch's spend never depends on how fast the others run (and the run is
 * the same at any concurrency). A `select` inside a branch chooses only for that branch.
 *
 * @since 0.1.0
 */
import { Effect } from "effect"
import * as Ledger from "../../budget/Ledger.ts"
import * as Population from "../../domain/Population.ts"
import type { ParallelNode } from "../../graph/Graph.ts"
import { BRANCHES } from "../../graph/Walk.ts"
import { type Frame, num, type RunNode } from "../Env.ts"

export const run = (
  frame: Frame,
  node: ParallelNode,
  path: string,
  population: Population.Population,
  runNode: RunNode
) =>
  Effect.gen(function* () {
    const branches = yield* num(frame, `${path}.branches`, node.branches, BRANCHES, Population.counts(population))
    const limited = Object.keys(frame.ledger.limits).length > 0
    const share = limited ? Ledger.shareOf(frame.ledger.limits, yield* frame.ledger.snapshot, branches) : undefined
    const outs = yield* Effect.forEach(
      Array.from({ length: branches }, (_, j) => j),
      (j) =>
        Effect.gen(function* () {
          const ledger = share === undefined ? frame.ledger : yield* Ledger.makeShare(frame.ledger, share)
          const prefix = `${frame.prefix}b${j}/`
          // branch j of every parallel at this depth counts its fresh samples on from the last one
          let counter = frame.env.counters.get(prefix)
          if (counter === undefined) {
            counter = { next: 0 }
            frame.env.counters.set(prefix, counter)
          }
          const branch: Frame = {
            ...frame,
            ledger,
            prefix,
            group: `${frame.prefix}b${j}`,
            counter,
            selection: { ranking: [] }
          }
          return yield* runNode(branch, node.body, `${path}.body`, Population.empty)
        }),
      { concurrency: "unbounded" }
    )
    return [...population, ...outs.flat()]
  })
