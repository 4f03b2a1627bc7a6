/**
 * What a node kind is: one module (`src/nodes/<kind>.ts`) that declares the kind's document fields
 * (a Schema with descriptions and defaults) and compiles a node of that kind into a plan node —
 * its fields resolved (defaults applied, expressions already parsed), its path assigned, and its
 * validation, static cost bound and run bound to them. `Registry.ts` lists the kinds; nothing else
 * knows them by name.
 *
 * A plan node may hold child plan nodes (`sequence`, `repeat`, the inlined graph of `use`), run
 * them as often as it likes (`repeat`, waves of samples), read the population and the vote between
 * runs, and pay from its own ledger (a `parallel` branch's share): the interface below puts no
 * shape on what a kind does, only on what the plan asks of it.
 *
 * @since 0.2.0
 */
import type { Effect, Schema } from "effect"
import type { Population } from "../domain/Population.ts"
import type { Bounded, BoundScope, FirstCall, PopulationBound } from "../graph/Bound.ts"
import type { CheckScope, Need } from "../graph/Check.ts"
import type { Params } from "../graph/Scope.ts"
import type { Frame } from "../runtime/Env.ts"
import type { RunError } from "../runtime/RunError.ts"
import type { Capability } from "../services/Capability.ts"
import type { Node, NodeDoc } from "./Registry.ts"

export type { FirstCall } from "../graph/Bound.ts"

/** How a node changes the lanes it is given (see `PlanNode.lanes`). */
export type Lanes = "keep" | "deepen" | "fresh"

/**
 * The lanes effect of nodes run one after another: fresh if any is, else deepen if any does.
 *
 * @example
 * lanesOf(["keep", "deepen"]) // "deepen"
 */
export const lanesOf = (all: ReadonlyArray<Lanes>): Lanes =>
  all.includes("fresh") ? "fresh" : all.includes("deepen") ? "deepen" : "keep"

/** Runs a plan node (and its children) on a population: the interpreter, given to nodes that run children. */
export type RunNode = (frame: Frame, node: PlanNode, population: Population) => Effect.Effect<Population, RunError>

/** A node of a compiled plan. */
export interface PlanNode<Fields = unknown> {
  /** the kind's name (`sample`, `repeat`, …) */
  readonly type: string
  /** its full path: `root.nodes.2`; inside a used graph `root.nodes.0[beam-search].root.nodes.1` */
  readonly path: string
  /** its fields as its kind compiled them: defaults applied, expressions as trees */
  readonly fields: Fields
  /** the nodes it may run, in document order (a `use` node's is the used graph's root) */
  readonly children: ReadonlyArray<PlanNode>
  /** the capabilities it needs itself (its children list theirs) */
  readonly needs: ReadonlyArray<Need>
  /** whether the last node it runs is always a `select` (so a run that ends with it has an answer step) */
  readonly answers: boolean
  /** whether it calls a verifier itself (its children say for themselves) */
  readonly scores: boolean
  /**
   * What it does to the lanes (candidates) it is given, for bounding search loops: `keep` — it
   * makes no new lane and grows none by a step (score, a top-k prune, an expansion to the end);
   * `deepen` — every lane it keeps active is one step deeper (a step expansion); `fresh` —
   * anything else (new lanes, copies). A loop that runs until no lane is active and whose body
   * only keeps or deepens lanes runs at most the backend's `maxSteps` + 1 paying rounds.
   */
  readonly lanes: Lanes
  /** its problems and its children's, in a scope (params, limits, backend) */
  readonly check: (scope: CheckScope) => ReadonlyArray<string>
  /** an upper bound of its cost and of the population it leaves, given a bound of the one it gets */
  readonly bound: (scope: BoundScope, population: PopulationBound) => Bounded
  /**
   * the least it must be able to pay for, on an empty population, before it produces anything:
   * its first generation call, or `undefined` when it makes none first
   */
  readonly firstCall: (scope: BoundScope) => FirstCall | undefined
  /** runs it on a population */
  readonly run: (frame: Frame, population: Population, runNode: RunNode) => Effect.Effect<Population, RunError>
}

/** A used graph, compiled in place with its own param scope. */
export interface UsedGraph {
  readonly name: string
  /** the params it declares (a `use` node's `params` override them) */
  readonly params: Params
  readonly requires: ReadonlyArray<Capability>
  /** its root, compiled at `<use path>[<name>].root` */
  readonly root: PlanNode
}

/** What compiling a node may ask of the plan being built. */
export interface Compiler {
  /** the node's full path */
  readonly path: string
  /** compiles a child node at `<path>.<key>` */
  readonly child: (node: NodeDoc, key: string) => PlanNode
  /** the graph a `use` node at this path names, compiled in place (`undefined` while it is not loaded) */
  readonly used: (ref: string) => UsedGraph | undefined
}

/** A node kind. */
export interface NodeKind<
  Type extends string,
  Doc extends { readonly type: Type },
  Json extends { readonly type: Type }
> {
  readonly type: Type
  /**
   * The Schema of the kind's document fields, decoding JSON (`Json`) to the parsed node (`Doc`:
   * numeric fields parsed into trees); `child` is the Schema of any node, for kinds that hold nodes.
   */
  readonly schema: (child: Schema.Codec<NodeDoc, Node>) => Schema.Codec<Doc, Json>
  /** compiles one node of the document into a plan node */
  readonly compile: (node: Doc, at: Compiler) => PlanNode
}

/** What a kind gives to make a plan node; what it leaves out means "nothing" (no children, needs, first call). */
export interface NodeSpec<Fields> {
  readonly fields: Fields
  readonly children?: ReadonlyArray<PlanNode>
  readonly needs?: ReadonlyArray<Need>
  readonly answers?: boolean
  readonly scores?: boolean
  /** default `fresh` (nothing assumed) */
  readonly lanes?: Lanes
  readonly check: PlanNode["check"]
  readonly bound: PlanNode["bound"]
  readonly firstCall?: PlanNode["firstCall"]
  readonly run: PlanNode["run"]
}

const none = (): undefined => undefined

/**
 * A plan node of kind `type` at `at.path`.
 *
 * @example
 * planNode(type, at, { fields, check: () => [], bound: (_, pop) => ({ cost: Usage.zero, pop }), run })
 */
export const planNode = <Fields>(type: string, at: Compiler, spec: NodeSpec<Fields>): PlanNode<Fields> => ({
  type,
  path: at.path,
  fields: spec.fields,
  children: spec.children ?? [],
  needs: spec.needs ?? [],
  answers: spec.answers ?? false,
  scores: spec.scores ?? false,
  lanes: spec.lanes ?? "fresh",
  check: spec.check,
  bound: spec.bound,
  firstCall: spec.firstCall ?? none,
  run: spec.run
})
