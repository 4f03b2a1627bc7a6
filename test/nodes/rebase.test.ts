/**
 * The `rebase` node: each round the open width is shared over the whole frontier exactly as
 * `allocate` says (from the scores the run saw), completed chains shrink the width, the result is
 * the same at any concurrency, a budget ends it with an answer, and bad documents are refused with
 * the field named.
 */
import { assert, describe, it } from "@effect/vitest"
import type { RunResult } from "../../src/domain/RunResult.ts"
import { makeRunner } from "../../src/Mull.ts"
import { allocate } from "../../src/runtime/Rebase.ts"
import type { RunEvent } from "../../src/runtime/RunEvents.ts"

const runner = makeRunner({ backend: "simulated" })

const PROBLEMS = [
  { id: "r/easy", question: "What is $1+1$?", gold: "2", level: 1 },
  { id: "r/mid", question: "Find $x$ if $3x = 14$.", gold: "\\frac{14}{3}", level: 3 },
  { id: "r/hard", question: "Give $n$.", gold: "7", level: 5 }
]

const doc = (rebase: object, finish = false) => ({
  name: "t",
  description: "t",
  root: {
    type: "sequence",
    nodes: [
      { type: "rebase", ...rebase },
      ...(finish ? [{ type: "expand", n: 1, until: "end" }, { type: "score" }] : []),
      { type: "select", method: "weighted" }
    ]
  }
})

const run = (
  graph: object,
  problem: (typeof PROBLEMS)[number],
  extra: { concurrency?: number; budget?: object; onEvent?: (e: RunEvent) => void; seed?: number } = {}
) => runner.run({ graph, problem, seed: 3, ...extra } as Parameters<typeof runner.run>[0])

const withEvents = async (graph: object, problem: (typeof PROBLEMS)[number], extra: object = {}) => {
  const events: Array<RunEvent> = []
  const r = await run(graph, problem, { ...extra, onEvent: (e) => events.push(e) })
  return { r, events }
}

const fingerprint = (r: RunResult) => ({
  answer: r.answer,
  ids: r.population.map((c) => c.id),
  scores: r.population.map((c) => c.score),
  usage: { ...r.usage, wallMs: 0 }
})

describe("rebase", () => {
  it("shares the open width over the whole frontier by softmax(score / balance); completions shrink it", async () => {
    const width = 8
    const balance = 0.2
    let rounds = 0
    let uneven = 0
    for (const problem of PROBLEMS) {
      const { r, events } = await withEvents(doc({ width, balance, rounds: 40 }), problem)
      const created = events.flatMap((e) => (e._tag === "CandidateCreated" ? [e] : []))
      const scores = new Map(events.flatMap((e) => (e._tag === "CandidateScored" ? [[e.id, e.score] as const] : [])))
      const visited = events.flatMap((e) => (e._tag === "TreeVisited" ? [e] : []))
      assert.strictEqual(visited.length, 1)
      // the first steps are the width, fresh samples
      const depth = (id: string) => id.split(".").length - 1
      const byDepth = (d: number) => created.filter((c) => depth(c.id) === d)
      assert.strictEqual(byDepth(0).length, width)
      let open = width
      for (let d = 0; byDepth(d).length > 0; d++) {
        const level = byDepth(d)
        const frontier = level.filter((c) => !c.done)
        open -= level.length - frontier.length
        const children = byDepth(d + 1)
        if (children.length === 0) break
        const expected = allocate(
          frontier.map((c) => scores.get(c.id)),
          open,
          balance
        )
        const got = frontier.map((c) => children.filter((k) => k.parentId === c.id).length)
        assert.deepStrictEqual(got, [...expected], `${problem.id} round ${d}`)
        rounds++
        if (got.some((n) => n !== got[0])) uneven++
        assert.strictEqual(children.length, open, "every round grows exactly the open width")
      }
      // every chain completed: the node leaves the width's worth of complete chains
      const mine = r.population.filter((c) => c.origin.node === "root.nodes.0")
      assert.strictEqual(mine.length, width)
      assert.isTrue(mine.every((c) => c.done))
      assert.isDefined(r.answer)
      // the tree event names each frontier node with its allotted children
      const v = visited[0]?.nodes ?? []
      for (const n of v.filter((n) => n.visits > 0))
        assert.strictEqual(created.filter((c) => c.parentId === n.id).length, n.visits)
    }
    assert.isAtLeast(rounds, 9, "several rounds per problem")
    assert.isAtLeast(uneven, 3, "rewards shift the width")
  })

  it("is the same at any concurrency, and leaves the last frontier open when rounds run out", async () => {
    for (const problem of PROBLEMS) {
      const a = await run(doc({ width: 6, rounds: 2 }), problem, { concurrency: 1 })
      const b = await run(doc({ width: 6, rounds: 2 }), problem, { concurrency: 16 })
      assert.deepStrictEqual(fingerprint(b), fingerprint(a))
      assert.strictEqual(a.population.length, 6, "completed and open chains: the width")
      // three rounds of steps at most: the first and two more
      assert.isAtMost(a.usage.sequences, 18)
      const finished = await run(doc({ width: 6, rounds: 2 }, true), problem)
      assert.isTrue(finished.population.every((c) => c.done))
    }
  })

  it("under a budget it stops with an answer from what was paid", async () => {
    for (const problem of PROBLEMS) {
      const r = await run(doc({ width: 8 }, true), problem, { budget: { sequences: 13 } })
      assert.isAtMost(r.usage.sequences, 13)
      assert.isDefined(r.answer)
    }
  })

  it("bad fields are refused, naming them", async () => {
    const refused = async (rebase: object, text: string) => {
      const e = await run(doc(rebase), PROBLEMS[0] ?? (undefined as never)).then(
        () => undefined,
        (err: unknown) => String(err)
      )
      assert.isDefined(e, JSON.stringify(rebase))
      assert.include(e ?? "", text)
    }
    await refused({ width: 4, balance: 0 }, "root.nodes.0.balance")
    await refused({ width: -1 }, "root.nodes.0.width")
    await refused({ width: 4, rounds: 1.5 }, "root.nodes.0.rounds")
    await refused({ width: 4, verifier: "oracle" }, "root.nodes.0.verifier")
  })
})
