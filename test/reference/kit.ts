/**
 * The shared kit of the reference implementations (`test/reference/*.ts`): plain calls to the
 * backend ports, their own usage accounting, and their own voting — written without the graph
 * runtime (nothing here imports `src/runtime/` or `src/graph/`), so that the runtime can be
 * checked against them (`test/runtime/reference.test.ts`).
 *
 * Conventions adopted from mull (docs/graphs.md), so that equality is meaningful:
 *
 * - every backend call is seeded by `seedOf(runSeed, problem.id, candidateId, nodePath)`, where
 *   `candidateId` is the first fresh sample's id, the expanded parent's id, or the rollout prefix's id,
 *   and `nodePath` is the JSON path of the graph node the call stands for (each strategy file
 *   lists its paths);
 * - one call with n continuations for the n fresh samples of a sample node (seeded by the id of
 *   its first sample, `s0` or `b<j>/s0`; sample i is continuation i), and one call per expanded
 *   parent with n continuations (seeded by the parent's id); every call asks for the backend's
 *   largest `maxTokens` (the graph files set none);
 * - one verifier call per scored candidate, reading the PRM (`prm`), `score` = the last step's
 *   score (`aggregate: "last"`);
 * - candidates are immutable records in the order of creation; a child inherits its parent's step
 *   scores and has no score until it is scored;
 * - usage: calls (generator and verifier), sequences, inputTokens, outputTokens, verifierCalls,
 *   verifierTokens as the backends report them; FLOPs = 2·P_gen·(input + output) + 2·P_ver·verifier
 *   tokens; wallMs and usd are left at 0.
 *
 * @since 0.1.0
 */
import { Effect } from "effect"
import type { Candidate } from "../../src/domain/Candidate.ts"
import { seedOf } from "../../src/domain/Hash.ts"
import type { Problem } from "../../src/domain/Problem.ts"
import * as Steps from "../../src/domain/Steps.ts"
import * as Usage from "../../src/domain/Usage.ts"
import type { BackendError } from "../../src/services/BackendError.ts"
import { type Generation, Generator, type GeneratorShape } from "../../src/services/Generator.ts"
import { AnswerKey, type AnswerKeyShape } from "../../src/services/Grader.ts"
import { Verifier, type VerifierShape } from "../../src/services/Verifier.ts"

/** Mutable meters of one reference run. */
interface Tally {
  calls: number
  sequences: number
  inputTokens: number
  outputTokens: number
  verifierCalls: number
  verifierTokens: number
}

/** What a reference run works with: the problem, the run seed, the ports, and its meters. */
export interface Kit {
  readonly problem: Problem
  readonly runSeed: bigint
  readonly generator: GeneratorShape
  readonly verifier: VerifierShape
  readonly answers: AnswerKeyShape
  readonly tally: Tally
}

/** The outcome of a reference run, in the shape the comparison needs. */
export interface ReferenceResult {
  readonly answer?: string
  /** the candidate standing for the answer: the best-scored one among those giving it */
  readonly chosen?: Candidate
  readonly population: ReadonlyArray<Candidate>
  readonly usage: Usage.Usage
  /** some sample or call was not paid for (best-of-N under a `sequences` limit) */
  readonly exhausted: boolean
}

export type Ports = Generator | Verifier | AnswerKey

/**
 * A kit for one run.
 *
 * @example
 * const kit = yield* makeKit(problem, 7)
 */
export const makeKit = (problem: Problem, seed: number | bigint): Effect.Effect<Kit, never, Ports> =>
  Effect.gen(function* () {
    return {
      problem,
      runSeed: BigInt(seed),
      generator: yield* Generator,
      verifier: yield* Verifier,
      answers: yield* AnswerKey,
      tally: { calls: 0, sequences: 0, inputTokens: 0, outputTokens: 0, verifierCalls: 0, verifierTokens: 0 }
    }
  })

/** The kit's usage so far, with FLOPs = 2·params·tokens for each backend. */
export const usageOf = (kit: Kit): Usage.Usage => {
  const t = kit.tally
  return Usage.make({
    ...t,
    flops: 2 * kit.generator.params * (t.inputTokens + t.outputTokens) + 2 * kit.verifier.params * t.verifierTokens
  })
}

/** One generation request of a reference: what to continue, how far, and who seeds it. */
export interface Ask {
  /** the id that seeds the call: the fresh sample's id, the parent's id, or the rollout prefix's id */
  readonly seedId: string
  /** the JSON path of the graph node the call stands for */
  readonly node: string
  readonly prefix: Candidate | undefined
  readonly n: number
  readonly until: "step" | "end"
  readonly temperature: number
}

/**
 * One generator call (metered): `n` continuations of `prefix`.
 *
 * @example
 * const gens = yield* generate(kit, { seedId: "s0", node: "root.nodes.0", prefix: undefined, n: 1, until: "end", temperature: 0.8 })
 */
export const generate = (kit: Kit, ask: Ask): Effect.Effect<ReadonlyArray<Generation>, BackendError> =>
  Effect.gen(function* () {
    const result = yield* kit.generator.generate({
      problem: kit.problem,
      prefix: ask.prefix,
      n: ask.n,
      until: ask.until,
      temperature: ask.temperature,
      maxTokens: kit.generator.maxTokens,
      seed: seedOf(kit.runSeed, kit.problem.id, ask.seedId, ask.node)
    })
    kit.tally.calls += 1
    kit.tally.sequences += ask.n
    kit.tally.inputTokens += result.inputTokens
    for (const g of result.generations) kit.tally.outputTokens += g.outputTokens
    return result.generations
  })

/** Where and when a candidate was made (its `origin`), and the parallel branch it belongs to. */
export interface Made {
  readonly node: string
  readonly round: number
  readonly group?: string | undefined
}

/**
 * A new candidate: `parent`'s steps (if any) followed by the generation's; unscored, with the
 * parent's step scores.
 *
 * @example
 * const c = candidate("s0.1", parent, generation, { node: "root.nodes.1.body.nodes.2", round: 1 })
 */
export const candidate = (id: string, parent: Candidate | undefined, g: Generation, made: Made): Candidate => ({
  id,
  ...(parent === undefined ? {} : { parentId: parent.id }),
  steps: Steps.appendAll(parent?.steps, g.steps),
  done: g.done,
  ...(g.answer === undefined ? {} : { answer: g.answer }),
  stepScores: parent?.stepScores ?? [],
  ...(made.group === undefined ? {} : { group: made.group }),
  origin: { node: made.node, round: made.round }
})

/**
 * `n` fresh samples `<idPrefix>s0` … `<idPrefix>s<n-1>`: one call with n continuations, seeded by
 * the first sample's id (`<idPrefix>s0`); sample i is continuation i.
 *
 * @example
 * const samples = yield* freshSamples(kit, "", 16, "end", 0.8, { node: "root.nodes.0", round: 0 })
 */
export const freshSamples = (
  kit: Kit,
  idPrefix: string,
  n: number,
  until: "step" | "end",
  temperature: number,
  made: Made
): Effect.Effect<ReadonlyArray<Candidate>, BackendError> =>
  Effect.gen(function* () {
    if (n === 0) return []
    const gens = yield* generate(kit, {
      seedId: `${idPrefix}s0`,
      node: made.node,
      prefix: undefined,
      n,
      until,
      temperature
    })
    return gens.map((g, i) => candidate(`${idPrefix}s${i}`, undefined, g, made))
  })

/**
 * The `n` children of `parent` (one call seeded by the parent's id): `<id>.0` … `<id>.<n-1>`.
 *
 * @example
 * const kids = yield* children(kit, beam, 4, "step", 0.8, { node: "root.nodes.1.body.nodes.2", round: 3 })
 */
export const children = (
  kit: Kit,
  parent: Candidate,
  n: number,
  until: "step" | "end",
  temperature: number,
  made: Made
): Effect.Effect<ReadonlyArray<Candidate>, BackendError> =>
  Effect.gen(function* () {
    const gens = yield* generate(kit, { seedId: parent.id, node: made.node, prefix: parent, n, until, temperature })
    return gens.map((g, i) => candidate(`${parent.id}.${i}`, parent, g, { ...made, group: parent.group }))
  })

/**
 * The PRM's per-step scores of `read` (metered as one verifier call; the backend call that carries
 * it is counted per scoring batch, see `scoreUnscored`).
 *
 * @example
 * const scores = yield* prm(kit, candidate)
 */
export const prm = (kit: Kit, read: Candidate): Effect.Effect<ReadonlyArray<number>, BackendError> =>
  Effect.gen(function* () {
    const result = yield* kit.verifier.score({ problem: kit.problem, candidates: [read], verifier: "prm" })
    kit.tally.verifierCalls += 1
    kit.tally.verifierTokens += result.inputTokens
    const scores = result.stepScores[0]
    if (scores === undefined) return yield* Effect.die(new Error(`reference: no scores for ${read.id}`))
    return scores
  })

/**
 * Scores a candidate from the PRM's reading of itself: step scores and `score` = the last one.
 *
 * @example
 * const scored = yield* scoreLast(kit, candidate)
 */
export const scoreLast = (kit: Kit, c: Candidate): Effect.Effect<Candidate, BackendError> =>
  Effect.gen(function* () {
    const s = yield* prm(kit, c)
    const last = s[s.length - 1]
    return last === undefined ? c : { ...c, stepScores: s, score: last }
  })

/**
 * Scores, in order, every candidate that has steps and no score yet (the others are left as they
 * are), with a given scorer — one batch: one backend call for all of them, as a verifier serving a
 * whole beam at once.
 *
 * @example
 * pop = yield* scoreUnscored(kit, pop, (c) => scoreLast(kit, c))
 */
export const scoreUnscored = (
  kit: Kit,
  population: ReadonlyArray<Candidate>,
  scorer: (c: Candidate) => Effect.Effect<Candidate, BackendError>
): Effect.Effect<ReadonlyArray<Candidate>, BackendError> =>
  Effect.gen(function* () {
    const out: Array<Candidate> = []
    let scored = 0
    for (const c of population) {
      const unscored = c.score === undefined && c.steps !== undefined
      out.push(unscored ? yield* scorer(c) : c)
      if (unscored) scored++
    }
    if (scored > 0) kit.tally.calls += 1
    return out
  })

/**
 * The `keep` best-scored candidates of `pool`, in their original order; ties go to the earlier
 * candidate and unscored candidates rank below every scored one.
 *
 * @example
 * topByScore(active, 4)
 */
export const topByScore = (pool: ReadonlyArray<Candidate>, keep: number): ReadonlyArray<Candidate> => {
  const rank = pool.map((c, i) => ({ c, i, s: c.score ?? Number.NEGATIVE_INFINITY }))
  rank.sort((a, b) => (a.s === b.s ? a.i - b.i : b.s - a.s))
  const kept = new Set(rank.slice(0, Math.max(0, keep)).map((r) => r.i))
  return pool.filter((_, i) => kept.has(i))
}

/** How the final answer is chosen (Snell et al. 2024 §5.1). */
export type Method = "majority" | "best" | "weighted"

interface AnswerGroup {
  readonly answer: string
  count: number
  total: number
  best: Candidate
  bestScore: number
}

/**
 * The final vote. Voters: the complete candidates with an answer (or, when none is complete,
 * every candidate with an answer); an unscored voter weighs 0. Answers are grouped by
 * `AnswerKey.key`, a new key being merged into the first earlier group whose answer is
 * `equivalent`. The winner: the most voters (majority), the best single score (best) or the
 * largest total score (weighted), ties to the group seen first. The chosen candidate is the
 * best-scored voter of the winning group (the first on ties), and the answer is its answer.
 *
 * @example
 * const { answer } = choose(kit, population, "weighted")
 */
export const choose = (
  kit: Kit,
  population: ReadonlyArray<Candidate>,
  method: Method
): { readonly answer?: string; readonly chosen?: Candidate } => {
  const answered = population.filter((c) => c.answer !== undefined)
  const complete = answered.filter((c) => c.done)
  const voters = complete.length > 0 ? complete : answered
  const groups: Array<AnswerGroup> = []
  const byKey = new Map<string, AnswerGroup>()
  for (const c of voters) {
    const answer = c.answer ?? ""
    const score = c.score ?? 0
    const key = kit.answers.key(answer)
    let g = byKey.get(key)
    if (g === undefined) {
      g = groups.find((other) => kit.answers.equivalent(other.answer, answer))
      if (g === undefined) {
        g = { answer, count: 0, total: 0, best: c, bestScore: Number.NEGATIVE_INFINITY }
        groups.push(g)
      }
      byKey.set(key, g)
    }
    g.count += 1
    g.total += score
    if (score > g.bestScore) {
      g.bestScore = score
      g.best = c
    }
  }
  const weight = (g: AnswerGroup) => (method === "majority" ? g.count : method === "best" ? g.bestScore : g.total)
  let winner: AnswerGroup | undefined
  for (const g of groups) if (winner === undefined || weight(g) > weight(winner)) winner = g
  if (winner === undefined) return {}
  return { ...(winner.best.answer === undefined ? {} : { answer: winner.best.answer }), chosen: winner.best }
}

/**
 * The result of a reference run.
 *
 * @example
 * return finish(kit, population, "weighted", false)
 */
export const finish = (
  kit: Kit,
  population: ReadonlyArray<Candidate>,
  method: Method,
  exhausted: boolean
): ReferenceResult => {
  const { answer, chosen } = choose(kit, population, method)
  return {
    ...(answer === undefined ? {} : { answer }),
    ...(chosen === undefined ? {} : { chosen }),
    population,
    usage: usageOf(kit),
    exhausted
  }
}
