/**
 * The trace viewer's pure parts: reading a JSONL trace (every bad line named by its number), the
 * tree built from it (parents, pruned, copies, revisions, parallel branches, the chosen path, who
 * voted for what), the layout (tidy, no overlaps, and the same when run from its embedded source),
 * the budget rows, and the page's escaping.
 */
import { assert, describe, it } from "@effect/vitest"
import { Result } from "effect"
import fc from "fast-check"
import { budgetRows } from "../../src/charts/BudgetChart.ts"
import { type Layout, layoutTree } from "../../src/trace/Layout.ts"
import { renderPage } from "../../src/trace/Page.ts"
import { parseTrace, type TraceLine } from "../../src/trace/TraceEvent.ts"
import { buildTree, spendByNode, type TraceModel, treeCounts } from "../../src/trace/TraceTree.ts"

const usage = (calls: number, sequences = 0) => ({
  calls,
  sequences,
  inputTokens: 0,
  outputTokens: 0,
  verifierCalls: 0,
  verifierTokens: 0,
  flops: 0,
  usd: 0,
  wallMs: 0
})

const START = {
  _tag: "RunStarted",
  problemId: "p1",
  question: "What is $1+1$?",
  gold: "2",
  graph: "g",
  params: { N: 2 },
  limits: { sequences: 10 },
  seed: "0",
  at: 1000
}
const created = (id: string, parentId?: string, extra: Record<string, unknown> = {}) => ({
  _tag: "CandidateCreated",
  id,
  ...(parentId === undefined ? {} : { parentId }),
  node: "root.nodes.0",
  round: 0,
  done: false,
  tokens: 5,
  text: `step of ${id}`,
  ...extra
})
const scored = (id: string, score: number) => ({
  _tag: "CandidateScored",
  id,
  node: "root.nodes.1",
  score,
  stepScores: [score]
})

const jsonl = (events: ReadonlyArray<unknown>) => events.map((e) => JSON.stringify(e)).join("\n")

const parsed = (events: ReadonlyArray<unknown>): ReadonlyArray<TraceLine> => {
  const r = parseTrace(jsonl(events))
  if (Result.isFailure(r)) return assert.fail(r.failure.join("\n"))
  return r.success
}

const problemsOf = (text: string): ReadonlyArray<string> => {
  const r = parseTrace(text)
  return Result.isFailure(r) ? r.failure : assert.fail("expected problems")
}

/** A small beam: s0, s1 → s0 kept → s0.0, s0.1 (+ a resampled copy s0.0~1) → done with answers. */
const BEAM = [
  START,
  { _tag: "NodeEntered", node: "root.nodes.0", type: "sample", round: 0, population: { size: 0, active: 0, done: 0 } },
  { _tag: "Charged", node: "root.nodes.0", usage: usage(1, 2), total: usage(1, 2), at: 1004 },
  created("s0"),
  created("s1"),
  scored("s0", 0.9),
  scored("s1", 0.2),
  { _tag: "CandidatesPruned", node: "root.nodes.2", kept: ["s0"], dropped: ["s1"] },
  { _tag: "Charged", node: "root.nodes.3", usage: usage(1, 2), total: usage(2, 4), at: 1010 },
  created("s0.0", "s0", { done: true, answer: "2" }),
  created("s0.1", "s0", { done: true, answer: "\\frac{4}{2}" }),
  created("s0.2", "s0", { done: true, answer: "3" }),
  scored("s0.0", 0.8),
  scored("s0.1", 0.7),
  scored("s0.2", 0.6),
  { _tag: "CandidatesPruned", node: "root.nodes.4", kept: ["s0.0", "s0.0~1", "s0.1"], dropped: ["s0.2"] },
  {
    _tag: "Selected",
    node: "root.nodes.5",
    answer: "2",
    chosen: "s0.0",
    method: "weighted",
    candidates: 3,
    ranking: [{ answer: "2", weight: 2.3, count: 3, best: "s0.0" }]
  },
  { _tag: "RunFinished", answer: "2", exhausted: false, usage: usage(2, 4) }
]

describe("parseTrace", () => {
  it("decodes every event of a trace, with its line number; blank lines are skipped", () => {
    const r = parseTrace(`${jsonl(BEAM.slice(0, 3))}\n\n${jsonl(BEAM.slice(3, 4))}\n`)
    assert.isTrue(Result.isSuccess(r))
    if (Result.isSuccess(r)) {
      assert.deepStrictEqual(
        r.success.map((l) => [l.line, l.event._tag]),
        [
          [1, "RunStarted"],
          [2, "NodeEntered"],
          [3, "Charged"],
          [5, "CandidateCreated"]
        ]
      )
    }
  })

  it("names the line of text that is not JSON", () => {
    const [p] = problemsOf(`${JSON.stringify(START)}\n{"_tag": "RunFinished",`)
    assert.match(p ?? "", /^line 2: not JSON/u)
  })

  it("names an unknown event and lists the known ones", () => {
    assert.deepStrictEqual(problemsOf(`${JSON.stringify(START)}\n{"_tag":"Oops"}`), [
      'line 2: unknown event "Oops" (expected one of RunStarted, NodeEntered, NodeExited, CandidateCreated, CandidateScored, CandidatesPruned, Charged, Refused, Selected, Routed, TreeVisited, TraceTruncated, RunFinished)'
    ])
    assert.deepStrictEqual(problemsOf(`${JSON.stringify(START)}\n[1, 2]`), [
      'line 2: not a run event (an object with a "_tag")'
    ])
  })

  it("names the line and the field of an event with a bad field", () => {
    const problems = problemsOf(jsonl([START, { ...created("s0"), id: 7 }, { ...scored("s0", 1), stepScores: "x" }]))
    assert.strictEqual(problems.length, 2)
    assert.match(problems[0] ?? "", /^line 2: CandidateCreated\.id: /u)
    assert.match(problems[1] ?? "", /^line 3: CandidateScored\.stepScores: /u)
  })

  it("requires RunStarted first (said once), one run per trace, and a non-empty file", () => {
    assert.deepStrictEqual(problemsOf(jsonl([created("s0"), created("s1"), START])), [
      "line 1: CandidateCreated before RunStarted; a trace begins with RunStarted"
    ])
    assert.deepStrictEqual(problemsOf(jsonl([START, START])), [
      "line 2: a second RunStarted (the first is on line 1); a trace holds one run"
    ])
    assert.deepStrictEqual(problemsOf("\n\n"), ["line 1: the trace is empty (no RunStarted)"])
  })

  it("reports at most 20 problems", () => {
    assert.strictEqual(problemsOf("x\n".repeat(100)).length, 20)
  })

  it("reads traces written before events carried times, methods and the question", () => {
    const { at: _, question: __, gold: ___, ...old } = START
    assert.isTrue(Result.isSuccess(parseTrace(jsonl([old, { ...BEAM[2], at: undefined }]))))
  })
})

describe("buildTree", () => {
  const model = buildTree(parsed(BEAM), {
    key: (a) => (a === "\\frac{4}{2}" ? "2" : a),
    grade: (a, gold) => a === gold
  })
  const node = (id: string) => {
    const n = model.nodes.find((x) => x.id === id)
    return n ?? assert.fail(`no node ${id}`)
  }
  const idOf = (i: number | undefined) => (i === undefined ? undefined : model.nodes[i]?.id)

  it("makes one node per candidate under a root standing for the problem", () => {
    assert.deepStrictEqual(
      model.nodes.map((n) => [n.id, idOf(n.parent) ?? null, n.kind]),
      [
        ["", null, "root"],
        ["s0", "", "sample"],
        ["s1", "", "sample"],
        ["s0.0", "s0", "child"],
        ["s0.1", "s0", "child"],
        ["s0.2", "s0", "child"],
        ["s0.0~1", "s0", "copy"]
      ]
    )
    assert.strictEqual(model.nodes[0]?.text, "What is $1+1$?")
    assert.deepStrictEqual(model.nodes[1]?.children.map(idOf), ["s0.0", "s0.1", "s0.2", "s0.0~1"])
  })

  it("records scores, prunes, and a copy's text and score", () => {
    assert.strictEqual(node("s0").score, 0.9)
    assert.strictEqual(node("s1").prunedBy, "root.nodes.2")
    assert.strictEqual(node("s0.2").prunedBy, "root.nodes.4")
    assert.isUndefined(node("s0.0").prunedBy)
    const copy = node("s0.0~1")
    assert.strictEqual(copy.copyOf, "s0.0")
    assert.strictEqual(copy.text, "step of s0.0")
    assert.strictEqual(copy.score, 0.8)
    assert.isFalse(copy.onPath)
  })

  it("records a tree search's visits and values (TreeVisited)", () => {
    const m = buildTree(
      parsed([
        START,
        created("s0"),
        created("s0.0", "s0"),
        created("s0.1", "s0"),
        {
          _tag: "TreeVisited",
          node: "root.nodes.0",
          nodes: [
            { id: "s0", visits: 3, value: 0.5 },
            { id: "s0.0", visits: 1, value: 0.7 },
            { id: "s0.1", visits: 1, value: 0.3 }
          ]
        }
      ])
    )
    const at = (id: string) => m.nodes.find((n) => n.id === id)
    assert.strictEqual(at("s0")?.visits, 3)
    assert.strictEqual(at("s0")?.value, 0.5)
    assert.strictEqual(at("s0.1")?.visits, 1)
    assert.isUndefined(m.nodes[0]?.visits)
  })

  it("marks the chosen candidate's path and who voted for the winner", () => {
    assert.strictEqual(idOf(model.chosen), "s0.0")
    assert.deepStrictEqual(
      model.nodes.filter((n) => n.onPath).map((n) => n.id),
      ["", "s0", "s0.0"]
    )
    // the answer key groups \frac{4}{2} with 2; the pruned s0.2 does not vote
    assert.deepStrictEqual(
      model.nodes.filter((n) => n.vote === 0).map((n) => n.id),
      ["s0.0", "s0.1", "s0.0~1"]
    )
    assert.isUndefined(node("s0.2").vote)
  })

  it("keeps the tally, grades it against the gold answer, and summarises the run", () => {
    assert.deepStrictEqual(model.tally, [
      { answer: "2", weight: 2.3, count: 3, best: "s0.0", bestIndex: 3, correct: true }
    ])
    assert.strictEqual(model.finished?.correct, true)
    assert.strictEqual(model.selected?.method, "weighted")
    assert.deepStrictEqual(treeCounts(model), { candidates: 6, pruned: 2, done: 4, scored: 6 })
    assert.deepStrictEqual(
      model.charges.map((c) => c.ms),
      [4, 10]
    )
    assert.deepStrictEqual(
      spendByNode(model.charges).map((s) => [s.node, s.usage.sequences]),
      [
        ["root.nodes.0", 2],
        ["root.nodes.3", 2]
      ]
    )
    assert.strictEqual(model.nodeTypes["root.nodes.0"], "sample")
  })

  it("without Selected.chosen (older traces), the chosen candidate is the top answer's best", () => {
    const old = BEAM.map((e) => {
      if ((e as { _tag: string })._tag !== "Selected") return e
      const { chosen: _, ...rest } = e as Record<string, unknown>
      return rest
    })
    assert.strictEqual(idOf(buildTree(parsed(old)).chosen), "s0.0")
  })

  it("lays parallel branches side by side, and links revisions into chains", () => {
    const m = buildTree(
      parsed([
        START,
        created("b1/s0"),
        created("b0/s0"),
        created("b1/s0.r1", "b1/s0", { done: true, answer: "2" }),
        created("b0/b0/s0"),
        created("b0/s0.r1", "b0/s0")
      ])
    )
    assert.deepStrictEqual(m.groups, ["b0/", "b1/"])
    assert.deepStrictEqual(
      m.nodes[0]?.children.map((c) => m.nodes[c]?.id),
      ["b0/s0", "b0/b0/s0", "b1/s0"]
    )
    const rev = m.nodes.find((n) => n.id === "b1/s0.r1")
    assert.strictEqual(rev?.kind, "revision")
    assert.strictEqual(rev?.group, "b1/")
    assert.strictEqual(m.nodes.find((n) => n.id === "b0/b0/s0")?.group, "b0/b0/")
  })

  it("keeps an event about a candidate the trace never created, under the root", () => {
    const m = buildTree(parsed([START, created("s3.1", "s3")]))
    assert.deepStrictEqual(
      m.nodes.map((n) => [n.id, n.kind]),
      [
        ["", "root"],
        ["s3", "missing"],
        ["s3.1", "child"]
      ]
    )
  })
})

/** Random trees as parent arrays (parent < child), with random collapsed and hidden flags. */
const trees = fc.integer({ min: 1, max: 60 }).chain((n) =>
  fc.record({
    parents: fc.tuple(...Array.from({ length: n }, (_, i) => (i === 0 ? fc.constant(-1) : fc.nat(i - 1)))),
    collapsed: fc.array(fc.boolean(), { minLength: n, maxLength: n }),
    hidden: fc.array(fc.boolean(), { minLength: n, maxLength: n })
  })
)
const childrenOf = (parents: ReadonlyArray<number>) => {
  const children: Array<Array<number>> = parents.map(() => [])
  parents.forEach((p, i) => {
    if (p >= 0) children[p]?.push(i)
  })
  return children
}

describe("layoutTree", () => {
  it("places leaves on rows in depth-first order and parents between their children", () => {
    const l = layoutTree([[1, 2], [3], [], []], [false, false, false, false], [false, false, false, false])
    assert.deepStrictEqual(l, { depth: [0, 1, 1, 2], row: [0.5, 0, 1, 0], order: [0, 1, 3, 2], rows: 2, depthMax: 2 })
  })

  it("shows no children of a collapsed node and nothing of a hidden one", () => {
    const l = layoutTree([[1, 2], [3], [], []], [false, true, false, false], [false, false, true, false])
    assert.deepStrictEqual(l.order, [0, 1])
    assert.deepStrictEqual(l.depth, [0, 1, -1, -1])
    assert.strictEqual(l.rows, 1)
  })

  it("never overlaps: distinct (depth, row) per shown node, each parent within its children's rows", () => {
    fc.assert(
      fc.property(trees, ({ parents, collapsed, hidden }) => {
        const children = childrenOf(parents)
        const l = layoutTree(children, collapsed, hidden)
        const seen = new Set<string>()
        for (const i of l.order) {
          const key = `${l.depth[i]}:${l.row[i]}`
          if (seen.has(key)) return false
          seen.add(key)
          const kids = collapsed[i] ? [] : (children[i] ?? []).filter((c) => !hidden[c])
          const rows = kids.map((c) => l.row[c] ?? Number.NaN)
          if (kids.length > 0 && !(Math.min(...rows) <= (l.row[i] ?? 0) && (l.row[i] ?? 0) <= Math.max(...rows)))
            return false
          if (kids.some((c) => l.depth[c] !== (l.depth[i] ?? 0) + 1)) return false
        }
        return l.order.length === new Set(l.order).size && l.order[0] === 0
      }),
      { numRuns: 300, seed: 42 }
    )
  })

  it("gives the same layout when run from the source the page embeds", () => {
    // the page inlines `layoutTree.toString()`: it must be self-contained JavaScript
    const embedded = new Function(`return (${layoutTree.toString()})`)() as typeof layoutTree
    fc.assert(
      fc.property(trees, ({ parents, collapsed, hidden }) => {
        const children = childrenOf(parents)
        const a: Layout = layoutTree(children, collapsed, hidden)
        const b: Layout = embedded(children, collapsed, hidden)
        return JSON.stringify(a) === JSON.stringify(b)
      }),
      { numRuns: 100, seed: 7 }
    )
  })

  it("lays out a 50,000-node chain without overflowing the stack", () => {
    const n = 50_000
    const children = Array.from({ length: n }, (_, i) => (i + 1 < n ? [i + 1] : []))
    const l = layoutTree(children, new Array(n).fill(false), new Array(n).fill(false))
    assert.strictEqual(l.depthMax, n - 1)
    assert.strictEqual(l.rows, 1)
  })
})

describe("budgetRows", () => {
  const model = buildTree(parsed(BEAM))
  it("plots each spent meter from zero, against ms since the start, with its limit", () => {
    const { rows, timed } = budgetRows(model.charges, model.run.limits)
    assert.isTrue(timed)
    assert.deepStrictEqual(
      rows.filter((r) => r.meter === "sequences"),
      [
        { meter: "sequences", x: 0, total: 0, limit: 10 },
        { meter: "sequences", x: 4, total: 2, limit: 10 },
        { meter: "sequences", x: 10, total: 4, limit: 10 }
      ]
    )
    assert.deepStrictEqual([...new Set(rows.map((r) => r.meter))], ["calls", "sequences"])
  })

  it("falls back to the charge number when charges carry no time", () => {
    const { rows, timed } = budgetRows(
      model.charges.map(({ ms: _, ...c }) => c),
      {}
    )
    assert.isFalse(timed)
    assert.deepStrictEqual(
      rows.filter((r) => r.meter === "calls").map((r) => [r.x, r.total, r.limit]),
      [
        [0, 0, null],
        [1, 1, null],
        [2, 2, null]
      ]
    )
  })
})

describe("renderPage", () => {
  it("is one self-contained page whose data cannot close its script element", () => {
    const evil = parsed([
      START,
      created("s0", undefined, { text: "</script><script>alert(1)</script>", answer: "<b>" })
    ])
    const model: TraceModel = buildTree(evil)
    const html = renderPage(model, "")
    assert.strictEqual(html.match(/<\/script>/gu)?.length, 2, "only the data and the viewer close a script")
    assert.notMatch(html, /\b(src|href)="https?:/u, "nothing is fetched")
    assert.include(html, "\\u003c/script>")
  })
})
