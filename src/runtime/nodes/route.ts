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
import { Effect } from "effect"
import type { Candidate } from "../../domain/Candidate.ts"
import * as Population from "../../domain/Population.ts"
import { Defaults, type RouteNode } from "../../graph/Graph.ts"
import { aggregate } from "../Aggregate.ts"
import { score } from "../Calls.ts"
import { type Frame, INT1, num, pathOf, type RunNode, sampling } from "../Env.ts"
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

export const run = (frame: Frame, node: RouteNode, path: string, population: Population.Population, runNode: RunNode) =>
  Effect.gen(function* () {
    const counts = Population.counts(population)
    const est = node.estimate
    const samples = yield* num(frame, `${path}.estimate.samples`, est.samples, INT1, counts)
    const { temperature, maxTokens } = yield* sampling(frame, `${path}.estimate`, est, counts)
    const where = `${pathOf(frame, path)}.estimate`
    const fresh = yield* freshSamples(frame, where, samples, "end", temperature, maxTokens)
    const scores = yield* score(frame, where, est.verifier ?? Defaults.verifier, fresh)
    const how = est.aggregate ?? Defaults.aggregate
    const scored: Array<Candidate> = []
    let total = 0
    fresh.forEach((c, i) => {
      const s = scores[i]
      const a = s === undefined ? undefined : aggregate(s, how)
      if (s === undefined || a === undefined) {
        scored.push(c)
        return
      }
      total += a
      scored.push({ ...c, stepScores: s, score: a })
    })
    const n = scores.filter((s) => s !== undefined).length
    const estimate = n === 0 ? undefined : total / n
    const bin = binOf(estimate, node.bins)
    if (frame.env.events.enabled)
      yield* frame.env.events.publish({
        _tag: "Routed",
        node: pathOf(frame, path),
        estimate: estimate ?? Number.NaN,
        bin
      })
    const kase = node.cases[bin]
    const pop = [...population, ...scored]
    return kase === undefined ? pop : yield* runNode(frame, kase, `${path}.cases.${bin}`, pop)
  })
