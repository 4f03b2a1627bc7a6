/**
 * Reference equivalence (issue 3's acceptance criterion): the plain implementations of
 * `test/reference/` — best-of-N (argmax, majority, weighted), beam search, lookahead and DVTS,
 * written from the paper's procedures without the graph runtime — give the same answer, the same
 * population (ids in order, parents, groups, origins, text, done, answer, score, step scores) and
 * the same usage (every meter but wallMs and usd; FLOPs to 1e-12 relative) as the graph files run
 * by the runtime on the simulated backend, over random (problem, N, M, k, seed) cases of MATH-500.
 *
 * Beyond the criterion's parameters, a case also draws
 *
 * - `rounds` (40, or 1–4 in some cases): simulated beams finish by themselves long before 40 rounds
 *   (within 10 in our samples), so the cap and the final completion of unfinished beams would go
 *   untested;
 * - a *coarse* PRM in some cases (the simulated PRM's scores rounded to quarters, given to both
 *   sides): the simulated scores never tie, so without it the tie rules of prune and of the votes
 *   would go untested;
 * - for lookahead, sampled rollouts (temperature 0.8, a variant of `graphs/lookahead.json`) in
 *   some cases: the simulated backend's greedy steps ignore the seed, so without them the seeding
 *   convention of rollout steps would go untested.
 */
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { assert, beforeAll, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import fc from "fast-check"
import { defaultConfig, make } from "../../plugins/simulated/index.ts"
import { mathAnswerKey } from "../../src/answer/MathGrader.ts"
import { loadMath500 } from "../../src/data/DatasetMath500.ts"
import type { Candidate } from "../../src/domain/Candidate.ts"
import type { Problem } from "../../src/domain/Problem.ts"
import * as Steps from "../../src/domain/Steps.ts"
import type { Usage } from "../../src/domain/Usage.ts"
import { builtinDir, fromJson, type LoadedGraph, load } from "../../src/graph/Loader.ts"
import { run } from "../../src/runtime/Run.ts"
import { layerSilent } from "../../src/runtime/RunEvents.ts"
import { Generator } from "../../src/services/Generator.ts"
import { AnswerKey } from "../../src/services/Grader.ts"
import { Verifier, type VerifierShape } from "../../src/services/Verifier.ts"
import { beamSearch } from "../reference/beamSearch.ts"
import { bestOfN } from "../reference/bestOfN.ts"
import { dvts } from "../reference/dvts.ts"
import type { Ports, ReferenceResult } from "../reference/kit.ts"
import { lookahead } from "../reference/lookahead.ts"

const GRAPHS = [
  "best-of-n",
  "majority",
  "weighted-best-of-n",
  "beam-search",
  "beam-search-sqrt",
  "lookahead",
  "dvts"
] as const
type GraphName = (typeof GRAPHS)[number] | "lookahead-sampled"

/** Which PRM both sides read: the simulated one, or its scores rounded to quarters (many ties). */
type Prm = "exact" | "coarse"

interface World {
  readonly problems: ReadonlyArray<Problem>
  readonly graphs: ReadonlyMap<GraphName, LoadedGraph>
  readonly provide: <A, E>(prm: Prm, effect: Effect.Effect<A, E, Ports>) => Effect.Effect<A, E>
}

const quarter = (x: number) => Math.round(x * 4) / 4

/** The simulated PRM with its scores rounded to multiples of 1/4. */
const coarsen = (verifier: VerifierShape): VerifierShape => ({
  ...verifier,
  score: (request) =>
    Effect.map(verifier.score(request), (r) => ({ ...r, stepScores: r.stepScores.map((s) => s.map(quarter)) }))
})

/** `graphs/lookahead.json` with sampled rollouts (the rollout temperature is the graph's `temperature`). */
const lookaheadSampled = Effect.gen(function* () {
  const text = readFileSync(join(builtinDir, "lookahead.json"), "utf8")
  const greedy = '"lookahead": { "steps": "k", "temperature": 0 }'
  if (!text.includes(greedy)) return yield* Effect.die(new Error("graphs/lookahead.json changed shape"))
  const variant = text
    .replace(greedy, '"lookahead": { "steps": "k", "temperature": "temperature" }')
    .replace('"name": "lookahead"', '"name": "lookahead-sampled"')
  const loaded: LoadedGraph = yield* fromJson(JSON.parse(variant), { cwd: builtinDir })
  return loaded
})

let world: World | undefined

beforeAll(async () => {
  world = await Effect.runPromise(
    Effect.gen(function* () {
      const backend = yield* make(defaultConfig)
      const problems = yield* loadMath500()
      const graphs = new Map<GraphName, LoadedGraph>()
      for (const name of GRAPHS) graphs.set(name, yield* load(name))
      graphs.set("lookahead-sampled", yield* lookaheadSampled)
      const coarse = coarsen(backend.verifier)
      const provide = <A, E>(prm: Prm, effect: Effect.Effect<A, E, Ports>): Effect.Effect<A, E> =>
        effect.pipe(
          Effect.provideService(Generator, backend.generator),
          Effect.provideService(Verifier, prm === "coarse" ? coarse : backend.verifier),
          Effect.provideService(AnswerKey, mathAnswerKey)
        )
      return { problems, graphs, provide }
    })
  )
})

const ready = (): World => {
  if (world === undefined) throw new Error("setup did not run")
  return world
}

/** What must be equal: the answer, the chosen candidate, the population and the usage. */
interface View {
  readonly answer: string | undefined
  readonly chosen: string | undefined
  readonly exhausted: boolean
  readonly population: ReadonlyArray<Record<string, unknown>>
  readonly usage: Omit<Usage, "wallMs" | "usd">
}

const candidateView = (c: Candidate): Record<string, unknown> => ({
  id: c.id,
  parentId: c.parentId,
  group: c.group,
  origin: `${c.origin.node}@${c.origin.round}`,
  done: c.done,
  answer: c.answer,
  score: c.score,
  stepScores: c.stepScores,
  text: Steps.text(c.steps)
})

const viewOf = (r: {
  readonly answer?: string
  readonly chosen?: Candidate
  readonly population: ReadonlyArray<Candidate>
  readonly usage: Usage
  readonly exhausted: boolean
}): View => {
  const { wallMs: _w, usd: _u, ...usage } = r.usage
  return {
    answer: r.answer,
    chosen: r.chosen?.id,
    exhausted: r.exhausted,
    population: r.population.map(candidateView),
    usage
  }
}

/** Asserts equality piece by piece, so that a failure names the first thing that differs. */
const assertSame = (graph: View, reference: View, label: string) => {
  const { flops: gf, ...gu } = graph.usage
  const { flops: rf, ...ru } = reference.usage
  assert.deepStrictEqual(
    graph.population.map((c) => c.id),
    reference.population.map((c) => c.id),
    `${label}: population ids`
  )
  graph.population.forEach((c, i) => {
    assert.deepStrictEqual(c, reference.population[i], `${label}: candidate ${String(c.id)}`)
  })
  assert.deepStrictEqual(gu, ru, `${label}: usage`)
  assert.isTrue(Math.abs(gf - rf) <= 1e-12 * Math.max(1, Math.abs(rf)), `${label}: flops ${gf} vs ${rf}`)
  assert.strictEqual(graph.answer, reference.answer, `${label}: answer`)
  assert.strictEqual(graph.chosen, reference.chosen, `${label}: chosen candidate`)
  assert.strictEqual(graph.exhausted, reference.exhausted, `${label}: exhausted`)
}

type Strategy = "best-of-n" | "majority" | "weighted-best-of-n" | "beam-search" | "lookahead" | "dvts"

interface Case {
  readonly strategy: Strategy
  readonly problem: number
  readonly N: number
  /** beam width: 2, 4, or "sqrt" (M = round(√N), through `graphs/beam-search-sqrt.json`) */
  readonly width: 2 | 4 | "sqrt"
  /** lookahead steps */
  readonly k: number
  /** the run seed */
  readonly seed: number
  /** rounds of the searches (the graphs' default: 40) */
  readonly rounds: number
  readonly prm: Prm
  /** lookahead rollout temperature: 0 (`graphs/lookahead.json`) or 0.8 (the sampled variant) */
  readonly rollout: 0 | 0.8
  /** a `sequences` limit (best-of-N family only) */
  readonly sequences?: number
}

const widthOf = (c: Case): number => (c.width === "sqrt" ? Math.max(1, Math.round(Math.sqrt(c.N))) : c.width)

/** The graph and params a case runs. */
const graphOf = (c: Case): { readonly graph: GraphName; readonly params: Record<string, number> } => {
  switch (c.strategy) {
    case "best-of-n":
    case "majority":
    case "weighted-best-of-n":
      return { graph: c.strategy, params: { N: c.N } }
    case "beam-search":
      return c.width === "sqrt"
        ? { graph: "beam-search-sqrt", params: { N: c.N, rounds: c.rounds } }
        : { graph: "beam-search", params: { N: c.N, M: c.width, rounds: c.rounds } }
    case "lookahead":
      return {
        graph: c.rollout === 0 ? "lookahead" : "lookahead-sampled",
        params: { N: c.N, M: widthOf(c), k: c.k, rounds: c.rounds }
      }
    case "dvts":
      return { graph: "dvts", params: { N: c.N, M: widthOf(c), rounds: c.rounds } }
  }
}

/** The reference run of a case. */
const referenceOf = (c: Case, problem: Problem) => {
  const budget = c.sequences === undefined ? {} : { sequences: c.sequences }
  switch (c.strategy) {
    case "best-of-n":
      return bestOfN(problem, c.seed, { N: c.N, method: "best", ...budget })
    case "majority":
      return bestOfN(problem, c.seed, { N: c.N, method: "majority", ...budget })
    case "weighted-best-of-n":
      return bestOfN(problem, c.seed, { N: c.N, method: "weighted", ...budget })
    case "beam-search":
      return beamSearch(problem, c.seed, {
        N: c.N,
        M: widthOf(c),
        rounds: c.rounds,
        ...(c.width === "sqrt" ? { pathPrefix: "root[beam-search]." } : {})
      })
    case "lookahead":
      return lookahead(problem, c.seed, {
        N: c.N,
        M: widthOf(c),
        k: c.k,
        rounds: c.rounds,
        rolloutTemperature: c.rollout
      })
    case "dvts":
      return dvts(problem, c.seed, { N: c.N, M: widthOf(c), rounds: c.rounds })
  }
}

const label = (c: Case, problem: Problem) => {
  const { graph, params } = graphOf(c)
  const budget = c.sequences === undefined ? "" : ` budget sequences=${c.sequences}`
  return `${graph} ${JSON.stringify(params)} problem #${c.problem} (${problem.id}) seed ${c.seed} ${c.prm} PRM${budget}`
}

/** Runs a case both ways and compares. */
const check = (c: Case): Promise<void> => {
  const w = ready()
  const problem = w.problems[c.problem]
  if (problem === undefined) throw new Error(`no problem #${c.problem}`)
  const { graph, params } = graphOf(c)
  const loaded = w.graphs.get(graph)
  if (loaded === undefined) throw new Error(`graph ${graph} not loaded`)
  return Effect.runPromise(
    w.provide(
      c.prm,
      Effect.gen(function* () {
        const byGraph = yield* run(loaded, problem, {
          params,
          seed: c.seed,
          ...(c.sequences === undefined ? {} : { limits: { sequences: c.sequences } })
        }).pipe(Effect.provide(layerSilent))
        const byReference: ReferenceResult = yield* referenceOf(c, problem)
        assertSame(viewOf(byGraph), viewOf(byReference), label(c, problem))
      })
    )
  )
}

const problemIndex = fc.nat(499)
const seed = fc.integer({ min: 0, max: 2 ** 31 - 1 })

/** Random cases of a strategy (N ≥ M for the searches). */
const cases = (strategy: Strategy, Ns: ReadonlyArray<number> = [1, 2, 4, 8, 16, 32]): fc.Arbitrary<Case> => {
  const search = strategy === "beam-search" || strategy === "lookahead" || strategy === "dvts"
  return fc
    .record({
      strategy: fc.constant(strategy),
      problem: problemIndex,
      N: fc.constantFrom(...Ns),
      width: strategy === "beam-search" ? fc.constantFrom<2 | 4 | "sqrt">(2, 4, "sqrt") : fc.constantFrom<2 | 4>(2, 4),
      k: fc.constantFrom(1, 2, 3),
      seed,
      rounds: search ? fc.oneof(fc.constant(40), fc.integer({ min: 1, max: 4 })) : fc.constant(40),
      prm: strategy === "majority" ? fc.constant<Prm>("exact") : fc.constantFrom<Prm>("exact", "exact", "coarse"),
      rollout: strategy === "lookahead" ? fc.constantFrom<0 | 0.8>(0, 0, 0.8) : fc.constant<0>(0)
    })
    .filter((c) => !search || c.N >= widthOf(c))
}

/** How many random cases per strategy, and fast-check's seed for each. */
const PLAN: ReadonlyArray<readonly [Strategy, number, number]> = [
  ["best-of-n", 50, 101],
  ["majority", 50, 102],
  ["weighted-best-of-n", 50, 103],
  ["beam-search", 60, 104],
  ["lookahead", 50, 105],
  ["dvts", 50, 106]
]

const property = (arbitrary: fc.Arbitrary<Case>, numRuns: number, fcSeed: number) =>
  fc.assert(
    fc.asyncProperty(arbitrary, (c) => check(c)),
    { numRuns, seed: fcSeed, endOnFailure: true }
  )

const TIMEOUT = 300_000

describe("reference equivalence: graph files vs plain implementations on the simulated backend", () => {
  for (const [strategy, numRuns, fcSeed] of PLAN)
    it(
      `${strategy}: ${numRuns} random (problem, N, M, k, seed) cases`,
      () => property(cases(strategy), numRuns, fcSeed),
      TIMEOUT
    )

  it(
    "N = 64: a few cases of every strategy",
    () =>
      property(
        fc
          .constantFrom<Strategy>("best-of-n", "majority", "weighted-best-of-n", "beam-search", "lookahead", "dvts")
          .chain((strategy) => cases(strategy, [64])),
        12,
        107
      ),
    TIMEOUT
  )

  it(
    "best-of-N family under a sequences limit: the budget pays for the first samples, in order",
    () =>
      property(
        fc.record({
          strategy: fc.constantFrom<Strategy>("best-of-n", "majority", "weighted-best-of-n"),
          problem: problemIndex,
          N: fc.constantFrom(4, 8, 16, 32),
          width: fc.constant<4>(4),
          k: fc.constant(1),
          seed,
          rounds: fc.constant(40),
          prm: fc.constantFrom<Prm>("exact", "coarse"),
          rollout: fc.constant<0>(0),
          sequences: fc.integer({ min: 1, max: 40 })
        }),
        16,
        108
      ),
    TIMEOUT
  )
})
