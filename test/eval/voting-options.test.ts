/**
 * The stated voting options of the paper's experiment (issue 18): majority ties broken by the
 * answer seen first (default) or by PRM score (`select.ties: "score"`, the simulator reference's
 * rule), and revisions voting hierarchically (`hybrid-revisions`) or flat (`hybrid-revisions-flat`,
 * the reference's vote).
 */
import { readFileSync } from "node:fs"
import { assert, describe, it } from "@effect/vitest"
import { mathAnswerKey } from "../../src/answer/MathGrader.ts"
import { fromRoot } from "../../src/paths.ts"
import { type ChainBallot, vote, voteHierarchical } from "../../src/runtime/Vote.ts"

const b = (id: string, answer: string, score: number, chain = id): ChainBallot => ({ id, answer, score, chain })

describe("majority ties", () => {
  // two answers with two votes each: "3" is seen first, "5" has the larger total score
  const ballots = [b("s0", "3", 0.1), b("s1", "5", 0.9), b("s2", "3", 0.2), b("s3", "5", 0.6), b("s4", "7", 0.99)]

  it("first: equal counts go to the answer seen first", () => {
    assert.strictEqual(vote(ballots, "majority", mathAnswerKey)[0]?.answer, "3")
    assert.strictEqual(vote(ballots, "majority", mathAnswerKey, "first")[0]?.answer, "3")
  })

  it("score: equal counts go to the larger total score; a larger count still wins", () => {
    const ranked = vote(ballots, "majority", mathAnswerKey, "score")
    assert.deepStrictEqual(
      ranked.map((r) => [r.answer, r.count]),
      [
        ["5", 2],
        ["3", 2],
        ["7", 1]
      ]
    )
    // a single high score never outvotes a larger count
    const more = [...ballots, b("s5", "3", 0)]
    assert.strictEqual(vote(more, "majority", mathAnswerKey, "score")[0]?.answer, "3")
  })

  it("score: equal counts and equal totals fall back to the answer seen first", () => {
    const even = [b("s0", "3", 0.5), b("s1", "5", 0.5)]
    assert.strictEqual(vote(even, "majority", mathAnswerKey, "score")[0]?.answer, "3")
  })

  it("hierarchical majority passes the rule to both levels", () => {
    // chain c0: 3 (0.1) vs 5 (0.9) tied within the chain; chain c1 the same
    const chained = [b("a", "3", 0.1, "c0"), b("b", "5", 0.9, "c0"), b("c", "3", 0.1, "c1"), b("d", "5", 0.9, "c1")]
    assert.strictEqual(voteHierarchical(chained, "majority", mathAnswerKey)[0]?.answer, "3")
    assert.strictEqual(voteHierarchical(chained, "majority", mathAnswerKey, "score")[0]?.answer, "5")
  })
})

describe("revision voting", () => {
  it("hierarchical and flat votes differ where a chain's winner is outvoted by the pooled attempts", () => {
    // chain c0 repeats a wrong answer "9" with middling scores; chains c1, c2 each hold one strong "4"
    // and one weak "9". Flat: 9 totals 0.5·3 + 0.2·2 = 1.9 > 4's 1.6. Hierarchical: c0 → 9 (1.5),
    // c1 → 4 (0.8), c2 → 4 (0.8): 4 has 1.6 > 1.5.
    const ballots = [
      b("a0", "9", 0.5, "c0"),
      b("a1", "9", 0.5, "c0"),
      b("a2", "9", 0.5, "c0"),
      b("b0", "4", 0.8, "c1"),
      b("b1", "9", 0.2, "c1"),
      b("c0", "4", 0.8, "c2"),
      b("c1", "9", 0.2, "c2")
    ]
    assert.strictEqual(vote(ballots, "weighted", mathAnswerKey)[0]?.answer, "9")
    assert.strictEqual(voteHierarchical(ballots, "weighted", mathAnswerKey)[0]?.answer, "4")
  })

  it("the two built-in revision graphs differ only in the vote", () => {
    const read = (name: string) =>
      JSON.parse(readFileSync(fromRoot("graphs", `${name}.json`), "utf8")) as Record<string, unknown>
    const hier = read("hybrid-revisions")
    const flat = read("hybrid-revisions-flat")
    const rootOf = (g: Record<string, unknown>) => JSON.stringify(g.root)
    assert.strictEqual(
      rootOf(flat),
      rootOf(hier).replace(',"hierarchical":"chain"', ""),
      "the same chains, without hierarchical selection"
    )
    const maj = read("majority-prm-ties")
    assert.include(rootOf(maj), '"ties":"score"')
  })
})
