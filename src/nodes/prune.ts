/**
 * `prune {keep, among, mode, temperature, dedupe, dropUnanswered}`: among the active candidates
 * (or all), keeps the `keep` best by score (`mode: top`, beam search), or draws `keep` with
 * replacement ∝ softmax(score / temperature) (`mode: sample`, particle filtering; the j-th extra
 * copy of a candidate is `${id}~${j}`, so copies expand differently). Candidates outside the pool
 * stay where they are; kept ones keep their order. `dedupe` first drops candidates whose text
 * repeats a better-scored one; `distinct` keeps only the best-scored candidate of each answer (answers
 * compared as the vote compares them; ties go to the earlier candidate; candidates without an
 * answer are each their own), so `keep` counts distinct answers; `dropUnanswered` drops done
 * candidates without an answer. Cost: none.
 *
 * @since 0.1.0
 */
import { Effect, Schema } from "effect"
import type { Candidate } from "../domain/Candidate.ts"
import * as CandidateModule from "../domain/Candidate.ts"
import * as CandidateId from "../domain/CandidateId.ts"
import { seed32, seedOf } from "../domain/Hash.ts"
import * as Population from "../domain/Population.ts"
import * as Usage from "../domain/Usage.ts"
import * as Bound from "../graph/Bound.ts"
import { checkNums } from "../graph/Check.ts"
import * as Field from "../graph/Field.ts"
import { num } from "../runtime/Env.ts"
import { Merger } from "../runtime/Merge.ts"
import { resample, topK } from "../runtime/Prune.ts"
import type { AnswerKeyShape } from "../services/Grader.ts"
import { comment } from "./Common.ts"
import { type NodeKind, planNode } from "./Kind.ts"

/**
 * The most copies a sampling `prune` may draw: each is a new candidate made without any spend the
 * budget could refuse, so a `keep` such as 1e308 would loop until memory ran out.
 */
export const MAX_RESAMPLE = 1_000_000

/** `keep` of a sampling prune (a top-k prune keeps at most what it has). */
export const RESAMPLE_KEEP: Field.FieldRule = { integer: true, min: 0, max: MAX_RESAMPLE }

/** The softmax temperature of a sampling prune when the node does not say. */
export const DEFAULT_PRUNE_TEMPERATURE = 1

const fields = Schema.Struct({
  type: Schema.Literal("prune"),
  keep: Field.num({ description: "How many candidates of the pool to keep (integer ≥ 0)" }),
  among: Schema.optionalKey(Schema.Literals(["active", "all"])).annotateKey({
    description: "The pool: the active candidates or all of them; candidates outside the pool stay",
    default: "active"
  }),
  by: Schema.optionalKey(Schema.Literal("score")).annotateKey({
    description: "What candidates are ranked by",
    default: "score"
  }),
  mode: Schema.optionalKey(Schema.Literals(["top", "sample"])).annotateKey({
    description: "top: the best scores; sample: draws with replacement ∝ softmax(score / temperature)",
    default: "top"
  }),
  temperature: Field.optionalNum({
    description: "Softmax temperature of mode sample (number > 0)",
    default: DEFAULT_PRUNE_TEMPERATURE
  }),
  dedupe: Schema.optionalKey(Schema.Boolean).annotateKey({
    description: "First drop pool candidates whose text repeats a better-scored one",
    default: false
  }),
  dropUnanswered: Schema.optionalKey(Schema.Boolean).annotateKey({
    description: "First drop done pool candidates without an answer",
    default: false
  }),
  distinct: Schema.optionalKey(Schema.Boolean).annotateKey({
    description:
      "First keep only the best-scored pool candidate of each answer (equivalent answers are one answer), so keep counts distinct answers",
    default: false
  }),
  ...comment
}).annotate({
  identifier: "PruneNode",
  description:
    "Keeps the best `keep` candidates by score, or with mode sample draws `keep` with replacement ∝ softmax(score/temperature). Cost: none."
})

/** A `prune` node as written. */
export type PruneNode = typeof fields.Encoded
/** A `prune` node as decoded. */
export type PruneDoc = typeof fields.Type

/** A compiled `prune` node. */
export interface PruneFields {
  readonly keep: Field.NumField
  readonly among: "active" | "all"
  readonly by: "score"
  readonly mode: "top" | "sample"
  readonly temperature: Field.NumField
  readonly dedupe: boolean
  readonly dropUnanswered: boolean
  readonly distinct: boolean
}

export const prune: NodeKind<"prune", PruneDoc, PruneNode> = {
  type: "prune",
  schema: () => fields,
  compile: (node, at) => {
    const path = at.path
    const mode = node.mode ?? "top"
    const f: PruneFields = {
      keep: Field.field(`${path}.keep`, node.keep, mode === "sample" ? RESAMPLE_KEEP : Field.INT0),
      among: node.among ?? "active",
      by: node.by ?? "score",
      mode,
      temperature: Field.fieldOr(`${path}.temperature`, node.temperature, DEFAULT_PRUNE_TEMPERATURE, Field.POSITIVE),
      dedupe: node.dedupe ?? false,
      dropUnanswered: node.dropUnanswered ?? false,
      distinct: node.distinct ?? false
    }
    return planNode("prune", at, {
      fields: f,
      // a sampling prune makes copies (new lanes); a top-k prune only drops
      lanes: f.mode === "sample" ? "fresh" : "keep",
      check: (scope) => checkNums(scope, [f.keep, f.temperature]),
      bound: (scope, pop) => {
        const keep = Bound.hiOf(f.keep, scope, pop)
        const sample = f.mode === "sample"
        // a sampling prune's extra copies of a candidate outside any chain are chains of their own
        const chains = (size: number) => Math.min(size, sample ? pop.chains + keep : pop.chains)
        if (f.among === "active") {
          const active = sample ? (pop.active > 0 ? keep : 0) : Math.min(pop.active, keep)
          // candidates outside the pool are the done ones: at most `done` of them (`size − active` is
          // no bound, since `size`, `active` and `done` are separate upper bounds)
          const outside = Math.min(pop.size, pop.done)
          const size = sample ? outside + active : Math.min(pop.size, outside + active)
          return { cost: Usage.zero, pop: { size, active, done: pop.done, chains: chains(size) } }
        }
        const size = sample ? (pop.size > 0 ? keep : 0) : Math.min(pop.size, keep)
        return {
          cost: Usage.zero,
          pop: {
            size,
            active: Math.min(size, sample ? keep : pop.active),
            done: Math.min(size, sample ? keep : pop.done),
            chains: chains(size)
          }
        }
      },
      run: Effect.fnUntraced(function* (frame, population) {
        const counts = Population.counts(population)
        const keep = yield* num(frame, f.keep, counts)
        const inPool = (c: Candidate) => f.among === "all" || !c.done
        let pop = population
        const dropped: Array<string> = []
        if (f.dropUnanswered) {
          pop = pop.filter((c) => {
            const drop = inPool(c) && c.done && c.answer === undefined
            if (drop) dropped.push(c.id)
            return !drop
          })
        }
        if (f.dedupe) {
          const best = new Map<string, Candidate>()
          for (const c of pop) {
            if (!inPool(c)) continue
            const t = CandidateModule.text(c, frame.env.delimiter)
            const prev = best.get(t)
            if (prev === undefined || (c.score ?? Number.NEGATIVE_INFINITY) > (prev.score ?? Number.NEGATIVE_INFINITY))
              best.set(t, c)
          }
          const survivors = new Set([...best.values()].map((c) => c.id))
          pop = pop.filter((c) => {
            const drop = inPool(c) && !survivors.has(c.id)
            if (drop) dropped.push(c.id)
            return !drop
          })
        }
        if (f.distinct) {
          const survivors = bestPerAnswer(pop.filter(inPool), frame.env.answers)
          pop = pop.filter((c) => {
            const drop = inPool(c) && !survivors.has(c.id)
            if (drop) dropped.push(c.id)
            return !drop
          })
        }
        const pool = pop.filter(inPool)
        const scores = pool.map((c) => c.score)
        let picks: ReadonlyArray<number>
        if (f.mode === "top") picks = topK(scores, keep)
        else {
          const temperature = yield* num(frame, f.temperature, counts)
          const seed = seed32(seedOf(frame.env.runSeed, frame.env.problem.id, `${frame.prefix}@${frame.round}`, path))
          picks = resample(scores, keep, temperature, seed)
        }
        // the kept candidates by pool index, copies numbered in order, past any copy id already in
        // the population (a second sampling prune of the same candidates must not repeat `s0~1`);
        // by index, not by id: a deep beam's ids are long strings, hashed afresh every round
        const kept: Array<Array<Candidate> | undefined> = new Array(pool.length)
        // the ids in use are needed only for a copy (a top-k prune never makes one)
        let taken: Set<string> | undefined
        for (const i of picks) {
          const c = pool[i]
          if (c === undefined) continue
          const list = kept[i]
          if (list === undefined) kept[i] = [c]
          else {
            taken ??= new Set(pop.map((p) => p.id))
            let j = list.length
            while (taken.has(CandidateId.copy(c.id, j))) j++
            const id = CandidateId.copy(c.id, j)
            taken.add(id)
            list.push({ ...c, id })
          }
        }
        // the pool is `pop` filtered in order: its i-th member is the i-th in-pool candidate met
        const out: Array<Candidate> = []
        let at = 0
        for (const c of pop) {
          if (!inPool(c)) out.push(c)
          else {
            const list = kept[at++]
            if (list !== undefined) for (const k of list) out.push(k)
          }
        }
        if (frame.env.events.enabled) {
          pool.forEach((c, i) => {
            if (kept[i] === undefined) dropped.push(c.id)
          })
          yield* frame.env.events.publish({
            _tag: "CandidatesPruned",
            node: path,
            kept: kept.flatMap((list) => (list === undefined ? [] : list.map((c) => c.id))),
            dropped
          })
        }
        return out
      })
    })
  }
}

/**
 * The ids of the best-scored candidate of each answer (equivalent answers merged as the vote merges
 * them; ties: the earlier candidate) and of every candidate without an answer.
 *
 * @example
 * bestPerAnswer(pool, answers) // for answers "2" (0.5), "3" (0.9), "2.0" (0.7): the ids of the 0.9 and 0.7 ones
 */
export const bestPerAnswer = (pool: ReadonlyArray<Candidate>, answers: AnswerKeyShape): ReadonlySet<string> => {
  const merger = new Merger<{ readonly answer: string; best: Candidate | undefined }>(answers, (answer) => ({
    answer,
    best: undefined
  }))
  const out = new Set<string>()
  for (const c of pool) {
    if (c.answer === undefined) {
      out.add(c.id)
      continue
    }
    const { group } = merger.find(c.answer)
    if (
      group.best === undefined ||
      (c.score ?? Number.NEGATIVE_INFINITY) > (group.best.score ?? Number.NEGATIVE_INFINITY)
    )
      group.best = c
  }
  for (const g of merger.groups) if (g.best !== undefined) out.add(g.best.id)
  return out
}
