/**
 * The pure parts of the tree searches: REBASE's allocation (sums to the width exactly, ∝ softmax,
 * deterministic ties) and the MCTS bookkeeping (subtree statistics, UCT/PUCT selection, closing
 * exhausted subtrees, AB-MCTS's Thompson choice of wider or deeper, seeded Beta draws).
 */
import { assert, describe, it } from "@effect/vitest"
import fc from "fast-check"
import * as Mcts from "../../src/runtime/Mcts.ts"
import { softmax } from "../../src/runtime/Prune.ts"
import { allocate } from "../../src/runtime/Rebase.ts"

describe("REBASE allocate", () => {
  it("gives the documented examples", () => {
    assert.deepStrictEqual(allocate([0.9, 0.5, 0.1], 4, 0.2), [3, 1, 0])
    assert.deepStrictEqual(allocate([0.5, 0.5], 3, 1), [2, 1])
    assert.deepStrictEqual(allocate([0.5, 0.5, 0.5], 2, 1), [1, 1, 0])
    assert.deepStrictEqual(allocate([], 4, 1), [])
    assert.deepStrictEqual(allocate([0.3, 0.9], 0, 1), [0, 0])
    // unscored nodes weigh nothing beside scored ones; alone they weigh the same
    assert.deepStrictEqual(allocate([undefined, 0.1], 3, 1), [0, 3])
    assert.deepStrictEqual(allocate([undefined, undefined], 3, 1), [2, 1])
    // weights an ulp apart whose quotas round to the same 4.3: the larger weight (the 8th) is not
    // passed over for an earlier, smaller one (fast-check found it)
    const close = [5.551115123125784e-16, 0, 0, 0, 0, 0, 0, 6.162975822039155e-32, 0, 0]
    assert.deepStrictEqual(allocate(close, 43, 10), [5, 5, 4, 4, 4, 4, 4, 5, 4, 4])
  })

  it("sums to the width, stays within one of each quota, and favours higher scores", () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 1, maxLength: 40 }),
        fc.integer({ min: 0, max: 200 }),
        fc.constantFrom(0.01, 0.1, 0.5, 1, 10),
        (scores, width, t) => {
          const a = allocate(scores, width, t)
          assert.strictEqual(
            a.reduce((x, y) => x + y, 0),
            width
          )
          const p = softmax(scores, t)
          a.forEach((n, i) => {
            assert.isTrue(Number.isInteger(n) && n >= 0)
            const quota = (p[i] ?? 0) * width
            assert.isAtMost(Math.abs(n - quota), 1 + 1e-9)
          })
          // a strictly larger weight never gets fewer children (scores a rounding error apart weigh the same)
          for (let i = 0; i < scores.length; i++)
            for (let j = 0; j < scores.length; j++)
              if ((p[i] ?? 0) > (p[j] ?? 0)) assert.isAtLeast(a[i] ?? 0, a[j] ?? 0)
        }
      )
    )
  })
})

const FIXED: Mcts.Policy = { selection: "uct", c: 1, backup: "mean", branching: "fixed", k: 2 }

describe("MCTS bookkeeping", () => {
  it("counts a new node as a visit of each ancestor: visits is the subtree size, Q its mean or best", () => {
    const t = Mcts.make()
    const a = Mcts.add(t, FIXED, 0, "s0", 0.2, false, true)
    const b = Mcts.add(t, FIXED, 0, "s1", 0.6, false, true)
    Mcts.expanded(t, FIXED, 0)
    const a0 = Mcts.add(t, FIXED, a, "s0.0", 1, false, true)
    const [root, na, nb, na0] = [0, a, b, a0].map((i) => t.nodes[i] ?? assert.fail("node"))
    assert.strictEqual(root?.visits, 3)
    assert.strictEqual(na?.visits, 2)
    assert.strictEqual(nb?.visits, 1)
    assert.strictEqual(na0?.visits, 1)
    if (na === undefined) return
    assert.closeTo(Mcts.q(na, "mean"), 0.6, 1e-12)
    assert.strictEqual(Mcts.q(na, "max"), 1)
  })

  it("fixed branching expands the root first, then descends by UCT (ties: the earlier child)", () => {
    const t = Mcts.make()
    const u = Mcts.uniforms(1, 0)
    assert.deepStrictEqual(Mcts.next(t, FIXED, u), { node: 0, n: 2 })
    const a = Mcts.add(t, FIXED, 0, "s0", 0.5, false, true)
    Mcts.add(t, FIXED, 0, "s1", 0.5, false, true)
    Mcts.expanded(t, FIXED, 0)
    assert.deepStrictEqual(Mcts.next(t, FIXED, u), { node: a, n: 2 })
    // a better child wins once its exploration terms are equal
    const t2 = Mcts.make()
    Mcts.add(t2, FIXED, 0, "s0", 0.2, false, true)
    const b2 = Mcts.add(t2, FIXED, 0, "s1", 0.9, false, true)
    Mcts.expanded(t2, FIXED, 0)
    assert.deepStrictEqual(Mcts.next(t2, FIXED, u), { node: b2, n: 2 })
    // PUCT too: its prior is the child's own value among its siblings'
    assert.deepStrictEqual(Mcts.next(t2, { ...FIXED, selection: "puct" }, u), { node: b2, n: 2 })
  })

  it("UCT explores: a less visited child beats a slightly better but well visited one", () => {
    const t = Mcts.make()
    const a = Mcts.add(t, FIXED, 0, "s0", 0.6, false, true)
    const b = Mcts.add(t, FIXED, 0, "s1", 0.5, false, true)
    Mcts.expanded(t, FIXED, 0)
    for (let i = 0; i < 6; i++) Mcts.add(t, FIXED, a, `s0.${i}`, 0.6, false, true)
    assert.strictEqual(Mcts.next(t, { ...FIXED, k: 8 }, Mcts.uniforms(1, 0))?.node, b)
  })

  it("never selects a complete solution; a subtree with nothing to expand closes, and then the tree", () => {
    const t = Mcts.make()
    const a = Mcts.add(t, FIXED, 0, "s0", 0.9, true, true)
    const b = Mcts.add(t, FIXED, 0, "s1", 0.1, false, true)
    Mcts.expanded(t, FIXED, 0)
    assert.strictEqual(Mcts.next(t, FIXED, Mcts.uniforms(1, 0))?.node, b)
    assert.isTrue(t.nodes[a]?.closed)
    Mcts.add(t, FIXED, b, "s1.0", 0.5, true, true)
    Mcts.add(t, FIXED, b, "s1.1", 0.5, false, false)
    Mcts.expanded(t, FIXED, b)
    assert.isTrue(t.nodes[b]?.closed)
    assert.isTrue(t.nodes[0]?.closed)
    assert.isUndefined(Mcts.next(t, FIXED, Mcts.uniforms(1, 0)))
    assert.strictEqual(Mcts.bestLeaf(t, "mean"), a)
  })

  it("adaptive branching widens an empty node, never past k children, and is a function of the seed", () => {
    const policy: Mcts.Policy = { ...FIXED, branching: "adaptive", k: 3 }
    const grow = (seed: number) => {
      const t = Mcts.make()
      const trail: Array<number> = []
      for (let it = 0; it < 40; it++) {
        const e = Mcts.next(t, policy, Mcts.uniforms(seed, it))
        if (e === undefined) break
        assert.strictEqual(e.n, 1)
        trail.push(e.node)
        const parent = t.nodes[e.node]
        const j = parent?.children.length ?? 0
        // values that favour the first child's subtree
        const v = (parent?.id ?? "").startsWith("s0") || (e.node === 0 && j === 0) ? 0.9 : 0.2
        Mcts.add(t, policy, e.node, e.node === 0 ? `s${j}` : `${parent?.id}.${j}`, v, false, true)
      }
      for (const n of t.nodes) assert.isAtMost(n.children.length, 3)
      return { trail, t }
    }
    assert.strictEqual(grow(7).trail[0], 0)
    assert.deepStrictEqual(grow(7).trail, grow(7).trail)
    assert.notDeepEqual(grow(7).trail, grow(8).trail)
    // deeper wins where the values are: the good subtree is the bigger one
    const { t } = grow(7)
    const [s0, s1] = (t.nodes[0]?.children ?? []).map((i) => t.nodes[i]?.visits ?? 0)
    assert.isAbove(s0 ?? 0, s1 ?? 0)
  })

  it("Beta draws are in (0, 1) with the right mean, from the seed alone", () => {
    const draws = (a: number, b: number, seed: number) => {
      const out: Array<number> = []
      for (let i = 0; i < 4000; i++) out.push(Mcts.beta(a, b, Mcts.uniforms(seed, i)))
      return out
    }
    for (const [a, b] of [
      [1, 1],
      [2, 5],
      [0.5, 0.5],
      [30, 3]
    ] as const) {
      const xs = draws(a, b, 11)
      for (const x of xs) assert.isTrue(x > 0 && x < 1)
      const mean = xs.reduce((s, x) => s + x, 0) / xs.length
      assert.closeTo(mean, a / (a + b), 0.02, `Beta(${a}, ${b})`)
      assert.deepStrictEqual(draws(a, b, 11).slice(0, 5), xs.slice(0, 5))
    }
  })
})
