/**
 * `sample {n, until, temperature, maxTokens}`: appends n fresh candidates from the problem — a
 * first step (`until: "step"`) or a whole solution (`until: "end"`). Fresh sample k of a branch is
 * `${prefix}s${k}`. The node makes one call with n continuations, seeded by its first sample's id,
 * so the first 64 samples of best-of-256 are best-of-64's samples; under a tight budget it is
 * granted fewer (at least one). Cost: 1 call, n sequences.
 *
 * @since 0.1.0
 */
import { Effect, Schema } from "effect"
import type { Candidate } from "../domain/Candidate.ts"
import * as Population from "../domain/Population.ts"
import * as Bound from "../graph/Bound.ts"
import { checkNums } from "../graph/Check.ts"
import * as Field from "../graph/Field.ts"
import { type Generated, generate } from "../runtime/Calls.ts"
import { type Frame, numNow, type Sampling, samplingNow } from "../runtime/Env.ts"
import { announce, freshCall, grownFresh } from "../runtime/Grow.ts"
import { InvalidValue, type RunError } from "../runtime/RunError.ts"
import { comment, maxTokensKey, samplingFields, temperatureKey, Until } from "./Common.ts"
import { type NodeKind, planNode } from "./Kind.ts"

const fields = Schema.Struct({
  type: Schema.Literal("sample"),
  n: Field.num({ description: "How many fresh candidates (integer ≥ 0)" }),
  until: Until,
  temperature: Field.optionalNum(temperatureKey),
  maxTokens: Field.optionalNum(maxTokensKey),
  logprobs: Schema.optionalKey(Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 20 }))).annotateKey({
    description:
      "Ask the backend for each token's top-k log-probabilities (1–20; capability logprobs): the samples carry token confidences for a confidence node"
  }),
  ...comment
}).annotate({
  identifier: "SampleNode",
  description: "Appends n fresh candidates from the problem. Cost: n sequences."
})

/** A `sample` node as written. */
export type SampleNode = typeof fields.Encoded
/** A `sample` node as decoded. */
export type SampleDoc = typeof fields.Type

/** A compiled `sample` node. */
export interface SampleFields extends Sampling {
  readonly n: Field.NumField
  readonly until: "step" | "end"
  readonly logprobs: number | undefined
}

/**
 * Fresh samples, without adding them to a population (also used by `route`'s estimate).
 *
 * @example
 * const fresh = yield* freshSamples(frame, "root.nodes.0", 4, "end", 0.8, 1024)
 */
export const freshSamples = (
  frame: Frame,
  node: string,
  n: number,
  until: "step" | "end",
  temperature: number,
  maxTokens: number,
  logprobs?: number
): Effect.Effect<ReadonlyArray<Candidate>, RunError> =>
  Effect.suspend(() => freshNow(frame, node, n, until, temperature, maxTokens, logprobs, NONE))

/** No candidates before the fresh ones. */
const NONE: ReadonlyArray<Candidate> = []

/**
 * The fresh samples appended to `before`, built when called (it takes the samples' ids from the
 * frame's counter): the sample node runs it inside its own `suspend`, so a run pays for one.
 */
const freshNow = (
  frame: Frame,
  node: string,
  n: number,
  until: "step" | "end",
  temperature: number,
  maxTokens: number,
  logprobs: number | undefined,
  before: ReadonlyArray<Candidate>
): Effect.Effect<ReadonlyArray<Candidate>, RunError> => {
  if (n === 0) return Effect.succeed(before.length === 0 ? [] : before)
  const { call, first } = freshCall(frame, n, until, temperature, maxTokens, logprobs)
  const grown = (results: ReadonlyArray<Generated | undefined>) => {
    const created = grownFresh(frame, node, first, results[0])
    const out: Array<Candidate> = before.slice()
    for (const c of created) out.push(c.candidate)
    return { created, out }
  }
  const results = generate(frame, node, [call])
  // with no listener there are no events to publish: one mapping step
  if (!frame.env.events.enabled) return Effect.map(results, (r) => grown(r).out)
  return Effect.flatMap(results, (r) => {
    const { created, out } = grown(r)
    return Effect.as(announce(frame, node, created), out)
  })
}

export const sample: NodeKind<"sample", SampleDoc, SampleNode> = {
  type: "sample",
  schema: () => fields,
  compile: (node, at) => {
    const path = at.path
    const f: SampleFields = {
      n: Field.field(`${path}.n`, node.n, Field.INT0),
      until: node.until,
      logprobs: node.logprobs,
      ...samplingFields(path, node)
    }
    return planNode("sample", at, {
      fields: f,
      needs: [
        ...(f.until === "step" ? [{ capability: "stepwise" as const, path: `${path}.until` }] : []),
        ...(f.logprobs === undefined ? [] : [{ capability: "logprobs" as const, path: `${path}.logprobs` }])
      ],
      check: (scope) => checkNums(scope, [f.n, f.temperature, f.maxTokens]),
      bound: (scope, pop) => {
        const n = Bound.hiOf(f.n, scope, pop)
        const m = Bound.maxTokensBound(f.maxTokens, scope, pop, f.until)
        return {
          cost: Bound.generation(scope, n, Bound.mul(n, m)),
          pop: { size: pop.size + n, active: pop.active + n, done: pop.done + n, chains: pop.chains + n }
        }
      },
      firstCall: (scope) => Bound.freshCall(f.n, f.maxTokens, f.until, scope),
      // the fields are evaluated in one step (a failure is the first invalid one, as before), not
      // an effect chained per field: the node's own work is a few reads
      run: (frame, population) =>
        Effect.suspend(() => {
          const counts = Population.counts(population)
          const n = numNow(frame, f.n, counts)
          if (typeof n !== "number") return Effect.fail(n)
          const knobs = samplingNow(frame, f, counts, f.until)
          if (knobs instanceof InvalidValue) return Effect.fail(knobs)
          return freshNow(frame, path, n, f.until, knobs.temperature, knobs.maxTokens, f.logprobs, population)
        })
    })
  }
}
