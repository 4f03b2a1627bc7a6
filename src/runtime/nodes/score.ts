/**
 * `score {verifier, aggregate, lookahead?}`: scores the candidates that have no current score
 * (fresh samples, new children, revisions); `score` = aggregate(step scores), `last` by default.
 *
 * With `lookahead: {steps: k}` (Snell et al. 2024 §5.2, lookahead search), each active candidate
 * is first rolled out up to k more steps greedily (temperature 0 by default; the rollout stops
 * early at the end of the solution) and the verifier scores the rollout: the candidate's `score`
 * is the aggregate over the rollout, its step scores those of its own steps. The rollout is not
 * kept. Cost: one verifier call per scored candidate; up to k sequences per active candidate.
 *
 * @since 0.1.0
 */
import { Effect } from "effect"
import type { Candidate } from "../../domain/Candidate.ts"
import * as Population from "../../domain/Population.ts"
import * as Steps from "../../domain/Steps.ts"
import * as Usage from "../../domain/Usage.ts"
import { Defaults, type ScoreNode } from "../../graph/Graph.ts"
import { aggregate } from "../Aggregate.ts"
import {
  commit,
  type GenCall,
  generationReservation,
  invokeGenerator,
  requestOf,
  reserveInOrder,
  score as scoreCalls
} from "../Calls.ts"
import { type Frame, INT0, INT1, maxTokensOf, NONNEG, num, numOr, pathOf } from "../Env.ts"

/** Rolls a candidate out greedily for up to `steps` steps, paid by one reservation of `steps` units. */
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
        maxTokens
      })
      // one reservation per candidate: `steps` sequences, the prompt growing by up to maxTokens a step
      const reservations = yield* reserveInOrder(
        frame,
        candidates.map((c) => {
          const one = generationReservation(frame, node, call(c))
          return {
            node,
            fixed: Usage.zero,
            perUnit: Usage.add(Usage.add(one.fixed, one.perUnit), Usage.make({ inputTokens: (steps - 1) * maxTokens })),
            units: steps,
            minUnits: 1
          }
        })
      )
      return yield* Effect.forEach(
        candidates,
        (c, i) => {
          const r = reservations[i]
          if (r === undefined) return Effect.succeed(undefined)
          let usage = Usage.zero
          let spent = Usage.zero
          const rollout = Effect.gen(function* () {
            let cur = c
            for (let k = 0; k < r.units && !cur.done; k++) {
              // each rollout step is seeded by the rollout's own prefix, so it is reproducible
              const out = yield* invokeGenerator(frame, requestOf(frame, `${node}#lookahead`, call(cur), 1))
              usage = Usage.add(usage, out.usage)
              spent = Usage.add(spent, out.spent)
              const g = out.result.generations[0]
              if (g === undefined) break
              cur = {
                ...cur,
                id: `${c.id}#${k}`,
                steps: Steps.appendAll(cur.steps, g.steps),
                done: g.done,
                ...(g.answer === undefined ? {} : { answer: g.answer })
              }
            }
            return cur
          })
          // the steps the backend answered are committed however the rollout ends (done, failed, interrupted)
          return rollout.pipe(Effect.ensuring(Effect.suspend(() => commit(frame, r, usage, spent))))
        },
        { concurrency: "unbounded" }
      )
    })
  )

export const run = (frame: Frame, node: ScoreNode, path: string, population: Population.Population) =>
  Effect.gen(function* () {
    const where = pathOf(frame, path)
    const how = node.aggregate ?? Defaults.aggregate
    const verifier = node.verifier ?? Defaults.verifier
    const targets = population.filter((c) => c.score === undefined && c.steps !== undefined)
    if (targets.length === 0) return population
    const counts = Population.counts(population)
    const la = node.lookahead
    const k = la === undefined ? 0 : yield* num(frame, `${path}.lookahead.steps`, la.steps, INT0, counts)
    // what the verifier reads for each target: the candidate itself, or its rollout
    let read: ReadonlyArray<Candidate> = targets
    if (la !== undefined && k > 0) {
      const temperature = yield* numOr(
        frame,
        `${path}.lookahead.temperature`,
        la.temperature,
        Defaults.lookaheadTemperature,
        NONNEG,
        counts
      )
      const requested =
        la.maxTokens === undefined
          ? undefined
          : yield* num(frame, `${path}.lookahead.maxTokens`, la.maxTokens, INT1, counts)
      const active = targets.filter((c) => !c.done)
      const rolled = yield* rollouts(frame, where, active, k, temperature, maxTokensOf(frame, requested))
      const byId = new Map<string, Candidate>()
      active.forEach((c, i) => {
        const r = rolled[i]
        if (r !== undefined) byId.set(c.id, r)
      })
      read = targets.map((c) => byId.get(c.id) ?? c)
    }
    const scores = yield* scoreCalls(frame, where, verifier, read)
    const scored = new Map<string, Candidate>()
    const events: Array<Effect.Effect<void>> = []
    targets.forEach((c, i) => {
      const s = scores[i]
      const r = read[i]
      if (s === undefined || r === undefined) return
      const own = c.steps?.length ?? 0
      const total = aggregate(s, how)
      if (total === undefined) return
      const next: Candidate = { ...c, stepScores: s.slice(0, own), score: total }
      scored.set(c.id, next)
      if (frame.env.events.enabled)
        events.push(
          frame.env.events.publish({
            _tag: "CandidateScored",
            id: c.id,
            node: where,
            score: total,
            stepScores: next.stepScores,
            ...(r === c ? {} : { lookahead: (r.steps?.length ?? 0) - own })
          })
        )
    })
    yield* Effect.all(events, { discard: true })
    return population.map((c) => scored.get(c.id) ?? c)
  })
