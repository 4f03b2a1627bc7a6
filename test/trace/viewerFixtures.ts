/**
 * What both trace-viewer tests share: the CLI run quietly, the facts a trace states, and a
 * synthetic N × rounds beam-search trace.
 */
import * as NodeServices from "@effect/platform-node/NodeServices"
import { Effect } from "effect"
import { TestConsole } from "effect/testing"
import { runCli } from "../../src/cli/main.ts"

/** Runs the CLI quietly; fails on a non-zero exit code. */
export const cli = (argv: ReadonlyArray<string>) =>
  Effect.runPromise(
    Effect.gen(function* () {
      process.exitCode = undefined
      yield* runCli(argv).pipe(Effect.provide(NodeServices.layer))
      const err = (yield* TestConsole.errorLines).map(String)
      if (process.exitCode !== undefined && process.exitCode !== 0)
        throw new Error(`mull ${argv.join(" ")} exited ${process.exitCode}:\n${err.join("\n")}`)
    }).pipe(Effect.provide(TestConsole.layer))
  )

export interface TraceFacts {
  readonly chosen: string
  readonly answer: string
  readonly ranking: ReadonlyArray<{ readonly answer: string; readonly count: number }>
  readonly created: number
  readonly dropped: ReadonlyArray<string>
}

export const factsOf = (text: string): TraceFacts => {
  const events = text
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as Record<string, unknown>)
  const selected = events.findLast((e) => e._tag === "Selected") ?? {}
  return {
    chosen: String(selected.chosen),
    answer: String(selected.answer),
    ranking: selected.ranking as TraceFacts["ranking"],
    created: events.filter((e) => e._tag === "CandidateCreated").length,
    dropped: events.flatMap((e) => (e._tag === "CandidatesPruned" ? (e.dropped as Array<string>) : []))
  }
}

/**
 * A beam-search trace like `mull run beam-search --param N=… --trace` writes, without running
 * one: N samples, then each round scores the active lanes, keeps N / M and expands each M ways;
 * finally every lane is completed, scored and voted on. Scores follow a fixed hash of the id.
 */
export const syntheticBeam = (n: number, m: number, rounds: number): { jsonl: string; deepPruned: string } => {
  let deepPruned = ""
  const lines: Array<unknown> = []
  const zero = {
    calls: 0,
    sequences: 0,
    inputTokens: 0,
    outputTokens: 0,
    verifierCalls: 0,
    verifierTokens: 0,
    flops: 0,
    usd: 0,
    wallMs: 0
  }
  const total = { ...zero }
  let at = 1_000
  const charge = (node: string, sequences: number, verifierCalls: number) => {
    total.calls += 1
    total.sequences += sequences
    total.outputTokens += sequences * 60
    total.verifierCalls += verifierCalls
    at += 3
    lines.push({
      _tag: "Charged",
      node,
      usage: { ...zero, calls: 1, sequences, outputTokens: sequences * 60, verifierCalls },
      total: { ...total },
      at
    })
  }
  const scoreOf = (id: string) => {
    let h = 2166136261
    for (const c of id) h = Math.imul(h ^ c.charCodeAt(0), 16777619)
    return ((h >>> 0) % 1000) / 1000
  }
  const create = (id: string, parentId: string | undefined, round: number, answer?: string) =>
    lines.push({
      _tag: "CandidateCreated",
      id,
      ...(parentId === undefined ? {} : { parentId }),
      node: parentId === undefined ? "root.nodes.0" : "root.nodes.1.body.nodes.2",
      round,
      done: answer !== undefined,
      ...(answer === undefined ? {} : { answer }),
      tokens: 60 * (round + 1),
      text: `Step ${round + 1} of ${id}: we simplify the expression and compare both sides of the equation.`
    })
  lines.push({
    _tag: "RunStarted",
    problemId: "synthetic",
    question: "?",
    graph: "beam-search",
    params: { N: n, M: m, rounds },
    limits: {},
    seed: "0",
    at
  })
  let active = Array.from({ length: n }, (_, i) => `s${i}`)
  charge("root.nodes.0", n, 0)
  for (const id of active) create(id, undefined, 0)
  for (let r = 0; r < rounds; r++) {
    charge("root.nodes.1.body.nodes.0", 0, active.length)
    for (const id of active)
      lines.push({
        _tag: "CandidateScored",
        id,
        node: "root.nodes.1.body.nodes.0",
        score: scoreOf(id),
        stepScores: [scoreOf(id)]
      })
    const ranked = [...active].sort((a, b) => scoreOf(b) - scoreOf(a))
    const kept = new Set(ranked.slice(0, n / m))
    if (r === 20) deepPruned = ranked[ranked.length - 1] ?? ""
    lines.push({
      _tag: "CandidatesPruned",
      node: "root.nodes.1.body.nodes.1",
      kept: active.filter((id) => kept.has(id)),
      dropped: active.filter((id) => !kept.has(id))
    })
    const next: Array<string> = []
    for (const id of active.filter((x) => kept.has(x))) {
      charge("root.nodes.1.body.nodes.2", m, 0)
      for (let k = 0; k < m; k++) {
        create(`${id}.${k}`, id, r + 1)
        next.push(`${id}.${k}`)
      }
    }
    active = next
  }
  const done = active.map((id, i) => {
    const child = `${id}.0`
    charge("root.nodes.2", 1, 0)
    create(child, id, rounds + 1, String(i % 7))
    return child
  })
  charge("root.nodes.3", 0, done.length)
  for (const id of done)
    lines.push({ _tag: "CandidateScored", id, node: "root.nodes.3", score: scoreOf(id), stepScores: [scoreOf(id)] })
  const weights = new Map<string, { weight: number; count: number; best: string }>()
  done.forEach((id, i) => {
    const a = String(i % 7)
    const w = weights.get(a) ?? { weight: 0, count: 0, best: id }
    if (scoreOf(id) > scoreOf(w.best)) w.best = id
    weights.set(a, { weight: w.weight + scoreOf(id), count: w.count + 1, best: w.best })
  })
  const ranking = [...weights].map(([answer, w]) => ({ answer, ...w })).sort((a, b) => b.weight - a.weight)
  const top = ranking[0]
  lines.push({
    _tag: "Selected",
    node: "root.nodes.4",
    answer: top?.answer,
    chosen: top?.best,
    method: "weighted",
    candidates: done.length,
    ranking
  })
  lines.push({ _tag: "RunFinished", answer: top?.answer, exhausted: false, usage: total })
  return { jsonl: `${lines.map((l) => JSON.stringify(l)).join("\n")}\n`, deepPruned }
}
