/**
 * `sequence {nodes}`: runs nodes in order, each on the population the previous one returned.
 *
 * @since 0.1.0
 */
import { Effect, Schema } from "effect"
import type { Population } from "../domain/Population.ts"
import * as Usage from "../domain/Usage.ts"
import * as Bound from "../graph/Bound.ts"
import type { RunError } from "../runtime/RunError.ts"
import { comment } from "./Common.ts"
import { lanesOf, type NodeKind, type PlanNode, planNode } from "./Kind.ts"
import type { Node, NodeDoc } from "./Registry.ts"

/** A `sequence` node as written. */
export interface SequenceNode {
  readonly type: "sequence"
  readonly nodes: ReadonlyArray<Node>
  readonly comment?: string
}

/** A `sequence` node as decoded. */
export interface SequenceDoc {
  readonly type: "sequence"
  readonly nodes: ReadonlyArray<NodeDoc>
  readonly comment?: string
}

/** A compiled `sequence` node. */
export interface SequenceFields {
  readonly nodes: ReadonlyArray<PlanNode>
}

export const sequence: NodeKind<"sequence", SequenceDoc, SequenceNode> = {
  type: "sequence",
  schema: (child) =>
    Schema.Struct({
      type: Schema.Literal("sequence"),
      nodes: Schema.Array(child).annotateKey({ description: "Run in order, each on the previous one's output" }),
      ...comment
    }).annotate({ identifier: "SequenceNode", description: "Runs nodes in order." }),
  compile: (node, at) => {
    const nodes = node.nodes.map((n, i) => at.child(n, `nodes.${i}`))
    const last = nodes[nodes.length - 1]
    return planNode<SequenceFields>("sequence", at, {
      fields: { nodes },
      children: nodes,
      answers: last?.answers ?? false,
      lanes: lanesOf(nodes.map((n) => n.lanes)),
      check: (scope) => nodes.flatMap((n) => n.check(scope)),
      bound: (scope, pop) => {
        let cost = Usage.zero
        let p = pop
        for (const n of nodes) {
          const r = n.bound(scope, p)
          cost = Bound.addBound(cost, r.cost)
          p = r.pop
        }
        return { cost, pop: p }
      },
      firstCall: (scope) => {
        for (const n of nodes) {
          const r = n.firstCall(scope)
          if (r !== undefined) return r
        }
        return undefined
      },
      // a chain of callbacks, not a generator: each child's effect is made when the one before it
      // has run (as the generator did), and a sequence runs once per round of a beam
      run: (frame, population, runNode) => {
        const from =
          (i: number) =>
          (pop: Population): Effect.Effect<Population, RunError> => {
            const n = nodes[i]
            if (n === undefined) return Effect.succeed(pop)
            return i + 1 === nodes.length ? runNode(frame, n, pop) : Effect.flatMap(runNode(frame, n, pop), from(i + 1))
          }
        return Effect.suspend(() => from(0)(population))
      }
    })
  }
}
