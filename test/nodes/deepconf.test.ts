/**
 * The `deepconf` node (DeepConf online) on the simulated backend: the threshold comes from the
 * warm-up traces; each later trace is the same sample `sample n` would give, cut where its group
 * confidence first falls below the threshold — charged exactly the tokens up to the cut, dropped
 * from the vote — the same at any concurrency; budgets hold; bad documents are refused.
 */
import { assert, describe, it } from "@effect/vitest"
import { mathAnswerKey } from "../../src/answer/MathGrader.ts"
import * as Confidence from "../../src/domain/Confidence.ts"
import type { RunResult } from "../../src/domain/RunResult.ts"
import { makeRunner } from "../../src/Mull.ts"
import { quantile, settled, threshold } from "../../src/nodes/deepconf.ts"
import * as Stop from "../../src/runtime/Stop.ts"

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
    assert.isAtMost(r.usage.sequences, 32)
    // the consensus threshold is wired to tau (0.95 by default, the paper's): at 0.5 the easy
    // problem's 16 warm-up traces already settle the vote, so no later trace starts
    const settledEarly = await run("deepconf-online", PROBLEMS[0] ?? { id: "x", question: "1+1?", gold: "2" }, {
      params: { N: 32, tau: 0.5 }
    })
    assert.strictEqual(settledEarly.usage.sequences, 16)
    assert.strictEqual(settledEarly.answer, "2")
    const all = await run("deepconf-online", PROBLEMS[0] ?? { id: "x", question: "1+1?", gold: "2" }, {
      params: { N: 32, tau: 1.5 }
    }).then(
      () => "ran",
      (err: unknown) => String(err)
    )
    assert.include(all, "root.nodes.0.consensus")
  })

  it("a window longer than any trace never stops one, however large (1e308 was a RangeError in the simulator)", async () => {
    const problem = PROBLEMS[1] ?? { id: "x", question: "1+1?", gold: "2" }
    const huge = await run(online({ window: 1e308 }), problem)
    const long = await run(online({ window: 1_000_000 }), problem)
    assert.deepStrictEqual(ids(huge), ids(long))
    assert.deepStrictEqual(huge.usage, { ...long.usage, wallMs: huge.usage.wallMs })
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
    await bad({ consensus: 0 }, "root.nodes.0.consensus")
    await bad({ consensus: 1.01 }, "root.nodes.0.consensus")
    await bad({ consensus: -0.5 }, "root.nodes.0.consensus")
    await bad({ consensus: 0.9, wave: 0 }, "root.nodes.0.wave")
    await bad({ consensus: 0.9, wave: 2.5 }, "root.nodes.0.wave")
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

  describe("consensus (adaptive sampling)", () => {
    const opts = { ...Confidence.DEFAULT_OPTIONS, window: W }
    /**
     * The reference, from `sample n`'s traces: the threshold from the warm-up, each later trace
     * stopped or finished, and the first trace k (warm-up counted as one decision point) after
     * which the lowest-group-weighted vote gives the leader a share ≥ τ.
     */
    const expected = (full: RunResult, tau: number) => {
      const lowest = full.population
        .slice(0, WARMUP)
        .map((c) => Confidence.candidateStat(c.steps, "lowest-group", opts))
        .filter((x): x is number => x !== undefined)
      const bar = threshold(lowest, KEEP) ?? 0
      const tally = new Stop.Tally(mathAnswerKey)
      const kept: Array<string> = []
      let launched = WARMUP
      let tokens = 0
      for (const [i, c] of full.population.entries()) {
        if (i >= WARMUP) {
          if (settled(tally, tau)) break
          launched++
        }
        const values = Confidence.trace(c.steps)?.values ?? new Float64Array(0)
        const stop = i < WARMUP ? undefined : Confidence.stopAt(values, W, bar)
        if (stop === undefined) {
          kept.push(c.id)
          tokens += c.steps?.tokens ?? 0
          tally.add(c.answer, Confidence.candidateStat(c.steps, "lowest-group", opts) ?? 0)
        } else {
          tokens += stop
          tally.add(undefined)
        }
      }
      return { kept, launched, tokens }
    }
    const TAUS = [0.6, 0.8, 0.95, 1]

    it("stops launching traces once the confidence-weighted vote's leading share reaches τ, decided trace by trace in index order", async () => {
      const between: Array<string> = []
      for (const problem of PROBLEMS)
        for (const tau of TAUS) {
          const full = await run(sampled, problem)
          const want = expected(full, tau)
          const r = await run(online({ consensus: tau }), problem)
          const label = `${problem.id} τ=${tau}`
          assert.deepStrictEqual(ids(r), want.kept, label)
          assert.strictEqual(r.usage.sequences, want.launched, label)
          assert.strictEqual(r.usage.calls, 1 + want.launched - WARMUP, label)
          assert.strictEqual(r.usage.outputTokens, want.tokens, label)
          if (want.launched > WARMUP && want.launched < N) between.push(label)
        }
      // the rule stops some runs after the warm-up and before the budget (so it is really read per trace)
      assert.isAbove(between.length, 0)
      // τ = 1 on the hard problem never settles: every trace is launched, as without consensus
      const hard = PROBLEMS[2] ?? PROBLEMS[0]
      if (hard === undefined) return
      const all = await run(online(), hard)
      const strict = await run(online({ consensus: 1 }), hard)
      assert.deepStrictEqual(ids(strict), ids(all))
    })

    it("the same answer and counted traces at any wave and any concurrency; a wave pays at most wave − 1 traces past the stop", async () => {
      for (const problem of PROBLEMS)
        for (const tau of [0.8, 0.95]) {
          const one = await run(online({ consensus: tau }), problem, { concurrency: 1 })
          const many = await run(online({ consensus: tau }), problem, { concurrency: 64 })
          assert.deepStrictEqual(ids(one), ids(many))
          assert.deepStrictEqual({ ...one.usage, wallMs: 0 }, { ...many.usage, wallMs: 0 })
          for (const wave of [3, 16]) {
            const a = await run(online({ consensus: tau, wave }), problem, { concurrency: 1 })
            const b = await run(online({ consensus: tau, wave }), problem, { concurrency: 64 })
            assert.deepStrictEqual(ids(a), ids(one), `${problem.id} τ=${tau} wave=${wave}`)
            assert.strictEqual(a.answer, one.answer)
            assert.deepStrictEqual(ids(b), ids(one))
            assert.isAtLeast(a.usage.sequences, one.usage.sequences)
            assert.isAtMost(a.usage.sequences, Math.min(N, one.usage.sequences + wave - 1))
          }
        }
    })

    it("a budget is never exceeded with consensus", async () => {
      const problem = PROBLEMS[2] ?? PROBLEMS[0]
      if (problem === undefined) return
      const free = await run(online({ consensus: 0.95, wave: 4 }), problem)
      const limit = Math.floor(free.usage.outputTokens / 2)
      const r = await run(online({ consensus: 0.95, wave: 4 }), problem, { budget: { outputTokens: limit } })
      assert.isAtMost(r.usage.outputTokens, limit)
      assert.isTrue(r.exhausted)
    })

    it("settled reads the weighted share and never settles on an empty vote", () => {
      const t = new Stop.Tally(mathAnswerKey)
      assert.isFalse(settled(t, 0.5))
      t.add(undefined)
      assert.isFalse(settled(t, 0.5))
      t.add("2", 15)
      assert.isTrue(settled(t, 0.95))
      t.add("3", 1)
      // 15 / 16 = 0.9375
      assert.isFalse(settled(t, 0.95))
      assert.isTrue(settled(t, 0.9375))
      const zero = new Stop.Tally(mathAnswerKey)
      zero.add("2", 0)
      assert.isFalse(settled(zero, 0.5))
    })
  })
})
