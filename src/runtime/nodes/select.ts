/**
 * `select {method, among, hierarchical}`: picks the final answer among the done candidates that
 * have one (or, when none is done — the budget ran out — among every candidate with an answer):
 * majority vote, best (argmax score), or weighted (sum of scores per equivalent answer). With
 * `hierarchical: "chain"`, within each revision chain first, then across chains. Unscored
 * candidates vote with score 0. The population passes through unchanged. Cost: none.
 *
 * @since 0.1.0
 */
import { Effect } from "effect"
import { chainOf } from "../../domain/Candidate.ts"
import type * as Population from "../../domain/Population.ts"
import { Defaults, type SelectNode } from "../../graph/Graph.ts"
import { type Frame, pathOf } from "../Env.ts"
import { vote, voteHierarchical } from "../Vote.ts"

export const run = (frame: Frame, node: SelectNode, path: string, population: Population.Population) =>
  Effect.gen(function* () {
    const among = node.among ?? Defaults.selectAmong
    const answered = population.filter((c) => c.answer !== undefined)
    const done = answered.filter((c) => c.done)
    const pool = among === "all" || done.length === 0 ? answered : done
    const ballots = pool.map((c) => ({
      id: c.id,
      answer: c.answer ?? "",
      score: c.score ?? 0,
      chain: chainOf(c).id
    }))
    const ranking =
      node.hierarchical === "chain"
        ? voteHierarchical(ballots, node.method, frame.env.answers)
        : vote(ballots, node.method, frame.env.answers)
    const top = ranking[0]
    const chosen = top === undefined ? undefined : population.find((c) => c.id === top.best)
    const sel = frame.selection
    sel.ranking = ranking
    if (top === undefined) {
      delete sel.answer
      delete sel.chosen
    } else {
      sel.answer = chosen?.answer ?? top.answer
      if (chosen !== undefined) sel.chosen = chosen
    }
    if (frame.env.events.enabled)
      yield* frame.env.events.publish({
        _tag: "Selected",
        node: pathOf(frame, path),
        ...(sel.answer === undefined ? {} : { answer: sel.answer }),
        ...(sel.chosen === undefined ? {} : { chosen: sel.chosen.id }),
        method: node.method,
        ...(node.hierarchical === undefined ? {} : { hierarchical: node.hierarchical }),
        candidates: pool.length,
        ranking: ranking.slice(0, 10)
      })
    return population
  })
