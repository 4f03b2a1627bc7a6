/**
 * The interpreter: runs one node of a plan on a population — the node's own `run`, which its kind
 * compiled — with `NodeEntered` / `NodeExited` events and a span per node (when a tracer is
 * installed).
 *
 * @since 0.1.0
 */
import { Effect } from "effect"
import * as Population from "../domain/Population.ts"
import type { RunNode } from "../nodes/Kind.ts"
import * as Spans from "./Spans.ts"

/**
 * Runs a plan node (and its children) on a population.
 *
 * @example
 * const out = yield* runNode(frame, loaded.plan.root, [])
 */
export const runNode: RunNode = (frame, node, population) => {
  const events = frame.env.events
  const body = node.run(frame, population, runNode)
  // no stack trace per span: a beam search runs thousands of nodes, and capturing one each time
  // costs more than the node's own bookkeeping (the path attribute says where the node is)
  const traced = frame.env.traced
    ? Effect.withSpan(body, `mull.node.${node.type}`, {
        attributes: Spans.nodeAttributes(node.type, node.path, frame.round),
        captureStackTrace: false
      })
    : body
  if (!events.enabled) return traced
  return Effect.gen(function* () {
    yield* events.publish({
      _tag: "NodeEntered",
      node: node.path,
      type: node.type,
      round: frame.round,
      population: Population.counts(population)
    })
    const out = yield* traced
    yield* events.publish({
      _tag: "NodeExited",
      node: node.path,
      type: node.type,
      round: frame.round,
      population: Population.counts(out)
    })
    return out
  })
}
