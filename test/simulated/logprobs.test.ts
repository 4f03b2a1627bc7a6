/**
 * The simulator's token confidences (plugins/simulated/Logprobs.ts): asking for them changes
 * nothing else about a run, and the confidence of a finished sample predicts whether its answer is
 * right as DeepConf reports of real traces — imperfectly, better at the lowest group than on
 * average.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { grade } from "../../src/answer/Equivalence.ts"
import { loadMath500 } from "../../src/data/DatasetMath500.ts"
import { makeRunner } from "../../src/Mull.ts"

const runner = makeRunner({ backend: "simulated" })
const problems = (await Effect.runPromise(loadMath500())).filter((_, i) => i % 10 === 0)

const graph = (logprobs: boolean, n = 16) => ({
  name: "g",
  description: "g",
  root: {
    type: "sequence",
    nodes: [
      { type: "sample", n, until: "end", ...(logprobs ? { logprobs: 5 } : {}) },
      { type: "select", method: "majority" }
    ]
  }
})

/** The probability that a right sample is more confident than a wrong one (ties count half). */
const auroc = (right: ReadonlyArray<number>, wrong: ReadonlyArray<number>): number => {
  let s = 0
  for (const r of right) for (const w of wrong) s += r > w ? 1 : r === w ? 0.5 : 0
  return s / (right.length * wrong.length)
}

describe("simulated token confidences", () => {
  it("asking for them changes nothing else: same samples, answers, tokens and usage", async () => {
    for (const problem of problems.slice(0, 5)) {
      const a = await runner.run({ graph: graph(false), problem, seed: 1 })
      const b = await runner.run({ graph: graph(true), problem, seed: 1 })
      assert.deepStrictEqual(
        b.population.map((c) => [c.id, c.answer, c.done, c.steps?.tokens, c.steps?.length, c.steps?.step.text]),
        a.population.map((c) => [c.id, c.answer, c.done, c.steps?.tokens, c.steps?.length, c.steps?.step.text])
      )
      assert.deepStrictEqual({ ...b.usage, wallMs: 0 }, { ...a.usage, wallMs: 0 })
      assert.strictEqual(b.answer, a.answer)
    }
  })

  const aurocOf = async (stat: string) => {
    const right: Array<number> = []
    const wrong: Array<number> = []
    const doc = {
      name: "c",
      description: "c",
      root: {
        type: "sequence",
        nodes: [
          { type: "sample", n: 16, until: "end", logprobs: 5 },
          { type: "confidence", stat, window: 64, tail: 256 },
          { type: "select", method: "majority" }
        ]
      }
    }
    for (const problem of problems) {
      const r = await runner.run({ graph: doc, problem, seed: 0 })
      for (const c of r.population) {
        if (c.answer === undefined || c.confidence === undefined || problem.gold === undefined) continue
        ;(grade(c.answer, problem.gold) ? right : wrong).push(c.confidence)
      }
    }
    return auroc(right, wrong)
  }

  it("confidence separates right from wrong answers, imperfectly; the lowest group best", async () => {
    const lowest = await aurocOf("lowest-group")
    const mean = await aurocOf("mean")
    const tail = await aurocOf("tail")
    console.log(
      `AUROC over ${problems.length} problems × 16 samples: lowest-group ${lowest.toFixed(3)}, tail ${tail.toFixed(3)}, mean ${mean.toFixed(3)}`
    )
    assert.isAbove(lowest, 0.7)
    assert.isBelow(lowest, 0.95, "too clean to be realistic")
    assert.isAbove(lowest, mean)
  })
})
