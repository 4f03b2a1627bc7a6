/**
 * The `waves` node: where it stops is a function of the samples in order — never of the wave size
 * or the concurrency — its samples are those of one `sample` call at the same path, what is
 * generated past the stop is paid and dropped, a budget ends it with an answer, and bad documents
 * are refused with the field named.
 */
import { assert, describe, it } from "@effect/vitest"
import { mathAnswerKey } from "../../src/answer/MathGrader.ts"
import type { RunResult } from "../../src/domain/RunResult.ts"
import { makeRunner } from "../../src/Mull.ts"
import * as Stop from "../../src/runtime/Stop.ts"

const runner = makeRunner({ backend: "simulated" })

const PROBLEMS = [
  { id: "w/easy", question: "What is $1+1$?", gold: "2", level: 1 },
  { id: "w/mid", question: "Find $x$ if $3x = 14$.", gold: "\\frac{14}{3}", level: 3 },
  { id: "w/hard", question: "Give $n$.", gold: "7", level: 5 }
]

const doc = (waves: object, select = "majority") => ({
  name: "t",
  description: "t",
  root: {
    type: "sequence",
    nodes: [
      { type: "waves", ...waves },
      { type: "select", method: select }
    ]
  }
})

const majority = (n: number) => ({
  name: "m",
  description: "m",
  root: {
    type: "sequence",
    nodes: [
      { type: "sample", n, until: "end" },
      { type: "select", method: "majority" }
    ]
  }
})

const run = (
  graph: object,
  problem: (typeof PROBLEMS)[number],
  extra: { concurrency?: number; budget?: object } = {}
) => runner.run({ graph, problem, seed: 3, ...extra } as Parameters<typeof runner.run>[0])

const ids = (r: RunResult) => r.population.map((c) => c.id)

describe("waves", () => {
  it("stops where the rule first holds over majority@N's samples, in order", async () => {
    let early = 0
    for (const problem of PROBLEMS) {
      const full = await run(majority(32), problem)
      const rule: Stop.Rule = { _tag: "beta", confidence: 0.9 }
      const t = new Stop.Tally(mathAnswerKey)
      let k = 0
      for (const c of full.population) {
        t.add(c.answer)
        k++
        if (Stop.shouldStop(rule, t, "majority", () => undefined)) break
      }
      const r = await run(doc({ max: 32, stop: { rule: "beta", confidence: 0.9 } }), problem)
      assert.deepStrictEqual(ids(r), ids(full).slice(0, k), problem.id)
      assert.deepStrictEqual(
        r.population.map((c) => c.answer),
        full.population.slice(0, k).map((c) => c.answer)
      )
      assert.strictEqual(r.usage.sequences, k)
      assert.strictEqual(r.usage.calls, k)
      if (k < 32) early++
    }
    assert.isAtLeast(early, 1, "some problem settles before 32 samples")
  })

  it("the answer and the counted samples are the same at any wave size and concurrency; a wave pays past the stop", async () => {
    let early = 0
    for (const problem of PROBLEMS) {
      const base = await run(doc({ max: 24, stop: { rule: "until", when: "vote.count >= 3" } }), problem)
      const k = base.population.length
      if (k < 24) early++
      for (const wave of [2, 5, 24])
        for (const concurrency of [1, 16]) {
          const r = await run(doc({ max: 24, wave, stop: { rule: "until", when: "vote.count >= 3" } }), problem, {
            concurrency
          })
          assert.strictEqual(r.answer, base.answer, `${problem.id} wave ${wave}`)
          assert.deepStrictEqual(ids(r), ids(base))
          // whole waves are paid: the samples after the stop were generated, then dropped
          assert.strictEqual(r.usage.sequences, Math.min(24, Math.ceil(k / wave) * wave))
          assert.strictEqual(r.usage.calls, Math.ceil(Math.min(24, Math.ceil(k / wave) * wave) / wave))
        }
    }
    assert.isAtLeast(early, 1, "some problem has three agreeing samples before 24")
  })

  it("ESC stops at the first unanimous window and counts every sample drawn", async () => {
    const r = await run(doc({ max: 40, stop: { rule: "esc", window: 4 } }), PROBLEMS[0] ?? (undefined as never))
    const n = r.population.length
    assert.strictEqual(n % 4, 0)
    assert.isTrue(n < 40, "an easy problem agrees before 40 samples")
    const last = r.population.slice(n - 4).map((c) => c.answer)
    assert.isTrue(last.every((a) => a !== undefined && mathAnswerKey.equivalent(a, last[0] ?? "")))
    assert.strictEqual(r.usage.sequences, n)
    assert.strictEqual(r.usage.calls, n / 4)
  })

  it("a verifier scores each wave; the weighted vote reads the scores", async () => {
    const r = await run(
      doc(
        { max: 16, wave: 4, verifier: "prm", method: "weighted", stop: { rule: "until", when: "vote.share >= 0.9" } },
        "weighted"
      ),
      PROBLEMS[1] ?? (undefined as never)
    )
    assert.isTrue(r.population.every((c) => c.score !== undefined))
    // every sample drawn was scored (dropped ones too), one verifier call per wave
    assert.strictEqual(r.usage.verifierCalls, r.usage.sequences)
  })

  it("under a budget it stops with an answer from what was paid", async () => {
    for (const problem of PROBLEMS) {
      const r = await run(doc({ max: 64, wave: 3, stop: { rule: "beta", confidence: 0.999 } }), problem, {
        budget: { sequences: 5 }
      })
      assert.isAtMost(r.usage.sequences, 5)
      assert.isAtLeast(r.population.length, 1)
      assert.isDefined(r.answer)
    }
  })

  it("bad stop rules are refused, naming the field", async () => {
    const refused = async (waves: object, select: string, text: string) => {
      const e = await run(doc(waves, select), PROBLEMS[0] ?? (undefined as never)).then(
        () => undefined,
        (err: unknown) => String(err)
      )
      assert.isDefined(e, JSON.stringify(waves))
      assert.include(e ?? "", text)
    }
    await refused({ max: 4, stop: { rule: "until", when: "vote.share" } }, "majority", "root.nodes.0.stop.when")
    await refused({ max: 4, stop: { rule: "until", when: "vote.sure >= 1" } }, "majority", 'unknown name "vote.sure"')
    await refused({ max: 4, stop: { rule: "beta", confidence: 1.5 } }, "majority", "root.nodes.0.stop.confidence")
    await refused({ max: 4, stop: { rule: "esc", window: 0 } }, "majority", "root.nodes.0.stop.window")
    await refused(
      { max: 4, method: "weighted", stop: { rule: "beta" } },
      "weighted",
      "root.nodes.0.method: a weighted vote needs scores"
    )
  })
})
