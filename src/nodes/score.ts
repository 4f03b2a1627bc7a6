/**
 * `score {verifier, aggregate, lookahead?}`: scores the candidates that have no current score
 * (fresh samples, new children, revisions); `score` = aggregate(step scores), `last` by default.
 * Without a `verifier` field it scores with the default verifier (`prm`), which validation checks
 * against the backend exactly as a named one.
 *
 * With `lookahead: {steps: k}` (Snell et al. 2024 §5.2, lookahead search), each active candidate
 * is first rolled out up to k more steps greedily (temperature 0 by default; the rollout stops
 * early at the end of the solution) and the verifier scores the rollout: the candidate's `score`
 * is the aggregate over the rollout, its step scores those of its own steps. The rollout is not
 * kept. Cost: one verifier call per scored candidate; up to k sequences per active candidate.
 *
 * With `generative: {style, samples, temperature, maxTokens, onUnparsed}` the verifier is a model
 * call through the generator (`runtime/GenVerify.ts`): LLM-as-a-judge (`judge`) or a ThinkPRM-style
 * verification chain of thought (`think`), `samples` of them per candidate, charged to the verifier
 * meters. Cost: per scored candidate 1 call (`samples` on a server without `n`), 1 verifier call,
 * and as verifier tokens its prompt plus ≤ samples·maxTokens. The anytime finisher does not call a
 * generative verifier (candidates it completes stay unscored).
 *
 * @since 0.1.0
 */
import { Effect, Schema } from "effect"
import type { Candidate } from "../domain/Candidate.ts"
import * as CandidateId from "../domain/CandidateId.ts"
import * as Population from "../domain/Population.ts"
import * as Steps from "../domain/Steps.ts"
import * as Usage from "../domain/Usage.ts"
import * as Bound from "../graph/Bound.ts"
import { type CheckScope, checkNums, checkVerifier, type VerifierRef } from "../graph/Check.ts"
import * as Field from "../graph/Field.ts"
import { aggregate } from "../runtime/Aggregate.ts"
import {
  commit,
  type GenCall,
  generationReservation,
  invokeGenerator,
  requestOf,
  reserveInOrder,
  type Sent,
  score as scoreCalls
} from "../runtime/Calls.ts"
import { type Frame, laneCap, maxTokensOf, num } from "../runtime/Env.ts"
import { verifyGenerative } from "../runtime/GenVerify.ts"
import {
  JUDGE_INSTRUCTION,
  STYLES,
  type Style,
  THINK_INSTRUCTION,
  VERDICTS,
  type VerdictMode
} from "../services/GenVerify.ts"
import { Aggregate, aggregateKey, comment, DEFAULT_AGGREGATE, maxTokensKey, verifierKey, verifierOf } from "./Common.ts"
import { type NodeKind, planNode } from "./Kind.ts"

/** The rollout temperature of a lookahead when the node does not say: greedy. */
export const DEFAULT_LOOKAHEAD_TEMPERATURE = 0

/** The generative judge's temperature when the node does not say: greedy. */
export const DEFAULT_JUDGE_TEMPERATURE = 0
/**
 * The most verification samples per candidate: they are charged to the verifier meters, which a
 * budget may leave unlimited, so a count such as 2^32 would reach the backend as one request
 * (ThinkPRM's scaling uses a few dozen).
 */
export const MAX_VERIFICATION_SAMPLES = 1024

const VERIFICATION_SAMPLES: Field.FieldRule = { integer: true, min: 1, max: MAX_VERIFICATION_SAMPLES }

/** A verification chain's temperature when the node does not say (ThinkPRM samples its chains). */
export const DEFAULT_THINK_TEMPERATURE = 0.6
/** The generative judge's output tokens when the node does not say. */
export const DEFAULT_JUDGE_TOKENS = 512
/** A verification chain's output tokens when the node does not say. */
export const DEFAULT_THINK_TOKENS = 2048

const fields = Schema.Struct({
  type: Schema.Literal("score"),
  verifier: Schema.optionalKey(Schema.NonEmptyString).annotateKey(verifierKey),
  aggregate: Schema.optionalKey(Aggregate).annotateKey(aggregateKey),
  lookahead: Schema.optionalKey(
    Schema.Struct({
      steps: Field.num({ description: "Rollout length k in steps (integer ≥ 0)" }),
      temperature: Field.optionalNum({
        description: "Temperature of the rollout (number ≥ 0; 0 is greedy)",
        default: DEFAULT_LOOKAHEAD_TEMPERATURE
      }),
      maxTokens: Field.optionalNum(maxTokensKey)
    })
  ).annotateKey({
    description: "Roll each active candidate out k more steps (not kept) and score the rollout (Snell et al. 2024 §5.2)"
  }),
  generative: Schema.optionalKey(
    Schema.Struct({
      style: Schema.Literals(STYLES).annotateKey({
        description:
          "judge: LLM-as-a-judge, a rating 1–10 of the whole solution (Zheng et al. 2023); think: a verification chain of thought judging each step, ending in yes/no (ThinkPRM, Khalifa et al. 2025)"
      }),
      samples: Field.optionalNum({
        description: `Verification samples per candidate, their verdicts averaged (integer 1..${MAX_VERIFICATION_SAMPLES})`,
        default: 1
      }),
      temperature: Field.optionalNum({
        description: `Sampling temperature of the verifier (number ≥ 0; default ${DEFAULT_JUDGE_TEMPERATURE} for judge, ${DEFAULT_THINK_TEMPERATURE} for think)`
      }),
      maxTokens: Field.optionalNum({
        description: `Output tokens of one verification sample (integer ≥ 1; default ${DEFAULT_JUDGE_TOKENS} for judge, ${DEFAULT_THINK_TOKENS} for think; never more than the backend's cap)`
      }),
      onUnparsed: Schema.optionalKey(Schema.Literals(["unscored", "fail"])).annotateKey({
        description:
          "When no sample of a candidate has a verdict: leave it unscored (it ranks last, votes with weight 0) or fail the run",
        default: "unscored"
      }),
      verdict: Schema.optionalKey(Schema.Literals(VERDICTS)).annotateKey({
        description:
          'think only — parse: the final \\boxed{yes|no} gives 1 or 0; probability: ThinkPRM\'s P("yes") at the verdict token, from the top log-probabilities (needs capability logprobs)',
        default: "parse"
      })
    })
  ).annotateKey({
    description:
      "Verify with a model call through the generator instead of the backend's verifier, charged to the verifier meters"
  }),
  ...comment
}).annotate({
  identifier: "ScoreNode",
  description:
    "Scores candidates without a current score. With lookahead, each active candidate is rolled out k steps (greedy, not kept) and scored at the rollout's end. Cost: one verifier call per candidate; k sequences per active candidate with lookahead."
})

/** A `score` node as written. */
export type ScoreNode = typeof fields.Encoded
/** A `score` node as decoded. */
export type ScoreDoc = typeof fields.Type

/** A compiled `score` node. */
export interface ScoreFields {
  readonly verifier: VerifierRef
  readonly aggregate: Aggregate
  readonly lookahead:
    | {
        readonly steps: Field.NumField
        readonly temperature: Field.NumField
        readonly maxTokens: Field.NumField | undefined
      }
    | undefined
  readonly generative:
    | {
        readonly style: Style
        readonly samples: Field.NumField
        readonly temperature: Field.NumField
        readonly maxTokens: Field.NumField
        readonly onUnparsed: "unscored" | "fail"
        readonly verdict: VerdictMode
      }
    | undefined
}

/**
 * Rolls a candidate out greedily for up to `steps` steps, paid by one reservation of `steps` units
 * (each a step at the cap, the prompt growing by up to that cap a step). The steps the backend
 * answered are committed however the rollout ends; a step that failed or was cut off after its
 * request was sent is charged what it reserved (what the provider may have done).
 */
const rollouts = (
  frame: Frame,
  node: string,
  candidates: ReadonlyArray<Candidate>,
  steps: number,
  temperature: number,
  maxTokens: number
) =>
  Effect.scoped(
    Effect.gen(function* () {
      const call = (c: Candidate): GenCall => ({
        seedKey: c.id,
        prefix: c,
        n: 1,
        until: "step",
        temperature,
        maxTokens: laneCap(frame, maxTokens, c)
      })
      const perStep = (c: Candidate): Usage.Usage => {
        const one = generationReservation(frame, node, call(c))
        return Usage.add(Usage.add(one.fixed, one.perUnit), Usage.make({ inputTokens: (steps - 1) * maxTokens }))
      }
      const rolled = candidates.filter((c) => call(c).maxTokens > 0)
      // one reservation per candidate: `steps` sequences, the prompt growing by up to maxTokens a step
      const reservations = yield* reserveInOrder(
        frame,
        rolled.map((c) => ({ node, fixed: Usage.zero, perUnit: perStep(c), units: steps, minUnits: 1 }))
      )
      const byId = new Map<string, Candidate>()
      yield* Effect.forEach(
        rolled,
        (c, i) => {
          const r = reservations[i]
          if (r === undefined) return Effect.void
          let usage = Usage.zero
          let spent = Usage.zero
          let inFlight: Usage.Usage | undefined
          const rollout = Effect.gen(function* () {
            let cur = c
            for (let k = 0; k < r.units && !cur.done; k++) {
              const cap = laneCap(frame, maxTokens, cur)
              if (cap <= 0) break
              // each rollout step is seeded by the rollout's own prefix, so it is reproducible
              const request = requestOf(frame, `${node}#lookahead`, { ...call(cur), maxTokens: cap }, 1)
              const sent: Sent = { value: false }
              inFlight = perStep(cur)
              const out = yield* Effect.onInterrupt(invokeGenerator(frame, request, sent), () =>
                Effect.sync(() => {
                  if (!sent.value) inFlight = undefined
                })
              )
              inFlight = undefined
              usage = Usage.add(usage, out.usage)
              spent = Usage.add(spent, out.spent)
              const g = out.result.generations[0]
              if (g === undefined) break
              cur = {
                ...cur,
                id: CandidateId.rollout(c.id, k),
                steps: Steps.appendAll(cur.steps, g.steps),
                done: g.done,
                ...(g.answer === undefined ? {} : { answer: g.answer })
              }
            }
            byId.set(c.id, cur)
          })
          // a step in flight when the rollout ended badly is charged its reservation (never more
          // than the whole reservation: the ledger caps a limited meter at what was reserved)
          const settle = Effect.suspend(() => {
            const extra = inFlight === undefined ? Usage.zero : { ...inFlight, flops: 0, usd: 0 }
            const charge = Usage.min(Usage.add(usage, extra), r.usage)
            return commit(frame, r, { ...charge, wallMs: usage.wallMs }, Usage.add(spent, extra))
          })
          return rollout.pipe(Effect.ensuring(settle))
        },
        { concurrency: "unbounded", discard: true }
      )
      return candidates.map((c) => byId.get(c.id))
    })
  )

export const score: NodeKind<"score", ScoreDoc, ScoreNode> = {
  type: "score",
  schema: () => fields,
  compile: (node, at) => {
    const path = at.path
    const la = node.lookahead
    const gv = node.generative
    const f: ScoreFields = {
      verifier: verifierOf(path, node.verifier),
      aggregate: node.aggregate ?? DEFAULT_AGGREGATE,
      lookahead:
        la === undefined
          ? undefined
          : {
              steps: Field.field(`${path}.lookahead.steps`, la.steps, Field.INT0),
              temperature: Field.fieldOr(
                `${path}.lookahead.temperature`,
                la.temperature,
                DEFAULT_LOOKAHEAD_TEMPERATURE,
                Field.NONNEG
              ),
              maxTokens: Field.optionalField(`${path}.lookahead.maxTokens`, la.maxTokens, Field.INT1)
            },
      generative:
        gv === undefined
          ? undefined
          : {
              style: gv.style,
              samples: Field.fieldOr(`${path}.generative.samples`, gv.samples, 1, VERIFICATION_SAMPLES),
              temperature: Field.fieldOr(
                `${path}.generative.temperature`,
                gv.temperature,
                gv.style === "judge" ? DEFAULT_JUDGE_TEMPERATURE : DEFAULT_THINK_TEMPERATURE,
                Field.NONNEG
              ),
              maxTokens: Field.fieldOr(
                `${path}.generative.maxTokens`,
                gv.maxTokens,
                gv.style === "judge" ? DEFAULT_JUDGE_TOKENS : DEFAULT_THINK_TOKENS,
                Field.INT1
              ),
              onUnparsed: gv.onUnparsed ?? "unscored",
              verdict: gv.verdict ?? "parse"
            }
    }
    const check = (scope: CheckScope): ReadonlyArray<string> => {
      const problems =
        f.lookahead === undefined
          ? []
          : checkNums(scope, [f.lookahead.steps, f.lookahead.temperature, f.lookahead.maxTokens])
      const g = f.generative
      if (g !== undefined) {
        const own = checkNums(scope, [g.samples, g.temperature, g.maxTokens])
        const named =
          node.verifier === undefined
            ? []
            : [`${path}.verifier: a generative verifier is a generator call; remove verifier or generative`]
        const verdict =
          g.verdict === "probability" && g.style !== "think"
            ? [
                `${path}.generative.verdict: "probability" reads the yes/no verdict token of style "think"; style "${g.style}" rates 1–10 — use verdict "parse"`
              ]
            : []
        return [...problems, ...own, ...named, ...verdict]
      }
      const verifier = checkVerifier(scope, f.verifier)
      return verifier === undefined ? problems : [...problems, verifier]
    }
    /**
     * The population with the targets' scores (`read[i]` is what the verifier read for target i:
     * the candidate itself or its rollout), publishing a `CandidateScored` each when listened to.
     */
    const scoredPopulation = (
      frame: Frame,
      population: ReadonlyArray<Candidate>,
      targets: ReadonlyArray<Candidate>,
      read: ReadonlyArray<Candidate>,
      scores: ReadonlyArray<ReadonlyArray<number> | undefined>
    ): Effect.Effect<ReadonlyArray<Candidate>> => {
      // keyed by the candidate object, not its id (long in a deep beam, hashed afresh each round);
      // when every candidate is a target (a fresh population), by position: no map at all
      const all = targets.length === population.length
      const scored = all ? undefined : new Map<Candidate, Candidate>()
      const byPosition: Array<Candidate> | undefined = all ? [...population] : undefined
      const events: Array<Effect.Effect<void>> = []
      targets.forEach((c, i) => {
        const s = scores[i]
        const r = read[i]
        if (s === undefined || r === undefined) return
        const own = c.steps?.length ?? 0
        const total = aggregate(s, f.aggregate)
        if (total === undefined) return
        // the verifier's list itself when it scores exactly the candidate's steps (a rollout's are
        // longer): nobody writes to step scores, and a copy each costs as much as the candidate
        const next: Candidate = { ...c, stepScores: s.length === own ? s : s.slice(0, own), score: total }
        if (byPosition !== undefined) byPosition[i] = next
        else scored?.set(c, next)
        if (frame.env.events.enabled)
          events.push(
            frame.env.events.publish({
              _tag: "CandidateScored",
              id: c.id,
              node: path,
              score: total,
              stepScores: next.stepScores,
              ...(r === c ? {} : { lookahead: (r.steps?.length ?? 0) - own })
            })
          )
      })
      const out = byPosition ?? population.map((c) => scored?.get(c) ?? c)
      // with no listener there is nothing to publish: no effect to step through
      return events.length === 0 ? Effect.succeed(out) : Effect.as(Effect.all(events, { discard: true }), out)
    }
    /** Scoring with lookahead rollouts or a generative verifier. */
    const scoreWith = Effect.fnUntraced(function* (
      frame: Frame,
      population: ReadonlyArray<Candidate>,
      targets: ReadonlyArray<Candidate>
    ) {
      const counts = Population.counts(population)
      const la = f.lookahead
      const k = la === undefined ? 0 : yield* num(frame, la.steps, counts)
      // what the verifier reads for each target: the candidate itself, or its rollout
      let read: ReadonlyArray<Candidate> = targets
      if (la !== undefined && k > 0) {
        const temperature = yield* num(frame, la.temperature, counts)
        const requested = la.maxTokens === undefined ? undefined : yield* num(frame, la.maxTokens, counts)
        const active = targets.filter((c) => !c.done)
        const rolled = yield* rollouts(frame, path, active, k, temperature, maxTokensOf(frame, requested, "step"))
        const byId = new Map<string, Candidate>()
        active.forEach((c, i) => {
          const r = rolled[i]
          if (r !== undefined) byId.set(c.id, r)
        })
        read = targets.map((c) => byId.get(c.id) ?? c)
      }
      // scoring complete candidates only is finishing work (it may draw on the run's reserve)
      const finishing = targets.every((c) => c.done)
      const g = f.generative
      const scores =
        g === undefined
          ? yield* scoreCalls(frame, path, f.verifier.name, read, finishing)
          : yield* verifyGenerative(
              frame,
              path,
              read,
              {
                style: g.style,
                samples: yield* num(frame, g.samples, counts),
                temperature: yield* num(frame, g.temperature, counts),
                maxTokens: yield* num(frame, g.maxTokens, counts),
                onUnparsed: g.onUnparsed,
                verdict: g.verdict
              },
              finishing
            )
      return yield* scoredPopulation(frame, population, targets, read, scores)
    })
    return planNode("score", at, {
      fields: f,
      // a rollout of 0 steps continues nothing
      needs: [
        ...(la !== undefined && la.steps.source !== 0
          ? [{ capability: "stepwise" as const, path: `${path}.lookahead` }]
          : []),
        // ThinkPRM's P("yes") is read from the verdict token's log-probabilities
        ...(gv?.verdict === "probability"
          ? [{ capability: "logprobs" as const, path: `${path}.generative.verdict` }]
          : [])
      ],
      scores: true,
      lanes: "keep",
      check,
      bound: (scope, pop) => {
        let cost =
          f.generative === undefined ? Bound.verification(scope, pop.size) : generativeBound(f.generative, scope, pop)
        if (f.lookahead !== undefined) {
          const k = Bound.hiOf(f.lookahead.steps, scope, pop)
          const m = Bound.maxTokensBound(f.lookahead.maxTokens, scope, pop, "step")
          const rolled = Bound.mul(pop.active, k)
          cost = Bound.addBound(cost, Bound.generation(scope, rolled, Bound.mul(rolled, m)))
        }
        return { cost, pop }
      },
      // the common case (a PRM scores the candidates themselves) is a callback chain: one verifier
      // call and a mapping step; lookahead and generative verification run the generator
      run: (frame, population) =>
        Effect.suspend(() => {
          // what the anytime finisher scores the candidates it completes with (never a generative
          // verifier: its calls are not in the finisher's reserve)
          frame.env.lastScore =
            f.generative === undefined ? { verifier: f.verifier.name, aggregate: f.aggregate } : undefined
          const targets = population.filter((c) => c.score === undefined && c.steps !== undefined)
          if (targets.length === 0) return Effect.succeed(population)
          if (f.lookahead === undefined && f.generative === undefined)
            return Effect.flatMap(
              scoreCalls(
                frame,
                path,
                f.verifier.name,
                targets,
                // scoring complete candidates only is finishing work (it may draw on the run's reserve)
                targets.every((c) => c.done)
              ),
              (scores) => scoredPopulation(frame, population, targets, targets, scores)
            )
          return scoreWith(frame, population, targets)
        })
    })
  }
}

/**
 * The bound of generative verification of a population: per candidate one call (`samples` on a
 * server without `n`, so `samples` here), one verifier call, and as verifier tokens what the PRM
 * would read plus the instruction (its UTF-8 bytes bound its tokens) plus `samples · maxTokens`.
 */
const generativeBound = (
  g: NonNullable<ScoreFields["generative"]>,
  scope: Bound.BoundScope,
  pop: Bound.PopulationBound
): Usage.Usage => {
  const n = pop.size
  const samples = Bound.hiOf(g.samples, scope, pop)
  const out = Math.min(Bound.hiOf(g.maxTokens, scope, pop), scope.options.maxTokens)
  const read = scope.options.verifierTokens
  const perCandidate =
    read === undefined ? Number.POSITIVE_INFINITY : read + INSTRUCTION_BYTES + Bound.mul(samples, out)
  return Usage.make({
    calls: Bound.mul(n, samples),
    verifierCalls: n,
    verifierTokens: n === 0 ? 0 : Bound.mul(n, perCandidate)
  })
}

/** What a verification prompt adds to what a reward model reads, at most (bytes of its longest instruction and framing). */
const INSTRUCTION_BYTES =
  Math.max(new TextEncoder().encode(JUDGE_INSTRUCTION).length, new TextEncoder().encode(THINK_INSTRUCTION).length) + 256
