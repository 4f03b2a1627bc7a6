/**
 * `use {graph, params}`: runs another graph's root in place, with its own params (its defaults,
 * overridden by `params`, which are evaluated here). Its nodes' paths are prefixed
 * `<path>[<name>].`, so seeds and ledger entries stay distinct.
 *
 * @since 0.1.0
 */
import { Effect } from "effect"
import * as Population from "../../domain/Population.ts"
import type { UseNode } from "../../graph/Graph.ts"
import * as Scope from "../../graph/Scope.ts"
import { effectiveParams } from "../../graph/Validate.ts"
import type { Frame, RunNode } from "../Env.ts"
import { InvalidValue } from "../RunError.ts"

export const run = (frame: Frame, node: UseNode, path: string, population: Population.Population, runNode: RunNode) =>
  Effect.gen(function* () {
    const target = frame.graph.uses.get(path)
    if (target === undefined)
      return yield* new InvalidValue({
        path: `${frame.pathPrefix}${path}.graph`,
        problem: `graph "${node.graph}" was not loaded`
      })
    const counts = Population.counts(population)
    const overrides: Record<string, number> = {}
    for (const [k, v] of Object.entries(node.params ?? {})) {
      const x = Scope.evaluate(v, frame.params, frame.env.limits, counts)
      if (!Number.isFinite(x))
        return yield* new InvalidValue({
          path: `${frame.pathPrefix}${path}.params.${k}`,
          problem: `expected a finite number, got ${x}`
        })
      overrides[k] = x
    }
    const { params, problems } = effectiveParams(target.doc, overrides, `${frame.pathPrefix}${path}.params`)
    const first = problems[0]
    if (first !== undefined) return yield* new InvalidValue({ path: `${frame.pathPrefix}${path}`, problem: first })
    const inner: Frame = {
      ...frame,
      graph: target,
      params,
      pathPrefix: `${frame.pathPrefix}${path}[${target.doc.name}].`
    }
    return yield* runNode(inner, target.doc.root, "root", population)
  })
