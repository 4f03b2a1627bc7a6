/**
 * Walking graph nodes: children with their JSON paths, and the numeric fields of each node with
 * the constraint each must satisfy.
 *
 * @since 0.1.0
 */
import type { Node, Num } from "./Graph.ts"

/**
 * The child nodes of a node, with their JSON paths.
 *
 * @example
 * children({ type: "sequence", nodes: [{ type: "select", method: "best" }] }, "root")
 * // [[{ type: "select", method: "best" }, "root.nodes.0"]]
 */
export const children = (node: Node, path: string): ReadonlyArray<readonly [Node, string]> => {
  switch (node.type) {
    case "sequence":
      return node.nodes.map((n, i) => [n, `${path}.nodes.${i}`] as const)
    case "repeat":
    case "parallel":
      return [[node.body, `${path}.body`]]
    case "route":
      return node.cases.map((n, i) => [n, `${path}.cases.${i}`] as const)
    default:
      return []
  }
}

/**
 * Visits a node and all its descendants, depth first, in document order (`use` targets are not
 * entered: they are separate documents).
 *
 * @example
 * walk(root, "root", (node, path) => console.log(path, node.type))
 */
export const walk = (node: Node, path: string, visit: (node: Node, path: string) => void): void => {
  visit(node, path)
  for (const [child, childPath] of children(node, path)) walk(child, childPath, visit)
}

/** What a numeric field must be. */
export interface FieldRule {
  readonly integer: boolean
  readonly min: number
  /** the minimum is exclusive */
  readonly exclusive?: boolean
  /** the largest value allowed, when there is one */
  readonly max?: number
}

/**
 * The most branches a `parallel` may run: each is a fiber with its own share of the budget, so a
 * count such as 1e9 would exhaust memory (and 2^32 or more cannot even be listed) before the
 * budget could refuse anything.
 */
export const MAX_BRANCHES = 10_000

/**
 * The most copies a sampling `prune` may draw: each is a new candidate made without any spend the
 * budget could refuse, so a `keep` such as 1e308 would loop until memory ran out.
 */
export const MAX_RESAMPLE = 1_000_000

const int0: FieldRule = { integer: true, min: 0 }
const int1: FieldRule = { integer: true, min: 1 }
const temp: FieldRule = { integer: false, min: 0 }
const positive: FieldRule = { integer: false, min: 0, exclusive: true }
const any: FieldRule = { integer: false, min: Number.NEGATIVE_INFINITY }
/** `parallel.branches` */
export const BRANCHES: FieldRule = { integer: true, min: 1, max: MAX_BRANCHES }
/** `prune.keep` of a sampling prune (a top-k prune keeps at most what it has) */
export const RESAMPLE_KEEP: FieldRule = { integer: true, min: 0, max: MAX_RESAMPLE }

/** A numeric field of a node: its JSON path, its value as written, and its rule. */
export interface NumField {
  readonly path: string
  readonly value: Num
  readonly rule: FieldRule
}

/**
 * The numeric fields of one node (not of its children).
 *
 * @example
 * numFields({ type: "prune", keep: "N / M" }, "root.nodes.2") // [{ path: "root.nodes.2.keep", value: "N / M", rule: ... }]
 */
export const numFields = (node: Node, path: string): ReadonlyArray<NumField> => {
  const out: Array<NumField> = []
  const add = (key: string, value: Num | undefined, rule: FieldRule) => {
    if (value !== undefined) out.push({ path: `${path}.${key}`, value, rule })
  }
  switch (node.type) {
    case "sample":
      add("n", node.n, int0)
      add("temperature", node.temperature, temp)
      add("maxTokens", node.maxTokens, int1)
      break
    case "expand":
      add("n", node.n, int1)
      add("temperature", node.temperature, temp)
      add("maxTokens", node.maxTokens, int1)
      break
    case "score":
      if (node.lookahead !== undefined) {
        add("lookahead.steps", node.lookahead.steps, int0)
        add("lookahead.temperature", node.lookahead.temperature, temp)
        add("lookahead.maxTokens", node.lookahead.maxTokens, int1)
      }
      break
    case "prune":
      add("keep", node.keep, node.mode === "sample" ? RESAMPLE_KEEP : int0)
      add("temperature", node.temperature, positive)
      break
    case "revise":
      add("context", node.context, int1)
      add("temperature", node.temperature, temp)
      add("maxTokens", node.maxTokens, int1)
      break
    case "repeat":
      add("max", node.max, int0)
      break
    case "parallel":
      add("branches", node.branches, BRANCHES)
      break
    case "route":
      add("estimate.samples", node.estimate.samples, int1)
      add("estimate.temperature", node.estimate.temperature, temp)
      add("estimate.maxTokens", node.estimate.maxTokens, int1)
      break
    case "use":
      for (const [k, v] of Object.entries(node.params ?? {})) add(`params.${k}`, v, any)
      break
    default:
      break
  }
  return out
}

/**
 * Checks a value against a rule; returns a message, or `undefined` when it is fine.
 *
 * @example
 * checkRule(2.5, { integer: true, min: 0 }) // "expected an integer ≥ 0, got 2.5"
 */
export const checkRule = (value: number, rule: FieldRule): string | undefined => {
  const what =
    rule.max === undefined
      ? `${rule.integer ? "an integer" : "a number"} ${rule.exclusive ? ">" : "≥"} ${rule.min}`
      : `${rule.integer ? "an integer" : "a number"} in ${rule.min}..${rule.max}`
  if (Number.isNaN(value)) return `expected ${what}, got NaN`
  if (rule.integer && Number.isFinite(value) && !Number.isInteger(value)) return `expected ${what}, got ${value}`
  if (rule.integer && !Number.isFinite(value)) return `expected ${what}, got ${value}`
  if (rule.exclusive ? value <= rule.min : value < rule.min) return `expected ${what}, got ${value}`
  if (rule.max !== undefined && value > rule.max) return `expected ${what}, got ${value}`
  return undefined
}
