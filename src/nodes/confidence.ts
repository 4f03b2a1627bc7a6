/**
 * `confidence {stat, window, tail, bottom, keep}`: scores candidates by their own confidence, from
 * their tokens' log-probabilities — no verifier. Each candidate whose steps all carry token
 * confidences (a generating node asked for `logprobs`) gets `confidence`, the statistic
 * (`domain/Confidence.ts`: DeepConf's lowest group confidence over a sliding `window`, the mean of
 * the `bottom` fraction of groups, the `tail`, the mean, or the mean log-probability), and
 * `score` = that statistic mapped into [0, 1] (`scoreOf`: C / (1 + C), or exp of a mean
 * log-probability), so `select weighted` votes weighted by confidence and `prune` keeps the most
 * confident. With
 * `keep`, only the most confident fraction of the finished, answered ones stays (DeepConf
 * offline's filter: keep the top η of traces). Candidates without token confidences, and
 * unfinished ones, stay as they are. Cost: none.
 *
 * @since 0.3.0
 */
import { Effect, Schema } from "effect"
import type { Candidate } from "../domain/Candidate.ts"
import * as Confidence from "../domain/Confidence.ts"
import * as Population from "../domain/Population.ts"
import * as Usage from "../domain/Usage.ts"
import { checkNums } from "../graph/Check.ts"
import * as Field from "../graph/Field.ts"
import { num } from "../runtime/Env.ts"
import { topK } from "../runtime/Prune.ts"
import { comment } from "./Common.ts"
import { type NodeKind, planNode } from "./Kind.ts"

const fields = Schema.Struct({
  type: Schema.Literal("confidence"),
  stat: Schema.optionalKey(Schema.Literals(Confidence.STATS)).annotateKey({
    description:
      "lowest-group: the lowest mean token confidence over a sliding window (DeepConf); bottom: the mean of the lowest fraction of those groups; tail: the mean over the last tail tokens; mean: the mean token confidence; mean-logprob: the mean log-probability of the chosen tokens",
    default: "lowest-group"
  }),
  window: Field.optionalNum({
    description: "Tokens of a group (integer ≥ 1)",
    default: Confidence.DEFAULT_OPTIONS.window
  }),
  tail: Field.optionalNum({
    description: "Tokens of the tail (integer ≥ 1)",
    default: Confidence.DEFAULT_OPTIONS.tail
  }),
  bottom: Field.optionalNum({
    description: "Fraction of the groups whose mean is the bottom statistic (0 < x ≤ 1)",
    default: Confidence.DEFAULT_OPTIONS.bottom
  }),
  keep: Field.optionalNum({
    description:
      "Keep only this fraction (0 < x ≤ 1, at least one) of the candidates with a confidence, the most confident (DeepConf offline's η)"
  }),
  ...comment
}).annotate({
  identifier: "ConfidenceNode",
  description:
    "Scores candidates by their tokens' confidence (no verifier): sets confidence and score from a statistic of their token log-probabilities; keep filters to the most confident fraction. Cost: none."
})

/** A `confidence` node as written. */
export type ConfidenceNode = typeof fields.Encoded
/** A `confidence` node as decoded. */
export type ConfidenceDoc = typeof fields.Type

/** A compiled `confidence` node. */
export interface ConfidenceFields {
  readonly stat: Confidence.Stat
  readonly window: Field.NumField
  readonly tail: Field.NumField
  readonly bottom: Field.NumField
  readonly keep: Field.NumField | undefined
}

const FRACTION: Field.FieldRule = { integer: false, min: 0, exclusive: true, max: 1 }

/**
 * The score of a confidence statistic, in [0, 1] like every score in mull (the PRM's are
 * probabilities; `route` bins and softmax temperatures assume it): C / (1 + C) for a token
 * confidence C ≥ 0 (monotone: ranks and filters exactly as C does), the geometric-mean probability
 * exp(mean log-probability) for `mean-logprob`.
 *
 * @example
 * scoreOf("lowest-group", 4) // 0.8
 * scoreOf("mean-logprob", -0.2) // 0.818…
 */
export const scoreOf = (stat: Confidence.Stat, value: number): number =>
  stat === "mean-logprob" ? Math.min(1, Math.exp(value)) : Math.max(0, value) / (1 + Math.max(0, value))

export const confidence: NodeKind<"confidence", ConfidenceDoc, ConfidenceNode> = {
  type: "confidence",
  schema: () => fields,
  compile: (node, at) => {
    const path = at.path
    const d = Confidence.DEFAULT_OPTIONS
    const f: ConfidenceFields = {
      stat: node.stat ?? "lowest-group",
      window: Field.fieldOr(`${path}.window`, node.window, d.window, Field.INT1),
      tail: Field.fieldOr(`${path}.tail`, node.tail, d.tail, Field.INT1),
      bottom: Field.fieldOr(`${path}.bottom`, node.bottom, d.bottom, FRACTION),
      keep: Field.optionalField(`${path}.keep`, node.keep, FRACTION)
    }
    return planNode("confidence", at, {
      fields: f,
      lanes: "keep",
      check: (scope) => checkNums(scope, [f.window, f.tail, f.bottom, f.keep]),
      // it only reads and drops: no cost, and the population can only shrink
      bound: (_, pop) => ({ cost: Usage.zero, pop }),
      run: (frame, population) =>
        Effect.gen(function* () {
          const counts = Population.counts(population)
          const options: Confidence.StatOptions = {
            window: yield* num(frame, f.window, counts),
            tail: yield* num(frame, f.tail, counts),
            bottom: yield* num(frame, f.bottom, counts)
          }
          const scored: Array<Candidate> = population.map((c) => {
            const value = Confidence.candidateStat(c.steps, f.stat, options)
            return value === undefined ? c : { ...c, confidence: value, score: scoreOf(f.stat, value) }
          })
          if (f.keep === undefined) return scored
          const keep = yield* num(frame, f.keep, counts)
          // DeepConf filters finished traces: an unfinished or unanswered one cannot vote, so it
          // is never ranked (it stays, as candidates without confidences do) and never takes the
          // place of one that can — under a tight token budget most traces are cut short
          const rated = scored.filter((c) => c.confidence !== undefined && c.done && c.answer !== undefined)
          const k = Math.max(1, Math.ceil(keep * rated.length))
          const kept = new Set(
            topK(
              rated.map((c) => c.confidence),
              k
            ).map((i) => rated[i]?.id)
          )
          const out = scored.filter((c) => c.confidence === undefined || kept.has(c.id))
          if (frame.env.events.enabled && out.length < scored.length)
            yield* frame.env.events.publish({
              _tag: "CandidatesPruned",
              node: path,
              kept: out.map((c) => c.id),
              dropped: scored.filter((c) => !out.includes(c)).map((c) => c.id)
            })
          return out
        })
    })
  }
}
