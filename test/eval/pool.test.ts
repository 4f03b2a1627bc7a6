/**
 * `--full` statistics (issue 18): one sweep per world seed, pooled — each problem of each world a
 * unit, its fold kept — and best-of-N's budgets extended by doublings.
 */
import { readFileSync } from "node:fs"
import { describe, expect, it } from "@effect/vitest"
import { deriveSweep } from "../../src/cli/paper.ts"
import { analyze, pool, type SweepData } from "../../src/eval/Analysis.ts"
import type { DifficultyRecord, RunRecord } from "../../src/eval/Record.ts"
import { fromRoot } from "../../src/paths.ts"

const run = (sweep: string, problemId: string, budget: number, correct: boolean): RunRecord =>
  ({
    key: `${sweep}/${problemId}/${budget}`,
    sweep,
    strategy: "best-of-N weighted",
    graph: "weighted-best-of-n",
    params: { N: budget },
    budget,
    seed: 0,
    problemId,
    correct,
    exhausted: false,
    usage: {
      calls: 1,
      sequences: budget,
      inputTokens: 0,
      outputTokens: 100 * budget,
      verifierCalls: 1,
      verifierTokens: 0
    },
    backendUsage: {
      calls: 1,
      sequences: budget,
      inputTokens: 0,
      outputTokens: 100 * budget,
      verifierCalls: 1,
      verifierTokens: 0
    },
    candidates: budget,
    done: budget,
    correctCandidates: correct ? 1 : 0
  }) as unknown as RunRecord
const difficulty = (sweep: string, problemId: string, pass1: number): DifficultyRecord => ({
  sweep,
  problemId,
  samples: 8,
  seed: 0,
  pass1,
  meanScore: pass1
})
const world = (sweep: string, correct: (i: number) => boolean): SweepData => {
  const ids = ["p0", "p1", "p2", "p3", "p4", "p5", "p6", "p7", "p8", "p9"]
  return {
    sweep,
    runs: ids.flatMap((id, i) => [1, 2].map((b) => run(sweep, id, b, correct(i)))),
    difficulties: ids.map((id, i) => difficulty(sweep, id, 1 - i / 10)),
    large: [],
    order: new Map(ids.map((id, i) => [id, i] as const)),
    meta: {}
  }
}

describe("pooling world seeds", () => {
  it("makes each problem of each world its own unit, keeps its fold, and averages over all of them", () => {
    const pooled = pool([world("w-a", (i) => i < 2), world("w-b", (i) => i < 6)])
    expect(pooled.sweep).toBe("w-a+w-b")
    expect(new Set(pooled.runs.map((r) => r.problemId)).size).toBe(20)
    expect(pooled.order?.get("w1/p3")).toBe(1_000_003)
    // fold = position mod 2 is kept
    expect((pooled.order?.get("w1/p3") ?? 0) % 2).toBe(3 % 2)
    const a = analyze(pooled, { resamples: 0 })
    const at1 = a.overall.find((p) => p.budget === 1)
    expect(at1?.accuracy).toBeCloseTo((2 + 6) / 20, 9)
    expect(a.oracle.bins.size).toBe(20)
    // one sweep pools to itself
    const one = world("solo", () => true)
    expect(pool([one])).toBe(one)
  })

  it("derives a sweep per world seed: both backends seeded, best-of-N doubled up to --bon-max", () => {
    const paper = JSON.parse(readFileSync(fromRoot("sweeps", "paper.json"), "utf8")) as Record<string, unknown>
    const d = deriveSweep(paper, 2, 4096) as {
      backend: { config: { worldSeed: number } }
      large: { config: { worldSeed: number; accuracy: { a: number } } }
      strategies: ReadonlyArray<{ graph: string; budgets?: ReadonlyArray<number> }>
    }
    expect(d.backend.config.worldSeed).toBe(2)
    expect(d.large.config.worldSeed).toBe(2)
    expect(d.large.config.accuracy.a).toBe(4.3)
    const bon = d.strategies.find((s) => s.graph === "weighted-best-of-n")
    expect(bon?.budgets?.slice(-3)).toEqual([1024, 2048, 4096])
    // other strategies are as written
    expect(d.strategies.filter((s) => s.graph !== "weighted-best-of-n")).toEqual(
      (paper.strategies as ReadonlyArray<{ graph: string }>).filter((s) => s.graph !== "weighted-best-of-n")
    )
    // nothing asked, nothing changed
    expect(deriveSweep(paper, undefined, undefined).strategies).toEqual(paper.strategies)
  })
})
