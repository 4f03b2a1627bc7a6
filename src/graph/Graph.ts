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
import { Schema } from "effect"
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

/** Key annotations (description, default) shared by several nodes; the reference (docs/reference.md) prints them. */
const temperatureKey = { description: "Sampling temperature (number ≥ 0)", default: 0.8 }
const maxTokensKey = {
  description:
    "Output tokens of one generated sequence, at most (integer ≥ 1; default and cap: the backend's maxTokens)"
}
const verifierKey = {
  description: "Which of the backend's verifiers scores (the simulated backend has prm and orm)",
  default: "prm"
}
const aggregateKey = {
  description: "How a candidate's step scores become its score: last (the last step's), min, prod or mean",
  default: "last" as const
}

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
  n: Num.annotateKey({ description: "How many fresh candidates (integer ≥ 0)" }),
  until: Until,
  temperature: Schema.optionalKey(Num).annotateKey(temperatureKey),
  maxTokens: Schema.optionalKey(Num).annotateKey(maxTokensKey),
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
  n: Num.annotateKey({ description: "Children per active candidate (integer ≥ 1)" }),
  until: Until,
  temperature: Schema.optionalKey(Num).annotateKey(temperatureKey),
  maxTokens: Schema.optionalKey(Num).annotateKey(maxTokensKey),
  among: Schema.optionalKey(Schema.Literal("active")).annotateKey({
    description: "Which candidates are expanded: the active (not done) ones",
    default: "active"
  }),
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
  verifier: Schema.optionalKey(Schema.NonEmptyString).annotateKey(verifierKey),
  aggregate: Schema.optionalKey(Aggregate).annotateKey(aggregateKey),
  lookahead: Schema.optionalKey(
    Schema.Struct({
      steps: Num.annotateKey({ description: "Rollout length k in steps (integer ≥ 0)" }),
      temperature: Schema.optionalKey(Num).annotateKey({
        description: "Temperature of the rollout (number ≥ 0; 0 is greedy)",
        default: 0
      }),
      maxTokens: Schema.optionalKey(Num).annotateKey(maxTokensKey)
    })
  ).annotateKey({
    description: "Roll each active candidate out k more steps (not kept) and score the rollout (Snell et al. 2024 §5.2)"
  }),
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
  keep: Num.annotateKey({ description: "How many candidates of the pool to keep (integer ≥ 0)" }),
  among: Schema.optionalKey(Schema.Literals(["active", "all"])).annotateKey({
    description: "The pool: the active candidates or all of them; candidates outside the pool stay",
    default: "active"
  }),
  by: Schema.optionalKey(Schema.Literal("score")).annotateKey({
    description: "What candidates are ranked by",
    default: "score"
  }),
  mode: Schema.optionalKey(Schema.Literals(["top", "sample"])).annotateKey({
    description: "top: the best scores; sample: draws with replacement ∝ softmax(score / temperature)",
    default: "top"
  }),
  temperature: Schema.optionalKey(Num).annotateKey({
    description: "Softmax temperature of mode sample (number > 0)",
    default: 1
  }),
  dedupe: Schema.optionalKey(Schema.Boolean).annotateKey({
    description: "First drop pool candidates whose text repeats a better-scored one",
    default: false
  }),
  dropUnanswered: Schema.optionalKey(Schema.Boolean).annotateKey({
    description: "First drop done pool candidates without an answer",
    default: false
  }),
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
  context: Schema.optionalKey(Num).annotateKey({
    description: "Previous attempts of the chain in the prompt, at most (integer ≥ 1)",
    default: 4
  }),
  temperature: Schema.optionalKey(Num).annotateKey(temperatureKey),
  maxTokens: Schema.optionalKey(Num).annotateKey(maxTokensKey),
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
  method: Schema.Literals(["majority", "best", "weighted"]).annotateKey({
    description:
      "majority: the answer most candidates give; best: the highest-scored candidate's; weighted: the answer with the largest sum of scores"
  }),
  among: Schema.optionalKey(Schema.Literals(["done", "all"])).annotateKey({
    description: "The pool: done candidates with an answer (every answered one when none is done), or all",
    default: "done"
  }),
  hierarchical: Schema.optionalKey(Schema.Literal("chain")).annotateKey({
    description: "chain: pick a winner within each revision chain first, then vote across chains (§6)"
  }),
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
  nodes: Schema.Array(NodeRef).annotateKey({ description: "Run in order, each on the previous one's output" }),
  ...comment
}).annotate({ identifier: "SequenceNode", description: "Runs nodes in order." })

export const RepeatNode = Schema.Struct({
  type: Schema.Literal("repeat"),
  max: Num.annotateKey({ description: "Rounds, at most (integer ≥ 0)" }),
  until: Schema.optionalKey(RepeatUntil).annotateKey({
    description:
      'Checked before each round: "no-active" (no candidate can be extended), "none" (never), or "done >= <expression>"',
    default: "no-active"
  }),
  body: NodeRef.annotateKey({ description: "The node run each round" }),
  ...comment
}).annotate({
  identifier: "RepeatNode",
  description:
    "Runs body up to max rounds. Before each round it stops when until holds (no-active, the default; done >= expr; none never holds); after a round it stops when the budget refused a call in it or it changed nothing."
})

export const ParallelNode = Schema.Struct({
  type: Schema.Literal("parallel"),
  branches: Num.annotateKey({ description: "How many branches (integer ≥ 1)" }),
  body: NodeRef.annotateKey({
    description: "Run once per branch from an empty population, paid from an equal share of the remaining budget"
  }),
  ...comment
}).annotate({
  identifier: "ParallelNode",
  description:
    "Runs body independently per branch (ids prefixed bj/, group bj), each from an empty population, and appends the branches' populations in branch order."
})

export const RouteNode = Schema.Struct({
  type: Schema.Literal("route"),
  estimate: Schema.Struct({
    samples: Num.annotateKey({ description: "Fresh complete samples the estimate is the mean score of (integer ≥ 1)" }),
    verifier: Schema.optionalKey(Schema.NonEmptyString).annotateKey(verifierKey),
    aggregate: Schema.optionalKey(Aggregate).annotateKey(aggregateKey),
    temperature: Schema.optionalKey(Num).annotateKey(temperatureKey),
    maxTokens: Schema.optionalKey(Num).annotateKey(maxTokensKey)
  }).annotateKey({ description: "How the question's difficulty is estimated" }),
  bins: Schema.Array(Schema.Finite).annotateKey({
    description: "Strictly decreasing score thresholds: bin i is the first with estimate ≥ bins[i]"
  }),
  cases: Schema.Array(NodeRef).annotateKey({
    description: "One node per bin, the easiest first, and one more for an estimate below every threshold"
  }),
  ...comment
}).annotate({
  identifier: "RouteNode",
  description:
    "Estimates difficulty as the mean final verifier score of `samples` fresh complete samples, bins it (bins are descending score thresholds: bin 0 = easiest), and runs the matching case; the estimate's samples stay in the population."
})

export const UseNode = Schema.Struct({
  type: Schema.Literal("use"),
  graph: Schema.NonEmptyString.annotateKey({
    description: "A built-in graph's name, or a path relative to this file"
  }),
  params: Schema.optionalKey(Schema.Record(Schema.String, Num)).annotateKey({
    description: "Overrides of the used graph's params, evaluated in this graph"
  }),
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
  root: Node.annotateKey({ description: "The node the run starts with, on an empty population" })
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
export { formatIssues } from "../domain/SchemaProblems.ts"
