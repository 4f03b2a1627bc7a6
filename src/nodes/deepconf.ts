/**
 * `deepconf {n, warmup, keep, window, consensus, wave, logprobs, temperature, maxTokens}`: DeepConf
 * online (Fu et al. 2025, "Deep Think with Confidence", Algorithm 2). `warmup` whole solutions are sampled first
 * with token log-probabilities; the threshold is the (1 − keep) quantile of their lowest group
 * confidences (`keep` = η: 0.1 is DeepConf-low, 0.9 DeepConf-high). The other `n − warmup`
 * solutions are then generated one request each with `stopBelow`: each streams and is stopped by
 * its backend as soon as the mean token confidence of its last `window` tokens falls below the
 * threshold, charged the tokens it generated (the reservation of the whole `maxTokens` is released
 * for the rest). A stopped trace is no solution: it is paid, announced and dropped (a
 * `CandidatesPruned` event), never voted. The node returns the warm-up traces and the later traces
 * that finished; a `confidence` node and `select weighted` after it make DeepConf's
 * confidence-filtered, confidence-weighted vote.
 *
 * With `consensus` (τ), DeepConf's adaptive sampling: no further trace is launched once the
 * confidence-weighted vote of the traces so far — each answered trace weighs its lowest group
 * confidence C, as in the paper's V(a) = Σ C — gives the leading answer a share ≥ τ (the paper
 * uses τ = 0.95). Decision points are traces, not moments: the vote is read after the warm-up and
 * then after each later trace in index order (a stopped trace is a decision point without a vote),
 * over those traces only. Later traces are launched `wave` at a time (default 1); when the vote
 * settles at trace k of a wave, the traces after k were already generated — they are paid and
 * dropped, never counted — so the answer is the same at any `wave` and any concurrency.
 *
 * Determinism: the threshold is a function of the warm-up traces only, and a stop is a function of
 * one trace and the threshold, so the same seed gives the same stops at any concurrency. Sample k
 * of the node is continuation k of one seed — the samples of one `sample` node of `n` at the same
 * path — so a later trace that finishes is exactly that sample. Cost: at most `n` sequences in
 * `1 + n − warmup` calls; needs capability `logprobs` (a backend with it honours `stopBelow`).
 *
 * @since 0.3.0
 */
import { Effect, Schema } from "effect"
import type { Candidate } from "../domain/Candidate.ts"
import * as CandidateId from "../domain/CandidateId.ts"
import * as Confidence from "../domain/Confidence.ts"
import * as Population from "../domain/Population.ts"
import * as Bound from "../graph/Bound.ts"
import { checkNums } from "../graph/Check.ts"
import * as Field from "../graph/Field.ts"
import { type GenCall, type Generated, generate } from "../runtime/Calls.ts"
import { num, type Sampling, sampling } from "../runtime/Env.ts"
import { announce, type Created, grow } from "../runtime/Grow.ts"
import * as Stop from "../runtime/Stop.ts"
import { comment, maxTokensKey, samplingFields, temperatureKey } from "./Common.ts"
import { type NodeKind, planNode } from "./Kind.ts"

/**
 * The most traces a `deepconf` node may ask for: each later trace is a request of its own, listed
 * before the budget is asked, so a count such as 2^32 would exhaust memory before the budget could
 * refuse anything (the same bound as `parallel`'s branches).
 */
export const MAX_TRACES = 10_000

/** `deepconf.n` */
const TRACES: Field.FieldRule = { integer: true, min: 0, max: MAX_TRACES }

/** DeepConf's defaults: 16 warm-up traces, η = 10% (DeepConf-low), 2048-token groups, top-20 log-probabilities. */
export const DEFAULTS = { warmup: 16, keep: 0.1, window: 2048, logprobs: 20 } as const

const fields = Schema.Struct({
  type: Schema.Literal("deepconf"),
  n: Field.num({ description: `Traces at most, warm-up included (integer 0..${MAX_TRACES})` }),
  warmup: Field.optionalNum({
    description: "Warm-up traces, generated whole, that set the threshold (integer ≥ 1)",
    default: DEFAULTS.warmup
  }),
  keep: Field.optionalNum({
    description:
      "η: the threshold is the (1 − η) quantile of the warm-up traces' lowest group confidences (0 < η ≤ 1; 0.1 is DeepConf-low, 0.9 DeepConf-high)",
    default: DEFAULTS.keep
  }),
  window: Field.optionalNum({
    description:
      "Tokens of a group: a later trace stops when the mean confidence of its last window tokens is below the threshold (integer ≥ 1)",
    default: DEFAULTS.window
  }),
  consensus: Field.optionalNum({
    description:
      "τ: stop launching traces once the leading answer's share of the confidence-weighted vote (weights: each trace's lowest group confidence) is at least τ, read after the warm-up and after each later trace in index order (0 < τ ≤ 1; the paper uses 0.95; absent: all n traces)"
  }),
  wave: Field.optionalNum({
    description:
      "Later traces launched together (integer ≥ 1): what may be paid past the consensus stop, never what is counted (default: 1 with consensus, else all)"
  }),
  logprobs: Schema.optionalKey(Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 20 }))).annotateKey({
    description: "Top-k log-probabilities per token for the token confidence (1–20)",
    default: DEFAULTS.logprobs
  }),
  temperature: Field.optionalNum(temperatureKey),
  maxTokens: Field.optionalNum(maxTokensKey),
  ...comment
}).annotate({
  identifier: "DeepConfNode",
  description:
    "DeepConf online: warm-up traces set a confidence threshold; later traces stream and stop as soon as their sliding-window group confidence falls below it, charged the tokens generated; stopped traces are dropped; with consensus, no trace is launched once the confidence-weighted vote is settled. Cost: at most n sequences, 1 + n − warmup calls."
})

/** A `deepconf` node as written. */
export type DeepConfNode = typeof fields.Encoded
/** A `deepconf` node as decoded. */
export type DeepConfDoc = typeof fields.Type

/** A compiled `deepconf` node. */
export interface DeepConfFields extends Sampling {
  readonly n: Field.NumField
  readonly warmup: Field.NumField
  readonly keep: Field.NumField
  readonly window: Field.NumField
  readonly consensus: Field.NumField | undefined
  readonly wave: Field.NumField | undefined
  readonly logprobs: number
}

const FRACTION: Field.FieldRule = { integer: false, min: 0, exclusive: true, max: 1 }

/**
 * Whether DeepConf's adaptive sampling stops: the leading answer's share of the confidence-weighted
 * vote (`tally` weighted by each trace's confidence) is at least `consensus`; never before any
 * trace has an answer and a weight.
 *
 * @example
 * const t = new Stop.Tally(answers); t.add("2", 15); t.add("3", 0.5)
 * settled(t, 0.95) // true: 15 / 15.5 ≈ 0.968
 */
export const settled = (tally: Stop.Tally, consensus: number): boolean => {
  const v = tally.stats("weighted")
  return v.answered > 0 && v.share > 0 && v.share >= consensus
}

/**
 * The q-quantile of `values` with linear interpolation between order statistics (numpy's default
 * `percentile`, which DeepConf's code uses); `undefined` for no values.
 *
 * @example
 * quantile([1, 2, 3, 4], 0.9) // 3.7
 */
export const quantile = (values: ReadonlyArray<number>, q: number): number | undefined => {
  if (values.length === 0) return undefined
  const sorted = [...values].sort((a, b) => a - b)
  const pos = Math.min(1, Math.max(0, q)) * (sorted.length - 1)
  const lo = Math.floor(pos)
  const hi = Math.min(sorted.length - 1, lo + 1)
  const a = sorted[lo] ?? 0
  const b = sorted[hi] ?? a
  return a + (b - a) * (pos - lo)
}

/**
 * DeepConf online's threshold: the (1 − keep) quantile of the warm-up traces' lowest group
 * confidences (traces without token confidences are left out); `undefined` when none has them.
 *
 * @example
 * threshold([8, 9, 10, 11, 12], 0.1) // 11.6: only traces as confident as the best 10% go on
 */
export const threshold = (lowestGroups: ReadonlyArray<number>, keep: number): number | undefined =>
  quantile(lowestGroups, 1 - keep)

export const deepconf: NodeKind<"deepconf", DeepConfDoc, DeepConfNode> = {
  type: "deepconf",
  schema: () => fields,
  compile: (node, at) => {
    const path = at.path
    const f: DeepConfFields = {
      n: Field.field(`${path}.n`, node.n, TRACES),
      warmup: Field.fieldOr(`${path}.warmup`, node.warmup, DEFAULTS.warmup, Field.INT1),
      keep: Field.fieldOr(`${path}.keep`, node.keep, DEFAULTS.keep, FRACTION),
      window: Field.fieldOr(`${path}.window`, node.window, DEFAULTS.window, Field.INT1),
      consensus: Field.optionalField(`${path}.consensus`, node.consensus, FRACTION),
      wave: Field.optionalField(`${path}.wave`, node.wave, Field.INT1),
      logprobs: node.logprobs ?? DEFAULTS.logprobs,
      ...samplingFields(path, node)
    }
    return planNode("deepconf", at, {
      fields: f,
      needs: [{ capability: "logprobs", path }],
      check: (scope) =>
        checkNums(scope, [f.n, f.warmup, f.keep, f.window, f.consensus, f.wave, f.temperature, f.maxTokens]),
      bound: (scope, pop) => {
        const n = Bound.hiOf(f.n, scope, pop)
        const m = Bound.maxTokensBound(f.maxTokens, scope, pop, "end")
        return {
          cost: Bound.generation(scope, n, Bound.mul(n, m)),
          pop: { size: pop.size + n, active: pop.active + n, done: pop.done + n, chains: pop.chains + n }
        }
      },
      firstCall: (scope) => Bound.freshCall(f.n, f.maxTokens, "end", scope),
      run: (frame, population) =>
        Effect.gen(function* () {
          const counts = Population.counts(population)
          const n = yield* num(frame, f.n, counts)
          if (n === 0) return population
          const warmup = Math.min(n, yield* num(frame, f.warmup, counts))
          const keep = yield* num(frame, f.keep, counts)
          const window = yield* num(frame, f.window, counts)
          const { temperature, maxTokens } = yield* sampling(frame, f, counts, "end")
          const first = frame.counter.next
          frame.counter.next = first + n
          const seedKey = CandidateId.sample(frame.prefix, first)
          const call = (index: number, count: number, extra: Partial<GenCall>): GenCall => ({
            seedKey,
            index,
            prefix: undefined,
            n: count,
            minN: 1,
            until: "end",
            temperature,
            maxTokens,
            finishing: true,
            logprobs: f.logprobs,
            ...extra
          })
          const created: Array<Created> = []
          const add = (index: number, paid: Generated | undefined) => {
            for (const [i, generation] of (paid?.generations ?? []).entries())
              created.push({
                candidate: grow(
                  frame,
                  path,
                  CandidateId.sample(frame.prefix, first + index + i),
                  undefined,
                  generation,
                  undefined,
                  paid?.cut[i] === true
                ),
                generation
              })
          }
          // warm-up: one call, whole traces
          const [warm] = yield* generate(frame, path, [call(0, warmup, {})])
          add(0, warm)
          const options = { ...Confidence.DEFAULT_OPTIONS, window }
          const lowest: Array<number> = []
          for (const c of created) {
            const v = c.generation.done
              ? Confidence.candidateStat(c.candidate.steps, "lowest-group", options)
              : undefined
            if (v !== undefined) lowest.push(v)
          }
          const bar = threshold(lowest, keep)
          // DeepConf's adaptive sampling: the confidence-weighted vote so far, read at each trace
          const consensus = f.consensus === undefined ? undefined : yield* num(frame, f.consensus, counts)
          const tally = new Stop.Tally(frame.env.answers)
          const vote = (c: Created) => {
            if (c.generation.stopped === true) return tally.add(undefined)
            const weight = Confidence.candidateStat(c.candidate.steps, "lowest-group", options) ?? 0
            tally.add(c.candidate.answer, weight)
          }
          for (const c of created) vote(c)
          let done = consensus !== undefined && settled(tally, consensus)
          // generated past the consensus stop: paid, never counted
          const past = new Set<string>()
          // the budget paid fewer warm-up traces than asked: the later ones are not paid either
          const paidWarmup = warm?.generations.length ?? 0
          if (paidWarmup === warmup && n > warmup && !done) {
            const stopBelow = bar === undefined ? undefined : { window, threshold: bar }
            const per =
              f.wave !== undefined ? yield* num(frame, f.wave, counts) : consensus === undefined ? n - warmup : 1
            let next = warmup
            while (next < n && !done) {
              const size = Math.min(per, n - next)
              // one request per later trace, so each can be stopped on its own
              const later = Array.from({ length: size }, (_, i) =>
                call(next + i, 1, stopBelow === undefined ? {} : { stopBelow })
              )
              const results = yield* generate(frame, path, later)
              let short = false
              for (const [i, r] of results.entries()) {
                const before = created.length
                add(next + i, r)
                if (created.length === before) short = true
                for (const c of created.slice(before)) {
                  if (done) past.add(c.candidate.id)
                  else if (consensus !== undefined) {
                    vote(c)
                    done = settled(tally, consensus)
                  }
                }
              }
              next += size
              // the budget paid less than asked: the vote stands on what was paid
              if (short) break
            }
          }
          yield* announce(frame, path, created)
          const kept: Array<Candidate> = []
          const dropped: Array<string> = []
          for (const c of created) {
            if (c.generation.stopped === true || past.has(c.candidate.id)) dropped.push(c.candidate.id)
            else kept.push(c.candidate)
          }
          if (dropped.length > 0 && frame.env.events.enabled)
            yield* frame.env.events.publish({
              _tag: "CandidatesPruned",
              node: path,
              kept: kept.map((c) => c.id),
              dropped
            })
          return [...population, ...kept]
        })
    })
  }
}
