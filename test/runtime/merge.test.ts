/**
 * Votes merge every equivalent spelling, whatever the vote's size (issue 20): the bucketed merge
 * (`Merge.ts`) gives the unbounded pairwise merge's groups, and a winner does not depend on the
 * order of the ballots or on distractors with fewer votes than the margin.
 */
import { assert, describe, it } from "@effect/vitest"
import fc from "fast-check"
import { answerCells, equivalent } from "../../src/answer/Equivalence.ts"
import { mathAnswerKey } from "../../src/answer/MathGrader.ts"
import { Merger } from "../../src/runtime/Merge.ts"
import { type AnswerGroup, type Ballot, group, vote } from "../../src/runtime/Vote.ts"
import type { AnswerKeyShape } from "../../src/services/Grader.ts"

/** The reference: every new key compared with every earlier group, in order, no cap. */
const pairwise = (ballots: ReadonlyArray<Ballot>, answers: AnswerKeyShape): ReadonlyArray<AnswerGroup> => {
  const byKey = new Map<string, { answer: string; count: number; total: number; bestScore: number; best: string }>()
  const groups: Array<{ answer: string; count: number; total: number; bestScore: number; best: string }> = []
  for (const b of ballots) {
    const key = answers.key(b.answer)
    let g = byKey.get(key)
    if (g === undefined) {
      g = groups.find((other) => answers.equivalent(other.answer, b.answer))
      if (g === undefined) {
        g = { answer: b.answer, count: 0, total: 0, bestScore: Number.NEGATIVE_INFINITY, best: b.id }
        groups.push(g)
      }
      byKey.set(key, g)
    }
    g.count++
    g.total += b.score
    if (b.score > g.bestScore) {
      g.bestScore = b.score
      g.best = b.id
    }
  }
  return groups
}

/**
 * Integers, equivalent when they differ by at most 1 — not transitive, so the order of the merge
 * matters; cells `n` and `n+1` (neighbours share one); multiples of 5 have unknown cells.
 */
const near: AnswerKeyShape = {
  name: "near",
  key: (a) => a,
  equivalent: (a, b) => Math.abs(Number(a) - Number(b)) <= 1,
  cells: (a) => (Number(a) % 5 === 0 ? undefined : [`${a}`, `${Number(a) + 1}`])
}

/**
 * `near` with every answer's two cells known, and neighbours whose sum is a multiple of 3 not
 * equivalent: sharing a cell is then not enough, so every group in either cell must be compared.
 */
const nearKnown: AnswerKeyShape = {
  name: "near-known",
  key: (a) => a,
  equivalent: (a, b) => Math.abs(Number(a) - Number(b)) <= 1 && (Number(a) + Number(b)) % 3 !== 0,
  cells: (a) => [`${a}`, `${Number(a) + 1}`]
}

/** Classes `c` of spellings `c.s`: equivalent within a class; class `0` has unknown cells. */
const classes: AnswerKeyShape = {
  name: "classes",
  key: (a) => a,
  equivalent: (a, b) => a.split(".")[0] === b.split(".")[0],
  cells: (a) => (a.startsWith("0.") ? undefined : [`c${a.split(".")[0]}`])
}
const classOf = (a: string) => a.split(".")[0]

const ballotsOf = (answers: ReadonlyArray<string>, scores?: ReadonlyArray<number>): Array<Ballot> =>
  answers.map((answer, i) => ({ id: `b${i}`, answer, score: scores?.[i] ?? 1 }))

describe("bucketed merge", () => {
  it("a lone ballot is its own group, as the merge gives it, without asking the key", () => {
    const unasked: AnswerKeyShape = {
      name: "unasked",
      key: () => assert.fail("a lone ballot needs no key"),
      equivalent: () => assert.fail("a lone ballot needs no comparison")
    }
    for (const score of [0.7, 0, -0, -1, Number.NaN, Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY]) {
      const ballots = ballotsOf(["x^2"], [score])
      assert.deepStrictEqual(group(ballots, unasked), pairwise(ballots, near), `score ${score}`)
      for (const method of ["majority", "best", "weighted"] as const)
        assert.deepStrictEqual(
          vote(ballots, method, unasked),
          pairwise(ballots, near).map((g) => ({
            answer: g.answer,
            weight: method === "majority" ? g.count : method === "best" ? g.bestScore : g.total,
            count: g.count,
            best: g.best
          })),
          `${method}, score ${score}`
        )
    }
  })

  it("equals the unbounded pairwise merge on random inputs (a non-transitive equivalence)", () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 30 }), fc.integer({ min: 0, max: 9 })), { maxLength: 80 }),
        (xs) => {
          const ballots = xs.map(([n, s], i) => ({ id: `b${i}`, answer: String(n), score: s / 10 }))
          assert.deepStrictEqual(group(ballots, near), pairwise(ballots, near))
          // every answer in two known cells: an answer's candidates are its two cells' lists merged
          assert.deepStrictEqual(group(ballots, nearKnown), pairwise(ballots, nearKnown))
        }
      ),
      { numRuns: 300 }
    )
  })

  it("compares only within cells and with unknown ones", () => {
    const m = new Merger(near, (answer) => ({ answer }))
    for (const a of ["1", "3", "7", "9", "13", "17"]) m.find(a)
    assert.strictEqual(m.comparisons, 0)
    assert.strictEqual(m.find("4").index, 1) // 3 and 4 share cell 4
    assert.strictEqual(m.comparisons, 1)
    m.find("20") // unknown cells: compared with every group (6), equivalent to none
    assert.strictEqual(m.comparisons, 1 + 6)
    m.find("18") // cells 18 and 19: 17 (cells 17, 18) and the unknown 20, in first-seen order
    assert.strictEqual(m.comparisons, 1 + 6 + 1)
  })

  it("reads the first group's cells only when an answer with another key comes, and once", () => {
    const read: Array<string> = []
    const counted: AnswerKeyShape = {
      ...near,
      cells: (a) => {
        read.push(a)
        return near.cells?.(a)
      }
    }
    const m = new Merger(counted, (answer) => ({ answer }))
    // a one-answer vote (best-of-1, or every ballot agreeing) has nothing to compare: no cells
    for (let i = 0; i < 3; i++) assert.strictEqual(m.find("3").index, 0)
    assert.deepStrictEqual(read, [])
    // another key: the first group is filed under its cells first, then compared in cell 4
    assert.strictEqual(m.find("4").index, 0)
    assert.deepStrictEqual(read, ["3", "4"])
    assert.strictEqual(m.comparisons, 1)
    // 17 shares no cell with 3: a new group, compared with nothing; the first is not read again
    assert.strictEqual(m.find("17").index, 1)
    assert.deepStrictEqual(read, ["3", "4", "17"])
    assert.strictEqual(m.comparisons, 1)
    // a first group of unknown cells (20) is compared with every later key
    const u = new Merger(near, (answer) => ({ answer }))
    u.find("20")
    assert.strictEqual(u.find("21").index, 0)
    assert.strictEqual(u.comparisons, 1)
  })

  it("a winner depends neither on the ballots' order nor on distractors below the margin", () => {
    const spelling = fc.tuple(fc.integer({ min: 0, max: 6 }), fc.integer({ min: 0, max: 3 }))
    fc.assert(
      fc.property(
        fc.array(spelling, { minLength: 1, maxLength: 60 }),
        fc.array(fc.integer({ min: 0, max: 1000 })),
        fc.array(fc.integer({ min: 0, max: 3 }), { maxLength: 30 }),
        fc.constantFrom("majority" as const, "weighted" as const),
        (drawn, shuffle, distractors, method) => {
          const answers = drawn.map(([c, s]) => `${c}.${s}`)
          const scores = answers.map((_, i) => 0.25 + ((i * 7919) % 13) / 16)
          const ranking = vote(ballotsOf(answers, scores), method, classes)
          const [first, second] = ranking
          if (first === undefined) return
          const margin = first.weight - (second?.weight ?? 0)
          fc.pre(margin > 1e-9)
          // the same ballots in another order
          const order = answers.map((_, i) => i).sort((a, b) => (shuffle[a] ?? a) - (shuffle[b] ?? b) || a - b)
          const reordered = vote(
            ballotsOf(
              order.map((i) => answers[i] ?? ""),
              order.map((i) => scores[i] ?? 0)
            ),
            method,
            classes
          )
          assert.strictEqual(classOf(reordered[0]?.answer ?? ""), classOf(first.answer))
          // distractors: new answers, each weighing less than the margin (under majority a ballot
          // weighs 1, so only when the margin exceeds 1), anywhere in the vote
          const mixed: Array<Ballot> = ballotsOf(answers, scores)
          if (method === "weighted" || margin > 1)
            for (const [j, s] of distractors.entries())
              mixed.splice((j * 17) % (mixed.length + 1), 0, {
                id: `d${j}`,
                answer: `${100 + j}.${s}`,
                score: margin / 2
              })
          const withDistractors = vote(mixed, method, classes)
          assert.strictEqual(classOf(withDistractors[0]?.answer ?? ""), classOf(first.answer))
        }
      ),
      { numRuns: 300 }
    )
  })
})

describe("spellings seen before", () => {
  it("normalise an answer once per spelling, not once per ballot, into the same groups", () => {
    let keys = 0
    const counted: AnswerKeyShape = {
      ...classes,
      key: (a) => {
        keys++
        return classes.key(a)
      }
    }
    const answers = ["1.a", "2.a", "1.a", "1.b", "2.a", "1.a", "0.x", "0.x", "1.b"]
    const ballots = ballotsOf(answers)
    assert.deepStrictEqual(group(ballots, counted), pairwise(ballots, classes))
    assert.strictEqual(keys, new Set(answers).size)
  })
})

describe("votes with the MATH key", () => {
  it("merges equivalent spellings past 64 distinct answers (x^2+1 with 15 votes loses to 10 + 10)", () => {
    // 70 distinct wrong answers first: the old cap of 2,000 comparisons ran out before the
    // spellings of (x+1)^2 were compared
    const distractors = Array.from({ length: 70 }, (_, k) => `x^3+${k + 3}x`)
    const answers = [
      ...distractors,
      ...Array.from({ length: 15 }, () => "x^2+1"),
      ...Array.from({ length: 10 }, () => "(x+1)^2"),
      ...Array.from({ length: 10 }, () => "x^2+2x+1")
    ]
    const ranking = vote(ballotsOf(answers), "weighted", mathAnswerKey)
    assert.strictEqual(ranking[0]?.answer, "(x+1)^2")
    assert.strictEqual(ranking[0]?.count, 20)
    assert.strictEqual(ranking[1]?.answer, "x^2+1")
  }, 120_000)

  it("gives the pairwise merge's groups on shuffled spellings, decimals and words included", () => {
    const pool = [
      "(x+1)^2",
      "x^2+2x+1",
      "1+2x+x^2",
      "x^2+1",
      "2(x+1)",
      "2x+2",
      "\\frac{1}{2}",
      "0.5",
      "\\frac{2}{4}",
      "\\frac{\\sqrt{2}}{2}",
      "\\frac{1}{\\sqrt{2}}",
      "0.707",
      "x",
      "X",
      "50\\%",
      "\\{1, 2\\}",
      "2, 1",
      "east"
    ]
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...pool), { maxLength: 40 }), (answers) => {
        const ballots = ballotsOf(answers)
        assert.deepStrictEqual(group(ballots, mathAnswerKey), pairwise(ballots, mathAnswerKey))
      }),
      { numRuns: 40 }
    )
  }, 120_000)

  it("equivalent spellings share a cell; decimals, percents, words and letters have none", () => {
    const shares = (a: string, b: string) => {
      const ca = answerCells(a)
      const cb = answerCells(b)
      return ca !== undefined && cb !== undefined && ca.some((c) => cb.includes(c))
    }
    assert.isTrue(equivalent("(x+1)^2", "x^2+2x+1") && shares("(x+1)^2", "x^2+2x+1"))
    assert.isTrue(shares("\\frac{\\sqrt{2}}{2}", "\\frac{1}{\\sqrt{2}}"))
    assert.isTrue(shares("\\frac{1}{2}", "\\frac{\\sqrt{2}}{\\sqrt{8}}"))
    assert.isFalse(shares("x^2+1", "(x+1)^2"))
    for (const a of ["0.5", "50\\%", "east", "x", "\\{1, 2\\}", "x < 2", "N+1"]) assert.isUndefined(answerCells(a), a)
  }, 120_000)
})
