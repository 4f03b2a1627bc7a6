/**
 * Generative verifiers (issue 19, item 5): `score` with `generative` — LLM-as-a-judge and a
 * ThinkPRM-style verification chain of thought through the generator, charged to the verifier
 * meters; the prompt and the parsing of verdicts; what happens when no verdict parses; the budget;
 * determinism; and the simulator's model (better than its PRM on hard questions, at a token cost).
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { mathAnswerKey } from "../../src/answer/MathGrader.ts"
import { loadMath500 } from "../../src/data/DatasetMath500.ts"
import type { Problem } from "../../src/domain/Problem.ts"
import type { RunResult } from "../../src/domain/RunResult.ts"
import { makeRunner } from "../../src/Mull.ts"
import { meanVerdict, parseVerdict, thinkText, verifyPrompt } from "../../src/services/GenVerify.ts"

const runner = makeRunner({ backend: "simulated" })

const doc = (score: object, n = 8, select = "weighted") => ({
  name: "t",
  description: "t",
  root: {
    type: "sequence",
    nodes: [
      { type: "sample", n, until: "end" },
      { type: "score", ...score },
      { type: "select", method: select }
    ]
  }
})

const run = (graph: object, problem: Problem, extra: object = {}) =>
  runner.run({ graph, problem, seed: 2, ...extra } as Parameters<typeof runner.run>[0])

const THINK = { generative: { style: "think", samples: 3 } }
const JUDGE = { generative: { style: "judge" } }

/** Area under the ROC curve of scores separating right (true) from wrong candidates (ties count half). */
const auroc = (xs: ReadonlyArray<readonly [number, boolean]>): number => {
  const pos = xs.filter(([, r]) => r).map(([s]) => s)
  const neg = xs.filter(([, r]) => !r).map(([s]) => s)
  let wins = 0
  for (const p of pos) for (const q of neg) wins += p > q ? 1 : p === q ? 0.5 : 0
  return wins / Math.max(1, pos.length * neg.length)
}

const problems = Effect.runPromise(loadMath500())

describe("generative verifiers: prompts and verdicts", () => {
  it("parses ratings and verification chains; refuses replies without a verdict", () => {
    const steps = ["Add.", "So \\boxed{4}."]
    assert.include(verifyPrompt("What is 2+2?", { style: "think", steps }), "Step 2: So \\boxed{4}.")
    assert.include(verifyPrompt("What is 2+2?", { style: "judge", steps }), "Rating: [[5]]")
    const judged = parseVerdict("Good.\nRating: [[10]]\n", { style: "judge", steps })
    assert.deepStrictEqual(judged, { ok: true, stepScores: [1] })
    assert.deepStrictEqual(parseVerdict("Rating: [[1]]", { style: "judge", steps }), { ok: true, stepScores: [0] })
    assert.isFalse(parseVerdict("Rating: [[11]]", { style: "judge", steps }).ok)
    assert.isFalse(parseVerdict("I think it is fine.", { style: "judge", steps }).ok)
    const chain = thinkText([true, false], false, "Check.")
    assert.deepStrictEqual(parseVerdict(chain, { style: "think", steps }), { ok: true, stepScores: [1, 0] })
    assert.deepStrictEqual(parseVerdict(thinkText([true, true], true, "Check."), { style: "think", steps }), {
      ok: true,
      stepScores: [1, 1]
    })
    // a first wrong step zeroes every later step but the last, which is the final verdict
    assert.deepStrictEqual(
      parseVerdict(thinkText([false, true, true], true, "."), { style: "think", steps: ["a", "b", "c"] }),
      { ok: true, stepScores: [0, 0, 1] }
    )
    assert.deepStrictEqual(
      parseVerdict("Step 1: ok \\boxed{correct}\nIs the solution correct? \\boxed{0.75}", { style: "think", steps }),
      { ok: true, stepScores: [1, 0.75] }
    )
    // cut before the verdict
    assert.isFalse(parseVerdict(chain.slice(0, chain.indexOf("Is the")), { style: "think", steps }).ok)
    assert.deepStrictEqual(
      meanVerdict([
        { ok: true, stepScores: [1, 1] },
        { ok: false, why: "cut" },
        { ok: true, stepScores: [1, 0] }
      ]),
      [1, 0.5]
    )
    assert.isUndefined(meanVerdict([{ ok: false, why: "cut" }]))
  })
})

describe("generative verifiers on the simulated backend", () => {
  it("scores every candidate, charged to the verifier meters; the samples are untouched", async () => {
    const all = await problems
    const problem = all.find((p) => p.meta.level === 3) ?? (all[0] as Problem)
    const prm = await run(doc({ verifier: "prm" }), problem)
    for (const score of [THINK, JUDGE]) {
      const r = await run(doc(score), problem)
      assert.deepStrictEqual(
        r.population.map((c) => [c.id, c.answer]),
        prm.population.map((c) => [c.id, c.answer])
      )
      assert.isTrue(
        r.population.every((c) => c.score !== undefined && c.score >= 0 && c.score <= 1),
        "every candidate scored"
      )
      // generation meters as without a verifier; the verifier's calls and tokens on the verifier meters
      assert.strictEqual(r.usage.sequences, 8)
      assert.strictEqual(r.usage.outputTokens, prm.usage.outputTokens)
      assert.strictEqual(r.usage.inputTokens, prm.usage.inputTokens)
      assert.strictEqual(r.usage.verifierCalls, 8)
      assert.strictEqual(r.usage.calls, 1 + 8, "one sample call, one verification call per candidate (n samples)")
      assert.isAbove(r.usage.verifierTokens, prm.usage.verifierTokens, "it reads and writes more than the PRM reads")
    }
  })

  it("is deterministic at any concurrency", async () => {
    const all = await problems
    const problem = all[7] as Problem
    const a = await run(doc(THINK, 12), problem, { concurrency: 1 })
    const b = await run(doc(THINK, 12), problem, { concurrency: 16 })
    assert.deepStrictEqual(
      a.population.map((c) => c.score),
      b.population.map((c) => c.score)
    )
    assert.deepStrictEqual({ ...a.usage, wallMs: 0 }, { ...b.usage, wallMs: 0 })
    assert.strictEqual(a.answer, b.answer)
  })

  it("a budget scores a prefix of the candidates and leaves the rest unscored", async () => {
    const all = await problems
    const problem = all[3] as Problem
    const r = await run(doc(THINK), problem, { budget: { verifierCalls: 3 } })
    assert.strictEqual(r.usage.verifierCalls, 3)
    assert.strictEqual(r.population.filter((c) => c.score !== undefined).length, 3)
    assert.isTrue(r.exhausted)
    assert.isDefined(r.answer)
  })

  it("a chain cut before its verdict leaves the candidate unscored, or fails the run with onUnparsed: fail", async () => {
    const all = await problems
    const problem = all[5] as Problem
    const cut = await run(doc({ generative: { style: "think", maxTokens: 24 } }, 4), problem)
    assert.isTrue(cut.population.every((c) => c.score === undefined))
    assert.strictEqual(cut.usage.verifierCalls, 4, "the cut chains are paid")
    assert.isDefined(cut.answer, "an unweighted vote still answers")
    const failed = await run(
      doc({ generative: { style: "think", maxTokens: 24, onUnparsed: "fail" } }, 4),
      problem
    ).then(
      () => undefined,
      (e: unknown) => String(e)
    )
    assert.include(failed ?? "", "root.nodes.1.generative: no verification sample of candidate s0 has a verdict")
  })

  it("bad documents are refused, naming the field", async () => {
    const problem = (await problems)[0] as Problem
    const refused = async (score: object, text: string) => {
      const e = await run(doc(score), problem).then(
        () => undefined,
        (err: unknown) => String(err)
      )
      assert.include(e ?? "(accepted)", text)
    }
    await refused({ verifier: "prm", generative: { style: "judge" } }, "root.nodes.1.verifier: a generative verifier")
    await refused({ generative: { style: "think", samples: 0 } }, "root.nodes.1.generative.samples")
    await refused({ generative: { style: "vote" } }, "style")
  })

  it("separates right from wrong better than the PRM on hard problems, at a token cost", async () => {
    // level 4: level 5 is nearly never solved by the v2 simulator's policy (no right samples to separate)
    const hard = (await problems).filter((p) => p.meta.level === 4).slice(0, 20)
    const pairs = { prm: [] as Array<readonly [number, boolean]>, think: [] as Array<readonly [number, boolean]> }
    let prmTokens = 0
    let thinkTokens = 0
    const collect = (r: RunResult, gold: string, into: Array<readonly [number, boolean]>) => {
      for (const c of r.population)
        if (c.score !== undefined)
          into.push([c.score, c.answer !== undefined && mathAnswerKey.equivalent(c.answer, gold)])
    }
    for (const p of hard) {
      const a = await run(doc({ verifier: "prm" }, 8), p)
      const b = await run(doc({ generative: { style: "think", samples: 4 } }, 8), p)
      collect(a, p.gold ?? "", pairs.prm)
      collect(b, p.gold ?? "", pairs.think)
      prmTokens += a.usage.verifierTokens
      thinkTokens += b.usage.verifierTokens
    }
    const prm = auroc(pairs.prm)
    const think = auroc(pairs.think)
    assert.isAbove(think, prm + 0.05, `AUROC on level 5: think ${think.toFixed(3)} vs PRM ${prm.toFixed(3)}`)
    assert.isAbove(thinkTokens, 2 * prmTokens, "verification chains cost tokens")
  })

  it("verification samples are bounded: 2^32 per candidate is refused naming the field, not sent", async () => {
    const all = await problems
    const outcome = await run(doc({ generative: { style: "think", samples: 2 ** 32 + 1 } }), all[0] as Problem).then(
      () => "ran",
      (err: unknown) => String(err)
    )
    assert.include(outcome, "root.nodes.1.generative.samples")
  })
})
