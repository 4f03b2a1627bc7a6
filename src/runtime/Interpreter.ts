/**
 * The interpreter: runs one node of a graph on a population, dispatching on its type, with
 * `NodeEntered` / `NodeExited` events and a span per node (when a tracer is installed).
 *
 * @since 0.1.0
 */
import { Effect } from "effect"
import * as Population from "../domain/Population.ts"
import type { Node } from "../graph/Graph.ts"
import { type Frame, pathOf, type RunNode } from "./Env.ts"
import * as expand from "./nodes/expand.ts"
import * as parallel from "./nodes/parallel.ts"
import * as prune from "./nodes/prune.ts"
import * as repeat from "./nodes/repeat.ts"
import * as revise from "./nodes/revise.ts"
import * as route from "./nodes/route.ts"
import * as sample from "./nodes/sample.ts"
import * as score from "./nodes/score.ts"
import * as select from "./nodes/select.ts"
import * as sequence from "./nodes/sequence.ts"
import * as use from "./nodes/use.ts"

const dispatch: RunNode = (frame, node, path, population) => {
  switch (node.type) {
    case "sample":
      return sample.run(frame, node, path, population)
    case "expand":
      return expand.run(frame, node, path, population)
    case "score":
      return score.run(frame, node, path, population)
    case "prune":
      return prune.run(frame, node, path, population)
    case "revise":
      return revise.run(frame, node, path, population)
    case "select":
      return select.run(frame, node, path, population)
    case "sequence":
      return sequence.run(frame, node, path, population, runNode)
    case "repeat":
      return repeat.run(frame, node, path, population, runNode)
    case "parallel":
      return parallel.run(frame, node, path, population, runNode)
    case "route":
      return route.run(frame, node, path, population, runNode)
    case "use":
      return use.run(frame, node, path, population, runNode)
  }
}

/**
 * Runs a node (and its children) on a population.
 *
 * @example
 * const out = yield* runNode(frame, doc.root, "root", [])
 */
export const runNode: RunNode = (frame: Frame, node: Node, path: string, population: Population.Population) => {
  const events = frame.env.events
  const body = dispatch(frame, node, path, population)
  // no stack trace per span: a beam search runs thousands of nodes, and capturing one each time
  // costs more than the node's own bookkeeping (the path attribute says where the node is)
  const traced = frame.env.traced
    ? Effect.withSpan(body, `mull.node.${node.type}`, {
        attributes: { path: pathOf(frame, path) },
        captureStackTrace: false
      })
    : body
  if (!events.enabled) return traced
  const where = pathOf(frame, path)
  return Effect.gen(function* () {
    yield* events.publish({
      _tag: "NodeEntered",
      node: where,
      type: node.type,
      round: frame.round,
      population: Population.counts(population)
    })
    const out = yield* traced
    yield* events.publish({
      _tag: "NodeExited",
      node: where,
      type: node.type,
      round: frame.round,
      population: Population.counts(out)
    })
    return out
  })
}
