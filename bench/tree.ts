/**
 * REBASE against beam search at equal sequences, paired per problem and per difficulty bin (MATH
 * level 1–5), with 95% intervals of the paired accuracy difference.
 *
 * For each width N: beam search (the built-in `beam-search`, M = 4) runs unbudgeted and its
 * sequences per problem are recorded; REBASE (the built-in `rebase`, width N) then runs on the same
 * problem under a budget of exactly those sequences (`--match`, the default) — so REBASE never
 * spends more sequences than beam search did on that problem — or unbudgeted (`--no-match`, same
 * width). Both end in the same PRM-weighted vote. Also runs `mcts` and `ab-mcts` at the same
 * sequence caps with `--mcts`.
 *
 *   node bench/tree.ts                          # simulated, MATH-500 every 2nd problem, N = 4, 16, 64
 *   node bench/tree.ts --widths 16 --every 10   # a quick look
 *   node bench/tree.ts --no-match               # same width, each at its own spend
 *   node bench/tree.ts --mcts                   # MCTS and AB-MCTS beside them, at beam's sequences
 *   node bench/tree.ts --mcts --mcts-k 2 --mcts-c 0.5  # MCTS's children per expansion and exploration
 *   node bench/tree.ts --held-out --balance 0.2 # the odd-numbered problems (not in the default subset): tuning
 *
 * @since 0.3.0
 */
import { Effect } from "effect"
import { grade } from "../src/answer/Equivalence.ts"
import { registry } from "../src/backends/Registry.ts"
import { loadProblems } from "../src/eval/Problems.ts"
import { makeRunner } from "../src/Mull.ts"

const arg = (name: string, fallback: string): string => {
  const i = process.argv.indexOf(`--${name}`)
  return i >= 0 ? (process.argv[i + 1] ?? fallback) : fallback
}
const flag = (name: string): boolean => process.argv.includes(`--${name}`)

const every = Number(arg("every", "2"))
const limit = Number(arg("limit", "100000"))
const concurrency = Number(arg("concurrency", "8"))
const widths = arg("widths", "4,16,64").split(",").map(Number)
const balance = Number(arg("balance", "0.2"))
const match = !flag("no-match")
const withMcts = flag("mcts")
const heldOut = flag("held-out")
const mctsK = Number(arg("mcts-k", "2"))
const mctsC = Number(arg("mcts-c", "0.5"))
const mctsGraph = arg("mcts-graph", "mcts")

interface Row {
  readonly correct: boolean
  readonly sequences: number
  readonly bin: number
}

type Runner = ReturnType<typeof makeRunner>
type Problems = Awaited<ReturnType<typeof loadAll>>

/** The default subset (every 2nd problem from the first, thinned by --every); with --held-out the odd problems instead (for tuning without touching it). */
const loadAll = async () => {
  if (!heldOut) return Effect.runPromise(loadProblems({ name: "math500", every, limit }, { registry }))
  const all = await Effect.runPromise(loadProblems({ name: "math500" }, { registry }))
  return all
    .filter((_, i) => i % 2 === 1)
    .filter((_, j) => j % Math.max(1, Math.floor(every / 2)) === 0)
    .slice(0, limit)
}

/** Runs a strategy on every problem (`cap(i)`: a sequence budget for problem i, if any). */
const runAll = async (
  runner: Runner,
  problems: Problems,
  graph: string,
  params: Record<string, number>,
  cap: (i: number) => number | undefined
): Promise<Array<Row>> => {
  const out: Array<Row> = new Array(problems.length)
  let next = 0
  const worker = async () => {
    while (next < problems.length) {
      const i = next++
      const p = problems[i]
      if (p === undefined) continue
      const budget = cap(i)
      const r = await runner.run({
        graph,
        problem: p,
        params,
        seed: 0,
        ...(budget === undefined ? {} : { budget: { sequences: budget } })
      })
      out[i] = {
        correct: p.gold !== undefined && grade(r.answer, p.gold),
        sequences: r.usage.sequences,
        bin: p.meta.level ?? 0
      }
    }
  }
  await Promise.all(Array.from({ length: concurrency }, worker))
  return out
}

/** Paired difference a − b in points, with its 95% interval (normal, paired SE). */
const paired = (a: ReadonlyArray<Row>, b: ReadonlyArray<Row>, keep: (i: number) => boolean): string => {
  const d: Array<number> = []
  a.forEach((x, i) => {
    const y = b[i]
    if (y !== undefined && keep(i)) d.push(Number(x.correct) - Number(y.correct))
  })
  const n = d.length
  if (n === 0) return "–"
  const mean = d.reduce((s, x) => s + x, 0) / n
  const sd = Math.sqrt(d.reduce((s, x) => s + (x - mean) ** 2, 0) / Math.max(1, n - 1))
  const half = (1.96 * sd) / Math.sqrt(n)
  return `${(100 * mean).toFixed(1)} [${(100 * (mean - half)).toFixed(1)}, ${(100 * (mean + half)).toFixed(1)}]`
}

const acc = (r: ReadonlyArray<Row>, keep: (i: number) => boolean) => {
  const xs = r.filter((_, i) => keep(i))
  return xs.length === 0 ? "–" : ((100 * xs.filter((x) => x.correct).length) / xs.length).toFixed(1)
}
const seqs = (r: ReadonlyArray<Row>, keep: (i: number) => boolean) => {
  const xs = r.filter((_, i) => keep(i))
  return xs.length === 0 ? "–" : (xs.reduce((s, x) => s + x.sequences, 0) / xs.length).toFixed(1)
}

const main = async () => {
  const problems = await loadAll()
  const runner = makeRunner({ backend: "simulated" })
  const t0 = Date.now()
  const bins = [1, 2, 3, 4, 5]
  console.log(
    `simulated backend, MATH-500 ${heldOut ? "held-out odd problems" : `every ${every}`} (${problems.length} problems), seed 0, REBASE balance ${balance}, ${match ? "REBASE capped at beam search's sequences per problem" : "unbudgeted, same width"}`
  )
  for (const N of widths) {
    const beam = await runAll(runner, problems, "beam-search", { N, M: 4 }, () => undefined)
    process.stderr.write(`beam-search N=${N}: ${((Date.now() - t0) / 1000).toFixed(0)} s\n`)
    const cap = (i: number) => (match ? beam[i]?.sequences : undefined)
    const rebase = await runAll(runner, problems, "rebase", { N, balance }, cap)
    process.stderr.write(`rebase N=${N}: ${((Date.now() - t0) / 1000).toFixed(0)} s\n`)
    const others: Array<[string, Array<Row>]> = []
    if (withMcts) {
      // MCTS at beam's sequences: iterations as many as the cap allows (the budget ends the search)
      others.push([
        `mcts k=${mctsK} c=${mctsC}`,
        await runAll(runner, problems, mctsGraph, { N: 4 * N, k: mctsK, c: mctsC }, cap)
      ])
      others.push(["ab-mcts k=8", await runAll(runner, problems, "ab-mcts", { N: 2 * N, k: 8 }, cap)])
      process.stderr.write(`mcts N=${N}: ${((Date.now() - t0) / 1000).toFixed(0)} s\n`)
    }
    console.log(`\nwidth N = ${N}`)
    console.log(
      `| bin (MATH level) | problems | beam acc % | beam seqs | REBASE acc % | REBASE seqs | Δ REBASE − beam, pts [95% CI] |${others.map(([l]) => ` ${l} acc % | ${l} seqs | Δ ${l} − beam |`).join("")}`
    )
    console.log(`|---|---|---|---|---|---|---|${others.map(() => "---|---|---|").join("")}`)
    for (const bin of [...bins, 0]) {
      const keep = (i: number) => bin === 0 || beam[i]?.bin === bin
      const count = beam.filter((_, i) => keep(i)).length
      if (count === 0) continue
      console.log(
        `| ${bin === 0 ? "all" : bin} | ${count} | ${acc(beam, keep)} | ${seqs(beam, keep)} | ${acc(rebase, keep)} | ${seqs(rebase, keep)} | ${paired(rebase, beam, keep)} |${others.map(([, r]) => ` ${acc(r, keep)} | ${seqs(r, keep)} | ${paired(r, beam, keep)} |`).join("")}`
      )
    }
  }
  await runner.dispose()
}

main().catch((e: unknown) => {
  console.error(e)
  process.exit(1)
})
