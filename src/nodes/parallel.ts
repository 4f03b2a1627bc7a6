/**
 * `parallel {branches, body}`: runs body once per branch j, concurrently, each from an empty
 * population with ids prefixed `bj/` and group `bj`; returns the incoming population followed by
 * the branches' populations in branch order. Under a budget, each branch pays from an equal share
 * of what remains, so a branch's spend never depends on how fast the others run (and the run is
 * the same at any concurrency); inside a branch `budget.<meter>` is that share. A `select` inside
 * a branch chooses only for that branch.
 *
 * @since 0.1.0
 */
import { Effect, Schema } from "effect"
import * as Ledger from "../budget/Ledger.ts"
import * as Population from "../domain/Population.ts"
import * as Usage from "../domain/Usage.ts"
import * as Bound from "../graph/Bound.ts"
import { checkNums } from "../graph/Check.ts"
import * as Field from "../graph/Field.ts"
import { boundScopeOf, type Frame, num } from "../runtime/Env.ts"
import * as Fanout from "../runtime/Fanout.ts"
import { comment } from "./Common.ts"
import { type NodeKind, type PlanNode, planNode, type RunNode } from "./Kind.ts"
import type { Node, NodeDoc } from "./Registry.ts"
import type { SampleFields } from "./sample.ts"

/** Whether a plan node is a `sample` node (its fields are `SampleFields`). */
const isSample = (node: PlanNode): node is PlanNode<SampleFields> => node.type === "sample"

/**
 * The most branches a `parallel` may run: each is a fiber with its own share of the budget, so a
 * count such as 1e9 would exhaust memory (and 2^32 or more cannot even be listed) before the
 * budget could refuse anything.
 */
export const MAX_BRANCHES = 10_000

/** `parallel.branches` */
export const BRANCHES: Field.FieldRule = { integer: true, min: 1, max: MAX_BRANCHES }

/** A `parallel` node as written. */
export interface ParallelNode {
  readonly type: "parallel"
  readonly branches: Field.Num
  readonly body: Node
  readonly comment?: string
}

/** A `parallel` node as decoded. */
export interface ParallelDoc {
  readonly type: "parallel"
  readonly branches: Field.ParsedNum
  readonly body: NodeDoc
  readonly comment?: string
}

/** A compiled `parallel` node. */
export interface ParallelFields {
  readonly branches: Field.NumField
  readonly body: PlanNode
}

/**
 * Whether, with the run's reserve released, each branch's share pays for the body's first call,
 * and that call writes whole solutions (so every branch would answer by itself).
 */
const sharesPayFirstCall = (frame: Frame, body: PlanNode, branches: number): Effect.Effect<boolean> =>
  Effect.gen(function* () {
    const first = body.firstCall(boundScopeOf(frame, true))
    if (first === undefined || first.until !== "end") return false
    const snap = yield* frame.ledger.snapshot
    const share = Ledger.shareOf(
      frame.ledger.limits,
      { committed: snap.committed, reserved: Usage.subtract(snap.reserved, snap.held) },
      branches
    )
    const g = frame.env.generator
    const prompt =
      g.promptTokens?.({
        problem: frame.env.problem,
        prefix: undefined,
        n: 1,
        until: "end",
        temperature: 0,
        maxTokens: g.maxTokens,
        seed: 0n
      }) ?? 0
    const need = Usage.add(first.usage, Usage.make({ inputTokens: prompt }))
    return Ledger.makeState(share, frame.ledger.pricing).shortfall(need).length === 0
  })

/**
 * A `parallel` node's run: hoisted, not a generator closure made per run (V8 takes several µs to
 * make one, and a fan-out runs its parallel once per run, before its first call).
 */
const runParallel = Effect.fnUntraced(function* (
  frame: Frame,
  population: Population.Population,
  runNode: RunNode,
  f: ParallelFields,
  body: PlanNode
) {
  const branches = yield* num(frame, f.branches, Population.counts(population))
  const limited = Object.keys(frame.ledger.limits).length > 0
  if (limited && frame.hold !== undefined && (yield* sharesPayFirstCall(frame, body, branches)))
    // every branch can pay for a whole solution of its own: the run's reserve to finish is
    // not needed for an answer, so the branches share it
    yield* frame.ledger.releaseHold(frame.hold)
  const share = limited ? Ledger.shareOf(frame.ledger.limits, yield* frame.ledger.snapshot, branches) : undefined
  // each branch keeps its own "last scored with": the branches run concurrently, so which
  // one scored last in time depends on scheduling; afterwards the last in branch order wins
  const before = frame.env.lastScore
  // a branch of one `sample` is not run through the interpreter: the branches' calls are
  // launched together, their frames made as they go (a sample keeps no `lastScore`)
  if (isSample(body) && Fanout.launchesTogether(frame)) {
    const samples = yield* Fanout.sampleBranches(frame, branches, share, body.path, body.fields)
    return population.length === 0 ? samples : [...population, ...samples]
  }
  // the branches' frames in one pass, then their runs: a fan-out starts its branches one
  // after another in one task, so what each does before its first call delays every
  // later branch's call (see Fanout.ts)
  const frames = Fanout.branchFrames(frame, branches, share)
  const outs = yield* Effect.forEach(frames, (b) => runNode(b, body, Population.empty), {
    concurrency: "unbounded"
  })
  for (const b of frames) if (b.env.lastScore !== before) frame.env.lastScore = b.env.lastScore
  return [...population, ...outs.flat()]
})

export const parallel: NodeKind<"parallel", ParallelDoc, ParallelNode> = {
  type: "parallel",
  schema: (child) =>
    Schema.Struct({
      type: Schema.Literal("parallel"),
      branches: Field.num({ description: "How many branches (integer ≥ 1)" }),
      body: child.annotateKey({
        description: "Run once per branch from an empty population, paid from an equal share of the remaining budget"
      }),
      ...comment
    }).annotate({
      identifier: "ParallelNode",
      description:
        "Runs body independently per branch (ids prefixed bj/, group bj), each from an empty population, and appends the branches' populations in branch order."
    }),
  compile: (node, at) => {
    const body = at.child(node.body, "body")
    const f: ParallelFields = { branches: Field.field(`${at.path}.branches`, node.branches, BRANCHES), body }
    return planNode("parallel", at, {
      fields: f,
      children: [body],
      // the body pays from a share: `budget.*` there is known only when it runs
      check: (scope) => [...checkNums(scope, [f.branches]), ...body.check({ ...scope, share: true })],
      bound: (scope, pop) => {
        const b = Bound.hiOf(f.branches, scope, pop)
        const one = body.bound({ ...scope, share: true }, Bound.EMPTY)
        return {
          cost: Bound.scaleBound(one.cost, b),
          pop: {
            size: pop.size + Bound.mul(b, one.pop.size),
            active: pop.active + Bound.mul(b, one.pop.active),
            done: pop.done + Bound.mul(b, one.pop.done),
            chains: pop.chains + Bound.mul(b, one.pop.chains)
          }
        }
      },
      firstCall: (scope) => {
        const first = body.firstCall({ ...scope, share: true })
        return first === undefined ? undefined : { ...first, shared: true }
      },
      run: (frame, population, runNode) => runParallel(frame, population, runNode, f, body)
    })
  }
}
