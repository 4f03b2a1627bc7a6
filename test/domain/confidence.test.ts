/** Confidence statistics of token log-probabilities (domain/Confidence.ts), and the `confidence` node. */
import { assert, describe, it } from "@effect/vitest"
import { mathAnswerKey } from "../../src/answer/MathGrader.ts"
import * as Confidence from "../../src/domain/Confidence.ts"
import * as Steps from "../../src/domain/Steps.ts"
import { makeRunner } from "../../src/Mull.ts"
import { vote } from "../../src/runtime/Vote.ts"

const stepsOf = (...cs: ReadonlyArray<Confidence.TokenConfidence | undefined>): Steps.Steps | undefined =>
  Steps.appendAll(
    undefined,
    cs.map((c) => ({
      text: "x",
      tokens: c === undefined ? 1 : c.counts.reduce((a, b) => a + b, 0),
      ...(c === undefined ? {} : { confidence: c })
    }))
  )

describe("confidence statistics", () => {
  it("token confidence: −mean of the top log-probabilities", () => {
    assert.closeTo(Confidence.tokenConfidence([-0.01, -5, -7]), 12.01 / 3, 1e-12)
    assert.strictEqual(Confidence.tokenConfidence([]), 0)
  })

  it("groups slide a window; statistics read the whole trace, runs expanded", () => {
    assert.deepStrictEqual([...Confidence.groups(Float64Array.of(1, 2, 3), 2)], [1.5, 2.5])
    assert.deepStrictEqual([...Confidence.groups(Float64Array.of(1, 2, 3), 10)], [2])
    const steps = stepsOf(
      { counts: [2, 1], values: [5, 1], logprob: -0.6 },
      { counts: [3], values: [4], logprob: -0.3 }
    )
    const t = Confidence.trace(steps)
    assert.deepStrictEqual([...(t?.values ?? [])], [5, 5, 1, 4, 4, 4])
    const o = { window: 2, tail: 2, bottom: 0.5 }
    assert.strictEqual(Confidence.candidateStat(steps, "lowest-group", o), 2.5)
    assert.strictEqual(Confidence.candidateStat(steps, "tail", o), 4)
    assert.closeTo(Confidence.candidateStat(steps, "mean", o) ?? 0, 23 / 6, 1e-12)
    assert.closeTo(Confidence.candidateStat(steps, "mean-logprob", o) ?? 0, -0.9 / 6, 1e-12)
    // groups [5, 3, 2.5, 4, 4]: the lowest half (3 of 5) is 2.5, 3, 4
    assert.closeTo(Confidence.candidateStat(steps, "bottom", o) ?? 0, 9.5 / 3, 1e-12)
  })

  it("a step without confidences leaves the candidate unrated", () => {
    assert.isUndefined(Confidence.candidateStat(stepsOf({ counts: [1], values: [3], logprob: 0 }, undefined), "mean"))
  })

  it("the streaming monitor agrees with the batch groups; stopAt finds the first low window", () => {
    const values = Float64Array.of(5, 4, 1, 1, 6, 2)
    const m = new Confidence.GroupMonitor(2)
    const streamed = [...values].map((v) => m.push(v)).filter((g) => g !== undefined)
    assert.deepStrictEqual(streamed, [...Confidence.groups(values, 2)])
    assert.strictEqual(Confidence.stopAt(values, 2, 2), 4)
    assert.isUndefined(Confidence.stopAt(values, 2, 0.5))
  })
})

describe("the confidence node", () => {
  const runner = makeRunner({ backend: "simulated" })
  const problem = { id: "c/mid", question: "Find $x$ if $3x = 14$.", gold: "\\frac{14}{3}", level: 3 }

  it("DeepConf offline keeps the most confident η and votes by confidence", async () => {
    const all = await runner.run({ graph: "deepconf-offline", problem, params: { N: 20, eta: 1 }, seed: 4 })
    assert.strictEqual(all.population.length, 20)
    assert.isTrue(
      all.population.every(
        (c) => c.confidence !== undefined && c.score === (c.confidence ?? 0) / (1 + (c.confidence ?? 0))
      )
    )
    const some = await runner.run({ graph: "deepconf-offline", problem, params: { N: 20, eta: 0.25 }, seed: 4 })
    assert.strictEqual(some.population.length, 5)
    const top5 = [...all.population].sort((a, b) => (b.confidence ?? 0) - (a.confidence ?? 0)).slice(0, 5)
    assert.deepStrictEqual(some.population.map((c) => c.id).sort(), top5.map((c) => c.id).sort())
    const ranking = vote(
      some.population.map((c) => ({ id: c.id, answer: c.answer ?? "", score: c.score ?? 0 })),
      "weighted",
      mathAnswerKey
    )
    assert.strictEqual(some.answer, ranking[0]?.answer)
    // confidence costs nothing: the same spend as plain sampling
    assert.strictEqual(some.usage.sequences, 20)
    assert.strictEqual(some.usage.verifierCalls, 0)
  })

  it("keep ranks finished traces only: under a tight token budget a cut trace never displaces an answer", async () => {
    // the anytime property's counterexample: N = 8 under one trace's worth of output tokens
    const hard = { id: "inv/hard", question: "Give $n$.", gold: "7", level: 5 }
    const r = await runner.run({
      graph: "deepconf-offline",
      problem: hard,
      params: { N: 8 },
      seed: 537,
      budget: { outputTokens: 4096 }
    })
    assert.isDefined(r.answer, `population ${r.population.map((c) => `${c.id}:${c.done}`).join(", ")}`)
    const answered = r.population.filter((c) => c.done && c.answer !== undefined)
    assert.isAtLeast(answered.length, 1)
  })

  it("samples that did not ask for logprobs are left unrated", async () => {
    const doc = {
      name: "c",
      description: "c",
      root: {
        type: "sequence",
        nodes: [
          { type: "sample", n: 4, until: "end" },
          { type: "confidence", keep: 0.5 },
          { type: "select", method: "majority" }
        ]
      }
    }
    const r = await runner.run({ graph: doc, problem, seed: 1 })
    assert.strictEqual(r.population.length, 4)
    assert.isTrue(r.population.every((c) => c.confidence === undefined))
  })
})
