/**
 * The `deepconf` node (DeepConf online) on the simulated backend: the threshold comes from the
 * warm-up traces; each later trace is the same sample `sample n` would give, cut where its group
 * confidence first falls below the threshold — charged exactly the tokens up to the cut, dropped
 * from the vote — the same at any concurrency; budgets hold; bad documents are refused.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Confidence from "../../src/domain/Confidence.ts"
import type { RunResult } from "../../src/domain/RunResult.ts"
import { makeRunner } from "../../src/Mull.ts"
import { quantile, threshold } from "../../src/nodes/deepconf.ts"

const runner = makeRunner({ backend: "simulated" })

const PROBLEMS = [
  { id: "d/easy", question: "What is $1+1$?", gold: "2", level: 1 },
  { id: "d/mid", question: "Find $x$ if $3x = 14$.", gold: "\\frac{14}{3}", level: 3 },
  { id: "d/hard", question: "Give $n$.", gold: "7", level: 5 }
]
const N = 24
const WARMUP = 8
const W = 64
const KEEP = 0.3

const online = (extra: object = {}) => ({
  name: "d",
  description: "d",
  root: {
    type: "sequence",
    nodes: [
      { type: "deepconf", n: N, warmup: WARMUP, keep: KEEP, window: W, logprobs: 5, ...extra },
      { type: "select", method: "majority" }
    ]
  }
})
const sampled = {
  name: "s",
  description: "s",
  root: {
    type: "sequence",
    nodes: [
      { type: "sample", n: N, until: "end", logprobs: 5 },
      { type: "select", method: "majority" }
    ]
  }
}
const run = (graph: string | object, problem: (typeof PROBLEMS)[number], extra: object = {}) =>
  runner.run({ graph, problem, seed: 5, ...extra } as Parameters<typeof runner.run>[0])

const ids = (r: RunResult) => r.population.map((c) => c.id)

describe("deepconf (online)", () => {
  it("later traces are sample n's, cut where their group confidence falls below the warm-up threshold, charged to the cut", async () => {
    let stopped = 0
    let finished = 0
    for (const problem of PROBLEMS) {
      const full = await run(sampled, problem)
      const traces = full.population.map((c) => Confidence.trace(c.steps)?.values ?? new Float64Array(0))
      const lowest = full.population
        .slice(0, WARMUP)
        .map((c) => Confidence.candidateStat(c.steps, "lowest-group", { ...Confidence.DEFAULT_OPTIONS, window: W }))
        .filter((x): x is number => x !== undefined)
      const bar = threshold(lowest, KEEP)
      assert.isDefined(bar)
      let tokens = 0
      const kept: Array<string> = []
      full.population.forEach((c, i) => {
        const stop = i < WARMUP ? undefined : Confidence.stopAt(traces[i] ?? new Float64Array(0), W, bar ?? 0)
        if (stop === undefined) {
          kept.push(c.id)
          tokens += c.steps?.tokens ?? 0
          if (i >= WARMUP) finished++
        } else {
          tokens += stop
          stopped++
        }
      })
      const r = await run(online(), problem)
      assert.deepStrictEqual(ids(r), kept, problem.id)
      // a finished later trace is exactly the sample (its answer and tokens)
      for (const c of r.population) {
        const same = full.population.find((x) => x.id === c.id)
        assert.strictEqual(c.answer, same?.answer)
        assert.strictEqual(c.steps?.tokens, same?.steps?.tokens)
      }
      assert.strictEqual(r.usage.outputTokens, tokens, problem.id)
      assert.strictEqual(r.usage.sequences, N)
      assert.strictEqual(r.usage.calls, 1 + N - WARMUP)
      assert.isAtMost(r.usage.outputTokens, full.usage.outputTokens)
    }
    assert.isAbove(stopped, 0, "some later trace is stopped")
    assert.isAbove(finished, 0, "some later trace finishes")
  })

  it("the same at any concurrency (same stops, same charge)", async () => {
    for (const problem of PROBLEMS) {
      const a = await run(online(), problem, { concurrency: 1 })
      const b = await run(online(), problem, { concurrency: 16 })
      assert.deepStrictEqual(ids(a), ids(b))
      assert.deepStrictEqual({ ...a.usage, wallMs: 0 }, { ...b.usage, wallMs: 0 })
    }
  })

  it("a budget is never exceeded: an output-token limit stops the node with what it paid", async () => {
    const problem = PROBLEMS[1] ?? PROBLEMS[0]
    if (problem === undefined) return
    const free = await run(online(), problem)
    const limit = Math.floor(free.usage.outputTokens / 2)
    const r = await run(online(), problem, { budget: { outputTokens: limit } })
    assert.isAtMost(r.usage.outputTokens, limit)
    assert.isTrue(r.exhausted)
  })

  it("the built-in graph runs and answers", async () => {
    const r = await run("deepconf-online", PROBLEMS[0] ?? { id: "x", question: "1+1?", gold: "2" }, {
      params: { N: 32 }
    })
    assert.strictEqual(r.answer, "2")
    assert.strictEqual(r.usage.sequences, 32)
  })

  it("bad fields are refused with their path", async () => {
    const bad = async (extra: object, field: string) => {
      const e = await run(online(extra), PROBLEMS[0] ?? { id: "x", question: "1+1?" }).then(
        () => undefined,
        (err: unknown) => String(err)
      )
      assert.include(e ?? "", field)
    }
    await bad({ keep: 0 }, "root.nodes.0.keep")
    await bad({ keep: 1.5 }, "root.nodes.0.keep")
    await bad({ warmup: 0 }, "root.nodes.0.warmup")
    await bad({ window: 0.5 }, "root.nodes.0.window")
    // one request per later trace, listed before the budget is asked: 2^32 traces exhausted the heap
    await bad({ n: 2 ** 32 + 1 }, "root.nodes.0.n")
    const huge = await run("deepconf-online", PROBLEMS[0] ?? { id: "x", question: "1+1?" }, {
      params: { N: 2 ** 32 + 1 }
    }).then(
      () => "ran",
      (err: unknown) => String(err)
    )
    assert.include(huge, "root.nodes.0.n")
  })

  it("quantile interpolates as numpy's percentile does", () => {
    assert.closeTo(quantile([1, 2, 3, 4], 0.9) ?? 0, 3.7, 1e-12)
    assert.strictEqual(quantile([5], 0.3), 5)
    assert.isUndefined(quantile([], 0.5))
    assert.closeTo(threshold([8, 9, 10, 11, 12], 0.1) ?? 0, 11.6, 1e-12)
  })
})
