/**
 * Stopping rules on the real Qwen2.5-Math pool (replay, 8 recorded samples per problem, all 50
 * problems): ESC (window 4) and adaptive-consistency (Beta, c = 0.95) give majority@8's answer on
 * every problem — majority over the same sample order the rules read — with the samples saved
 * counted exactly, and the same figures on a second run (reproducible).
 */
import { Effect } from "effect"
import { afterAll, assert, describe, it } from "vitest"
import { registry } from "../../src/backends/Registry.ts"
import { loadProblems } from "../../src/eval/Problems.ts"
import { makeRunner } from "../../src/Mull.ts"

const runner = makeRunner({ backend: "replay" })
afterAll(() => runner.dispose())

const waves = (stop: object) => ({
  name: "waves",
  description: "a stopping rule over the pool's samples",
  root: {
    type: "sequence",
    nodes: [
      { type: "waves", max: 8, stop },
      { type: "select", method: "majority" }
    ]
  }
})

const figures = async (graph: string | object, params?: Record<string, number>) => {
  const problems = await Effect.runPromise(loadProblems({ name: "qwen-pool" }, { registry }))
  const out: Array<{ answer: string | undefined; samples: number }> = []
  for (const problem of problems) {
    const r = await runner.run({ graph, problem, seed: 0, ...(params === undefined ? {} : { params }) })
    out.push({ answer: r.answer, samples: r.usage.sequences })
  }
  return out
}

describe("stopping rules on the Qwen2.5-Math pool (replay)", () => {
  it("ESC and adaptive-consistency keep maj@8's answers and save samples, exactly and reproducibly", async () => {
    // majority@8 over the order the rules read (a prefix of the pool's seeded permutation)
    const majority = await figures(waves({ rule: "until", when: "vote.samples >= 8" }))
    assert.strictEqual(majority.length, 50)
    assert.isTrue(majority.every((m) => m.samples === 8))
    const esc = await figures("esc", { N: 8 })
    const ac = await figures("adaptive-consistency", { N: 8 })
    for (const [label, rule] of [
      ["esc", esc],
      ["adaptive-consistency", ac]
    ] as const) {
      rule.forEach((r, i) => {
        assert.strictEqual(r.answer, majority[i]?.answer, `${label}, problem ${i}`)
      })
    }
    const total = (xs: ReadonlyArray<{ samples: number }>) => xs.reduce((a, x) => a + x.samples, 0)
    // 400 samples for maj@8; the rules stop at 212 (4.24 per problem: 47% saved)
    assert.strictEqual(total(esc), 212)
    assert.strictEqual(total(ac), 212)
    // reproducible: the same samples on a second run
    assert.deepStrictEqual(await figures("esc", { N: 8 }), esc)
  }, 120_000)
})
