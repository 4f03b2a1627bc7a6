/**
 * Finer control in existing nodes (issue 19, item 4): `expand` with a width per candidate, `prune`
 * keeping the top k distinct answers, `revise` on a subset while the rest is kept — each checked
 * against what the population before it says it must do, on the simulated backend, with its cost
 * and its static bound; bad documents refused with the field named.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { mathAnswerKey } from "../../src/answer/MathGrader.ts"
import type { Candidate } from "../../src/domain/Candidate.ts"
import { staticCost } from "../../src/graph/Cost.ts"
import * as Expression from "../../src/graph/Expression.ts"
import { fromJson } from "../../src/graph/Loader.ts"
import { makeRunner } from "../../src/Mull.ts"
import * as Stop from "../../src/runtime/Stop.ts"
import { candidateStats } from "../../src/runtime/Where.ts"

const runner = makeRunner({ backend: "simulated" })

const PROBLEMS = [
  { id: "f/easy", question: "What is $1+1$?", gold: "2", level: 1 },
  { id: "f/mid", question: "Find $x$ if $3x = 14$.", gold: "\\frac{14}{3}", level: 3 },
  { id: "f/hard", question: "Give $n$.", gold: "7", level: 5 }
]

const doc = (nodes: ReadonlyArray<object>, params: Record<string, number> = {}) => ({
  name: "t",
  description: "t",
  params,
  root: { type: "sequence", nodes: [...nodes, { type: "select", method: "majority" }] }
})

const run = (graph: object, problem: (typeof PROBLEMS)[number], extra: object = {}) =>
  runner.run({ graph, problem, seed: 5, ...extra } as Parameters<typeof runner.run>[0])

const refused = async (graph: object, text: string) => {
  const e = await run(graph, PROBLEMS[0] ?? (undefined as never)).then(
    () => undefined,
    (err: unknown) => String(err)
  )
  assert.isDefined(e, JSON.stringify(graph))
  assert.include(e ?? "", text)
}

const bound = (graph: object) =>
  Effect.runPromise(Effect.map(fromJson(graph), (g) => staticCost(g, { maxTokens: 1024 }).usage))

const SCORED_STEP = [
  { type: "sample", n: 5, until: "step" },
  { type: "score", verifier: "prm" }
]

describe("expressions: comparisons and conditionals", () => {
  it("evaluate to 1/0 and pick a branch; their intervals contain every value", () => {
    const e = Expression.parseOrThrow("candidate.rank < 2 ? 4 : 1")
    const at = (rank: number) => Expression.evaluate(e, (n) => (n === "candidate.rank" ? rank : undefined))
    assert.deepStrictEqual([0, 1, 2, 3].map(at), [4, 4, 1, 1])
    assert.strictEqual(
      Expression.evaluate(Expression.parseOrThrow("(2 >= 2) == 1"), () => undefined),
      1
    )
    assert.strictEqual(
      Expression.evaluate(Expression.parseOrThrow("1 != 1 ? 5 : 0 ? 6 : 7"), () => undefined),
      7
    )
    assert.deepStrictEqual(
      Expression.evaluateInterval(e, (n) => (n === "candidate.rank" ? { lo: 0, hi: 9 } : undefined)),
      { lo: 1, hi: 4 }
    )
    assert.deepStrictEqual(
      Expression.evaluateInterval(e, (n) => (n === "candidate.rank" ? { lo: 3, hi: 9 } : undefined)),
      { lo: 1, hi: 1 }
    )
    assert.isFalse(Expression.parse("1 ? 2").ok)
    // comparisons do not chain: `a < b < c` is refused rather than read as (a < b) < c
    assert.isFalse(Expression.parse("1 < 2 < 3").ok)
    assert.strictEqual(Expression.print(e), "((candidate.rank < 2) ? 4 : 1)")
  })
})

describe("conditions", () => {
  it("parse each comparison with the expression parser: conditionals on a side, == and !=", () => {
    const c = Stop.parseCondition(
      "(candidate.rank < 2 ? 1 : 0) == 1 and candidate.votes != 0 or candidate.score >= 0.9"
    )
    assert.isTrue(c.ok)
    if (!c.ok) return
    const at = (rank: number, votes: number, score: number) =>
      Stop.holds(c.condition, (n) =>
        n === "candidate.rank" ? rank : n === "candidate.votes" ? votes : n === "candidate.score" ? score : undefined
      )
    assert.deepStrictEqual([at(0, 1, 0), at(1, 0, 0), at(3, 1, 0), at(3, 0, 0.95)], [true, false, false, true])
    assert.isFalse(Stop.parseCondition("candidate.rank").ok)
    assert.isFalse(Stop.parseCondition("candidate.rank ? 1 : 2").ok)
  })
})

describe("candidate stats", () => {
  const c = (id: string, score: number | undefined, answer: string | undefined): Candidate => ({
    id,
    steps: undefined,
    done: answer !== undefined,
    stepScores: [],
    origin: { node: "n", round: 0 },
    ...(score === undefined ? {} : { score }),
    ...(answer === undefined ? {} : { answer })
  })
  it("rank by score (unscored last, ties in order), votes and share by equivalent answers, score clamped", () => {
    const s = candidateStats(
      [c("a", 0.5, "2"), c("b", undefined, undefined), c("c", 0.9, "\\frac{4}{2}"), c("d", 0.5, "3"), c("e", 7, "3")],
      mathAnswerKey
    )
    assert.deepStrictEqual(
      s.map((x) => x.rank),
      [2, 4, 1, 3, 0]
    )
    assert.deepStrictEqual(
      s.map((x) => x.votes),
      [2, 0, 2, 2, 2]
    )
    assert.deepStrictEqual(
      s.map((x) => x.share),
      [0.5, 0, 0.5, 0.5, 0.5]
    )
    assert.deepStrictEqual(
      s.map((x) => x.score),
      [0.5, 0, 0.9, 0.5, 1]
    )
    assert.deepStrictEqual(
      s.map((x) => x.scored),
      [1, 0, 1, 1, 1]
    )
  })
})

describe("expand with a width per candidate", () => {
  it("gives each parent the width its rank says, paid and bounded as such", async () => {
    const width = "candidate.rank < 2 ? 3 : 1"
    const graph = doc([...SCORED_STEP, { type: "expand", n: width, until: "step" }])
    for (const problem of PROBLEMS) {
      const before = await run(doc(SCORED_STEP), problem)
      const parents = before.population.filter((p) => !p.done)
      const ranked = [...parents].sort((a, b) => (b.score ?? -1) - (a.score ?? -1))
      const wide = new Set(ranked.slice(0, 2).map((p) => p.id))
      const r = await run(graph, problem)
      let sequences = 5
      for (const p of parents) {
        const kids = r.population.filter((k) => k.parentId === p.id).map((k) => k.id)
        const expected = wide.has(p.id) ? 3 : 1
        assert.deepStrictEqual(
          kids,
          Array.from({ length: expected }, (_, i) => `${p.id}.${i}`),
          `${problem.id} ${p.id}`
        )
        sequences += expected
      }
      assert.strictEqual(r.usage.sequences, sequences, problem.id)
    }
    // static bound: every one of the 5 active candidates may get the widest, 3
    const b = await bound(graph)
    assert.strictEqual(b.sequences, 5 + 5 * 3)
  })

  it("a width that reads only params is the same as before; a bad width is refused or fails naming the field", async () => {
    const problem = PROBLEMS[1] ?? (undefined as never)
    const a = await run(doc([...SCORED_STEP, { type: "expand", n: "N", until: "step" }], { N: 2 }), problem)
    const b = await run(
      doc([...SCORED_STEP, { type: "expand", n: "candidate.rank >= 0 ? N : 9", until: "step" }], { N: 2 }),
      problem
    )
    assert.deepStrictEqual(
      a.population.map((c) => c.id),
      b.population.map((c) => c.id)
    )
    assert.deepStrictEqual({ ...a.usage, wallMs: 0 }, { ...b.usage, wallMs: 0 })
    await refused(
      doc([...SCORED_STEP, { type: "expand", n: "candidate.rnak", until: "step" }]),
      'root.nodes.2.n: unknown name "candidate.rnak"'
    )
    await refused(doc([...SCORED_STEP, { type: "expand", n: "K", until: "step" }]), 'root.nodes.2.n: unknown param "K"')
    await refused(
      doc([...SCORED_STEP, { type: "expand", n: "candidate.rank < 1 ? 2 : 0", until: "step" }]),
      "root.nodes.2.n: expected an integer ≥ 1, got 0"
    )
  })
})

describe("prune keeping the top k distinct answers", () => {
  it("keeps the best-scored candidate of each answer, then the top k of those", async () => {
    const base = [
      { type: "sample", n: 12, until: "end" },
      { type: "score", verifier: "prm" }
    ]
    let merged = 0
    for (const problem of PROBLEMS) {
      const before = await run(doc(base), problem)
      const r = await run(doc([...base, { type: "prune", keep: 2, among: "all", distinct: true }]), problem)
      // the expected survivors, computed from the population before
      const best = new Map<string, Candidate>()
      const keyOf = (a: string) => [...best.keys()].find((k) => mathAnswerKey.equivalent(k, a)) ?? a
      const unanswered: Array<Candidate> = []
      for (const c of before.population) {
        if (c.answer === undefined) {
          unanswered.push(c)
          continue
        }
        const k = keyOf(c.answer)
        const prev = best.get(k)
        if (prev === undefined || (c.score ?? -1) > (prev.score ?? -1)) best.set(k, c)
      }
      const reps = before.population.filter((c) => unanswered.includes(c) || [...best.values()].includes(c))
      if (reps.length < before.population.length) merged++
      const top = [...reps]
        .map((c, i) => [c, i] as const)
        .sort((x, y) => (y[0].score ?? -1) - (x[0].score ?? -1) || x[1] - y[1])
        .slice(0, 2)
        .sort((x, y) => x[1] - y[1])
        .map(([c]) => c.id)
      assert.deepStrictEqual(
        r.population.map((c) => c.id),
        top,
        problem.id
      )
      const answers = r.population.map((c) => c.answer).filter((a) => a !== undefined)
      if (answers.length === 2) assert.isFalse(mathAnswerKey.equivalent(answers[0] ?? "", answers[1] ?? ""))
      assert.strictEqual(r.usage.sequences, 12)
    }
    assert.isAtLeast(merged, 1, "some problem has repeated answers")
  })
})

describe("revise on a subset", () => {
  it("revises only the chains whose head meets the condition; the rest are kept and still vote", async () => {
    const base = [
      { type: "sample", n: 8, until: "end" },
      { type: "score", verifier: "prm" }
    ]
    let partial = 0
    for (const problem of PROBLEMS) {
      const before = await run(doc(base), problem)
      const r = await run(
        doc([
          ...base,
          { type: "revise", where: "candidate.share < 0.5 or candidate.rank >= 6" },
          { type: "select", method: "majority" }
        ]),
        problem
      )
      const stats = candidateStats(before.population, mathAnswerKey)
      const chosen = before.population.filter((_, i) => {
        const s = stats[i]
        return s !== undefined && (s.share < 0.5 || s.rank >= 6)
      })
      if (chosen.length > 0 && chosen.length < before.population.length) partial++
      // the old attempts all stay; one new attempt per chosen chain, in chain order
      assert.deepStrictEqual(
        r.population.map((c) => c.id),
        [...before.population.map((c) => c.id), ...chosen.map((c) => `${c.id}.r1`)],
        problem.id
      )
      assert.strictEqual(r.usage.sequences, 8 + chosen.length)
    }
    assert.isAtLeast(partial, 1, "the condition picks a proper subset somewhere")
    await refused(doc([...base, { type: "revise", where: "candidate.share" }]), "root.nodes.2.where")
    await refused(
      doc([...base, { type: "revise", where: "candidate.shar < 1" }]),
      'root.nodes.2.where: unknown name "candidate.shar"'
    )
    await refused(doc([...base, { type: "revise", where: "K < 1" }]), 'root.nodes.2.where: unknown param "K"')
  })
})
