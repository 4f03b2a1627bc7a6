/**
 * The graph document format: a strategy as JSON. A document has params and a root node; nodes are
 * `sample`, `expand`, `score`, `prune`, `revise`, `select` and the combinators `sequence`,
 * `repeat`, `parallel`, `route`, `use`. Node semantics are in docs/graphs.md and
 * `src/runtime/nodes/*`.
 *
 * Decoding applies no defaults (the Type and the JSON are the same shape); defaults are applied
 * where nodes run, from `Defaults` below, so a document prints back exactly as written.
 *
 * @since 0.1.0
 */
import { Schema, SchemaIssue } from "effect"
import { CAPABILITIES } from "../services/Capability.ts"
import * as Expression from "./Expression.ts"

/** A numeric field: a number, or an expression over params, `budget.*` and `population.*`. */
export type Num = number | string

/** The text of a field as quoted in a problem line: at most 100 characters, so a huge value stays readable. */
const quote = (text: string): string => (text.length > 100 ? `${text.slice(0, 100)}…` : text)

const ExpressionText = Schema.String.check(
  Schema.makeFilter((text: string) => {
    const r = Expression.parse(text)
    return r.ok ? undefined : `invalid expression "${quote(text)}": ${r.message}`
  })
).annotate({
  description:
    "An expression: numbers, params, budget.<meter>, population.{size,active,done}, + - * / ( ), min max floor ceil sqrt round"
})

export const Num = Schema.Union([Schema.Finite, ExpressionText]).annotate({
  identifier: "Num",
  description: "A number or an expression string",
  message: "Expected a number or an expression string"
})

const comment = { comment: Schema.optionalKey(Schema.String.annotate({ description: "Free text, ignored" })) }

export const Until = Schema.Literals(["step", "end"]).annotate({
  description: '"step": one more reasoning step; "end": to the end of the solution'
})

export interface SampleNode {
  readonly type: "sample"
  readonly n: Num
  readonly until: "step" | "end"
  readonly temperature?: Num
  readonly maxTokens?: Num
  readonly comment?: string
}
export const SampleNode = Schema.Struct({
  type: Schema.Literal("sample"),
  n: Num,
  until: Until,
  temperature: Schema.optionalKey(Num),
  maxTokens: Schema.optionalKey(Num),
  ...comment
}).annotate({
  identifier: "SampleNode",
  description: "Appends n fresh candidates from the problem. Cost: n sequences."
})

export interface ExpandNode {
  readonly type: "expand"
  readonly n: Num
  readonly until: "step" | "end"
  readonly temperature?: Num
  readonly maxTokens?: Num
  readonly among?: "active"
  readonly comment?: string
}
export const ExpandNode = Schema.Struct({
  type: Schema.Literal("expand"),
  n: Num,
  until: Until,
  temperature: Schema.optionalKey(Num),
  maxTokens: Schema.optionalKey(Num),
  among: Schema.optionalKey(Schema.Literal("active")),
  ...comment
}).annotate({
  identifier: "ExpandNode",
  description:
    "Replaces each active candidate by n children; done candidates pass through. Cost: n sequences per active candidate."
})

export const Aggregate = Schema.Literals(["last", "min", "prod", "mean"])
export type Aggregate = typeof Aggregate.Type

export interface Lookahead {
  readonly steps: Num
  readonly temperature?: Num
  readonly maxTokens?: Num
}
export interface ScoreNode {
  readonly type: "score"
  readonly verifier?: string
  readonly aggregate?: Aggregate
  readonly lookahead?: Lookahead
  readonly comment?: string
}
export const ScoreNode = Schema.Struct({
  type: Schema.Literal("score"),
  verifier: Schema.optionalKey(Schema.NonEmptyString),
  aggregate: Schema.optionalKey(Aggregate),
  lookahead: Schema.optionalKey(
    Schema.Struct({ steps: Num, temperature: Schema.optionalKey(Num), maxTokens: Schema.optionalKey(Num) })
  ),
  ...comment
}).annotate({
  identifier: "ScoreNode",
  description:
    "Scores candidates without a current score. With lookahead, each active candidate is rolled out k steps (greedy, not kept) and scored at the rollout's end. Cost: one verifier call per candidate; k sequences per active candidate with lookahead."
})

export interface PruneNode {
  readonly type: "prune"
  readonly keep: Num
  readonly among?: "active" | "all"
  readonly by?: "score"
  readonly mode?: "top" | "sample"
  readonly temperature?: Num
  readonly dedupe?: boolean
  readonly dropUnanswered?: boolean
  readonly comment?: string
}
export const PruneNode = Schema.Struct({
  type: Schema.Literal("prune"),
  keep: Num,
  among: Schema.optionalKey(Schema.Literals(["active", "all"])),
  by: Schema.optionalKey(Schema.Literal("score")),
  mode: Schema.optionalKey(Schema.Literals(["top", "sample"])),
  temperature: Schema.optionalKey(Num),
  dedupe: Schema.optionalKey(Schema.Boolean),
  dropUnanswered: Schema.optionalKey(Schema.Boolean),
  ...comment
}).annotate({
  identifier: "PruneNode",
  description:
    "Keeps the best `keep` candidates by score, or with mode sample draws `keep` with replacement ∝ softmax(score/temperature). Cost: none."
})

export interface ReviseNode {
  readonly type: "revise"
  readonly context?: Num
  readonly temperature?: Num
  readonly maxTokens?: Num
  readonly comment?: string
}
export const ReviseNode = Schema.Struct({
  type: Schema.Literal("revise"),
  context: Schema.optionalKey(Num),
  temperature: Schema.optionalKey(Num),
  maxTokens: Schema.optionalKey(Num),
  ...comment
}).annotate({
  identifier: "ReviseNode",
  description:
    "For each chain head, writes a new attempt conditioned on up to `context` previous attempts of its chain. Cost: one sequence per chain."
})

export interface SelectNode {
  readonly type: "select"
  readonly method: "majority" | "best" | "weighted"
  readonly among?: "done" | "all"
  readonly hierarchical?: "chain"
  readonly comment?: string
}
export const SelectNode = Schema.Struct({
  type: Schema.Literal("select"),
  method: Schema.Literals(["majority", "best", "weighted"]),
  among: Schema.optionalKey(Schema.Literals(["done", "all"])),
  hierarchical: Schema.optionalKey(Schema.Literal("chain")),
  ...comment
}).annotate({
  identifier: "SelectNode",
  description:
    "Picks the final answer: majority vote, argmax score, or weighted vote (sum of scores per equivalent answer). Cost: none."
})

export interface SequenceNode {
  readonly type: "sequence"
  readonly nodes: ReadonlyArray<Node>
  readonly comment?: string
}
export interface RepeatNode {
  readonly type: "repeat"
  readonly max: Num
  readonly until?: string
  readonly body: Node
  readonly comment?: string
}
export interface ParallelNode {
  readonly type: "parallel"
  readonly branches: Num
  readonly body: Node
  readonly comment?: string
}
export interface RouteNode {
  readonly type: "route"
  readonly estimate: {
    readonly samples: Num
    readonly verifier?: string
    readonly aggregate?: Aggregate
    readonly temperature?: Num
    readonly maxTokens?: Num
  }
  readonly bins: ReadonlyArray<number>
  readonly cases: ReadonlyArray<Node>
  readonly comment?: string
}
export interface UseNode {
  readonly type: "use"
  readonly graph: string
  readonly params?: { readonly [name: string]: Num }
  readonly comment?: string
}

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

export const NODE_TYPES = [
  "sample",
  "expand",
  "score",
  "prune",
  "revise",
  "select",
  "sequence",
  "repeat",
  "parallel",
  "route",
  "use"
] as const
export type NodeType = (typeof NODE_TYPES)[number]

const NodeRef = Schema.suspend((): Schema.Codec<Node> => Node)

/** `until` of a repeat: `"no-active"` (the default), `"none"` (run every round) or `"done >= <expression>"`. */
export const RepeatUntil = Schema.String.check(
  Schema.makeFilter((text: string) => {
    if (text === "no-active" || text === "none") return undefined
    const m = /^\s*done\s*>=\s*(.+)$/u.exec(text)
    if (m === null) return `expected "no-active", "none" or "done >= <expression>", got "${quote(text)}"`
    const r = Expression.parse(m[1] ?? "")
    return r.ok ? undefined : `invalid expression in until "${quote(text)}": ${r.message}`
  })
)

export const SequenceNode = Schema.Struct({
  type: Schema.Literal("sequence"),
  nodes: Schema.Array(NodeRef),
  ...comment
}).annotate({ identifier: "SequenceNode", description: "Runs nodes in order." })

export const RepeatNode = Schema.Struct({
  type: Schema.Literal("repeat"),
  max: Num,
  until: Schema.optionalKey(RepeatUntil),
  body: NodeRef,
  ...comment
}).annotate({
  identifier: "RepeatNode",
  description:
    "Runs body up to max times; stops early when the until condition holds (checked before each round: no-active, the default, or done >= expr; none never holds) or the budget refused a call in the last round."
})

export const ParallelNode = Schema.Struct({
  type: Schema.Literal("parallel"),
  branches: Num,
  body: NodeRef,
  ...comment
}).annotate({
  identifier: "ParallelNode",
  description:
    "Runs body independently per branch (ids prefixed bj/, group bj), each from an empty population, and appends the branches' populations in branch order."
})

export const RouteNode = Schema.Struct({
  type: Schema.Literal("route"),
  estimate: Schema.Struct({
    samples: Num,
    verifier: Schema.optionalKey(Schema.NonEmptyString),
    aggregate: Schema.optionalKey(Aggregate),
    temperature: Schema.optionalKey(Num),
    maxTokens: Schema.optionalKey(Num)
  }),
  bins: Schema.Array(Schema.Finite),
  cases: Schema.Array(NodeRef),
  ...comment
}).annotate({
  identifier: "RouteNode",
  description:
    "Estimates difficulty as the mean final verifier score of `samples` fresh complete samples, bins it (bins are descending score thresholds: bin 0 = easiest), and runs the matching case; the estimate's samples stay in the population."
})

export const UseNode = Schema.Struct({
  type: Schema.Literal("use"),
  graph: Schema.NonEmptyString,
  params: Schema.optionalKey(Schema.Record(Schema.String, Num)),
  ...comment
}).annotate({
  identifier: "UseNode",
  description: "Inlines another graph (a built-in name or a path relative to this file) with params."
})

export const Node: Schema.Codec<Node> = Schema.Union([
  SampleNode,
  ExpandNode,
  ScoreNode,
  PruneNode,
  ReviseNode,
  SelectNode,
  SequenceNode,
  RepeatNode,
  ParallelNode,
  RouteNode,
  UseNode
]).annotate({
  identifier: "Node",
  message: `Expected a node with "type": ${NODE_TYPES.map((t) => `"${t}"`).join(" | ")}`
})

const ParamName = Schema.String.check(
  Schema.isPattern(/^[A-Za-z_][A-Za-z0-9_]*$/u, { message: "param names are identifiers (letters, digits, _)" })
)

export interface GraphDocument {
  readonly $schema?: string
  readonly name: string
  readonly description: string
  readonly reproduces?: string
  readonly params?: { readonly [name: string]: number }
  readonly requires?: ReadonlyArray<(typeof CAPABILITIES)[number]>
  readonly stepDelimiter?: string
  readonly root: Node
}

export const GraphDocument = Schema.Struct({
  $schema: Schema.optionalKey(Schema.String),
  name: Schema.String.check(
    Schema.isPattern(/^[a-z0-9][a-z0-9._-]*$/u, { message: "graph names are lowercase slugs (a-z, 0-9, . _ -)" })
  ),
  description: Schema.String,
  reproduces: Schema.optionalKey(
    Schema.String.annotate({ description: "What the graph reproduces (paper, section, system)" })
  ),
  params: Schema.optionalKey(Schema.Record(ParamName, Schema.Finite)),
  requires: Schema.optionalKey(Schema.Array(Schema.Literals(CAPABILITIES))),
  stepDelimiter: Schema.optionalKey(Schema.String),
  root: Node
}).annotate({ identifier: "GraphDocument", description: "A mull strategy graph" })

/** Defaults applied where nodes run (documented in docs/graphs.md). */
export const Defaults = {
  temperature: 0.8,
  verifier: "prm",
  aggregate: "last" as Aggregate,
  lookaheadTemperature: 0,
  prunAmong: "active" as const,
  pruneMode: "top" as const,
  pruneTemperature: 1,
  reviseContext: 4,
  selectAmong: "done" as const,
  repeatUntil: "no-active"
} as const

/**
 * Decodes a graph document from unknown JSON, reporting every problem (excess properties
 * rejected). Use `Loader` for files, `use` resolution and validation.
 *
 * @example
 * decode({ name: "x", description: "", root: { type: "select", method: "best" } })
 */
export const decode = Schema.decodeUnknownEffect(GraphDocument)

/** Formats a Schema error as one `path: message` line per problem (paths like `root.nodes.2.keep`). */
export const formatIssues = (error: Schema.SchemaError, prefix = ""): ReadonlyArray<string> =>
  SchemaIssue.makeFormatterStandardSchemaV1()(error.issue).issues.map((i) => {
    const path = (i.path ?? []).map((p) => String(typeof p === "object" && p !== null && "key" in p ? p.key : p))
    const where = [prefix, ...path].filter((s) => s !== "").join(".")
    return `${where === "" ? "(document)" : where}: ${i.message}`
  })
