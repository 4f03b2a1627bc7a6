/**
 * The compiled plan of a graph: what loading a document yields beside the document itself. Each
 * node of the decoded document is compiled by its kind (`src/nodes/<kind>.ts`) into a plan node:
 * its defaults applied, its expressions (already parsed when the document was decoded) kept as
 * trees, its full path assigned, and a used graph compiled in place under `<path>[<name>].` with
 * its own param scope. Validation, the static cost and the interpreter read the plan; nothing
 * re-reads the document or re-parses a string after loading.
 *
 * @since 0.2.0
 */

import type { Compiler, PlanNode, UsedGraph } from "../nodes/Kind.ts"
import * as Registry from "../nodes/Registry.ts"
import type { Capability } from "../services/Capability.ts"
import type { Need } from "./Check.ts"
import type { ParsedDocument } from "./Graph.ts"
import type { Params } from "./Scope.ts"

export type { PlanNode, UsedGraph } from "../nodes/Kind.ts"

/** A compiled graph. */
export interface Plan {
  readonly name: string
  /** the params the document declares, with their defaults (callers override them) */
  readonly params: Params
  /** capabilities the document requires beyond those its nodes imply */
  readonly requires: ReadonlyArray<Capability>
  readonly stepDelimiter: string | undefined
  readonly root: PlanNode
}

/** A decoded document with the documents its `use` nodes name, by the path of the `use` node in it. */
export interface Linked {
  readonly parsed: ParsedDocument
  readonly uses: ReadonlyMap<string, Linked>
}

/**
 * The compiler of the node at `docPath` of a document (its path within that document) whose paths
 * are prefixed `prefix` (`""` at the top, `root.nodes.0[beam-search].` inside a used graph).
 */
const compilerAt = (
  graph: Linked,
  prefix: string,
  docPath: string,
  used: (docPath: string, ref: string, path: string) => UsedGraph | undefined
): Compiler => ({
  path: `${prefix}${docPath}`,
  child: (node, key) => Registry.compile(node, compilerAt(graph, prefix, `${docPath}.${key}`, used)),
  used: (ref) => used(docPath, ref, `${prefix}${docPath}`)
})

const compileAt = (graph: Linked, prefix: string): PlanNode => {
  const used = (docPath: string, _ref: string, path: string): UsedGraph | undefined => {
    const target = graph.uses.get(docPath)
    if (target === undefined) return undefined
    const name = target.parsed.name
    return {
      name,
      params: target.parsed.params ?? {},
      requires: target.parsed.requires ?? [],
      root: compileAt(target, `${path}[${name}].`)
    }
  }
  return Registry.compile(graph.parsed.root, compilerAt(graph, prefix, "root", used))
}

/**
 * Compiles a decoded document whose `use` targets are loaded.
 *
 * @example
 * const plan = compile({ parsed, uses })
 * plan.root.path // "root"
 */
export const compile = (graph: Linked): Plan => ({
  name: graph.parsed.name,
  params: graph.parsed.params ?? {},
  requires: graph.parsed.requires ?? [],
  stepDelimiter: graph.parsed.stepDelimiter,
  root: compileAt(graph, "")
})

/**
 * The graphs a decoded document's `use` nodes name, with the paths of those nodes (what the loader
 * must load before the document can be compiled).
 *
 * @example
 * references(parsed) // [{ path: "root.cases.0", ref: "weighted-best-of-n" }, …]
 */
export const references = (parsed: ParsedDocument): ReadonlyArray<{ readonly path: string; readonly ref: string }> => {
  const out: Array<{ readonly path: string; readonly ref: string }> = []
  const graph: Linked = { parsed, uses: new Map() }
  // compiling with no target loaded visits every node once and asks for each `use` target
  Registry.compile(
    parsed.root,
    compilerAt(graph, "", "root", (docPath, ref) => {
      out.push({ path: docPath, ref })
      return undefined
    })
  )
  return out
}

/**
 * Every node of a plan, depth first in document order, a used graph's nodes where it is used.
 *
 * @example
 * for (const node of nodes(plan.root)) console.log(node.path, node.type)
 */
export const nodes = (root: PlanNode): ReadonlyArray<PlanNode> => {
  const out: Array<PlanNode> = []
  const visit = (node: PlanNode): void => {
    out.push(node)
    for (const child of node.children) visit(child)
  }
  visit(root)
  return out
}

/**
 * The capabilities a plan needs: those its document declares in `requires`, then those its nodes
 * imply, in document order (a used graph's `requires` and nodes where it is used).
 *
 * @example
 * needs(plan) // [{ capability: "stepwise", path: "root.nodes.0.until" }, …]
 */
export const needs = (plan: Plan): ReadonlyArray<Need> => [
  ...plan.requires.map((capability) => ({ capability, path: "requires" })),
  ...nodes(plan.root).flatMap((n) => n.needs)
]
