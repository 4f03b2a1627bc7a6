/**
 * s1's budget forcing on the simulated backend's thinking mode against plain sampling at equal
 * output tokens: each budget-forcing configuration's accuracy beside majority@k of plain samples,
 * k chosen so that majority@k's mean output tokens are closest to the configuration's, with the
 * paired standard error of the difference (per problem, averaged over the seeds first).
 *
 *   node bench/thinking.ts                          # MATH-500 every 5th problem, seeds 0–3
 *   node bench/thinking.ts --every 10 --seeds 2     # a quicker look
 *
 * @since 0.6.0
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

const every = Number(arg("every", "5"))
const seeds = Number(arg("seeds", "4"))
const concurrency = Number(arg("concurrency", "8"))

const forcing = (label: string, params: Record<string, number>) => ({ label, graph: "budget-forcing", params })

/** Budget forcing: caps only (the end forced at 512 / 1024 / 2048 / 4096), s1's extension, and N = 4 at a cap. */
const FORCING = [
  forcing("BF cap 512", { N: 1, maxThinking: 512, minThinking: 0 }),
  forcing("BF cap 1024", { N: 1, maxThinking: 1024, minThinking: 0 }),
  forcing("BF cap 2048", { N: 1, maxThinking: 2048, minThinking: 0 }),
  forcing("BF cap 4096 (≈ natural)", { N: 1, maxThinking: 4096, minThinking: 0 }),
  forcing("BF extend: min = cap 8192, 2 waits", { N: 1, maxThinking: 8192, minThinking: 8192, waits: 2 }),
  forcing("BF N=4 cap 1024, majority", { N: 4, maxThinking: 1024, minThinking: 0 })
]
const KS = [1, 2, 3, 4, 6, 8, 12, 16, 24, 32]
const PLAIN = KS.map((k) => ({ label: `majority@${k}`, graph: "majority", params: { N: k } as Record<string, number> }))

interface Row {
  readonly correct: number
  readonly tokens: number
  readonly thinking: number
}

const main = async () => {
  const problems = await Effect.runPromise(loadProblems({ name: "math500", every }, { registry }))
  const runner = makeRunner({ backend: "simulated" })
  const rows = new Map<string, Array<Row>>()
  for (const s of [...PLAIN, ...FORCING]) {
    const out: Array<Row> = new Array(problems.length)
    let next = 0
    const worker = async () => {
      while (next < problems.length) {
        const i = next++
        const p = problems[i]
        if (p === undefined) continue
        let correct = 0
        let tokens = 0
        let thinking = 0
        for (let seed = 0; seed < seeds; seed++) {
          const r = await runner.run({ graph: s.graph, problem: p, params: s.params, seed })
          correct += p.gold !== undefined && grade(r.answer, p.gold) ? 1 : 0
          tokens += r.usage.outputTokens
          thinking += r.usage.thinkingTokens
        }
        out[i] = { correct: correct / seeds, tokens: tokens / seeds, thinking: thinking / seeds }
      }
    }
    await Promise.all(Array.from({ length: concurrency }, worker))
    rows.set(s.label, out)
  }
  await runner.dispose()
  const n = problems.length
  const mean = (r: ReadonlyArray<Row>, f: (x: Row) => number) => r.reduce((a, x) => a + f(x), 0) / n
  const paired = (a: ReadonlyArray<Row>, b: ReadonlyArray<Row>) => {
    const d = a.map((x, i) => x.correct - (b[i]?.correct ?? 0))
    const m = d.reduce((s, x) => s + x, 0) / n
    const sd = Math.sqrt(d.reduce((s, x) => s + (x - m) ** 2, 0) / Math.max(1, n - 1))
    return `${(100 * m).toFixed(1)} ± ${((100 * sd) / Math.sqrt(n)).toFixed(1)}`
  }
  console.log(`simulated backend, MATH-500 every ${every} (${n} problems) × seeds 0–${seeds - 1}`)
  console.log("| strategy | accuracy % | mean output tokens | mean thinking tokens |")
  console.log("|---|---|---|---|")
  for (const [label, r] of rows)
    console.log(
      `| ${label} | ${(100 * mean(r, (x) => x.correct)).toFixed(1)} | ${mean(r, (x) => x.tokens).toFixed(0)} | ${mean(r, (x) => x.thinking).toFixed(0)} |`
    )
  console.log("")
  console.log(
    "| budget forcing | vs plain at equal output tokens | its tokens / theirs | Δ accuracy (pts ± paired SE) |"
  )
  console.log("|---|---|---|---|")
  for (const s of FORCING) {
    const r = rows.get(s.label) ?? []
    const tokens = mean(r, (x) => x.tokens)
    let best = PLAIN[0]
    for (const p of PLAIN) {
      const t = mean(rows.get(p.label) ?? [], (x) => x.tokens)
      const b = mean(rows.get(best?.label ?? "") ?? [], (x) => x.tokens)
      if (Math.abs(Math.log(t / tokens)) < Math.abs(Math.log(b / tokens))) best = p
    }
    const base = rows.get(best?.label ?? "") ?? []
    console.log(
      `| ${s.label} | ${best?.label} | ${(tokens / mean(base, (x) => x.tokens)).toFixed(2)} | ${paired(r, base)} |`
    )
  }
}

main().catch((e: unknown) => {
  console.error(e)
  process.exit(1)
})
