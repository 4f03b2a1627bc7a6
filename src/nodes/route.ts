/**
 * `route {estimate, bins, cases}` (Snell et al. 2024 §3.2, the compute-optimal strategy): estimates
 * the question's difficulty as the mean final verifier score of `estimate.samples` fresh complete
 * samples — the paper's model-predicted difficulty — and runs the case of its bin. `bins` are
 * descending score thresholds: bin i is the first with estimate ≥ bins[i] (bin 0 the easiest);
 * below every threshold, the last case. If no estimate sample could be scored (budget), the last
 * case runs. The estimate's samples stay in the population for the case to use.
 *
 * @since 0.1.0
 */
import { Effect, Schema } from "effect"
import type { Candidate } from "../domain/Candidate.ts"
import * as Population from "../domain/Population.ts"
import * as Usage from "../domain/Usage.ts"
import * as Bound from "../graph/Bound.ts"
import { type CheckScope, checkNums, checkVerifier, type VerifierRef } from "../graph/Check.ts"
import * as Field from "../graph/Field.ts"
import { aggregate } from "../runtime/Aggregate.ts"
import { score } from "../runtime/Calls.ts"
import { num, type Sampling, sampling } from "../runtime/Env.ts"
import {
  Aggregate,
  aggregateKey,
  comment,
  DEFAULT_AGGREGATE,
  maxTokensKey,
  samplingFields,
  temperatureKey,
  verifierKey,
  verifierOf
} from "./Common.ts"
import { type NodeKind, type PlanNode, planNode } from "./Kind.ts"
import type { Node, NodeDoc } from "./Registry.ts"
import { freshSamples } from "./sample.ts"

/**
 * The bin of an estimate: the first threshold it reaches, else the last bin.
 *
 * @example
 * binOf(0.55, [0.8, 0.6, 0.4, 0.2]) // 2
 */
export const binOf = (estimate: number | undefined, bins: ReadonlyArray<number>): number => {
  if (estimate === undefined) return bins.length
  const i = bins.findIndex((t) => estimate >= t)
  return i < 0 ? bins.length : i
}

/** A `route` node as written. */
export interface RouteNode {
  readonly type: "route"
  readonly estimate: {
    readonly samples: Field.Num
    readonly verifier?: string
    readonly aggregate?: Aggregate
    readonly temperature?: Field.Num
    readonly maxTokens?: Field.Num
  }
  readonly bins: ReadonlyArray<number>
  readonly cases: ReadonlyArray<Node>
  readonly comment?: string
}

/** A `route` node as decoded. */
export interface RouteDoc {
  readonly type: "route"
  readonly estimate: {
    readonly samples: Field.ParsedNum
    readonly verifier?: string
    readonly aggregate?: Aggregate
    readonly temperature?: Field.ParsedNum
    readonly maxTokens?: Field.ParsedNum
  }
  readonly bins: ReadonlyArray<number>
  readonly cases: ReadonlyArray<NodeDoc>
  readonly comment?: string
}

/** A compiled `route` node. */
export interface RouteFields {
  readonly estimate: Sampling & {
    readonly samples: Field.NumField
    readonly verifier: VerifierRef
    readonly aggregate: Aggregate
  }
  readonly bins: ReadonlyArray<number>
  readonly cases: ReadonlyArray<PlanNode>
}

export const route: NodeKind<"route", RouteDoc, RouteNode> = {
  type: "route",
  schema: (child) =>
    Schema.Struct({
      type: Schema.Literal("route"),
      estimate: Schema.Struct({
        samples: Field.num({
          description: "Fresh complete samples the estimate is the mean score of (integer ≥ 1)"
        }),
        verifier: Schema.optionalKey(Schema.NonEmptyString).annotateKey(verifierKey),
        aggregate: Schema.optionalKey(Aggregate).annotateKey(aggregateKey),
        temperature: Field.optionalNum(temperatureKey),
        maxTokens: Field.optionalNum(maxTokensKey)
      }).annotateKey({ description: "How the question's difficulty is estimated" }),
      bins: Schema.Array(Schema.Finite).annotateKey({
        description: "Strictly decreasing score thresholds: bin i is the first with estimate ≥ bins[i]"
      }),
      cases: Schema.Array(child).annotateKey({
        description: "One node per bin, the easiest first, and one more for an estimate below every threshold"
      }),
      ...comment
    }).annotate({
      identifier: "RouteNode",
      description:
        "Estimates difficulty as the mean final verifier score of `samples` fresh complete samples, bins it (bins are descending score thresholds: bin 0 = easiest), and runs the matching case; the estimate's samples stay in the population."
    }),
  compile: (node, at) => {
    const path = at.path
    const est = node.estimate
    const cases = node.cases.map((c, i) => at.child(c, `cases.${i}`))
    const f: RouteFields = {
      estimate: {
        samples: Field.field(`${path}.estimate.samples`, est.samples, Field.INT1),
        verifier: verifierOf(`${path}.estimate`, est.verifier),
        aggregate: est.aggregate ?? DEFAULT_AGGREGATE,
        ...samplingFields(`${path}.estimate`, est)
      },
      bins: node.bins,
      cases
    }
    const check = (scope: CheckScope): ReadonlyArray<string> => {
      const out = [...checkNums(scope, [f.estimate.samples, f.estimate.temperature, f.estimate.maxTokens])]
      if (cases.length !== f.bins.length + 1)
        out.push(
          `${path}.cases: expected ${f.bins.length + 1} cases for ${f.bins.length} bin thresholds, got ${cases.length}`
        )
      for (let i = 1; i < f.bins.length; i++) {
        const prev = f.bins[i - 1] ?? 0
        const cur = f.bins[i] ?? 0
        if (!(cur < prev))
          out.push(
            `${path}.bins.${i}: thresholds must be strictly decreasing (bin 0 is the easiest), got ${cur} after ${prev}`
          )
      }
      const verifier = checkVerifier(scope, f.estimate.verifier)
      if (verifier !== undefined) out.push(verifier)
      return [...out, ...cases.flatMap((c) => c.check(scope))]
    }
    return planNode("route", at, {
      fields: f,
      children: cases,
      answers: cases.length > 0 && cases.every((c) => c.answers),
      scores: true,
      check,
      bound: (scope, pop) => {
        const s = Bound.hiOf(f.estimate.samples, scope, pop)
        const m = Bound.maxTokensBound(f.estimate.maxTokens, scope, pop)
        const est = Bound.addBound(Bound.generation(scope, s, Bound.mul(s, m)), Bound.verification(scope, s))
        const inner = { size: pop.size + s, active: pop.active + s, done: pop.done + s, chains: pop.chains + s }
        let worst = Usage.zero
        let out = inner
        for (const c of cases) {
          const r = c.bound(scope, inner)
          worst = Usage.max(worst, r.cost)
          out = Bound.joinPop(out, r.pop)
        }
        return { cost: Bound.addBound(est, worst), pop: out }
      },
      firstCall: (scope) => ({
        usage: Usage.make({
          calls: 1,
          sequences: 1,
          outputTokens: Bound.maxTokensBound(f.estimate.maxTokens, scope, Bound.EMPTY)
        }),
        until: "end",
        shared: false
      }),
      run: (frame, population, runNode) =>
        Effect.gen(function* () {
          const counts = Population.counts(population)
          const samples = yield* num(frame, f.estimate.samples, counts)
          const { temperature, maxTokens } = yield* sampling(frame, f.estimate, counts, "end")
          const where = `${path}.estimate`
          const fresh = yield* freshSamples(frame, where, samples, "end", temperature, maxTokens)
          const scores = yield* score(
            frame,
            where,
            f.estimate.verifier.name,
            fresh,
            fresh.every((c) => c.done)
          )
          const scored: Array<Candidate> = []
          let total = 0
          fresh.forEach((c, i) => {
            const s = scores[i]
            const a = s === undefined ? undefined : aggregate(s, f.estimate.aggregate)
            if (s === undefined || a === undefined) {
              scored.push(c)
              return
            }
            total += a
            scored.push({ ...c, stepScores: s, score: a })
          })
          const n = scores.filter((s) => s !== undefined).length
          const estimate = n === 0 ? undefined : total / n
          const bin = binOf(estimate, f.bins)
          if (frame.env.events.enabled)
            yield* frame.env.events.publish({
              _tag: "Routed",
              node: path,
              estimate: estimate ?? Number.NaN,
              bin
            })
          const kase = cases[bin]
          const pop = [...population, ...scored]
          return kase === undefined ? pop : yield* runNode(frame, kase, pop)
        })
    })
  }
}
