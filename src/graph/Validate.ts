/**
 * Validation of a loaded graph before anything runs: params (overrides must name declared params),
 * expressions (every name known; integer fields integral and in range where they do not depend on
 * the population), route shape, reachability (the graph ends with a `select`), and — given a
 * backend — capabilities and verifier names. Every problem is one `path: message` line.
 *
 * @since 0.1.0
 */
import type { Limits } from "../budget/Limits.ts"
import { CAPABILITY_DESCRIPTIONS, type Capability } from "../services/Capability.ts"
import * as Expression from "./Expression.ts"
import type * as Graph from "./Graph.ts"
import type { LoadedGraph } from "./Loader.ts"
import * as Scope from "./Scope.ts"
import { checkRule, numFields, walk } from "./Walk.ts"

/** What validation knows about the backends a graph will run on. */
export interface BackendInfo {
  readonly name: string
  readonly capabilities: ReadonlySet<Capability>
  /** verifier names the backend answers to (`prm`, `orm`…) */
  readonly verifiers: ReadonlyArray<string>
}

export interface ValidateOptions {
  /** param overrides (`--param N=64`) */
  readonly params?: Scope.Params
  readonly limits?: Limits
  readonly backend?: BackendInfo
}

/**
 * The effective params of a document: its declared params with overrides applied. An override of
 * an undeclared param is a problem.
 *
 * @example
 * effectiveParams({ params: { N: 16 } }, { N: 64 }) // { params: { N: 64 }, problems: [] }
 */
export const effectiveParams = (
  doc: Pick<Graph.GraphDocument, "params">,
  overrides: Scope.Params = {},
  where = "params"
): { readonly params: Scope.Params; readonly problems: ReadonlyArray<string> } => {
  const declared = doc.params ?? {}
  const problems: Array<string> = []
  // a Map, not `params[k] = v`: a param named `__proto__` would hit the prototype setter
  const params = new Map(Object.entries(declared))
  for (const [k, v] of Object.entries(overrides)) {
    if (!Object.hasOwn(declared, k)) {
      const known = Object.keys(declared)
      problems.push(
        `${where}.${k}: unknown param "${k}" (${known.length === 0 ? "this graph has no params" : `params: ${known.join(", ")}`})`
      )
    } else if (!Number.isFinite(v)) problems.push(`${where}.${k}: expected a finite number, got ${v}`)
    else params.set(k, v)
  }
  return { params: Object.fromEntries(params), problems }
}

/**
 * Whether the last node a graph runs is a `select` (so the run always ends with an answer step).
 *
 * @example
 * endsWithSelect({ type: "sequence", nodes: [{ type: "select", method: "best" }] }, new Map(), "root") // true
 */
export const endsWithSelect = (node: Graph.Node, uses: ReadonlyMap<string, LoadedGraph>, path: string): boolean => {
  switch (node.type) {
    case "select":
      return true
    case "sequence": {
      const i = node.nodes.length - 1
      const last = node.nodes[i]
      return last !== undefined && endsWithSelect(last, uses, `${path}.nodes.${i}`)
    }
    case "route":
      return node.cases.length > 0 && node.cases.every((c, i) => endsWithSelect(c, uses, `${path}.cases.${i}`))
    case "use": {
      const target = uses.get(path)
      return target !== undefined && endsWithSelect(target.doc.root, target.uses, "root")
    }
    default:
      return false
  }
}

/** A capability a node needs, and the node's path. */
export interface Need {
  readonly capability: Capability
  readonly path: string
}

/**
 * The capabilities a graph needs: those it declares in `requires`, plus those its nodes imply
 * (`until: "step"` and lookahead need `stepwise`; `revise` needs `revise`), through `use` too.
 *
 * @example
 * requiredCapabilities(loaded) // [{ capability: "stepwise", path: "root.nodes.0.until" }, …]
 */
export const requiredCapabilities = (loaded: LoadedGraph, prefix = ""): ReadonlyArray<Need> => {
  const out: Array<Need> = []
  const at = (p: string) => (prefix === "" ? p : `${prefix}.${p}`)
  for (const capability of loaded.doc.requires ?? []) out.push({ capability, path: at("requires") })
  walk(loaded.doc.root, "root", (node, path) => {
    if ((node.type === "sample" || node.type === "expand") && node.until === "step")
      out.push({ capability: "stepwise", path: at(`${path}.until`) })
    if (node.type === "score" && node.lookahead !== undefined && node.lookahead.steps !== 0)
      out.push({ capability: "stepwise", path: at(`${path}.lookahead`) })
    if (node.type === "revise") out.push({ capability: "revise", path: at(path) })
    if (node.type === "use") {
      const target = loaded.uses.get(path)
      if (target !== undefined) out.push(...requiredCapabilities(target, at(`${path}[${target.doc.name}]`)))
    }
  })
  return out
}

/** Why a backend cannot score with verifier `name`: what it has instead, or that it has none. */
const noVerifier = (backend: BackendInfo, name: string): string =>
  `backend "${backend.name}" has no verifier "${name}" ${
    backend.verifiers.length === 0
      ? "(it has none: give it a reward model, see docs/backends.md)"
      : `(it has: ${backend.verifiers.join(", ")})`
  }`

/**
 * Every problem with a graph for the given params, limits and backend (empty when valid).
 *
 * @example
 * validate(loaded, { params: { N: 64 }, backend: { name: "simulated", capabilities, verifiers: ["prm"] } })
 */
export const validate = (loaded: LoadedGraph, options: ValidateOptions = {}): ReadonlyArray<string> => {
  const { params, problems } = effectiveParams(loaded.doc, options.params ?? {})
  const out = [...problems, ...validateWith(loaded, params, options, "")]
  if (!endsWithSelect(loaded.doc.root, loaded.uses, "root"))
    out.push("root: the graph must end with a select node (the last node run must choose the answer)")
  if (options.backend !== undefined) {
    const backend = options.backend
    const seen = new Set<Capability>()
    for (const need of requiredCapabilities(loaded)) {
      if (backend.capabilities.has(need.capability) || seen.has(need.capability)) continue
      seen.add(need.capability)
      out.push(
        `${need.path}: needs capability "${need.capability}" (${CAPABILITY_DESCRIPTIONS[need.capability]}), which backend "${backend.name}" lacks`
      )
    }
  }
  return out
}

const validateWith = (
  loaded: LoadedGraph,
  params: Scope.Params,
  options: ValidateOptions,
  prefix: string
): ReadonlyArray<string> => {
  const out: Array<string> = []
  const limits = options.limits ?? {}
  const at = (p: string) => (prefix === "" ? p : `${prefix}.${p}`)
  const checkNum = (path: string, value: Graph.Num, rule: Parameters<typeof checkRule>[1], allowPopulation = true) => {
    const expr = Scope.exprOf(value)
    let bad = false
    for (const name of Expression.names(expr)) {
      const why = Scope.unknownName(name, params)
      if (why !== undefined) {
        out.push(`${at(path)}: ${why}`)
        bad = true
      } else if (!allowPopulation && name.startsWith("population.")) {
        out.push(`${at(path)}: "${name}" cannot be used here (the population is not known where this is evaluated)`)
        bad = true
      }
    }
    if (bad || Scope.readsPopulation(expr)) return
    const v = Expression.evaluate(expr, Scope.lookup(params, limits))
    const why = checkRule(v, rule)
    if (why !== undefined) out.push(`${at(path)}: ${why}${typeof value === "string" ? ` (from "${value}")` : ""}`)
  }
  walk(loaded.doc.root, "root", (node, path) => {
    for (const f of numFields(node, path)) checkNum(f.path, f.value, f.rule, node.type !== "use")
    switch (node.type) {
      case "repeat": {
        if (node.until !== undefined && node.until !== "no-active" && node.until !== "none") {
          const m = /^\s*done\s*>=\s*(.+)$/u.exec(node.until)
          if (m?.[1] !== undefined) checkNum(`${path}.until`, m[1], { integer: false, min: Number.NEGATIVE_INFINITY })
        }
        break
      }
      case "route": {
        if (node.cases.length !== node.bins.length + 1)
          out.push(
            `${at(`${path}.cases`)}: expected ${node.bins.length + 1} cases for ${node.bins.length} bin thresholds, got ${node.cases.length}`
          )
        for (let i = 1; i < node.bins.length; i++) {
          const prev = node.bins[i - 1] ?? 0
          const cur = node.bins[i] ?? 0
          if (!(cur < prev))
            out.push(
              `${at(`${path}.bins.${i}`)}: thresholds must be strictly decreasing (bin 0 is the easiest), got ${cur} after ${prev}`
            )
        }
        const v = node.estimate.verifier
        if (v !== undefined && options.backend !== undefined && !options.backend.verifiers.includes(v))
          out.push(`${at(`${path}.estimate.verifier`)}: ${noVerifier(options.backend, v)}`)
        break
      }
      case "score": {
        const v = node.verifier
        if (v !== undefined && options.backend !== undefined && !options.backend.verifiers.includes(v))
          out.push(`${at(`${path}.verifier`)}: ${noVerifier(options.backend, v)}`)
        break
      }
      case "use": {
        const target = loaded.uses.get(path)
        if (target === undefined) break
        const inner: Record<string, number> = {}
        for (const [k, v] of Object.entries(node.params ?? {})) {
          const x = Scope.evaluate(v, params, limits)
          if (Number.isFinite(x)) inner[k] = x
        }
        const eff = effectiveParams(target.doc, inner, at(`${path}.params`))
        out.push(...eff.problems)
        out.push(...validateWith(target, eff.params, options, at(`${path}[${target.doc.name}]`)))
        break
      }
      default:
        break
    }
  })
  return out
}
