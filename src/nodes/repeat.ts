/**
 * `repeat {max, until, body}`: runs body up to `max` rounds. Before each round it stops if the
 * condition holds — `no-active` (the default: no candidate can be extended), `done >= expr`, or
 * `none` (never: every round runs, as revision chains need).
 * After a round in which the budget refused a call it stops too (anytime behaviour: the next round
 * could not be paid for either), and after a round that changed nothing — the same candidates and
 * nothing spent — since every later round would do the same nothing (a `max` of 1e9 would
 * otherwise spin). Rounds are numbered from 1 in candidates' `origin.round`.
 *
 * @since 0.1.0
 */
import { Effect, Schema, SchemaIssue, SchemaTransformation } from "effect"
import * as Population from "../domain/Population.ts"
import * as Usage from "../domain/Usage.ts"
import * as Bound from "../graph/Bound.ts"
import { checkNums } from "../graph/Check.ts"
import * as Expression from "../graph/Expression.ts"
import * as Field from "../graph/Field.ts"
import { fieldValue, num } from "../runtime/Env.ts"
import { comment } from "./Common.ts"
import { type NodeKind, type PlanNode, planNode } from "./Kind.ts"
import type { Node, NodeDoc } from "./Registry.ts"

/** A loop of more rounds than this is bounded as unbounded (the bound is not unrolled). */
const MAX_ROUNDS = 100_000

/** `until` as decoded: what was written, and the condition it means. */
export type Until =
  | { readonly _tag: "NoActive"; readonly source: string }
  | { readonly _tag: "Never"; readonly source: string }
  | { readonly _tag: "DoneAtLeast"; readonly source: string; readonly threshold: Field.ParsedNum }

/**
 * Parses a repeat's `until`: `"no-active"`, `"none"` or `"done >= <expression>"`.
 *
 * @example
 * parseUntil("done >= N / 2") // { ok: true, until: { _tag: "DoneAtLeast", threshold: … } }
 */
export const parseUntil = (
  text: string
): { readonly ok: true; readonly until: Until } | { readonly ok: false; readonly message: string } => {
  if (text === "no-active") return { ok: true, until: { _tag: "NoActive", source: text } }
  if (text === "none") return { ok: true, until: { _tag: "Never", source: text } }
  const m = /^\s*done\s*>=\s*(.+)$/u.exec(text)
  if (m === null)
    return { ok: false, message: `expected "no-active", "none" or "done >= <expression>", got "${Field.quote(text)}"` }
  const threshold = m[1] ?? ""
  const r = Expression.parse(threshold)
  return r.ok
    ? { ok: true, until: { _tag: "DoneAtLeast", source: text, threshold: { source: threshold, expr: r.expr } } }
    : { ok: false, message: `invalid expression in until "${Field.quote(text)}": ${r.message}` }
}

const UntilSchema = Schema.declare(
  (u: unknown): u is Until => typeof u === "object" && u !== null && "_tag" in u && "source" in u
)

const untilField = Schema.optionalKey(Schema.String)
  .annotateKey({
    description:
      'Checked before each round: "no-active" (no candidate can be extended), "none" (never), or "done >= <expression>"',
    default: "no-active"
  })
  .pipe(
    Schema.decodeTo(
      Schema.optionalKey(UntilSchema),
      SchemaTransformation.transformEffect<Until, string>({
        decode: (text) => {
          const r = parseUntil(text)
          return r.ok
            ? Effect.succeed(r.until)
            : Effect.fail(new SchemaIssue.InvalidValue({ message: r.message }, text))
        },
        encode: (until) => Effect.succeed(until.source)
      })
    )
  )

/** A `repeat` node as written. */
export interface RepeatNode {
  readonly type: "repeat"
  readonly max: Field.Num
  readonly until?: string
  readonly body: Node
  readonly comment?: string
}

/** A `repeat` node as decoded. */
export interface RepeatDoc {
  readonly type: "repeat"
  readonly max: Field.ParsedNum
  readonly until?: Until
  readonly body: NodeDoc
  readonly comment?: string
}

/** A compiled `repeat` node: `until` is `done >= threshold` when there is a threshold. */
export interface RepeatFields {
  readonly max: Field.NumField
  readonly until: "no-active" | "none" | "done"
  readonly threshold: Field.NumField | undefined
  readonly body: PlanNode
}

const sameCandidates = (a: Population.Population, b: Population.Population): boolean =>
  a.length === b.length && a.every((c, i) => c === b[i])

export const repeat: NodeKind<"repeat", RepeatDoc, RepeatNode> = {
  type: "repeat",
  schema: (child) =>
    Schema.Struct({
      type: Schema.Literal("repeat"),
      max: Field.num({ description: "Rounds, at most (integer ≥ 0)" }),
      until: untilField,
      body: child.annotateKey({ description: "The node run each round" }),
      ...comment
    }).annotate({
      identifier: "RepeatNode",
      description:
        "Runs body up to max rounds. Before each round it stops when until holds (no-active, the default; done >= expr; none never holds); after a round it stops when the budget refused a call in it or it changed nothing."
    }),
  compile: (node, at) => {
    const path = at.path
    const until = node.until
    const body = at.child(node.body, "body")
    const f: RepeatFields = {
      max: Field.field(`${path}.max`, node.max, Field.INT0),
      until: until === undefined || until._tag === "NoActive" ? "no-active" : until._tag === "Never" ? "none" : "done",
      threshold: until?._tag === "DoneAtLeast" ? Field.field(`${path}.until`, until.threshold, Field.ANY) : undefined,
      body
    }
    return planNode("repeat", at, {
      fields: f,
      children: [body],
      lanes: body.lanes,
      check: (scope) => [...checkNums(scope, [f.max, f.threshold]), ...body.check(scope)],
      bound: (scope, pop) => {
        const written = Bound.hiOf(f.max, scope, pop)
        // a loop until no lane is active whose body only deepens (or keeps) lanes pays for at most
        // the backend's longest solution in steps (+1: a cut final step is closed by one more)
        const steps = scope.options.maxSteps
        const max =
          f.until === "no-active" && body.lanes !== "fresh" && steps !== undefined
            ? Math.min(written, steps + 1)
            : written
        if (!Number.isFinite(max) || max > MAX_ROUNDS) return Bound.unbounded(body.bound(scope, pop).cost)
        let cost = Usage.zero
        let p = pop
        // the loop may stop after any round (no-active, done >= …, a refusal), so the population
        // that leaves it is bounded by the join over every round count, not by the last round's
        let joined = pop
        for (let r = 0; r < max; r++) {
          const out = body.bound(scope, p)
          cost = Bound.addBound(cost, out.cost)
          const same =
            out.pop.size === p.size &&
            out.pop.active === p.active &&
            out.pop.done === p.done &&
            out.pop.chains === p.chains
          p = out.pop
          joined = Bound.joinPop(joined, p)
          if (same) {
            // a fixpoint: every further round costs the same
            cost = Bound.addBound(cost, Usage.scale(out.cost, max - r - 1))
            break
          }
        }
        return { cost, pop: joined }
      },
      firstCall: (scope) => {
        // before the first call the population is empty: a loop that stops when nothing is active
        // (the default), or whose `done >= x` already holds, or that has no round, never runs
        if (Bound.hiOf(f.max, scope, Bound.EMPTY) < 1) return undefined
        if (f.until === "no-active") return undefined
        if (f.threshold !== undefined && Bound.intervalOf(f.threshold, scope, Bound.EMPTY).hi <= 0) return undefined
        return body.firstCall(scope)
      },
      run: Effect.fnUntraced(function* (frame, population, runNode) {
        const max = yield* num(frame, f.max, Population.counts(population))
        let pop = population
        for (let round = 1; round <= max; round++) {
          const counts = Population.counts(pop)
          if (f.until === "no-active" && counts.active === 0) break
          if (f.threshold !== undefined && counts.done >= fieldValue(frame, f.threshold, counts)) break
          const before = yield* frame.ledger.snapshot
          const previous = pop
          pop = yield* runNode({ ...frame, round }, body, pop)
          const after = yield* frame.ledger.snapshot
          if (after.refusals > before.refusals) break
          if (sameCandidates(previous, pop) && Usage.equals(before.committed, after.committed)) break
        }
        return pop
      })
    })
  }
}
