/**
 * `waves {max, wave, min, stop, method, verifier, aggregate, temperature, maxTokens}`: samples whole
 * solutions in waves and stops as soon as a rule over the vote so far says it is settled — ESC's
 * window agreement, Adaptive-Consistency's Beta or Dirichlet criterion, or an `until` condition over
 * `vote.*` (`runtime/Stop.ts`).
 *
 * Decision points are samples, not moments: the rule is read after each sample in sample order
 * (ESC: after each window), over the first k samples only. A wave of `wave` samples is one call;
 * when the rule stops at sample k inside a wave, the samples after k were already generated — they
 * are paid (the call's usage, as any call in flight) and dropped, never counted. So the answer is
 * the same at any `wave` size and any concurrency; `wave` changes only what is paid past the stop.
 * Sample k of the node is continuation k of one seed — the same samples as one `sample` node of
 * `max` at the same path — so the node's answer is majority@k of majority@max's samples.
 *
 * With a `verifier`, each wave's samples are scored as they arrive (verifier calls) and the vote
 * can be weighted by score (`method: weighted`: `vote.share` is the leading answer's share of the
 * score sum). Under a budget, a wave that cannot be paid in full is paid in part and ends the node
 * (anytime: the vote stands on what was paid). Cost: at most `max` sequences in at most `max` calls
 * (one per wave), and with a verifier `max` verifier calls.
 *
 * @since 0.3.0
 */
import { Effect, Schema } from "effect"
import type { Candidate } from "../domain/Candidate.ts"
import * as CandidateId from "../domain/CandidateId.ts"
import * as Population from "../domain/Population.ts"
import * as Usage from "../domain/Usage.ts"
import * as Bound from "../graph/Bound.ts"
import { type CheckScope, checkNums, checkVerifier, type VerifierRef } from "../graph/Check.ts"
import * as Field from "../graph/Field.ts"
import * as Scope from "../graph/Scope.ts"
import { generate } from "../runtime/Calls.ts"
import { num, type Sampling, sampling } from "../runtime/Env.ts"
import { announce, type Created, grow } from "../runtime/Grow.ts"
import { scoreNew } from "../runtime/Scored.ts"
import * as Stop from "../runtime/Stop.ts"
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
import { type NodeKind, planNode } from "./Kind.ts"

/** Adaptive-Consistency's confidence threshold when a rule does not say (the paper's default). */
export const DEFAULT_CONFIDENCE = 0.95

const StopSchema = Schema.Union([
  Schema.Struct({
    rule: Schema.Literal("esc"),
    window: Schema.Int.annotateKey({
      description: "ESC's window: stop at the end of a window whose samples all give one answer (integer ≥ 1)"
    })
  }),
  Schema.Struct({
    rule: Schema.Literals(["beta", "dirichlet"]),
    confidence: Schema.optionalKey(Schema.Finite).annotateKey({
      description: "Stop when P(the leading answer is the majority) exceeds this (0 < c < 1)",
      default: DEFAULT_CONFIDENCE
    })
  }),
  Schema.Struct({
    rule: Schema.Literal("until"),
    when: Schema.String.annotateKey({
      description:
        'A condition over the vote: comparisons (>=, >, <=, <) of expressions joined by "and"/"or"; vote.share, vote.margin, vote.lead, vote.count, vote.samples, vote.answered, vote.answers, vote.best, vote.beta (the Beta posterior of the leading answer), params, budget.* and remaining.* are names'
    })
  })
]).annotate({
  identifier: "StopRule",
  description:
    "esc {window}: a unanimous window (ESC); beta|dirichlet {confidence}: Adaptive-Consistency; until {when}: a condition over the vote"
})

const fields = Schema.Struct({
  type: Schema.Literal("waves"),
  max: Field.num({ description: "Samples at most (integer ≥ 0)" }),
  wave: Field.optionalNum({
    description:
      "Samples per call (integer ≥ 1): what may be paid past the stopping point, never what is counted (default: the ESC window, else 1)"
  }),
  min: Field.optionalNum({ description: "Samples before the rule is first read (integer ≥ 0)", default: 1 }),
  stop: StopSchema.annotateKey({ description: "When the vote is settled" }),
  method: Schema.optionalKey(Schema.Literals(["majority", "weighted"])).annotateKey({
    description: "The vote an until condition reads: by count, or by the sum of scores (needs verifier)",
    default: "majority"
  }),
  verifier: Schema.optionalKey(Schema.String).annotateKey({
    description: `${verifierKey.description}; when given, each wave's samples are scored as they arrive`
  }),
  aggregate: Schema.optionalKey(Aggregate).annotateKey(aggregateKey),
  temperature: Field.optionalNum(temperatureKey),
  maxTokens: Field.optionalNum(maxTokensKey),
  ...comment
}).annotate({
  identifier: "WavesNode",
  description:
    "Samples whole solutions in waves until a rule over the vote holds (ESC, Adaptive-Consistency, or an until condition), read after each sample in order so the answer never depends on timing. Samples generated past the stopping point are paid and dropped. Cost: at most max sequences, one call per wave, and with a verifier one verifier call per sample."
})

/** A `waves` node as written. */
export type WavesNode = typeof fields.Encoded
/** A `waves` node as decoded. */
export type WavesDoc = typeof fields.Type

/** A compiled `waves` node. */
export interface WavesFields extends Sampling {
  readonly max: Field.NumField
  readonly wave: Field.NumField
  readonly min: Field.NumField
  /** the rule, or why an `until` condition does not parse */
  readonly rule: Stop.Rule | { readonly _tag: "invalid"; readonly message: string }
  readonly method: "majority" | "weighted"
  readonly verifier: VerifierRef | undefined
  readonly aggregate: Aggregate
}

const ruleOf = (stop: WavesDoc["stop"]): WavesFields["rule"] => {
  switch (stop.rule) {
    case "esc":
      return { _tag: "esc", window: stop.window }
    case "beta":
    case "dirichlet":
      return { _tag: stop.rule, confidence: stop.confidence ?? DEFAULT_CONFIDENCE }
    case "until": {
      const r = Stop.parseCondition(stop.when)
      return r.ok ? { _tag: "until", condition: r.condition } : { _tag: "invalid", message: r.message }
    }
  }
}

const checkRule = (path: string, rule: WavesFields["rule"], scope: CheckScope): ReadonlyArray<string> => {
  switch (rule._tag) {
    case "invalid":
      return [`${path}.stop.when: ${rule.message}`]
    case "esc":
      return rule.window >= 1 ? [] : [`${path}.stop.window: expected an integer ≥ 1, got ${rule.window}`]
    case "beta":
    case "dirichlet":
      return rule.confidence > 0 && rule.confidence < 1
        ? []
        : [`${path}.stop.confidence: expected a number between 0 and 1 (exclusive), got ${rule.confidence}`]
    case "until":
      return Stop.conditionNames(rule.condition).flatMap((name) => {
        if (name.startsWith("vote."))
          return (Stop.VOTE_NAMES as ReadonlyArray<string>).includes(name.slice(5))
            ? []
            : [
                `${path}.stop.when: unknown name "${name}" (vote: ${Stop.VOTE_NAMES.map((v) => `vote.${v}`).join(", ")})`
              ]
        const why = Scope.unknownName(name, scope.params)
        return why === undefined ? [] : [`${path}.stop.when: ${why}`]
      })
  }
}

export const waves: NodeKind<"waves", WavesDoc, WavesNode> = {
  type: "waves",
  schema: () => fields,
  compile: (node, at) => {
    const path = at.path
    const rule = ruleOf(node.stop)
    const f: WavesFields = {
      max: Field.field(`${path}.max`, node.max, Field.INT0),
      wave: Field.fieldOr(`${path}.wave`, node.wave, rule._tag === "esc" ? Math.max(1, rule.window) : 1, Field.INT1),
      min: Field.fieldOr(`${path}.min`, node.min, 1, Field.INT0),
      rule,
      method: node.method ?? "majority",
      verifier: node.verifier === undefined ? undefined : verifierOf(path, node.verifier),
      aggregate: node.aggregate ?? DEFAULT_AGGREGATE,
      ...samplingFields(path, node)
    }
    return planNode("waves", at, {
      fields: f,
      scores: f.verifier !== undefined,
      check: (scope) => {
        const problems = [
          ...checkNums(scope, [f.max, f.wave, f.min, f.temperature, f.maxTokens]),
          ...checkRule(path, f.rule, scope)
        ]
        if (f.method === "weighted" && f.verifier === undefined)
          problems.push(`${path}.method: a weighted vote needs scores: give the node a verifier`)
        const v = f.verifier === undefined ? undefined : checkVerifier(scope, f.verifier)
        return v === undefined ? problems : [...problems, v]
      },
      bound: (scope, pop) => {
        const n = Bound.hiOf(f.max, scope, pop)
        const m = Bound.maxTokensBound(f.maxTokens, scope, pop, "end")
        const generation = Bound.generation(scope, n, Bound.mul(n, m))
        // one verifier call per wave at most, so per sample at most: a batch of one
        const verification =
          f.verifier === undefined
            ? Usage.zero
            : Bound.verification({ ...scope, options: { ...scope.options, maxBatch: 1 } }, n)
        return {
          cost: Bound.addBound(generation, verification),
          pop: { size: pop.size + n, active: pop.active + n, done: pop.done + n, chains: pop.chains + n }
        }
      },
      firstCall: (scope) => Bound.freshCall(f.max, f.maxTokens, "end", scope),
      run: (frame, population) =>
        Effect.gen(function* () {
          const rule = f.rule
          // check() reports an invalid condition before any run
          if (rule._tag === "invalid") return population
          const counts = Population.counts(population)
          const max = yield* num(frame, f.max, counts)
          const wave = yield* num(frame, f.wave, counts)
          const min = yield* num(frame, f.min, counts)
          const { temperature, maxTokens } = yield* sampling(frame, f, counts, "end")
          if (f.verifier !== undefined) frame.env.lastScore = { verifier: f.verifier.name, aggregate: f.aggregate }
          const first = frame.counter.next
          const seedKey = CandidateId.sample(frame.prefix, first)
          const lookup = Scope.lookup(frame.params, frame.ledger.limits, counts, frame.ledger.remainingUnsafe)
          const tally = new Stop.Tally(frame.env.answers)
          const kept: Array<Candidate> = []
          let drawn = 0
          let settled = false
          while (drawn < max && !settled) {
            const n = Math.min(wave, max - drawn)
            frame.counter.next = first + drawn + n
            const [paid] = yield* generate(frame, path, [
              {
                seedKey,
                index: drawn,
                prefix: undefined,
                n,
                minN: 1,
                until: "end",
                temperature,
                maxTokens,
                finishing: true
              }
            ])
            const generations = paid?.generations ?? []
            const created: Array<Created> = generations.map((generation, i) => ({
              candidate: grow(
                frame,
                path,
                CandidateId.sample(frame.prefix, first + drawn + i),
                undefined,
                generation,
                undefined,
                paid?.cut[i] === true
              ),
              generation
            }))
            yield* announce(frame, path, created)
            let fresh: ReadonlyArray<Candidate> = created.map((c) => c.candidate)
            if (f.verifier !== undefined && fresh.length > 0)
              fresh = yield* scoreNew(frame, path, f.verifier.name, f.aggregate, fresh, true)
            const counted: Array<Candidate> = []
            for (const c of fresh) {
              tally.add(c.answer, c.score ?? 0)
              counted.push(c)
              if (tally.samples >= min && Stop.shouldStop(rule, tally, f.method, lookup)) {
                settled = true
                break
              }
            }
            kept.push(...counted)
            const dropped = fresh.slice(counted.length)
            if (dropped.length > 0 && frame.env.events.enabled)
              yield* frame.env.events.publish({
                _tag: "CandidatesPruned",
                node: path,
                kept: counted.map((c) => c.id),
                dropped: dropped.map((c) => c.id)
              })
            drawn += generations.length
            // the budget paid less than the wave: the vote stands on what was paid
            if (generations.length < n) break
          }
          frame.counter.next = first + drawn
          return [...population, ...kept]
        })
    })
  }
}
