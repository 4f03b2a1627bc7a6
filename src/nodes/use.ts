/**
 * `use {graph, params}`: runs another graph's root in place, with its own params (its defaults,
 * overridden by `params`, which are evaluated here). The plan compiles the used graph in place:
 * its nodes' paths are prefixed `<path>[<name>].`, so seeds and ledger entries stay distinct.
 *
 * @since 0.1.0
 */
import { Effect, Schema } from "effect"
import * as Population from "../domain/Population.ts"
import * as Usage from "../domain/Usage.ts"
import * as Bound from "../graph/Bound.ts"
import { type CheckScope, checkNums, staticValue } from "../graph/Check.ts"
import type * as Expression from "../graph/Expression.ts"
import * as Field from "../graph/Field.ts"
import { effectiveParams, type Params } from "../graph/Scope.ts"
import { type Frame, fieldValue } from "../runtime/Env.ts"
import { InvalidValue } from "../runtime/RunError.ts"
import { comment } from "./Common.ts"
import { type NodeKind, planNode, type UsedGraph } from "./Kind.ts"

const fields = Schema.Struct({
  type: Schema.Literal("use"),
  graph: Schema.NonEmptyString.annotateKey({
    description: "A built-in graph's name, or a path relative to this file"
  }),
  params: Schema.optionalKey(Schema.Record(Schema.String, Field.ParsedNumCodec)).annotateKey({
    description: "Overrides of the used graph's params, evaluated in this graph"
  }),
  ...comment
}).annotate({
  identifier: "UseNode",
  description: "Inlines another graph (a built-in name or a path relative to this file) with params."
})

/** A `use` node as written. */
export type UseNode = typeof fields.Encoded
/** A `use` node as decoded. */
export type UseDoc = typeof fields.Type

/** A compiled `use` node: the used graph compiled in place (absent while it is not loaded). */
export interface UseFields {
  readonly graph: string
  /** overrides of the used graph's params, in this graph's scope */
  readonly params: ReadonlyArray<readonly [string, Field.NumField]>
  readonly used: UsedGraph | undefined
}

/** The intervals of the used graph's params: its declared params, overridden by the `params` fields. */
const paramIntervals = (
  f: UseFields,
  used: UsedGraph,
  scope: Bound.BoundScope,
  pop: Bound.PopulationBound
): Record<string, Expression.Interval> => {
  const params: Record<string, Expression.Interval> = {}
  for (const [k, v] of Object.entries(used.params)) params[k] = { lo: v, hi: v }
  // not clamped at 0: a divisor known to be ≥ 1 must stay so
  for (const [k, v] of f.params) params[k] = Bound.intervalOf(v, scope, pop)
  return params
}

export const use: NodeKind<"use", UseDoc, UseNode> = {
  type: "use",
  schema: () => fields,
  compile: (node, at) => {
    const path = at.path
    const used = at.used(node.graph)
    const f: UseFields = {
      graph: node.graph,
      params: Object.entries(node.params ?? {}).map(([k, v]) => [k, Field.field(`${path}.params.${k}`, v, Field.ANY)]),
      used
    }
    const check = (scope: CheckScope): ReadonlyArray<string> => {
      const out = [
        ...checkNums(
          scope,
          f.params.map(([, v]) => v),
          false
        )
      ]
      if (used === undefined) return out
      const inner: Record<string, number> = {}
      for (const [k, v] of f.params) {
        const x = staticValue(scope, v)
        if (x !== undefined && Number.isFinite(x)) inner[k] = x
      }
      const eff = effectiveParams(used, inner, `${path}.params`)
      return [...out, ...eff.problems, ...used.root.check({ ...scope, params: eff.params })]
    }
    return planNode("use", at, {
      fields: f,
      children: used === undefined ? [] : [used.root],
      needs:
        used === undefined
          ? []
          : used.requires.map((capability) => ({ capability, path: `${path}[${used.name}].requires` })),
      answers: used?.root.answers ?? false,
      lanes: used?.root.lanes ?? "keep",
      check,
      bound: (scope, pop) =>
        used === undefined
          ? { cost: Usage.zero, pop }
          : used.root.bound({ ...scope, params: paramIntervals(f, used, scope, pop) }, pop),
      firstCall: (scope) =>
        used === undefined
          ? undefined
          : used.root.firstCall({ ...scope, params: paramIntervals(f, used, scope, Bound.EMPTY) }),
      run: (frame, population, runNode) =>
        Effect.gen(function* () {
          if (used === undefined)
            return yield* new InvalidValue({ path: `${path}.graph`, problem: `graph "${f.graph}" was not loaded` })
          const counts = Population.counts(population)
          const overrides: Record<string, number> = {}
          for (const [k, v] of f.params) {
            const x = fieldValue(frame, v, counts)
            if (!Number.isFinite(x))
              return yield* new InvalidValue({ path: v.path, problem: `expected a finite number, got ${x}` })
            overrides[k] = x
          }
          const { params, problems }: { readonly params: Params; readonly problems: ReadonlyArray<string> } =
            effectiveParams(used, overrides, `${path}.params`)
          const first = problems[0]
          if (first !== undefined) return yield* new InvalidValue({ path, problem: first })
          const inner: Frame = { ...frame, params }
          return yield* runNode(inner, used.root, population)
        })
    })
  }
}
