/**
 * The graph document format: a strategy as JSON. A document has params and a root node; each node
 * kind (`sample`, `expand`, `score`, `prune`, `revise`, `select` and the combinators `sequence`,
 * `repeat`, `parallel`, `route`, `use`) declares its fields in its own module, `src/nodes/<kind>.ts`,
 * and `src/nodes/Registry.ts` lists them. Node semantics are in docs/graphs.md.
 *
 * Decoding checks every field and parses every expression into a tree; it applies no defaults, so
 * the document keeps the shape it was written in (a `LoadedGraph`'s `doc`). The plan
 * (`Plan.ts`) applies the defaults.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"
import { DEFAULT_AGGREGATE, DEFAULT_TEMPERATURE, DEFAULT_VERIFIER } from "../nodes/Common.ts"
import { DEFAULT_PRUNE_TEMPERATURE } from "../nodes/prune.ts"
import { type NodeDoc, type Node as NodeJson, NodeSchema, type NodeType, TYPES } from "../nodes/Registry.ts"
import { DEFAULT_CONTEXT } from "../nodes/revise.ts"
import { DEFAULT_LOOKAHEAD_TEMPERATURE } from "../nodes/score.ts"
import { CAPABILITIES } from "../services/Capability.ts"
import type { Params } from "./Scope.ts"

export { Aggregate, Until } from "../nodes/Common.ts"
export type { ExpandNode } from "../nodes/expand.ts"
export type { ParallelNode } from "../nodes/parallel.ts"
export type { PruneNode } from "../nodes/prune.ts"
export type { NodeDoc, NodeType } from "../nodes/Registry.ts"
export type { RepeatNode } from "../nodes/repeat.ts"
export type { ReviseNode } from "../nodes/revise.ts"
export type { RouteNode } from "../nodes/route.ts"
export type { SampleNode } from "../nodes/sample.ts"
export type { ScoreNode } from "../nodes/score.ts"
export type { SelectNode } from "../nodes/select.ts"
export type { SequenceNode } from "../nodes/sequence.ts"
export type { UseNode } from "../nodes/use.ts"
export { Num, type ParsedNum } from "./Field.ts"

/** A node as written in a document. */
export type Node = NodeJson

/** The node kinds' names. */
export const NODE_TYPES: ReadonlyArray<NodeType> = TYPES

/** The Schema of any node. */
export const Node: Schema.Codec<NodeDoc, NodeJson> = NodeSchema

const ParamName = Schema.String.check(
  Schema.isPattern(/^[A-Za-z_][A-Za-z0-9_]*$/u, { message: "param names are identifiers (letters, digits, _)" })
)

/** A graph document as written. */
export interface GraphDocument {
  readonly $schema?: string
  readonly name: string
  readonly description: string
  readonly reproduces?: string
  readonly params?: Params
  readonly requires?: ReadonlyArray<(typeof CAPABILITIES)[number]>
  readonly stepDelimiter?: string
  readonly root: NodeJson
}

/** A graph document as decoded: its expressions parsed into trees. */
export interface ParsedDocument extends Omit<GraphDocument, "root"> {
  readonly root: NodeDoc
}

export const GraphDocument: Schema.Codec<ParsedDocument, GraphDocument> = Schema.Struct({
  $schema: Schema.optionalKey(Schema.String).annotateKey({
    description: "Where graph.schema.json is (mull schema prints it), for editors"
  }),
  name: Schema.String.check(
    Schema.isPattern(/^[a-z0-9][a-z0-9._-]*$/u, { message: "graph names are lowercase slugs (a-z, 0-9, . _ -)" })
  ).annotateKey({ description: "A lowercase slug; built-in graphs are run by this name" }),
  description: Schema.String.annotateKey({ description: "One line, shown by mull graphs" }),
  reproduces: Schema.optionalKey(
    Schema.String.annotate({ description: "What the graph reproduces (paper, section, system)" })
  ),
  params: Schema.optionalKey(Schema.Record(ParamName, Schema.Finite)).annotateKey({
    description: "Named numbers any numeric field may use; callers override them (--param N=64, request bodies, sweeps)"
  }),
  requires: Schema.optionalKey(Schema.Array(Schema.Literals(CAPABILITIES))).annotateKey({
    description: "Backend capabilities needed beyond those the nodes imply"
  }),
  stepDelimiter: Schema.optionalKey(Schema.String).annotateKey({
    description: 'The text between steps (default: the backend\'s, "\\n\\n" for every built-in backend)'
  }),
  root: NodeSchema.annotateKey({ description: "The node the run starts with, on an empty population" })
}).annotate({ identifier: "GraphDocument", description: "A mull strategy graph" })

/**
 * The defaults the plan applies (each declared by its node kind; documented in docs/graphs.md).
 *
 * @deprecated read a compiled node's fields (`loaded.plan`), where every default is applied
 */
export const Defaults = {
  temperature: DEFAULT_TEMPERATURE,
  verifier: DEFAULT_VERIFIER,
  aggregate: DEFAULT_AGGREGATE,
  lookaheadTemperature: DEFAULT_LOOKAHEAD_TEMPERATURE,
  prunAmong: "active" as const,
  pruneMode: "top" as const,
  pruneTemperature: DEFAULT_PRUNE_TEMPERATURE,
  reviseContext: DEFAULT_CONTEXT,
  selectAmong: "done" as const,
  repeatUntil: "no-active"
} as const

/**
 * Decodes a graph document from unknown JSON, reporting every problem (excess properties
 * rejected); expressions come back parsed. Use `Loader` for files, `use` resolution and the plan.
 *
 * @example
 * decode({ name: "x", description: "", root: { type: "select", method: "best" } })
 */
export const decode = Schema.decodeUnknownEffect(GraphDocument)

/**
 * The document as written, from the decoded one (the same JSON, keys in the Schema's order).
 *
 * @example
 * encode(parsed).root // { type: "select", method: "best" }
 */
export const encode = Schema.encodeSync(GraphDocument)

/** Formats a Schema error as one `path: message` line per problem (one formatter: domain/SchemaProblems). */
export { formatIssues } from "../domain/SchemaProblems.ts"
