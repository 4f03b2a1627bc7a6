/**
 * `prune {keep, among, mode, temperature, dedupe, dropUnanswered}`: among the active candidates
 * (or all), keeps the `keep` best by score (`mode: top`, beam search), or draws `keep` with
 * replacement ∝ softmax(score / temperature) (`mode: sample`, particle filtering; the j-th extra
 * copy of a candidate is `${id}~${j}`, so copies expand differently). Candidates outside the pool
 * stay where they are; kept ones keep their order. `dedupe` first drops candidates whose text
 * repeats a better-scored one; `dropUnanswered` drops done candidates without an answer. Cost: none.
 *
 * @since 0.1.0
 */
import { Effect } from "effect"
import type { Candidate } from "../../domain/Candidate.ts"
import * as CandidateModule from "../../domain/Candidate.ts"
import { seed32, seedOf } from "../../domain/Hash.ts"
import * as Population from "../../domain/Population.ts"
import { Defaults, type PruneNode } from "../../graph/Graph.ts"
import { RESAMPLE_KEEP } from "../../graph/Walk.ts"
import { type Frame, INT0, num, numOr, POSITIVE, pathOf } from "../Env.ts"
import { resample, topK } from "../Prune.ts"

export const run = (frame: Frame, node: PruneNode, path: string, population: Population.Population) =>
  Effect.gen(function* () {
    const counts = Population.counts(population)
    const mode = node.mode ?? Defaults.pruneMode
    const keep = yield* num(frame, `${path}.keep`, node.keep, mode === "sample" ? RESAMPLE_KEEP : INT0, counts)
    const where = pathOf(frame, path)
    const among = node.among ?? Defaults.prunAmong
    const inPool = (c: Candidate) => among === "all" || !c.done
    let pop = population
    const dropped: Array<string> = []
    if (node.dropUnanswered === true) {
      pop = pop.filter((c) => {
        const drop = inPool(c) && c.done && c.answer === undefined
        if (drop) dropped.push(c.id)
        return !drop
      })
    }
    if (node.dedupe === true) {
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
    const pool = pop.filter(inPool)
    const scores = pool.map((c) => c.score)
    let picks: ReadonlyArray<number>
    if (mode === "top") picks = topK(scores, keep)
    else {
      const temperature = yield* numOr(
        frame,
        `${path}.temperature`,
        node.temperature,
        Defaults.pruneTemperature,
        POSITIVE,
        counts
      )
      const seed = seed32(seedOf(frame.env.runSeed, frame.env.problem.id, `${frame.prefix}@${frame.round}`, where))
      picks = resample(scores, keep, temperature, seed)
    }
    // the kept candidates, copies numbered in order, past any copy id already in the population
    // (a second sampling prune of the same candidates must not repeat `s0~1`)
    const kept = new Map<string, Array<Candidate>>()
    const taken = new Set(pop.map((c) => c.id))
    for (const i of picks) {
      const c = pool[i]
      if (c === undefined) continue
      const list = kept.get(c.id)
      if (list === undefined) kept.set(c.id, [c])
      else {
        let j = list.length
        while (taken.has(`${c.id}~${j}`)) j++
        taken.add(`${c.id}~${j}`)
        list.push({ ...c, id: `${c.id}~${j}` })
      }
    }
    const out = pop.flatMap((c) => (inPool(c) ? (kept.get(c.id) ?? []) : [c]))
    if (frame.env.events.enabled) {
      for (const c of pool) if (!kept.has(c.id)) dropped.push(c.id)
      yield* frame.env.events.publish({
        _tag: "CandidatesPruned",
        node: where,
        kept: [...kept.values()].flat().map((c) => c.id),
        dropped
      })
    }
    return out
  })
