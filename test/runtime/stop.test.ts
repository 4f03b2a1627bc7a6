/**
 * The stopping rules of `waves` (runtime/Stop.ts): Adaptive-Consistency's Beta and Dirichlet
 * posteriors, the tally (grouped exactly as `select` groups), conditions over the vote, and when
 * each rule says stop.
 */
import { assert, describe, it } from "@effect/vitest"
import fc from "fast-check"
import { mathAnswerKey } from "../../src/answer/MathGrader.ts"
import * as Stop from "../../src/runtime/Stop.ts"
import { vote } from "../../src/runtime/Vote.ts"

const close = (a: number, b: number, eps: number, what: string) =>
  assert.isTrue(Math.abs(a - b) <= eps, `${what}: ${a} vs ${b}`)

describe("Adaptive-Consistency posteriors", () => {
  it("Beta: exact binomial sums; four agreeing samples pass c = 0.95, three do not", () => {
    close(Stop.betaMajority(3, 0), 15 / 16, 1e-12, "3:0")
    close(Stop.betaMajority(4, 0), 31 / 32, 1e-12, "4:0")
    // P(p1 > p2) under Beta(3, 2): n = 4, Σ_{j<3} C(4, j) / 16 = 11/16
    close(Stop.betaMajority(2, 1), 11 / 16, 1e-12, "Beta(3, 2)")
  })

  it("Beta: a tie is a coin flip, at any size", () => {
    for (const v of [0, 1, 5, 40, 300]) close(Stop.betaMajority(v, v), 0.5, 1e-9, `tie ${v}`)
  })

  it("Beta grows with the leader's count and falls with the runner-up's", () =>
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 100 }), fc.integer({ min: 0, max: 100 }), (a, b) => {
        assert.isTrue(Stop.betaMajority(a + 1, b) >= Stop.betaMajority(a, b) - 1e-12)
        assert.isTrue(Stop.betaMajority(a, b + 1) <= Stop.betaMajority(a, b) + 1e-12)
      })
    ))

  it("Dirichlet over two answers is the Beta criterion; one answer seen is one against the rest", () => {
    for (const [a, b] of [
      [4, 0],
      [7, 3],
      [20, 12],
      [2, 2]
    ] as const)
      close(Stop.dirichletMajority([a, b]), Stop.betaMajority(a, b), 1e-5, `${a}:${b}`)
    close(Stop.dirichletMajority([4]), 31 / 32, 1e-5, "one answer")
  })

  it("Dirichlet: more rival answers make the leader less certain; equal leaders are 1/k", () => {
    assert.isTrue(Stop.dirichletMajority([10, 2, 2]) < Stop.betaMajority(10, 2))
    close(Stop.dirichletMajority([6, 6, 6]), 1 / 3, 1e-4, "three-way tie")
  })
})

describe("the tally", () => {
  const answers = fc.array(
    fc.option(fc.constantFrom("1/2", "0.5", "\\frac{1}{2}", "3", "x+1", "1+x", "7"), { nil: undefined }),
    {
      maxLength: 40
    }
  )

  it("groups answers exactly as the vote does (same groups, counts and sums)", () =>
    fc.assert(
      fc.property(
        answers,
        fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 40, maxLength: 40 }),
        (list, scores) => {
          const t = new Stop.Tally(mathAnswerKey)
          list.forEach((a, i) => {
            t.add(a, scores[i] ?? 0)
          })
          const ballots = list.flatMap((a, i) =>
            a === undefined ? [] : [{ id: `s${i}`, answer: a, score: scores[i] ?? 0 }]
          )
          const byCount = vote(ballots, "majority", mathAnswerKey)
          assert.deepStrictEqual(
            t.counts(),
            byCount.map((r) => r.count).sort((a, b) => b - a)
          )
          const stats = t.stats("majority")
          assert.strictEqual(stats.samples, list.length)
          assert.strictEqual(stats.answered, ballots.length)
          assert.strictEqual(stats.count, byCount[0]?.count ?? 0)
          if (ballots.length > 0) close(stats.share, (byCount[0]?.count ?? 0) / ballots.length, 1e-12, "share")
          const weighted = vote(ballots, "weighted", mathAnswerKey)
          const total = ballots.reduce((s, b) => s + b.score, 0)
          if (total > 0) close(t.stats("weighted").share, (weighted[0]?.weight ?? 0) / total, 1e-9, "weighted share")
        }
      )
    ))

  it("agreement: the last window all one answer (equivalent forms included), none unanswered", () => {
    const t = new Stop.Tally(mathAnswerKey)
    for (const a of ["3", "1/2", "0.5", "\\frac{1}{2}"]) t.add(a)
    assert.isTrue(t.agree(3))
    assert.isFalse(t.agree(4))
    t.add(undefined)
    assert.isFalse(t.agree(1))
  })
})

describe("conditions over the vote", () => {
  const stats: Stop.VoteStats = {
    samples: 8,
    answered: 8,
    answers: 2,
    count: 6,
    share: 0.75,
    margin: 0.5,
    lead: 4,
    best: 0.9,
    beta: 0.9
  }
  const lookup = Stop.voteLookup(stats, (name) => (name === "K" ? 5 : undefined))

  it("comparisons joined by and (tighter) and or", () => {
    const ok = (text: string) => {
      const r = Stop.parseCondition(text)
      assert.isTrue(r.ok, text)
      return r.ok ? Stop.holds(r.condition, lookup) : false
    }
    assert.isTrue(ok("vote.share >= 0.75"))
    assert.isFalse(ok("vote.share > 0.75"))
    assert.isTrue(ok("vote.count >= K and vote.margin >= 0.5"))
    assert.isFalse(ok("vote.count >= K + 2 and vote.margin >= 0.5"))
    assert.isTrue(ok("vote.count >= K + 2 and vote.margin >= 0.5 or vote.samples < 10"))
    assert.isTrue(ok("vote.best * vote.share >= 0.6"))
  })

  it("bad conditions say what is wrong", () => {
    const bad = Stop.parseCondition("vote.share")
    assert.isFalse(bad.ok)
    if (!bad.ok) assert.include(bad.message, 'expected "<expression> >= <expression>"')
    const bad2 = Stop.parseCondition("vote.share >= 0.5 +")
    assert.isFalse(bad2.ok)
    const names = Stop.parseCondition("vote.share >= K and vote.count > 2")
    assert.isTrue(names.ok)
    if (names.ok)
      assert.deepStrictEqual([...Stop.conditionNames(names.condition)].sort(), ["K", "vote.count", "vote.share"])
  })
})

describe("when each rule stops", () => {
  const tallyOf = (list: ReadonlyArray<string | undefined>) => {
    const t = new Stop.Tally(mathAnswerKey)
    for (const a of list) t.add(a)
    return t
  }
  const none = () => undefined

  it("ESC decides only at the end of a window", () => {
    const rule: Stop.Rule = { _tag: "esc", window: 4 }
    assert.isFalse(Stop.shouldStop(rule, tallyOf(["1", "2", "2", "2", "2"]), "majority", none))
    assert.isFalse(Stop.shouldStop(rule, tallyOf(["1", "2", "2", "2"]), "majority", none))
    assert.isTrue(Stop.shouldStop(rule, tallyOf(["1", "2", "3", "4", "5", "5", "5", "5"]), "majority", none))
  })

  it("Beta at c = 0.95: four unanimous samples, or a lead the posterior trusts", () => {
    const rule: Stop.Rule = { _tag: "beta", confidence: 0.95 }
    assert.isFalse(Stop.shouldStop(rule, tallyOf(["2", "2", "2"]), "majority", none))
    assert.isTrue(Stop.shouldStop(rule, tallyOf(["2", "2", "2", "2"]), "majority", none))
    assert.isFalse(Stop.shouldStop(rule, tallyOf(["2", "3", "2", "2", "2"]), "majority", none))
    assert.isFalse(Stop.shouldStop(rule, tallyOf([undefined, undefined, undefined, undefined]), "majority", none))
  })
})

describe("a lead the rest cannot overturn", () => {
  it("stopping when vote.lead > N − vote.samples gives the N-sample vote's winner", () => {
    const parsed = Stop.parseCondition("vote.lead > 20 - vote.samples")
    assert.isTrue(parsed.ok)
    if (!parsed.ok) return
    const rule: Stop.Rule = { _tag: "until", condition: parsed.condition }
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom("1", "2", "3"), { minLength: 20, maxLength: 20 }),
        fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 20, maxLength: 20 }),
        fc.constantFrom("majority" as const, "weighted" as const),
        (list, scores, method) => {
          const all = new Stop.Tally(mathAnswerKey)
          list.forEach((a, i) => {
            all.add(a, scores[i] ?? 0)
          })
          const t = new Stop.Tally(mathAnswerKey)
          for (const [i, a] of list.entries()) {
            t.add(a, scores[i] ?? 0)
            if (Stop.shouldStop(rule, t, method, () => undefined)) {
              assert.strictEqual(t.stats(method).answer, all.stats(method).answer)
              return
            }
          }
        }
      )
    )
  })
})
