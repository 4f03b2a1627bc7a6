/**
 * Generative verifiers against the reward model on the simulated backend, per MATH level: how well
 * each verifier's scores separate right from wrong samples (AUROC over every scored sample of the
 * level), best-of-N weighted accuracy with it, and the verifier tokens it spends per problem. Every
 * verifier scores the same N samples (the same sample node, path and seed), so the comparison is
 * paired.
 *
 *   node bench/verifiers.ts                       # MATH-500 every 4th problem, N = 16
 *   node bench/verifiers.ts --every 10 --n 8      # a quick look
 *
 * @since 0.5.0
 */
import { Effect } from "effect"
import { grade } from "../src/answer/Equivalence.ts"
import { loadMath500 } from "../src/data/DatasetMath500.ts"
import { makeRunner } from "../src/Mull.ts"

const arg = (name: string, fallback: string): string => {
  const i = process.argv.indexOf(`--${name}`)
  return i >= 0 ? (process.argv[i + 1] ?? fallback) : fallback
}

const N = Number(arg("n", "16"))
const every = Number(arg("every", "4"))

const VERIFIERS: ReadonlyArray<readonly [string, object]> = [
  ["prm (reward model)", { verifier: "prm" }],
  ["think, 1 sample", { generative: { style: "think", samples: 1 } }],
  ["think, 4 samples", { generative: { style: "think", samples: 4 } }],
  ["judge (rating 1-10)", { generative: { style: "judge" } }]
]

const doc = (score: object) => ({
  name: "bench-verifier",
  description: "best-of-N weighted with one verifier",
  root: {
    type: "sequence",
    nodes: [
      { type: "sample", n: N, until: "end" },
      { type: "score", ...score },
      { type: "select", method: "weighted" }
    ]
  }
})

/** AUROC of scores separating right (true) from wrong; ties count half. */
const auroc = (xs: ReadonlyArray<readonly [number, boolean]>): number => {
  const pos = xs.filter(([, r]) => r).map(([s]) => s)
  const neg = xs.filter(([, r]) => !r).map(([s]) => s)
  let wins = 0
  for (const p of pos) for (const q of neg) wins += p > q ? 1 : p === q ? 0.5 : 0
  return pos.length === 0 || neg.length === 0 ? Number.NaN : wins / (pos.length * neg.length)
}

const main = async () => {
  const all = await Effect.runPromise(loadMath500())
  const problems = all.filter((_, i) => i % every === 0)
  const runner = makeRunner({ backend: "simulated" })
  console.log(`simulated backend, MATH-500 every ${every}th problem (${problems.length}), N = ${N}, seed 0\n`)
  console.log(
    "| level | problems | verifier | AUROC | weighted@N % | Δ vs prm (points ± paired SE) | verifier tokens / problem |"
  )
  console.log("|---|---|---|---|---|---|---|")
  for (const level of [1, 2, 3, 4, 5]) {
    const ps = problems.filter((p) => p.meta.level === level)
    let base: ReadonlyArray<number> = []
    for (const [label, score] of VERIFIERS) {
      const pairs: Array<readonly [number, boolean]> = []
      const right: Array<number> = []
      let tokens = 0
      for (const p of ps) {
        const r = await runner.run({ graph: doc(score), problem: p, seed: 0 })
        for (const c of r.population) if (c.score !== undefined) pairs.push([c.score, grade(c.answer, p.gold ?? "")])
        right.push(grade(r.answer, p.gold ?? "") ? 1 : 0)
        tokens += r.usage.verifierTokens
      }
      // the first verifier (the PRM) is the baseline; differences are paired per problem
      if (base.length === 0) base = right
      const d = right.map((x, i) => 100 * (x - (base[i] ?? 0)))
      const mean = d.reduce((a, x) => a + x, 0) / Math.max(1, d.length)
      const sd = Math.sqrt(d.reduce((a, x) => a + (x - mean) ** 2, 0) / Math.max(1, d.length - 1))
      const acc = (100 * right.reduce((a, x) => a + x, 0)) / Math.max(1, ps.length)
      const se = sd / Math.sqrt(Math.max(1, d.length))
      console.log(
        `| ${level} | ${ps.length} | ${label} | ${auroc(pairs).toFixed(3)} | ${acc.toFixed(1)} | ${mean >= 0 ? "+" : ""}${mean.toFixed(1)} ± ${se.toFixed(1)} | ${Math.round(tokens / Math.max(1, ps.length))} |`
      )
    }
  }
}

void main()
