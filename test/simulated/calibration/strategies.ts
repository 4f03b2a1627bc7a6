/**
 * The reference's strategy table (sim2.py `run_seed`), run by mull's runtime: every row of
 * results2.txt's search and revision tables as a graph file and its params at budget B, run on
 * the simulated backend for one problem; a run is right when the chosen candidate's latent answer
 * is the gold. Also the reference's oracle bins (quintiles of pass@1 over 256 samples from the
 * oracle root, ties by problem hash), computed from the model itself.
 *
 * | row      | graph                                    | params at budget B     |
 * | -------- | ---------------------------------------- | ---------------------- |
 * | bon_w    | weighted-best-of-n                       | N = B                  |
 * | maj      | majority                                 | N = B                  |
 * | beam4    | beam-search                              | N = B, M = 4           |
 * | beamsq   | beam-search-sqrt                         | N = B (M = round(√B))  |
 * | look1    | lookahead                                | N = B/2, M = 4, k = 1  |
 * | look3    | lookahead                                | N = B/4, M = 4, k = 3  |
 * | dvts     | dvts                                     | N = B, M = 4           |
 * | rev_T    | test/fixtures/simulated/graphs/revision-grid.json | C = B/T chains of T |
 *
 * Voting groups answers by their exact text (see `exactKey`). The majority row uses mull's rule
 * (ties: the first answer seen); `maj_ref` is the reference's rule (ties: the larger PRM score
 * sum), counted from the weighted row's scored samples — the same samples.
 */
import { Effect } from "effect"
import { lastLatent, type SimulatedBackend } from "../../../plugins/simulated/index.ts"
import { prmScore } from "../../../plugins/simulated/Prm.ts"
import { childStep } from "../../../plugins/simulated/Transition.ts"
import type { World } from "../../../plugins/simulated/World.ts"
import { hash32 } from "../../../src/domain/Hash.ts"
import type { Problem } from "../../../src/domain/Problem.ts"
import type { RunResult } from "../../../src/domain/RunResult.ts"
import { type LoadedGraph, load } from "../../../src/graph/Loader.ts"
import { run } from "../../../src/runtime/Run.ts"
import * as RunEvents from "../../../src/runtime/RunEvents.ts"
import {
  type GenerateRequest,
  type GenerateResult,
  Generator,
  type GeneratorShape
} from "../../../src/services/Generator.ts"
import { AnswerKey, type AnswerKeyShape } from "../../../src/services/Grader.ts"
import { Verifier } from "../../../src/services/Verifier.ts"

/**
 * Answers grouped by their exact text. The simulated backend writes answer j of a problem as one
 * string, so this groups exactly as the reference groups by answer index. (mull's MATH grader
 * would also merge a few structural distractors that it proves equal, e.g. `\$20.90` and
 * `\$18.90 + 2`; and its equivalence checks dominate a vote over 65 distinct answers.)
 */
export const exactKey: AnswerKeyShape = { name: "exact", key: (a) => a, equivalent: (a, b) => a === b }

export const SEARCH_ROWS = ["bon_w", "maj", "beam4", "beamsq", "look1", "look3", "dvts"] as const
export type Row = string

/** One run of the table: the row, the budget, the graph and its params. */
export interface Config {
  readonly row: Row
  readonly budget: number
  readonly graph: string
  readonly params: Readonly<Record<string, number>>
}

const REVISION_GRID = new URL("../../fixtures/simulated/graphs/revision-grid.json", import.meta.url).pathname

/**
 * The configurations of the table at the given budgets (powers of two ≥ 4): the search rows and
 * `rev_T` for every power of two T ≤ B.
 *
 * @example
 * configs([4]).map((c) => c.row) // ["bon_w", "maj", "beam4", …, "rev_T1", "rev_T2", "rev_T4"]
 */
export const configs = (budgets: ReadonlyArray<number>, rows: ReadonlyArray<Row> | undefined = undefined) => {
  const out: Array<Config> = []
  for (const B of budgets) {
    const add = (row: Row, graph: string, params: Record<string, number>) => {
      if (rows === undefined || rows.includes(row)) out.push({ row, budget: B, graph, params })
    }
    add("bon_w", "weighted-best-of-n", { N: B })
    add("maj", "majority", { N: B })
    add("beam4", "beam-search", { N: B, M: 4 })
    add("beamsq", "beam-search-sqrt", { N: B })
    add("look1", "lookahead", { N: Math.floor(B / 2), M: 4, k: 1 })
    add("look3", "lookahead", { N: Math.floor(B / 4), M: 4, k: 3 })
    add("dvts", "dvts", { N: B, M: 4 })
    for (let T = 1; T <= B; T *= 2) add(`rev_T${T}`, REVISION_GRID, { C: B / T, T })
  }
  return out
}

/**
 * A generator that answers a repeated call from memory: within one problem, a call with the same
 * seed, prefix node, context and sampling is the same call (the model is a pure function of them,
 * and continuation i does not depend on n), so the revision rows share their chains (chain c,
 * attempt t has the same seed in every C × T), best-of-N's budgets share their samples (the first
 * n of the largest call), and majority shares best-of-N's. Only wall time changes.
 */
const memoGenerator = (inner: GeneratorShape): GeneratorShape => {
  const memo = new Map<string, GenerateResult>()
  const keyOf = (r: GenerateRequest) => {
    const prefix = r.prefix === undefined ? "" : String(lastLatent(r.prefix)?.hash)
    const context = (r.context ?? []).map((c) => String(lastLatent(c)?.hash)).join(",")
    return `${r.problem.id}|${r.seed}|${r.until}|${r.temperature}|${r.maxTokens}|${prefix}|${context}`
  }
  return {
    ...inner,
    generate: (request) => {
      const key = keyOf(request)
      const hit = memo.get(key)
      if (hit !== undefined && hit.generations.length >= request.n)
        return Effect.succeed({ ...hit, generations: hit.generations.slice(0, request.n) })
      return Effect.tap(inner.generate(request), (r) =>
        Effect.sync(() => {
          memo.set(key, r)
        })
      )
    }
  }
}

/** Whether a run chose the gold (the latent answer of its chosen candidate is 0). */
const right = (result: RunResult): boolean => {
  const l = result.chosen === undefined ? undefined : lastLatent(result.chosen)
  return l !== undefined && l.answer === 0
}

/** The reference's majority (sim2.py `majority_pick`): most votes, ties by the larger score sum, then the smaller index. */
const majorityByReference = (result: RunResult): boolean => {
  const tally = new Map<number, { count: number; weight: number }>()
  for (const c of result.population) {
    const l = lastLatent(c)
    if (l === undefined || !c.done) continue
    const t = tally.get(l.answer) ?? { count: 0, weight: 0 }
    t.count++
    t.weight += c.score ?? 0
    tally.set(l.answer, t)
  }
  const best = [...tally.entries()].sort(
    (a, b) => b[1].count - a[1].count || b[1].weight - a[1].weight || a[0] - b[0]
  )[0]
  return best?.[0] === 0
}

/** Loads the table's graphs once. */
export const loadGraphs = (list: ReadonlyArray<Config>) =>
  Effect.gen(function* () {
    const graphs = new Map<string, LoadedGraph>()
    for (const c of list) if (!graphs.has(c.graph)) graphs.set(c.graph, yield* load(c.graph))
    return graphs
  })

/**
 * Runs every configuration on one problem; `row@B` → 1 (right) or 0. Adds `maj_ref@B` for each
 * `bon_w@B` run.
 */
export const runProblem = (
  backend: SimulatedBackend,
  graphs: ReadonlyMap<string, LoadedGraph>,
  list: ReadonlyArray<Config>,
  problem: Problem,
  runSeed: number
) =>
  Effect.gen(function* () {
    const generator = memoGenerator(backend.generator)
    const out: Record<string, number> = {}
    // largest budgets first: their calls answer the smaller budgets' from memory
    for (const c of [...list].sort((a, b) => b.budget - a.budget)) {
      const graph = graphs.get(c.graph)
      if (graph === undefined) return yield* Effect.die(new Error(`graph ${c.graph} not loaded`))
      const result = yield* run(graph, problem, { params: c.params, seed: runSeed }).pipe(
        Effect.provideService(Generator, generator),
        Effect.provideService(Verifier, backend.verifier),
        Effect.provideService(AnswerKey, exactKey),
        Effect.provide(RunEvents.layerSilent)
      )
      out[`${c.row}@${c.budget}`] = right(result) ? 1 : 0
      if (c.row === "bon_w") out[`maj_ref@${c.budget}`] = majorityByReference(result) ? 1 : 0
    }
    return out
  })

/**
 * The reference's oracle pass@1 of a problem: the fraction of `n` samples from the oracle root
 * (sim2.py `samples(oracle, n)`) that answer the gold. Exact with length jitter 0.
 *
 * @example
 * oraclePass1(world, 256) // 0.7265625
 */
export const oraclePass1 = (world: World, n: number): number => {
  let right = 0
  for (let i = 0; i < n; i++) {
    let h = hash32(world.oracle, i)
    let latent = childStep(world, h, undefined)
    while (latent.depth < latent.length - 1) {
      h = hash32(h, 0)
      latent = childStep(world, h, latent)
    }
    if (latent.answer === 0) right++
  }
  return right / n
}

/**
 * Within-problem AUROC of the PRM's final score, gold against wrong answers, over the first `n`
 * samples of the tree root (results2.txt's "PRM AUROC"); NaN without both classes.
 */
export const treeAuroc = (world: World, n: number): number => {
  const pos: Array<number> = []
  const neg: Array<number> = []
  for (let i = 0; i < n; i++) {
    let h = hash32(world.tree, i)
    let latent = childStep(world, h, undefined)
    while (latent.depth < latent.length - 1) {
      h = hash32(h, 0)
      latent = childStep(world, h, latent)
    }
    ;(latent.answer === 0 ? pos : neg).push(prmScore(world, latent.hash, latent.state))
  }
  if (pos.length === 0 || neg.length === 0) return Number.NaN
  let wins = 0
  for (const p of pos) for (const q of neg) wins += p > q ? 1 : p === q ? 0.5 : 0
  return wins / (pos.length * neg.length)
}

/**
 * Quintile bins of pass@1, bin 1 the easiest, ties broken by the problem hash (sim2.py's oracle bins).
 *
 * @example
 * quintileBins([{ pass1: 0.9, ph: 1 }, …]) // [1, …]
 */
export const quintileBins = (problems: ReadonlyArray<{ readonly pass1: number; readonly ph: number }>) => {
  const order = problems.map((p, i) => ({ ...p, i })).sort((a, b) => b.pass1 - a.pass1 || a.ph - b.ph)
  const bins = new Array<number>(problems.length).fill(0)
  order.forEach((p, r) => {
    bins[p.i] = 1 + Math.floor((r * 5) / problems.length)
  })
  return bins
}
