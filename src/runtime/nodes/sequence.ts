/**
 * `sequence {nodes}`: runs nodes in order, each on the population the previous one returned.
 *
 * @since 0.1.0
 */
import { Effect } from "effect"
import type { Population } from "../../domain/Population.ts"
import type { SequenceNode } from "../../graph/Graph.ts"
import type { Frame, RunNode } from "../Env.ts"

export const run = (frame: Frame, node: SequenceNode, path: string, population: Population, runNode: RunNode) =>
  Effect.gen(function* () {
    let pop = population
    for (let i = 0; i < node.nodes.length; i++) {
      const child = node.nodes[i]
      if (child !== undefined) pop = yield* runNode(frame, child, `${path}.nodes.${i}`, pop)
    }
    return pop
  })
