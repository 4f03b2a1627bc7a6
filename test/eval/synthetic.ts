/**
 * Synthetic run and difficulty records for the analysis tests: hand-made records where the right
 * answer is known, and a small seeded "sweep" with three strategies whose strengths differ by
 * difficulty (best-of-N saturates, beam search helps hard problems and over-optimises easy ones,
 * revisions help the middle).
 */
import { hash32, hashString32, uniform } from "../../src/domain/Hash.ts"
import * as Usage from "../../src/domain/Usage.ts"
import type { DifficultyRecord, RunRecord } from "../../src/eval/Record.ts"

export const GRAPH_PARAMS: Readonly<Record<string, (n: number) => Record<string, number>>> = {
  "weighted-best-of-n": (n) => ({ N: n, temperature: 0.8 }),
  "beam-search": (n) => ({ N: n, M: 4, rounds: 40, temperature: 0.8 }),
  "sequential-revisions": (n) => ({ N: n, context: 4, temperature: 0.8 }),
  majority: (n) => ({ N: n, temperature: 0.8 })
}

/** One run record with sensible defaults. */
export const run = (r: {
  readonly strategy: string
  readonly graph?: string
  readonly budget: number
  readonly problemId: string
  readonly correct: boolean
  readonly seed?: number
  readonly sweep?: string
  readonly outputTokens?: number
  readonly done?: number
  readonly correctCandidates?: number
}): RunRecord => {
  const graph = r.graph ?? r.strategy
  const seed = r.seed ?? 0
  const tokens = r.outputTokens ?? 300 * r.budget
  return {
    key: `${r.strategy}|${r.budget}|${seed}|${r.problemId}`,
    sweep: r.sweep ?? "main",
    strategy: r.strategy,
    graph,
    params: GRAPH_PARAMS[graph]?.(r.budget) ?? { N: r.budget },
    budget: r.budget,
    seed,
    problemId: r.problemId,
    correct: r.correct,
    exhausted: false,
    usage: Usage.make({ calls: 2, sequences: r.budget, outputTokens: tokens, flops: 2 * 1.5e9 * tokens }),
    backendUsage: Usage.make({ calls: 2, sequences: r.budget, outputTokens: tokens, flops: 2 * 1.5e9 * tokens }),
    candidates: r.budget,
    done: r.done ?? r.budget,
    correctCandidates: r.correctCandidates ?? (r.correct ? 1 : 0)
  }
}

/** One difficulty record. */
export const difficulty = (
  problemId: string,
  pass1: number,
  meanScore = pass1,
  sweep = "main",
  samples = 16
): DifficultyRecord => ({ sweep, problemId, samples, seed: 0, pass1, meanScore })

export interface Sweep {
  readonly runs: ReadonlyArray<RunRecord>
  readonly difficulties: ReadonlyArray<DifficultyRecord>
  readonly large: ReadonlyArray<DifficultyRecord>
}

const clip = (x: number) => Math.min(1, Math.max(0, x))

/**
 * A seeded sweep: `problems` problems with pass@1 s spread over [0, 1), three strategies at
 * budgets 1..64 (powers of 2, beam search and revisions from 4), `seeds` seeds.
 */
export const sweep = (
  options: { readonly problems?: number; readonly seeds?: number; readonly name?: string } = {}
): Sweep => {
  const n = options.problems ?? 100
  const seeds = options.seeds ?? 2
  const name = options.name ?? "main"
  const runs: Array<RunRecord> = []
  const difficulties: Array<DifficultyRecord> = []
  const large: Array<DifficultyRecord> = []
  for (let i = 0; i < n; i++) {
    const id = `test/p${i}.json`
    const h = hashString32(id)
    const s = clip(1 - (i + uniform(h, 1)) / n) ** 1.5 // pass@1, from ~1 down to ~0
    const score = clip(0.2 + 0.6 * s + 0.15 * (uniform(h, 2) - 0.5))
    difficulties.push(difficulty(id, s, score, name))
    large.push(difficulty(id, clip(s + 0.25 * Math.sqrt(s * (1 - s)) + 0.05), score, `${name}/large`))
    for (const budget of [1, 2, 4, 8, 16, 32, 64]) {
      const l = Math.log2(budget)
      const p: Record<string, number> = {
        "weighted-best-of-n": clip(1 - (1 - s) ** (1 + 0.6 * l) - (s < 0.05 ? 0 : 0)),
        ...(budget >= 4
          ? {
              "beam-search M=4": clip(s > 0.7 ? s - 0.03 * l : s + (0.12 + 0.02 * l) * (1 - s) * (s > 0.02 ? 1 : 0.3)),
              "sequential-revisions": clip(1 - (1 - s) ** (1 + 0.5 * l) + (s > 0.2 && s < 0.7 ? 0.1 : 0))
            }
          : {})
      }
      for (const [strategy, q] of Object.entries(p)) {
        const graph = strategy.startsWith("beam") ? "beam-search" : strategy
        for (let seed = 0; seed < seeds; seed++) {
          const u = uniform(hash32(h, seed * 1000 + budget), hashString32(strategy))
          const correct = u < q
          runs.push(
            run({
              strategy,
              graph,
              budget,
              problemId: id,
              seed,
              sweep: name,
              correct,
              outputTokens: Math.round(
                budget * (graph === "beam-search" ? 220 : 310) * (1 + 0.1 * uniform(h, seed + 7))
              ),
              correctCandidates: correct ? Math.max(1, Math.round(q * budget)) : Math.round(q * budget * 0.5)
            })
          )
        }
      }
    }
  }
  return { runs, difficulties, large }
}
