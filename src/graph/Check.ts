/**
 * What validation of a plan node reads (its scope) and the checks every node kind shares: numeric
 * fields (every name known; a field that does not depend on the run's progress evaluated and
 * checked against its rule) and verifier names against the backend.
 *
 * @since 0.2.0
 */
import type { Limits } from "../budget/Limits.ts"
import type { Capability } from "../services/Capability.ts"
import * as Expression from "./Expression.ts"
import { type NumField, valueProblem } from "./Field.ts"
import * as Scope from "./Scope.ts"

/** What validation knows about the backends a graph will run on. */
export interface BackendInfo {
  readonly name: string
  readonly capabilities: ReadonlySet<Capability>
  /** verifier names the backend answers to (`prm`, `orm`…) */
  readonly verifiers: ReadonlyArray<string>
}

/** A capability a node needs, and the path that needs it. */
export interface Need {
  readonly capability: Capability
  readonly path: string
}

/** Where a node is validated. */
export interface CheckScope {
  /** the effective params of the node's document */
  readonly params: Scope.Params
  /** the run's limits */
  readonly limits: Limits
  /**
   * inside a `parallel` branch, which pays from a share of what remains: `budget.<meter>` of a
   * limited meter is then known only when the node runs, so it is checked then
   */
  readonly share: boolean
  readonly backend?: BackendInfo | undefined
}

/** A field whose value depends on the run's progress: the population, what remains, or a branch's share of the budget. */
const dynamic = (f: NumField, scope: CheckScope): boolean =>
  f.population || f.remaining || (scope.share && f.budget.some((m) => Object.hasOwn(scope.limits, m)))

/**
 * The problems of numeric fields: unknown names, `population.*` where it cannot be read, and —
 * for a field known before the run — a value that breaks its rule.
 *
 * @example
 * checkNums(scope, [keep, temperature]) // ['root.nodes.2.keep: expected an integer ≥ 0, got 2.5 (from "N / 4")']
 */
export const checkNums = (
  scope: CheckScope,
  fields: ReadonlyArray<NumField | undefined>,
  allowPopulation = true
): ReadonlyArray<string> => {
  const out: Array<string> = []
  for (const f of fields) {
    if (f === undefined) continue
    let bad = false
    for (const name of f.names) {
      const why = Scope.unknownName(name, scope.params)
      if (why !== undefined) {
        out.push(`${f.path}: ${why}`)
        bad = true
      } else if (!allowPopulation && name.startsWith("population.")) {
        out.push(`${f.path}: "${name}" cannot be used here (the population is not known where this is evaluated)`)
        bad = true
      }
    }
    if (bad || dynamic(f, scope)) continue
    const why = valueProblem(f, Expression.evaluate(f.expr, Scope.lookup(scope.params, scope.limits)))
    if (why !== undefined) out.push(`${f.path}: ${why}`)
  }
  return out
}

/**
 * The value of a field known before the run (params and the run's budget), or `undefined` when it
 * depends on the run's progress.
 *
 * @example
 * staticValue(scope, overrideOfN) // 16
 */
export const staticValue = (scope: CheckScope, f: NumField): number | undefined =>
  dynamic(f, scope) ? undefined : Expression.evaluate(f.expr, Scope.lookup(scope.params, scope.limits))

/** A verifier a node scores with: its name, and whether the document named it (or it is the default). */
export interface VerifierRef {
  readonly name: string
  readonly path: string
  readonly implicit: boolean
}

/**
 * The problem of scoring with a verifier the backend does not have (a default one included), or
 * `undefined`.
 *
 * @example
 * checkVerifier(scope, { name: "prm", path: "root.nodes.1.verifier", implicit: true })
 * // 'root.nodes.1.verifier: backend "openai" has no verifier "prm", the default (it has none: …)'
 */
export const checkVerifier = (scope: CheckScope, v: VerifierRef): string | undefined => {
  const backend = scope.backend
  if (backend === undefined || backend.verifiers.includes(v.name)) return undefined
  return `${v.path}: backend "${backend.name}" has no verifier "${v.name}"${v.implicit ? ", the default" : ""} ${
    backend.verifiers.length === 0
      ? "(it has none: give it a reward model, see docs/backends.md)"
      : `(it has: ${backend.verifiers.join(", ")})`
  }`
}
