/**
 * Anytime answers (docs/concepts.md#anytime-behaviour). A run keeps back, from its start, what it
 * needs to finish one candidate — the ledger's *hold*, sized by `graph/Cost.finishReserve`: one
 * sequence up to the solution cap (to complete a partial candidate or sample a whole one) unless
 * the graph's first call already writes whole solutions, and one verifier call if the graph
 * scores. The graph's nodes cannot spend it, except *finishing work*: calls that complete
 * candidates (whole samples, expansions to the end, revisions) and scoring of complete candidates.
 *
 * At the answer step (a `select` in the run's own frame), if the budget refused anything, the
 * runtime finishes: it completes the best partial candidates (best score first) while the budget
 * — the hold, then anything left — pays, samples one whole solution if there was nothing to
 * complete and nothing answered, scores the complete candidates that have no score with the verifier
 * the graph last scored with, and then the vote runs over what is complete. Then the hold is
 * released. So a run whose budget pays for the graph's *answer minimum* (`mull cost` prints it)
 * always returns an answer.
 *
 * A node kind needs nothing to take part: its calls that complete candidates set `finishing`
 * (`Calls.GenCall`, `Calls.score`), and its expressions can size work by `remaining.<meter>`, what
 * is left for ordinary work (the hold excluded).
 *
 * @since 0.2.0
 */
import { Effect } from "effect"
import type { Hold } from "../budget/Ledger.ts"
import { type Candidate, chainOf } from "../domain/Candidate.ts"
import * as CandidateId from "../domain/CandidateId.ts"
import type { Population } from "../domain/Population.ts"
import type * as Usage from "../domain/Usage.ts"
import { type FirstCall, finishReserve } from "../graph/Bound.ts"
import type { GeneratorShape } from "../services/Generator.ts"
import type { VerifierShape } from "../services/Verifier.ts"
import { aggregate } from "./Aggregate.ts"
import { type GenCall, generate, score } from "./Calls.ts"
import { type Frame, laneCap } from "./Env.ts"
import { announce, type Created, grow } from "./Grow.ts"
import type { RunError } from "./RunError.ts"

/** The temperature the finisher completes and samples with (the paper's default). */
export const FINISH_TEMPERATURE = 0.8

/**
 * The prompt tokens of a fresh call on a problem (the question in the generator's template, no
 * prefix), as the generator counts them; 0 when it cannot count.
 *
 * @example
 * questionTokens(generator, problem) // the first call's prompt before any step
 */
export const questionTokens = (generator: GeneratorShape, problem: Frame["env"]["problem"]): number =>
  generator.promptTokens?.({
    problem,
    prefix: undefined,
    n: 1,
    until: "end",
    temperature: 0,
    maxTokens: generator.maxTokens,
    seed: 0n
  }) ?? 0

/**
 * What a run on `problem` keeps back to finish one candidate, with this backend's prompt bounds:
 * a completion's prompt is the question's plus a prefix of up to the solution cap (each token
 * counted twice for step delimiters with a tokenizer; four bytes a token without one).
 *
 * @example
 * const reserve = reserveFor(first, true, generator, verifier, problem)
 */
export const reserveFor = (
  first: FirstCall | undefined,
  scores: boolean,
  generator: GeneratorShape,
  verifier: VerifierShape,
  problem: Frame["env"]["problem"]
): Usage.Usage => {
  const cap = generator.maxTokens
  const perToken = generator.capabilities.has("tokenizer") ? 2 : 4
  const question = questionTokens(generator, problem)
  const empty: Candidate = {
    id: "reserve",
    steps: undefined,
    done: true,
    stepScores: [],
    origin: { node: "", round: 0 }
  }
  const read = verifier.inputTokens?.(problem, empty) ?? 0
  return finishReserve(first, scores, {
    maxTokens: cap,
    completionPrompt: question + perToken * cap,
    verifierRead: read + perToken * cap
  })
}

/** Candidates that could still be completed, best score first (ties keep population order). */
const partials = (frame: Frame, population: Population): ReadonlyArray<Candidate> =>
  population
    .filter((c) => !c.done && c.steps !== undefined && laneCap(frame, frame.env.generator.maxTokens, c) > 0)
    .sort((a, b) => (b.score ?? Number.NEGATIVE_INFINITY) - (a.score ?? Number.NEGATIVE_INFINITY))

/** Completes the best partial candidates (or samples one whole solution when there is nothing at all). */
const complete = (frame: Frame, population: Population, node: string): Effect.Effect<Population, RunError> =>
  Effect.gen(function* () {
    const open = partials(frame, population)
    const answered = population.some((c) => c.answer !== undefined)
    const fresh = open.length === 0 && !answered
    if (open.length === 0 && !fresh) return population
    const cap = frame.env.generator.maxTokens
    const first = frame.counter.next
    if (fresh) frame.counter.next += 1
    const calls: ReadonlyArray<GenCall> = fresh
      ? [
          {
            seedKey: CandidateId.sample(frame.prefix, first),
            prefix: undefined,
            n: 1,
            until: "end",
            temperature: FINISH_TEMPERATURE,
            maxTokens: cap,
            finishing: true
          }
        ]
      : open.map((c) => ({
          seedKey: c.id,
          prefix: c,
          n: 1,
          until: "end",
          temperature: FINISH_TEMPERATURE,
          maxTokens: laneCap(frame, cap, c),
          finishing: true
        }))
    const results = yield* generate(frame, node, calls)
    const created: Array<Created> = []
    const replaced = new Map<string, Candidate>()
    if (fresh) {
      const r = results[0]
      const generation = r?.generations[0]
      if (generation !== undefined) {
        const candidate = grow(
          frame,
          node,
          CandidateId.sample(frame.prefix, first),
          undefined,
          generation,
          undefined,
          r?.cut[0] === true
        )
        created.push({ candidate, generation })
      }
    } else
      open.forEach((parent, i) => {
        const r = results[i]
        const generation = r?.generations[0]
        if (generation === undefined) return
        // the completion takes its partial's place, in its revision chain too: left chain-less it
        // would start a chain of its own beside the partial's revisions (one more chain for a later
        // `revise` than the static bound counts)
        const candidate = grow(
          frame,
          node,
          CandidateId.child(parent.id, 0),
          parent,
          generation,
          chainOf(parent),
          r?.cut[0] === true
        )
        created.push({ candidate, generation })
        replaced.set(parent.id, candidate)
      })
    yield* announce(frame, node, created)
    if (fresh) return [...population, ...created.map((c) => c.candidate)]
    return population.map((c) => replaced.get(c.id) ?? c)
  })

/** Scores the complete candidates that have no score, with the verifier the graph last scored with. */
const scoreComplete = (frame: Frame, population: Population, node: string): Effect.Effect<Population, RunError> =>
  Effect.gen(function* () {
    const last = frame.env.lastScore
    if (last === undefined) return population
    const targets = population.filter((c) => c.done && c.score === undefined && c.steps !== undefined)
    if (targets.length === 0) return population
    const scores = yield* score(frame, node, last.verifier, targets, true)
    const scored = new Map<string, Candidate>()
    const events: Array<Effect.Effect<void>> = []
    targets.forEach((c, i) => {
      const s = scores[i]
      const total = s === undefined ? undefined : aggregate(s, last.aggregate)
      if (s === undefined || total === undefined) return
      scored.set(c.id, { ...c, stepScores: s, score: total })
      if (frame.env.events.enabled)
        events.push(frame.env.events.publish({ _tag: "CandidateScored", id: c.id, node, score: total, stepScores: s }))
    })
    yield* Effect.all(events, { discard: true })
    return population.map((c) => scored.get(c.id) ?? c)
  })

/**
 * The answer step's finishing: when the budget refused anything, completes the best partial
 * candidates and scores the complete ones (paid first from the run's hold), then releases the
 * hold. A frame without a hold (a parallel branch, a run whose budget could not keep one back)
 * finishes nothing. Charges are recorded at `<node>#finish`.
 *
 * @example
 * const finished = yield* finish(frame, population, "root.nodes.5")
 */
export const finish = (frame: Frame, population: Population, node: string): Effect.Effect<Population, RunError> =>
  // nothing to finish without a hold: answered without building a generator (a select runs this)
  frame.hold === undefined ? Effect.succeed(population) : finishWith(frame, frame.hold, population, node)

const finishWith = Effect.fnUntraced(function* (frame: Frame, hold: Hold, population: Population, node: string) {
  const snap = yield* frame.ledger.snapshot
  let pop = population
  if (frame.env.exhausted.value || snap.refusals > 0) {
    const where = `${node}#finish`
    pop = yield* complete(frame, pop, where)
    pop = yield* scoreComplete(frame, pop, where)
  }
  yield* frame.ledger.releaseHold(hold)
  return pop
})
