/**
 * The node kinds: the one list of them. The document Schema (`graph/Graph.ts`), the plan compiler
 * (`graph/Plan.ts`), the JSON Schema and the reference read it; validation, the static cost and
 * the interpreter read the plan nodes the kinds compile. Adding a kind is its module and one line
 * in each list below (docs/contributing.md).
 *
 * @since 0.2.0
 */
import { Schema } from "effect"
import { type BudgetForcingDoc, type BudgetForcingNode, budgetForcing } from "./budgetForcing.ts"
import { type ConfidenceDoc, type ConfidenceNode, confidence } from "./confidence.ts"
import { type DeepConfDoc, type DeepConfNode, deepconf } from "./deepconf.ts"
import { type ExpandDoc, type ExpandNode, expand } from "./expand.ts"
import type { Compiler, PlanNode } from "./Kind.ts"
import { type MctsDoc, type MctsNode, mcts } from "./mcts.ts"
import { type ParallelDoc, type ParallelNode, parallel } from "./parallel.ts"
import { type PruneDoc, type PruneNode, prune } from "./prune.ts"
import { type RebaseDoc, type RebaseNode, rebase } from "./rebase.ts"
import { type RepeatDoc, type RepeatNode, repeat } from "./repeat.ts"
import { type ReviseDoc, type ReviseNode, revise } from "./revise.ts"
import { type RouteDoc, type RouteNode, route } from "./route.ts"
import { type SampleDoc, type SampleNode, sample } from "./sample.ts"
import { type ScoreDoc, type ScoreNode, score } from "./score.ts"
import { type SelectDoc, type SelectNode, select } from "./select.ts"
import { type SequenceDoc, type SequenceNode, sequence } from "./sequence.ts"
import { type UseDoc, type UseNode, use } from "./use.ts"
import { type WavesDoc, type WavesNode, waves } from "./waves.ts"

/** A node as written in a document. */
export type Node =
  | SampleNode
  | ExpandNode
  | ScoreNode
  | PruneNode
  | ReviseNode
  | SelectNode
  | SequenceNode
  | RepeatNode
  | ParallelNode
  | RouteNode
  | UseNode
  | WavesNode
  | ConfidenceNode
  | RebaseNode
  | MctsNode
  | DeepConfNode
  | BudgetForcingNode

/** A node as decoded: its numeric fields parsed into expression trees. */
export type NodeDoc =
  | SampleDoc
  | ExpandDoc
  | ScoreDoc
  | PruneDoc
  | ReviseDoc
  | SelectDoc
  | SequenceDoc
  | RepeatDoc
  | ParallelDoc
  | RouteDoc
  | UseDoc
  | WavesDoc
  | ConfidenceDoc
  | RebaseDoc
  | MctsDoc
  | DeepConfDoc
  | BudgetForcingDoc

/** Every kind, in the order the reference lists them. */
export const KINDS = [
  sample,
  expand,
  score,
  prune,
  revise,
  select,
  sequence,
  repeat,
  parallel,
  route,
  use,
  waves,
  confidence,
  rebase,
  mcts,
  deepconf,
  budgetForcing
] as const

/** The kinds' names. */
export const TYPES = KINDS.map((k) => k.type)
export type NodeType = (typeof KINDS)[number]["type"]

const NodeRef = Schema.suspend((): Schema.Codec<NodeDoc, Node> => NodeSchema)

/** The Schema of any node: the union of the kinds' Schemas. */
export const NodeSchema: Schema.Codec<NodeDoc, Node> = Schema.Union([
  sample.schema(NodeRef),
  expand.schema(NodeRef),
  score.schema(NodeRef),
  prune.schema(NodeRef),
  revise.schema(NodeRef),
  select.schema(NodeRef),
  sequence.schema(NodeRef),
  repeat.schema(NodeRef),
  parallel.schema(NodeRef),
  route.schema(NodeRef),
  use.schema(NodeRef),
  waves.schema(NodeRef),
  confidence.schema(NodeRef),
  rebase.schema(NodeRef),
  mcts.schema(NodeRef),
  deepconf.schema(NodeRef),
  budgetForcing.schema(NodeRef)
]).annotate({
  identifier: "Node",
  message: `Expected a node with "type": ${TYPES.map((t) => `"${t}"`).join(" | ")}`
})

type Compilers = {
  readonly [K in NodeDoc["type"]]: (node: Extract<NodeDoc, { readonly type: K }>, at: Compiler) => PlanNode
}

const compilers: Compilers = {
  sample: sample.compile,
  expand: expand.compile,
  score: score.compile,
  prune: prune.compile,
  revise: revise.compile,
  select: select.compile,
  sequence: sequence.compile,
  repeat: repeat.compile,
  parallel: parallel.compile,
  route: route.compile,
  use: use.compile,
  waves: waves.compile,
  confidence: confidence.compile,
  rebase: rebase.compile,
  mcts: mcts.compile,
  deepconf: deepconf.compile,
  "budget-forcing": budgetForcing.compile
}

/**
 * Compiles a decoded node with its kind.
 *
 * @example
 * compile(doc.root, compiler) // the root's plan node
 */
export const compile = <K extends NodeDoc["type"]>(
  node: Extract<NodeDoc, { readonly type: K }>,
  at: Compiler
): PlanNode => {
  const of: Compilers[K] = compilers[node.type]
  return of(node, at)
}
