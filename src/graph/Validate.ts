/**
 * Validation of a loaded graph before anything runs, over its compiled plan: params (overrides
 * must name declared params), each node's own checks (expressions: every name known, integer
 * fields integral and in range where they do not depend on the run's progress; route shape;
 * verifier names — a default verifier included — against the backend), reachability (the graph
 * ends with a `select`), and — given a backend — the capabilities the nodes imply. Every problem is
 * one `path: message` line.
 *
 * @since 0.1.0
 */
import type { Limits } from "../budget/Limits.ts"
import { CAPABILITY_DESCRIPTIONS, type Capability } from "../services/Capability.ts"
import type { BackendInfo, CheckScope, Need } from "./Check.ts"
import type { LoadedGraph } from "./Loader.ts"
import * as Plan from "./Plan.ts"
import * as Scope from "./Scope.ts"

export type { BackendInfo, Need } from "./Check.ts"
export { effectiveParams } from "./Scope.ts"

export interface ValidateOptions {
  /** param overrides (`--param N=64`) */
  readonly params?: Scope.Params
  readonly limits?: Limits
  readonly backend?: BackendInfo
}

/**
 * Whether the last node a plan node runs is always a `select` (so the run ends with an answer step).
 *
 * @example
 * endsWithSelect(loaded.plan.root) // true
 */
export const endsWithSelect = (node: Plan.PlanNode): boolean => node.answers

/**
 * The capabilities a graph needs: those it declares in `requires`, plus those its nodes imply
 * (`until: "step"` and lookahead need `stepwise`; `revise` needs `revise`), through `use` too.
 *
 * @example
 * requiredCapabilities(loaded) // [{ capability: "stepwise", path: "root.nodes.0.until" }, …]
 */
export const requiredCapabilities = (loaded: LoadedGraph): ReadonlyArray<Need> => Plan.needs(loaded.plan)

/**
 * Every problem with a graph for the given params, limits and backend (empty when valid).
 *
 * @example
 * validate(loaded, { params: { N: 64 }, backend: { name: "simulated", capabilities, verifiers: ["prm"] } })
 */
export const validate = (loaded: LoadedGraph, options: ValidateOptions = {}): ReadonlyArray<string> => {
  const plan = loaded.plan
  const { params, problems } = Scope.effectiveParams(plan, options.params ?? {})
  const scope: CheckScope = { params, limits: options.limits ?? {}, share: false, backend: options.backend }
  const out = [...problems, ...plan.root.check(scope)]
  if (!endsWithSelect(plan.root))
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
