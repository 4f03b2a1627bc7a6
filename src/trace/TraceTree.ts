/**
 * The search tree of a run, built from its trace: one node per candidate (under a root standing for
 * the problem), with its PRM score, whether a prune dropped it, the chosen answer's path, the
 * parallel branch it grew in and its revision chain; the final vote; the budget's running totals
 * and the spend per graph node. Pure: the viewer (`Page.ts`) embeds this model in its HTML.
 *
 * Edges come from `CandidateCreated.parentId` (a revision's parent is the chain's previous
 * attempt). A particle-filter copy `x~j` has no `CandidateCreated`: it first appears in a prune's
 * kept list, and is placed as a sibling of `x` with `x`'s text and score.
 *
 * @since 0.1.0
 */
import type { Types } from "effect"
import * as CandidateId from "../domain/CandidateId.ts"
import type { Usage } from "../domain/Usage.ts"
import type { TraceLine } from "./TraceEvent.ts"

/** The parallel branch prefix of an id (`b2/b0/s1.3` → `b2/b0/`), and its top-level branch (`b2/`): `CandidateId`'s. */
export { groupOf, topGroupOf } from "../domain/CandidateId.ts"

/** How a candidate came to be. */
export type NodeKind = "root" | "sample" | "child" | "revision" | "copy" | "missing"

/** One candidate of the tree (index 0 is the root, the problem). */
export interface TreeNode {
  /** the candidate id (`s3.1.0`, `b2/s0.r1`, `s5~2`); `""` for the root */
  readonly id: string
  /** index of the parent in `TraceModel.nodes`; -1 for the root */
  readonly parent: number
  readonly children: ReadonlyArray<number>
  readonly kind: NodeKind
  /** the graph node (JSON path) that created it, and its repeat round */
  readonly node: string
  readonly round: number
  readonly done: boolean
  readonly answer?: string
  /** tokens of the whole solution so far */
  readonly tokens: number
  /** the text of the steps this candidate added */
  readonly text: string
  readonly score?: number
  readonly stepScores?: ReadonlyArray<number>
  /** the score came from a lookahead rollout of this many steps */
  readonly lookahead?: number
  /** a tree search's visits of it (`mcts`: its subtree's size; `rebase`: the children it was allotted) */
  readonly visits?: number
  /** a tree search's value of it (`mcts`: Q; `rebase`: the reward it was ranked by) */
  readonly value?: number
  /** the prune node that dropped it */
  readonly prunedBy?: string
  /** the parallel branch prefix it grew in (`b2/`, `b2/b0/`) */
  readonly group?: string
  /** for a copy: the id it copies */
  readonly copyOf?: string
  /** on the path from the root to the chosen candidate */
  readonly onPath: boolean
  /** index into `TraceModel.tally` of the answer it voted for, when it voted */
  readonly vote?: number
}

/** One answer of the final vote. */
export interface TallyEntry {
  readonly answer: string
  readonly weight: number
  readonly count: number
  /** id and index of the highest-scored candidate with this answer */
  readonly best: string
  readonly bestIndex?: number
  /** whether it matches the gold answer (when the trace has one and a grader was given) */
  readonly correct?: boolean
}

/** One committed charge: the ledger's totals after it, and when. */
export interface Charge {
  readonly node: string
  readonly usage: Usage
  readonly total: Usage
  /** ms since the run started (absent in traces written before charges carried a time) */
  readonly ms?: number
}

export interface TraceModel {
  readonly run: {
    readonly graph: string
    readonly problemId: string
    readonly question?: string
    readonly gold?: string
    readonly params: { readonly [name: string]: number }
    readonly limits: { readonly [meter: string]: number }
    readonly seed: string
  }
  readonly finished?: {
    readonly answer?: string
    readonly correct?: boolean
    readonly exhausted: boolean
    readonly usage: Usage
  }
  readonly nodes: ReadonlyArray<TreeNode>
  /** index of the chosen candidate */
  readonly chosen?: number
  /** the final `select` */
  readonly selected?: {
    readonly node: string
    readonly answer?: string
    readonly method?: string
    readonly hierarchical?: string
    /** how many candidates voted */
    readonly candidates: number
  }
  /** the final vote, best first (the trace keeps the top 10 answers) */
  readonly tally: ReadonlyArray<TallyEntry>
  readonly routed: ReadonlyArray<{ readonly node: string; readonly estimate: number | null; readonly bin: number }>
  readonly refused: ReadonlyArray<{
    readonly node: string
    readonly meter: string
    readonly requested: number
    readonly available: number
  }>
  readonly charges: ReadonlyArray<Charge>
  /** graph node path → node type (`expand`, `score`, …) */
  readonly nodeTypes: { readonly [path: string]: string }
  /** top-level parallel branches (`b0/`, `b1/`, …) in order */
  readonly groups: ReadonlyArray<string>
}

/**
 * How to group equivalent answers into the tally's votes (the run's answer key) and grade them;
 * by default answers are equal strings and nothing is graded.
 */
export interface AnswerGrouping {
  readonly key: (answer: string) => string
  readonly equivalent?: (a: string, b: string) => boolean
  /** whether an answer is right for the gold answer */
  readonly grade?: (answer: string, gold: string) => boolean
}

type Building = Types.Mutable<Omit<TreeNode, "children">> & { children: Array<number> }

const branchNumber = (g: string) => Number(g.slice(1, -1))

/**
 * Builds the search tree and the run's summary from a decoded trace.
 *
 * @example
 * const lines = parseTrace(text) // Result.succeed(...)
 * const model = buildTree(lines.success)
 * model.nodes[model.chosen ?? 0].id // "s2.1.1.3.1"
 */
export const buildTree = (lines: ReadonlyArray<TraceLine>, grouping?: AnswerGrouping): TraceModel => {
  const nodes: Array<Building> = [
    {
      id: "",
      parent: -1,
      children: [],
      kind: "root",
      node: "",
      round: 0,
      done: false,
      tokens: 0,
      text: "",
      onPath: false
    }
  ]
  const byId = new Map<string, number>()
  const nodeTypes: Record<string, string> = {}
  const charges: Array<Charge> = []
  const routed: Array<TraceModel["routed"][number]> = []
  const refused: Array<TraceModel["refused"][number]> = []
  let run: Types.Mutable<TraceModel["run"]> = { graph: "", problemId: "", params: {}, limits: {}, seed: "0" }
  let startedAt: number | undefined
  let finished: TraceModel["finished"]
  let selected:
    | (TraceModel["selected"] & { readonly chosen?: string; readonly ranking: ReadonlyArray<TallyEntry> })
    | undefined

  const add = (fields: Omit<Building, "children" | "onPath">): number => {
    const i = nodes.length
    nodes.push({ ...fields, children: [], onPath: false })
    nodes[fields.parent]?.children.push(i)
    byId.set(fields.id, i)
    return i
  }
  /** The index of an id, making a copy or a placeholder for an id no event created. */
  const ensure = (id: string): number => {
    const known = byId.get(id)
    if (known !== undefined) return known
    const group = CandidateId.groupOf(id)
    const of = CandidateId.copyOf(id)
    if (of !== undefined) {
      const o = nodes[ensure(of)]
      if (o !== undefined) {
        const { children: _, onPath: __, prunedBy: ___, vote: ____, ...copied } = o
        return add({ ...copied, id, kind: "copy", copyOf: of, ...(group === undefined ? {} : { group }) })
      }
    }
    // an event about a candidate the trace never created (a truncated or hand-edited trace)
    return add({
      id,
      parent: 0,
      kind: "missing",
      node: "",
      round: 0,
      done: false,
      tokens: 0,
      text: "",
      ...(group === undefined ? {} : { group })
    })
  }

  for (const { event: e } of lines) {
    switch (e._tag) {
      case "RunStarted":
        run = {
          graph: e.graph,
          problemId: e.problemId,
          params: e.params,
          limits: e.limits,
          seed: e.seed,
          ...(e.question === undefined ? {} : { question: e.question }),
          ...(e.gold === undefined ? {} : { gold: e.gold })
        }
        // the root stands for the problem: its text is the question
        if (e.question !== undefined && nodes[0] !== undefined) nodes[0].text = e.question
        startedAt = e.at
        break
      case "NodeEntered":
        nodeTypes[e.node] = e.type
        break
      case "CandidateCreated": {
        const parent = e.parentId === undefined ? 0 : ensure(e.parentId)
        const group = CandidateId.groupOf(e.id)
        const i = add({
          id: e.id,
          parent,
          kind: e.parentId === undefined ? "sample" : CandidateId.isRevision(e.id) ? "revision" : "child",
          node: e.node,
          round: e.round,
          done: e.done,
          tokens: e.tokens,
          text: e.text,
          ...(e.answer === undefined ? {} : { answer: e.answer }),
          ...(group === undefined ? {} : { group })
        })
        byId.set(e.id, i)
        break
      }
      case "CandidateScored": {
        const n = nodes[ensure(e.id)]
        if (n === undefined) break
        n.score = e.score
        n.stepScores = e.stepScores
        if (e.lookahead === undefined) delete n.lookahead
        else n.lookahead = e.lookahead
        break
      }
      case "CandidatesPruned":
        for (const id of e.kept) ensure(id)
        for (const id of e.dropped) {
          const n = nodes[ensure(id)]
          if (n !== undefined) n.prunedBy = e.node
        }
        break
      case "Charged":
        charges.push({
          node: e.node,
          usage: e.usage,
          total: e.total,
          ...(e.at === undefined || startedAt === undefined ? {} : { ms: Math.max(0, e.at - startedAt) })
        })
        break
      case "Refused":
        refused.push({ node: e.node, meter: e.meter, requested: e.requested, available: e.available })
        break
      case "Selected":
        // the last select is the final one: a branch's own select finishes before the graph's
        selected = {
          node: e.node,
          candidates: e.candidates,
          ranking: e.ranking,
          ...(e.answer === undefined ? {} : { answer: e.answer }),
          ...(e.chosen === undefined ? {} : { chosen: e.chosen }),
          ...(e.method === undefined ? {} : { method: e.method }),
          ...(e.hierarchical === undefined ? {} : { hierarchical: e.hierarchical })
        }
        break
      case "TreeVisited":
        for (const v of e.nodes) {
          const n = nodes[ensure(v.id)]
          if (n === undefined) continue
          n.visits = v.visits
          n.value = v.value
        }
        break
      case "Routed":
        routed.push({ node: e.node, estimate: e.estimate, bin: e.bin })
        break
      case "RunFinished":
        finished = {
          exhausted: e.exhausted,
          usage: e.usage,
          ...(e.answer === undefined ? {} : { answer: e.answer }),
          ...(e.correct === undefined ? {} : { correct: e.correct })
        }
        break
      case "NodeExited":
      case "TraceTruncated":
        break
    }
  }

  // parallel branches side by side: the root's children ordered by branch (stably)
  const root = nodes[0]
  const groups = [
    ...new Set(
      (root?.children ?? []).flatMap((c) => {
        const g = CandidateId.topGroupOf(nodes[c]?.id ?? "")
        return g === undefined ? [] : [g]
      })
    )
  ].sort((a, b) => branchNumber(a) - branchNumber(b) || a.localeCompare(b))
  if (root !== undefined && groups.length > 0) {
    const rank = (c: number) => {
      const g = CandidateId.topGroupOf(nodes[c]?.id ?? "")
      return g === undefined ? -1 : groups.indexOf(g)
    }
    root.children = root.children
      .map((c, k) => ({ c, k, r: rank(c) }))
      .sort((a, b) => a.r - b.r || a.k - b.k)
      .map((x) => x.c)
  }

  // the chosen candidate: named by the select (newer traces) or the best of the top answer
  const chosenId = selected?.chosen ?? selected?.ranking[0]?.best
  const chosen = chosenId === undefined ? undefined : byId.get(chosenId)
  for (let i = chosen; i !== undefined && i >= 0; ) {
    const n: Building | undefined = nodes[i]
    if (n === undefined) break
    n.onPath = true
    i = n.parent
  }

  // who voted for what: the final population's answered candidates (done ones, unless none is)
  const gold = run.gold
  const grade = gold === undefined ? undefined : grouping?.grade
  const tally: Array<TallyEntry> = (selected?.ranking ?? []).map((r) => {
    const bestIndex = byId.get(r.best)
    return {
      ...r,
      ...(bestIndex === undefined ? {} : { bestIndex }),
      ...(grade === undefined || gold === undefined ? {} : { correct: grade(r.answer, gold) })
    }
  })
  const answer = finished?.answer
  if (finished !== undefined && finished.correct === undefined && grade !== undefined && gold !== undefined)
    finished = { ...finished, correct: answer !== undefined && grade(answer, gold) }
  const key = grouping?.key ?? ((a: string) => a)
  const keys = tally.map((t) => key(t.answer))
  // an expanded candidate was replaced by its children; a revised one stays (revisions append)
  const expanded = (n: Building) => n.children.some((c) => nodes[c]?.kind === "child")
  const survivors = nodes.filter((n) => n.answer !== undefined && n.prunedBy === undefined && !expanded(n))
  const voters = survivors.some((n) => n.done) ? survivors.filter((n) => n.done) : survivors
  for (const n of voters) {
    const a = n.answer ?? ""
    const k = key(a)
    let v = keys.indexOf(k)
    if (v < 0 && grouping?.equivalent !== undefined) {
      const eq = grouping.equivalent
      v = tally.findIndex((t) => eq(t.answer, a))
    }
    if (v >= 0) n.vote = v
  }

  return {
    run,
    ...(finished === undefined ? {} : { finished }),
    nodes,
    ...(chosen === undefined ? {} : { chosen }),
    ...(selected === undefined
      ? {}
      : {
          selected: {
            node: selected.node,
            candidates: selected.candidates,
            ...(selected.answer === undefined ? {} : { answer: selected.answer }),
            ...(selected.method === undefined ? {} : { method: selected.method }),
            ...(selected.hierarchical === undefined ? {} : { hierarchical: selected.hierarchical })
          }
        }),
    tally,
    routed,
    refused,
    charges,
    nodeTypes,
    groups
  }
}

/**
 * What each graph node spent, in the order nodes first charged.
 *
 * @example
 * spendByNode(model.charges)[0] // { node: "root.nodes.0", usage: { calls: 1, sequences: 16, … } }
 */
export const spendByNode = (charges: ReadonlyArray<Charge>): ReadonlyArray<{ node: string; usage: Usage }> => {
  const out = new Map<string, Record<string, number>>()
  for (const c of charges) {
    const acc = out.get(c.node) ?? {}
    for (const [m, v] of Object.entries(c.usage)) acc[m] = (acc[m] ?? 0) + v
    out.set(c.node, acc)
  }
  return [...out].map(([node, usage]) => ({ node, usage: usage as Usage }))
}

/**
 * Counts of the tree's candidates (the root excluded).
 *
 * @example
 * treeCounts(model) // { candidates: 96, pruned: 60, done: 28, scored: 96 }
 */
export const treeCounts = (model: TraceModel) => {
  let candidates = 0
  let pruned = 0
  let done = 0
  let scored = 0
  for (const n of model.nodes) {
    if (n.kind === "root") continue
    candidates++
    if (n.prunedBy !== undefined) pruned++
    if (n.done) done++
    if (n.score !== undefined) scored++
  }
  return { candidates, pruned, done, scored }
}
