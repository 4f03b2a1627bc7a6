/**
 * `--full` statistics (issue 18): one sweep per world seed, pooled — each problem of each world a
 * unit, its fold kept — and best-of-N's budgets extended by doublings.
 */
import { readFileSync } from "node:fs"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { deriveSweep } from "../../src/cli/paper.ts"
import { analyze, pool, type SweepData } from "../../src/eval/Analysis.ts"
import { oracleBins, quantileBins, quantileBinsByWorld } from "../../src/eval/Bins.ts"
import type { DifficultyRecord, RunRecord } from "../../src/eval/Record.ts"
import { binRule, build } from "../../src/eval/Report.ts"
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
const world = (
  sweep: string,
  correct: (i: number) => boolean,
  pass1: (i: number) => number = (i) => 1 - i / 10
): SweepData => {
  const ids = ["p0", "p1", "p2", "p3", "p4", "p5", "p6", "p7", "p8", "p9"]
  return {
    sweep,
    runs: ids.flatMap((id, i) => [1, 2].map((b) => run(sweep, id, b, correct(i)))),
    difficulties: ids.map((id, i) => difficulty(sweep, id, pass1(i))),
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
    // the description says what this run changed (the file's own speaks of every 2nd problem)
    expect((d as { description?: string }).description).toMatch(
      /— as run by `mull paper`: world seed 2; best-of-N up to N = 4096$/
    )
    const full = deriveSweep(paper, 0, 4096, "every problem (--every 1)") as { description: string }
    expect(full.description).toContain(
      "as run by `mull paper`: every problem (--every 1); world seed 0; best-of-N up to N = 4096"
    )
    // nothing asked, nothing changed
    expect(deriveSweep(paper, undefined, undefined).strategies).toEqual(paper.strategies)
    expect(deriveSweep(paper, undefined, undefined).description).toBe(paper.description)
  })

  it("cuts oracle bins within each world, as sim2.py bins each seed, and pools the units with their world's bins", () => {
    // an easy world and a hard one: pooled quintiles would put the easy world in bins 1–3 only
    const easy = world(
      "w-easy",
      (i) => i < 8,
      (i) => 0.95 - i / 200
    )
    const hard = world(
      "w-hard",
      (i) => i < 1,
      (i) => 0.1 - i / 200
    )
    const pooled = pool([easy, hard])
    expect(pooled.worlds?.get("w1/p3")).toEqual({ world: 1, id: "p3" })
    const a = analyze(pooled, { resamples: 0 })
    expect(a.oracle.worlds).toBe(2)
    expect(a.oracle.sizes).toEqual([4, 4, 4, 4, 4])
    // each world is binned exactly as its own one-world analysis bins it
    for (const [i, w] of [easy, hard].entries()) {
      const alone = analyze(w, { resamples: 0 }).oracle
      expect(alone.worlds).toBe(1)
      for (const [id, bin] of alone.bins) expect(a.oracle.bins.get(`w${i}/${id}`)).toBe(bin)
    }
    // not the pooled quintiles: every easy problem would be in bins 1–3 there
    const pooledQuintiles = quantileBins([...a.oracle.values], 5).bins
    expect([...pooledQuintiles].filter(([id]) => id.startsWith("w0/")).every(([, b]) => b <= 3)).toBe(true)
    expect(a.oracle.bins.get("w0/p9")).toBe(5)
    // per-bin accuracy pools both worlds' units of that bin: bin 1 = easy p0, p1 (right) + hard p0 (right), p1 (wrong)
    expect(a.byOracleBin.find((p) => p.bin === 1 && p.budget === 1)?.accuracy).toBeCloseTo((2 + 1) / 4, 9)
    // predicted bins stay pooled quintiles (one set of route thresholds)
    expect(a.predicted.worlds).toBeUndefined()
    expect([...a.predicted.bins].filter(([id]) => id.startsWith("w0/")).every(([, b]) => b <= 3)).toBe(true)
    // the Method section says which rule was used
    expect(binRule(a)).toContain("cut within each world")
    expect(binRule(analyze(easy, { resamples: 0 }))).not.toContain("world")
  })

  it("breaks ties within a world by the problem's own id, so a world bins as it would alone", () => {
    const ids = Array.from({ length: 23 }, (_, i) => `q${i}`)
    const values = ids.map((id) => [id, 0.5] as const) // all tied: the hash decides
    const alone = quantileBins(values, 5).bins
    const worlds = new Map(ids.flatMap((id) => [0, 1].map((w) => [`w${w}/${id}`, { world: w, id }] as const)))
    const both = quantileBinsByWorld(
      ids.flatMap((id) => [0, 1].map((w) => [`w${w}/${id}`, 0.5] as const)),
      5,
      worlds
    )
    for (const id of ids) for (const w of [0, 1]) expect(both.get(`w${w}/${id}`)).toBe(alone.get(id))
    expect(() => quantileBinsByWorld([], 0, worlds)).toThrow(RangeError)
    // oracleBins without worlds is unchanged
    expect(oracleBins(values.map(([id, v]) => difficulty("s", id, v))).worlds).toBe(1)
  })
})

describe("a pooled report's setup", () => {
  it("shows the first sweep's configuration and says what each other sweep changes in it", async () => {
    const seeded = (name: string, seed: number): SweepData => ({
      ...world(name, (i) => i < 5),
      meta: {
        backend: JSON.stringify("simulated"),
        backendConfig: JSON.stringify({ worldSeed: seed }),
        spec: JSON.stringify({ name, backend: { name: "simulated", config: { worldSeed: seed } } })
      }
    })
    const pooled = pool([seeded("full-w0", 0), seeded("full-w1", 1), seeded("full-w2", 2)])
    const report = await Effect.runPromise(build(analyze(pooled, { resamples: 0 }), { generatedAt: "2026-12-06" }))
    const md = report.markdown
    expect(md).toContain("| pooled sweeps | 3 (")
    expect(md).toContain("Backend configuration (simulator knobs) (full-w0, the first of 3 pooled sweeps):")
    expect(md).toContain("full-w1: `worldSeed` 1; full-w2: `worldSeed` 2")
    expect(md).toContain('full-w1: `name` "full-w1", `backend.config.worldSeed` 1')
    // one sweep: no pooling rows
    const alone = await Effect.runPromise(build(analyze(seeded("solo", 0), { resamples: 0 }), { generatedAt: "x" }))
    expect(alone.markdown).not.toContain("pooled sweeps")
  })
})
