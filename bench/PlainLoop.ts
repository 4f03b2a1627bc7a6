/**
 * The plain loop: beam search and weighted best-of-N as a user would write them without mull —
 * plain synchronous TypeScript, no Effect, no graph, no ledger — calling the backend's own plain
 * functions (`PlainBackend`): the simulator's pure model (`plugins/simulated/Generate.ts`,
 * `Score.ts`) or recorded answers served from a map (`Recorded.ts`). It makes exactly the calls
 * the graph runtime makes for `graphs/beam-search.json` and `graphs/weighted-best-of-n.json` with
 * no budget (the same seeds, `n`, `until`, temperatures, `max_tokens` caps and prefixes; one
 * verifier batch per score node), so that runtime ÷ plain loop is what the runtime adds to the
 * backend's own work. `bench/overhead.ts` checks both sides call for call and answer for answer on
 * every repetition, and `test/runtime/plain-loop.test.ts` on small cases, so the baseline cannot
 * drift from the runtime unnoticed.
 *
 * The vote groups answers with the answer key's own `key`/`equivalent`/`cells` through `Merger`
 * (`src/runtime/Merge.ts`, a plain class): answer checking is the grader's work, which a plain
 * loop needs as much as the runtime does.
 *
 * @since 0.4.0
 */

import type { Types } from "effect"
import { forKind } from "../plugins/simulated/AnswerKinds.ts"
import { generate as generatePure } from "../plugins/simulated/Generate.ts"
import type { SimulatedBackend } from "../plugins/simulated/index.ts"
import { verifierTokens } from "../plugins/simulated/Prompt.ts"
import { scoreCandidate } from "../plugins/simulated/Score.ts"
import { makeWorld, type World } from "../plugins/simulated/World.ts"
import type { Candidate } from "../src/domain/Candidate.ts"
import { seedOf } from "../src/domain/Hash.ts"
import type { Problem } from "../src/domain/Problem.ts"
import * as Steps from "../src/domain/Steps.ts"
import { Merger } from "../src/runtime/Merge.ts"
import type { GenerateRequest, GenerateResult, Generation } from "../src/services/Generator.ts"
import type { AnswerKeyShape } from "../src/services/Grader.ts"
import type { ScoreRequest, ScoreResult } from "../src/services/Verifier.ts"

/** A backend as plain functions: a request in, its result out (a bad request throws). */
export interface PlainBackend {
  /** the solution cap of one continuation */
  readonly maxTokens: number
  /** the cap of one step (`until: "step"`), if the backend has one */
  readonly stepTokens: number | undefined
  readonly generate: (request: GenerateRequest) => GenerateResult
  readonly score: (request: ScoreRequest) => ScoreResult
}

/**
 * The simulated backend's pure model as plain functions: the same worlds (one per problem,
 * cached), the same answers as its `Generator` and `Verifier` ports, which wrap these functions in
 * a permit and (when configured) a sleep.
 *
 * @example
 * const plain = plainSimulated(await backendOf(LONG))
 * plain.generate(request).generations.length // request.n
 */
export const plainSimulated = (backend: SimulatedBackend): PlainBackend => {
  const config = backend.config
  const worlds = new WeakMap<Problem, World>()
  const world = (problem: Problem): World => {
    let w = worlds.get(problem)
    if (w === undefined) {
      w = makeWorld(config, problem)
      worlds.set(problem, w)
    }
    return w
  }
  return {
    maxTokens: backend.generator.maxTokens,
    stepTokens: backend.generator.stepTokens,
    generate: (request) => {
      const result = generatePure(world(request.problem), request, config.generator.maxTokens)
      if (result._tag === "Failure") throw new Error(`simulated generate: ${result.failure}`)
      return request.problem.answer === undefined ? result.success : forKind(request.problem, result.success)
    },
    score: (request) => {
      const w = world(request.problem)
      const stepScores: Array<ReadonlyArray<number>> = []
      let inputTokens = 0
      for (const c of request.candidates) {
        const s = scoreCandidate(w, c, request.verifier)
        if (s._tag === "Failure") throw new Error(`simulated score: ${s.failure}`)
        stepScores.push(s.success)
        inputTokens += verifierTokens(request.problem, c)
      }
      return { stepScores, inputTokens }
    }
  }
}

/** What a plain run gives: the answer, the candidate standing for it, and its own meters. */
export interface PlainResult {
  readonly answer: string | undefined
  readonly chosen: string | undefined
  readonly population: ReadonlyArray<Candidate>
  readonly calls: number
  readonly sequences: number
  readonly inputTokens: number
  readonly outputTokens: number
  readonly verifierCalls: number
  readonly verifierTokens: number
}

/** The mutable meters of one plain run. */
interface Meters {
  calls: number
  sequences: number
  inputTokens: number
  outputTokens: number
  verifierCalls: number
  verifierTokens: number
}

/** One plain run's context: the problem, the run seed and the backend. */
interface Ctx {
  readonly problem: Problem
  readonly runSeed: bigint
  readonly backend: PlainBackend
  readonly meters: Meters
}

const generate = (ctx: Ctx, request: GenerateRequest): ReadonlyArray<Generation> => {
  const r = ctx.backend.generate(request)
  const m = ctx.meters
  m.calls++
  m.sequences += request.n
  m.inputTokens += r.inputTokens
  for (const g of r.generations) m.outputTokens += g.outputTokens
  return r.generations
}

const request = (
  ctx: Ctx,
  node: string,
  seedKey: string,
  prefix: Candidate | undefined,
  n: number,
  until: "step" | "end",
  temperature: number,
  maxTokens: number
): GenerateRequest => {
  // built by a constructor, not a literal, like the runtime's objects of a round (`grow` below):
  // in the bench's one process, where the runtime's runs alternate with these, V8 came to
  // allocate this literal's objects (and `grow`'s) straight into the old generation — not in a
  // process of its own — and dead ones there kept young steps alive through every scavenge, a
  // cost the runtime's side paid as often as this one (docs/performance.md, "Measuring, sixth pass")
  const r = new Object() as Types.Mutable<GenerateRequest>
  r.problem = ctx.problem
  r.prefix = prefix
  r.n = n
  r.until = until
  r.temperature = temperature
  r.maxTokens = maxTokens
  r.seed = seedOf(ctx.runSeed, ctx.problem.id, seedKey, node)
  return r
}

/** A new candidate from a generation (the runtime's `grow`, no budget: never cut). */
const grow = (id: string, parent: Candidate | undefined, g: Generation, node: string, round: number): Candidate => {
  const c = new Object() as Types.Mutable<Candidate>
  c.id = id
  if (parent !== undefined) c.parentId = parent.id
  c.steps = Steps.appendAll(parent?.steps, g.steps)
  c.done = g.done
  if (g.answer !== undefined) c.answer = g.answer
  c.stepScores = parent?.stepScores ?? []
  c.origin = { node, round }
  return c
}

/** Scores every candidate with steps and no score, in one verifier batch (the PRM's last step). */
const scoreNew = (ctx: Ctx, population: ReadonlyArray<Candidate>): ReadonlyArray<Candidate> => {
  const targets = population.filter((c) => c.score === undefined && c.steps !== undefined)
  if (targets.length === 0) return population
  const r = ctx.backend.score({ problem: ctx.problem, candidates: targets, verifier: "prm" })
  const m = ctx.meters
  m.calls++
  m.verifierCalls += targets.length
  m.verifierTokens += r.inputTokens
  const scored = new Map<string, Candidate>()
  targets.forEach((c, i) => {
    const s = r.stepScores[i] ?? []
    const last = s[s.length - 1]
    if (last !== undefined) scored.set(c.id, { ...c, stepScores: s.slice(0, c.steps?.length ?? 0), score: last })
  })
  return population.map((c) => scored.get(c.id) ?? c)
}

/** The weighted vote over the done answered candidates (every answered one when none is done). */
const weightedVote = (
  answers: AnswerKeyShape,
  population: ReadonlyArray<Candidate>
): { readonly answer: string | undefined; readonly chosen: string | undefined } => {
  const answered = population.filter((c) => c.answer !== undefined)
  const done = answered.filter((c) => c.done)
  const pool = done.length === 0 ? answered : done
  const merger = new Merger(answers, (answer) => ({ answer, total: 0, bestScore: Number.NEGATIVE_INFINITY, best: "" }))
  for (const c of pool) {
    const g = merger.find(c.answer ?? "").group
    const s = c.score ?? 0
    if (g.best === "") g.best = c.id
    g.total += s
    if (s > g.bestScore) {
      g.bestScore = s
      g.best = c.id
    }
  }
  let top: (typeof merger.groups)[number] | undefined
  for (const g of merger.groups) if (top === undefined || g.total > top.total) top = g
  if (top === undefined) return { answer: undefined, chosen: undefined }
  const best = top.best
  const chosen = pool.find((c) => c.id === best)
  return { answer: chosen?.answer ?? top.answer, chosen: best }
}

const result = (ctx: Ctx, answers: AnswerKeyShape, population: ReadonlyArray<Candidate>): PlainResult => ({
  ...weightedVote(answers, population),
  population,
  ...ctx.meters
})

const ctxOf = (problem: Problem, seed: number, backend: PlainBackend): Ctx => ({
  problem,
  runSeed: BigInt(seed),
  backend,
  meters: { calls: 0, sequences: 0, inputTokens: 0, outputTokens: 0, verifierCalls: 0, verifierTokens: 0 }
})

/**
 * Beam search as `graphs/beam-search.json` runs it: N first steps (one call seeded by `s0`); then
 * up to `rounds` rounds while a beam is unfinished — score what is new (one batch), keep the
 * best max(1, ⌊N/M⌋) unfinished beams (ties to the earlier), give each ⌊N / that⌋ next steps (one
 * call per beam, seeded by its id); then complete each unfinished beam (best-scored first), score
 * what is new and vote weighted.
 *
 * @example
 * const r = plainBeamSearch(plainSimulated(backend), mathAnswerKey, problem, 0, { N: 64, M: 4, rounds: 40 })
 */
export const plainBeamSearch = (
  backend: PlainBackend,
  answerKey: AnswerKeyShape,
  problem: Problem,
  seed: number,
  options: { readonly N: number; readonly M: number; readonly rounds: number; readonly temperature?: number }
): PlainResult => {
  const ctx = ctxOf(problem, seed, backend)
  const answers = answerKey.forProblem?.(problem) ?? answerKey
  const { N, M, rounds } = options
  const temperature = options.temperature ?? 0.8
  const width = Math.max(1, Math.floor(N / M))
  const proposals = Math.floor(N / width)
  const stepCap = Math.min(backend.stepTokens ?? backend.maxTokens, backend.maxTokens)
  // a lane never grows past the solution cap
  const laneCap = (cap: number, c: Candidate) => Math.max(0, Math.min(cap, backend.maxTokens - (c.steps?.tokens ?? 0)))

  let beams: ReadonlyArray<Candidate> = []
  if (N > 0) {
    const first = generate(ctx, request(ctx, "root.nodes.0", "s0", undefined, N, "step", temperature, stepCap))
    beams = first.map((g, i) => grow(`s${i}`, undefined, g, "root.nodes.0", 0))
  }
  for (let round = 1; round <= rounds; round++) {
    if (beams.every((c) => c.done)) break
    beams = scoreNew(ctx, beams)
    // the best `width` unfinished beams survive; finished ones wait
    const active = beams.filter((c) => !c.done)
    let kept: ReadonlySet<Candidate>
    if (width >= active.length) kept = new Set(active)
    else {
      const order = active.map((c, i) => [c.score ?? Number.NEGATIVE_INFINITY, i] as const)
      order.sort((a, b) => (b[0] !== a[0] ? (b[0] > a[0] ? 1 : -1) : a[1] - b[1]))
      kept = new Set(order.slice(0, width).map(([, i]) => active[i] as Candidate))
    }
    beams = beams.filter((c) => c.done || kept.has(c))
    const next: Array<Candidate> = []
    for (const c of beams) {
      const cap = c.done ? 0 : laneCap(stepCap, c)
      if (cap === 0) {
        next.push(c)
        continue
      }
      const gens = generate(
        ctx,
        request(ctx, "root.nodes.1.body.nodes.2", c.id, c, proposals, "step", temperature, cap)
      )
      for (let k = 0; k < gens.length; k++)
        next.push(grow(`${c.id}.${k}`, c, gens[k] as Generation, "root.nodes.1.body.nodes.2", round))
    }
    beams = next
  }
  // complete the unfinished beams, best-scored first (the order of the calls; stable on ties)
  const open = beams
    .filter((c) => !c.done && laneCap(backend.maxTokens, c) > 0)
    .sort((a, b) => (b.score ?? Number.NEGATIVE_INFINITY) - (a.score ?? Number.NEGATIVE_INFINITY))
  const completed = new Map<string, Candidate>()
  for (const c of open) {
    const [g] = generate(
      ctx,
      request(ctx, "root.nodes.2", c.id, c, 1, "end", temperature, laneCap(backend.maxTokens, c))
    )
    if (g !== undefined) completed.set(c.id, grow(`${c.id}.0`, c, g, "root.nodes.2", 0))
  }
  beams = scoreNew(
    ctx,
    beams.map((c) => completed.get(c.id) ?? c)
  )
  return result(ctx, answers, beams)
}

/**
 * Weighted best-of-N as `graphs/weighted-best-of-n.json` runs it: one call for N whole solutions
 * (seeded by `s0`), one verifier batch for all of them, the weighted vote.
 *
 * @example
 * const r = plainBestOfN(plainSimulated(backend), mathAnswerKey, problem, 0, { N: 256 })
 */
export const plainBestOfN = (
  backend: PlainBackend,
  answerKey: AnswerKeyShape,
  problem: Problem,
  seed: number,
  options: { readonly N: number; readonly temperature?: number }
): PlainResult => {
  const ctx = ctxOf(problem, seed, backend)
  const answers = answerKey.forProblem?.(problem) ?? answerKey
  const temperature = options.temperature ?? 0.8
  let samples: ReadonlyArray<Candidate> = []
  if (options.N > 0) {
    const gens = generate(
      ctx,
      request(ctx, "root.nodes.0", "s0", undefined, options.N, "end", temperature, backend.maxTokens)
    )
    samples = gens.map((g, i) => grow(`s${i}`, undefined, g, "root.nodes.0", 0))
  }
  return result(ctx, answers, scoreNew(ctx, samples))
}

/** One backend call as a comparable line: what was asked, not when. */
export type CallLine = string

/**
 * A call's line: a generation's seed, n, until, temperature, cap, index and prefix; a verifier
 * batch's verifier and candidates (id and step count, in order).
 *
 * @example
 * callLine({ generate: request }) // "g 123… n=64 step t=0.8 max=512 i=0 prefix=-"
 */
export const callLine = (call: { readonly generate: GenerateRequest } | { readonly score: ScoreRequest }): CallLine => {
  if ("generate" in call) {
    const r = call.generate
    return `g ${r.seed} n=${r.n} ${r.until} t=${r.temperature} max=${r.maxTokens} i=${r.index ?? 0} prefix=${r.prefix?.id ?? "-"}:${r.prefix?.steps?.length ?? 0}`
  }
  const r = call.score
  return `v ${r.verifier} ${r.candidates.map((c) => `${c.id}:${c.steps?.length ?? 0}`).join(",")}`
}

/**
 * Wraps a plain backend so that every call it serves is pushed (as the request object: no work
 * on the timed path) onto `log`.
 *
 * @example
 * const log: Array<LoggedCall> = []
 * plainBeamSearch(logged(plain, log), key, problem, 0, options)
 */
export type LoggedCall = { readonly generate: GenerateRequest } | { readonly score: ScoreRequest }

export const logged = (backend: PlainBackend, log: Array<LoggedCall>): PlainBackend => ({
  ...backend,
  generate: (r) => {
    log.push({ generate: r })
    return backend.generate(r)
  },
  score: (r) => {
    log.push({ score: r })
    return backend.score(r)
  }
})

/**
 * The difference between two call logs as a message, or undefined when they hold the same calls
 * (order aside: the runtime runs a node's calls concurrently).
 *
 * @example
 * sameCalls(runtimeLog, plainLog) // undefined
 */
export const callDifference = (a: ReadonlyArray<LoggedCall>, b: ReadonlyArray<LoggedCall>): string | undefined => {
  const la = a.map(callLine).sort()
  const lb = b.map(callLine).sort()
  if (la.length !== lb.length) return `${la.length} calls against ${lb.length}`
  for (let i = 0; i < la.length; i++)
    if (la[i] !== lb[i]) return `call ${i} differs:\n  ${(la[i] ?? "").slice(0, 300)}\n  ${(lb[i] ?? "").slice(0, 300)}`
  return undefined
}
