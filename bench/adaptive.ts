/**
 * Stop-when sampling against fixed-N voting, paired per problem: each strategy's accuracy and mean
 * samples beside majority@N (and weighted@N), with paired standard errors of the accuracy
 * difference, and how often it gives majority@N's exact answer.
 *
 * Every strategy's sample k is the same sample (continuation k of one seed at `root.nodes.0`), so
 * a stopping rule's answer is majority over a prefix of majority@N's samples.
 *
 *   node bench/adaptive.ts                         # simulated, MATH-500 every 2nd problem, N = 64
 *   node bench/adaptive.ts --backend replay --n 8  # the recorded Qwen2.5-Math pool, N = 8
 *   node bench/adaptive.ts --every 10 --limit 20   # a quick look
 *   node bench/adaptive.ts --only "^esc|^adaptive" # majority@N, weighted@N and the labels matching a regex
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

const backend = arg("backend", "simulated")
const N = Number(arg("n", backend === "replay" ? "8" : "64"))
const every = Number(arg("every", backend === "replay" ? "1" : "2"))
const limit = Number(arg("limit", "100000"))
const concurrency = Number(arg("concurrency", "8"))
const only = arg("only", "")

const waves = (stop: object, extra: object = {}) => ({
  name: "waves",
  description: "a stopping rule",
  root: {
    type: "sequence",
    nodes: [
      { type: "waves", max: N, stop, ...extra },
      { type: "select", method: "verifier" in extra ? "weighted" : "majority" }
    ]
  }
})

/** The strategies: a label and a graph (a built-in name with params, or a document). */
const STRATEGIES: ReadonlyArray<{ readonly label: string; readonly graph: string | object; readonly params?: object }> =
  [
    { label: `majority@${N}`, graph: "majority", params: { N } },
    { label: `weighted@${N}`, graph: "weighted-best-of-n", params: { N } },
    // majority over the waves' own sample order: replay draws a whole pool in recorded order but a
    // prefix in its seeded permutation, so on a pool of N this is the maj@N the rules stop early on
    { label: `majority@${N} in waves order`, graph: waves({ rule: "until", when: `vote.samples >= ${N}` }) },
    {
      label: `exact: vote.lead > ${N} - vote.samples`,
      graph: waves({ rule: "until", when: `vote.lead > ${N} - vote.samples` })
    },
    { label: "adaptive-consistency c=0.95", graph: "adaptive-consistency", params: { N } },
    { label: "AC beta c=0.99", graph: waves({ rule: "beta", confidence: 0.99 }) },
    { label: "AC dirichlet c=0.95", graph: waves({ rule: "dirichlet", confidence: 0.95 }) },
    { label: "esc window 4", graph: "esc", params: { N } },
    { label: "esc window 8", graph: waves({ rule: "esc", window: 8 }) },
    {
      label: "until share>=0.6 & count>=3",
      graph: waves({ rule: "until", when: "vote.share >= 0.6 and vote.count >= 3" })
    },
    {
      label: "PRM-weighted until share>=0.7 & count>=3",
      graph: waves(
        { rule: "until", when: "vote.share >= 0.7 and vote.count >= 3" },
        { verifier: "prm", method: "weighted" }
      )
    },
    {
      label: "PRM-weighted until share>=0.8 & count>=4",
      graph: waves(
        { rule: "until", when: "vote.share >= 0.8 and vote.count >= 4" },
        { verifier: "prm", method: "weighted" }
      )
    },
    ...[
      `vote.lead > ${N} - vote.samples`,
      ...[2, 1.5, 1, 0.5, 0.4, 0.35, 0.3, 0.2, 0.15].map((z) => `vote.lead >= ${z} * sqrt(${N} - vote.samples)`)
    ].flatMap((when) => [
      { label: `lead: ${when}`, graph: waves({ rule: "until", when }) },
      {
        label: `PRM-weighted lead: ${when}`,
        graph: waves({ rule: "until", when }, { verifier: "prm", method: "weighted" })
      }
    ]),
    ...[
      "vote.beta > 0.95 or vote.samples >= 16 and vote.share < 0.4",
      "vote.beta > 0.95 or vote.samples >= 12 and vote.share < 0.5",
      "vote.beta > 0.9 or vote.samples >= 16 and vote.share < 0.5",
      "vote.beta > 0.95 or vote.samples >= 24 and vote.margin < 0.3",
      "vote.beta > 0.9 or vote.samples >= 8 and vote.share < 0.4 or vote.samples >= 32"
    ].map((when) => ({
      label: `PRM-weighted give-up: ${when}`,
      graph: waves({ rule: "until", when }, { verifier: "prm", method: "weighted" })
    })),
    { label: "deepconf-offline eta=0.1 W=256", graph: "deepconf-offline", params: { N } },
    { label: "deepconf-offline eta=0.9 W=256", graph: "deepconf-offline", params: { N, eta: 0.9 } },
    { label: "deepconf-offline eta=0.5 W=64", graph: "deepconf-offline", params: { N, eta: 0.5, W: 64 } },
    { label: "deepconf-online eta=0.1 W=256", graph: "deepconf-online", params: { N } },
    { label: "deepconf-online eta=0.9 W=256", graph: "deepconf-online", params: { N, eta: 0.9 } },
    {
      label: "PRM-weighted AC beta c=0.95",
      graph: waves({ rule: "beta", confidence: 0.95 }, { verifier: "prm", method: "weighted" })
    }
  ]

interface Row {
  readonly correct: boolean
  readonly samples: number
  readonly tokens: number
  readonly answer: string | undefined
}

const main = async () => {
  const problems = await Effect.runPromise(
    loadProblems(backend === "replay" ? { name: "qwen-pool", every, limit } : { name: "math500", every, limit }, {
      registry
    })
  )
  const runner = makeRunner({ backend })
  const chosen = STRATEGIES.filter(
    (s) =>
      only === "" ||
      new RegExp(only, "u").test(s.label) ||
      s.label.startsWith("majority") ||
      s.label.startsWith("weighted@")
  )
  const rows = new Map<string, Array<Row>>()
  const t0 = Date.now()
  for (const s of chosen) {
    const out: Array<Row> = new Array(problems.length)
    let next = 0
    const worker = async () => {
      while (next < problems.length) {
        const i = next++
        const p = problems[i]
        if (p === undefined) continue
        const r = await runner.run({
          graph: s.graph,
          problem: p,
          ...(s.params === undefined ? {} : { params: s.params as Record<string, number> }),
          seed: 0
        })
        out[i] = {
          correct: p.gold !== undefined && grade(r.answer, p.gold),
          samples: r.usage.sequences,
          tokens: r.usage.outputTokens,
          answer: r.answer
        }
      }
    }
    await Promise.all(Array.from({ length: concurrency }, worker))
    rows.set(s.label, out)
    process.stderr.write(`${s.label}: ${((Date.now() - t0) / 1000).toFixed(0)} s\n`)
  }
  await runner.dispose()
  const base = rows.get(`majority@${N}`) ?? []
  const ordered = rows.get(`majority@${N} in waves order`)
  const wbase = rows.get(`weighted@${N}`)
  const n = problems.length
  const paired = (a: ReadonlyArray<Row>, b: ReadonlyArray<Row>) => {
    const d = a.map((x, i) => Number(x.correct) - Number(b[i]?.correct ?? false))
    const mean = d.reduce((s, x) => s + x, 0) / n
    const sd = Math.sqrt(d.reduce((s, x) => s + (x - mean) ** 2, 0) / Math.max(1, n - 1))
    return `${(100 * mean).toFixed(2)} ± ${((100 * sd) / Math.sqrt(n)).toFixed(2)}`
  }
  console.log(`backend ${backend}, ${n} problems (every ${every}), N = ${N}, seed 0`)
  console.log(
    "| strategy | accuracy % | mean samples | × fewer than N | mean output tokens | × fewer tokens | Δ vs majority@N (pts ± SE) | Δ vs weighted@N | same answer as majority@N | same answer as majority@N in waves order |"
  )
  console.log("|---|---|---|---|---|---|---|---|---|---|")
  const baseTokens = base.reduce((s, x) => s + x.tokens, 0) / n
  for (const [label, r] of rows) {
    const acc = (100 * r.filter((x) => x.correct).length) / n
    const samples = r.reduce((s, x) => s + x.samples, 0) / n
    const tokens = r.reduce((s, x) => s + x.tokens, 0) / n
    const same = r.filter((x, i) => x.answer === base[i]?.answer).length
    const sameOrdered =
      ordered === undefined ? "–" : `${r.filter((x, i) => x.answer === ordered[i]?.answer).length}/${n}`
    console.log(
      `| ${label} | ${acc.toFixed(1)} | ${samples.toFixed(2)} | ${(N / samples).toFixed(2)} | ${tokens.toFixed(0)} | ${(baseTokens / tokens).toFixed(2)} | ${paired(r, base)} | ${wbase === undefined ? "–" : paired(r, wbase)} | ${same}/${n} | ${sameOrdered} |`
    )
  }
}

main().catch((e: unknown) => {
  console.error(e)
  process.exit(1)
})
