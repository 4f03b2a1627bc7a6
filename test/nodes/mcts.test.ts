/**
 * The `mcts` node: fixed branching expands k children per iteration, adaptive branching one; the
 * tree's statistics (visits = subtree size) reach the trace and the viewer's model; rollouts
 * complete solutions; the same seed gives the same tree at any concurrency; a budget ends the
 * search with an answer; bad documents are refused with the field named.
 */
import { assert, describe, it } from "@effect/vitest"
import { Result } from "effect"
import type { RunResult } from "../../src/domain/RunResult.ts"
import { makeRunner } from "../../src/Mull.ts"
import type { RunEvent } from "../../src/runtime/RunEvents.ts"
import { parseTrace } from "../../src/trace/TraceEvent.ts"
import { buildTree } from "../../src/trace/TraceTree.ts"

const runner = makeRunner({ backend: "simulated" })

const PROBLEMS = [
  { id: "m/easy", question: "What is $1+1$?", gold: "2", level: 1 },
  { id: "m/mid", question: "Find $x$ if $3x = 14$.", gold: "\\frac{14}{3}", level: 3 },
  { id: "m/hard", question: "Give $n$.", gold: "7", level: 5 }
]

const doc = (mcts: object, finish = true) => ({
  name: "t",
  description: "t",
  root: {
    type: "sequence",
    nodes: [
      { type: "mcts", ...mcts },
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

/** The tree the node grew: children by parent id ("" = the root). */
const treeOf = (events: ReadonlyArray<RunEvent>) => {
  const kids = new Map<string, Array<string>>()
  for (const e of events)
    if (e._tag === "CandidateCreated" && e.node === "root.nodes.0") {
      const p = e.parentId ?? ""
      kids.set(p, [...(kids.get(p) ?? []), e.id])
    }
  return kids
}

describe("mcts", () => {
  it("fixed branching: k children per expansion; visits are subtree sizes, in the trace and the viewer's model", async () => {
    for (const problem of PROBLEMS) {
      const { r, events } = await withEvents(doc({ iterations: 12, k: 3 }), problem)
      const kids = treeOf(events)
      for (const [parent, ks] of kids) assert.strictEqual(ks.length, 3, `children of "${parent}"`)
      const visited = events.flatMap((e) => (e._tag === "TreeVisited" ? e.nodes : []))
      const nodes = [...kids.values()].flat()
      assert.strictEqual(visited.length, nodes.length)
      const visits = new Map(visited.map((v) => [v.id, v.visits]))
      const size = (id: string): number => 1 + (kids.get(id) ?? []).reduce((s, k) => s + size(k), 0)
      for (const id of nodes) assert.strictEqual(visits.get(id), size(id), id)
      // every iteration expanded one node, unless the tree closed first
      assert.isAtMost(kids.size, 12)
      assert.strictEqual(
        r.usage.sequences,
        nodes.length + r.population.filter((c) => c.origin.node === "root.nodes.1").length
      )
      // the viewer's model carries the visits
      const lines = parseTrace(events.map((e) => JSON.stringify(e)).join("\n"))
      if (Result.isFailure(lines)) return assert.fail(lines.failure.join("\n"))
      const model = buildTree(lines.success)
      for (const n of model.nodes.slice(1).filter((n) => n.node === "root.nodes.0"))
        assert.strictEqual(n.visits, size(n.id), n.id)
      assert.isDefined(r.answer)
    }
  })

  it("adaptive branching: one child per iteration, at most k per node, same seed ⇒ same tree", async () => {
    let wide = 0
    let deep = 0
    for (const problem of PROBLEMS) {
      const graph = doc({ iterations: 24, k: 4, branching: "adaptive" }, false)
      const { r, events } = await withEvents(graph, problem)
      const kids = treeOf(events)
      const nodes = [...kids.values()].flat()
      assert.strictEqual(r.usage.sequences, nodes.length)
      assert.isAtMost(nodes.length, 24)
      for (const ks of kids.values()) assert.isAtMost(ks.length, 4)
      wide += kids.get("")?.length ?? 0
      deep += Math.max(...nodes.map((id) => id.split(".").length))
      const again = await run(graph, problem, { concurrency: 16 })
      assert.deepStrictEqual(fingerprint(again), fingerprint(r))
      const other = await withEvents(graph, problem, { seed: 4 })
      assert.notDeepEqual([...treeOf(other.events).entries()], [...kids.entries()])
    }
    assert.isAbove(wide, 3, "it widens the root")
    assert.isAbove(deep, 6, "and goes deeper")
  })

  it("rollouts complete the best new child each iteration; PUCT and max backup run", async () => {
    for (const problem of PROBLEMS) {
      const r = await run(doc({ iterations: 6, k: 2, rollout: true, selection: "puct", backup: "max" }, false), problem)
      const done = r.population.filter((c) => c.done)
      assert.isAtLeast(done.length, 1)
      for (const c of done) assert.isDefined(c.score)
      // at most k step sequences and one rollout per iteration
      assert.isAtMost(r.usage.sequences, 6 * 3)
      const a = await run(doc({ iterations: 6, k: 2, rollout: true }), problem, { concurrency: 1 })
      const b = await run(doc({ iterations: 6, k: 2, rollout: true }), problem, { concurrency: 16 })
      assert.deepStrictEqual(fingerprint(b), fingerprint(a))
    }
  })

  it("keep best appends only the end of the highest-Q path; solutions, every complete one", async () => {
    for (const problem of PROBLEMS) {
      const all = await run(doc({ iterations: 10, k: 2 }, false), problem)
      const best = await run(doc({ iterations: 10, k: 2, keep: "best" }, false), problem)
      assert.strictEqual(best.population.length, 1)
      assert.isAtLeast(all.population.length, 1)
      assert.deepStrictEqual(best.usage, { ...best.usage, sequences: all.usage.sequences })
      // the best leaf is in both when it is open; every other candidate of "solutions" is complete
      const open = all.population.filter((c) => !c.done)
      assert.isAtMost(open.length, 1)
      if (open.length === 1) assert.strictEqual(open[0]?.id, best.population[0]?.id)
    }
  })

  it("under a budget it stops with an answer from what was paid", async () => {
    for (const problem of PROBLEMS)
      for (const branching of ["fixed", "adaptive"]) {
        const r = await run(doc({ iterations: 40, k: 4, branching }), problem, { budget: { sequences: 9 } })
        assert.isAtMost(r.usage.sequences, 9)
        assert.isDefined(r.answer)
      }
  })

  it("bad fields are refused, naming them", async () => {
    const refused = async (mcts: object, text: string) => {
      const e = await run(doc(mcts), PROBLEMS[0] ?? (undefined as never)).then(
        () => undefined,
        (err: unknown) => String(err)
      )
      assert.isDefined(e, JSON.stringify(mcts))
      assert.include(e ?? "", text)
    }
    await refused({ iterations: 4, k: 0 }, "root.nodes.0.k")
    await refused({ iterations: -1, k: 2 }, "root.nodes.0.iterations")
    await refused({ iterations: 4, k: 2, c: -1 }, "root.nodes.0.c")
    await refused({ iterations: 4, k: 2, selection: "ucb" }, "selection")
    await refused({ iterations: 4, k: 2, verifier: "oracle" }, "root.nodes.0.verifier")
  })
})
