/**
 * Stopping rules that read the PRM's scores *and* token confidence (issue 19's "≥ 2× fewer samples
 * than weighted@64 for ≤ 0.5 points lost"), evaluated offline over the same sample sequences: for
 * each problem, N samples (continuation k of one seed, as `waves` and `sample` draw them) with
 * their PRM score (last step) and DeepConf lowest group confidence C (window W); a rule reads,
 * after sample k, the weighted vote of samples 1..k with weight prm · (C/(1+C))^b and stops when
 * the leading answer's lead ≥ z · √(N − k) (b = 0 is `waves`' PRM-weighted lead rule); its answer
 * is that vote's leader. Compared, paired per problem, with weighted@N (PRM weights, all N).
 *
 *   node bench/combined.ts                  # every 4th MATH-500 problem, N = 64, W = 256
 *
 * @since 0.3.0
 */
import { Effect } from "effect"
import { grade } from "../src/answer/Equivalence.ts"
import { mathAnswerKey } from "../src/answer/MathGrader.ts"
import { registry } from "../src/backends/Registry.ts"
import * as Confidence from "../src/domain/Confidence.ts"
import { loadProblems } from "../src/eval/Problems.ts"
import { makeRunner } from "../src/Mull.ts"

const arg = (name: string, fallback: string): string => {
  const i = process.argv.indexOf(`--${name}`)
  return i >= 0 ? (process.argv[i + 1] ?? fallback) : fallback
}
const N = Number(arg("n", "64"))
const every = Number(arg("every", "4"))
const W = Number(arg("window", "256"))

interface Sample {
  readonly key: string | undefined
  readonly answer: string | undefined
  readonly prm: number
  readonly conf: number
}

const leader = (samples: ReadonlyArray<Sample>, k: number, b: number) => {
  const by = new Map<string, { answer: string; w: number; first: number }>()
  for (let i = 0; i < k; i++) {
    const s = samples[i]
    if (s?.key === undefined || s.answer === undefined) continue
    const e = by.get(s.key) ?? { answer: s.answer, w: 0, first: i }
    e.w += s.prm * s.conf ** b
    by.set(s.key, e)
  }
  const sorted = [...by.values()].sort((x, y) => y.w - x.w || x.first - y.first)
  return { answer: sorted[0]?.answer, lead: (sorted[0]?.w ?? 0) - (sorted[1]?.w ?? 0) }
}

const main = async () => {
  const problems = await Effect.runPromise(loadProblems({ name: "math500", every }, { registry }))
  const runner = makeRunner({ backend: "simulated" })
  const graph = {
    name: "s",
    description: "N scored samples with token confidences",
    root: {
      type: "sequence",
      nodes: [
        { type: "sample", n: N, until: "end", logprobs: 5 },
        { type: "score", verifier: "prm" },
        { type: "select", method: "weighted" }
      ]
    }
  }
  const data: Array<{ samples: ReadonlyArray<Sample>; gold: string | undefined; weighted: boolean }> = []
  for (const p of problems) {
    const r = await runner.run({ graph, problem: p, seed: 0 })
    const samples = r.population.map((c) => {
      const v = Confidence.candidateStat(c.steps, "lowest-group", { ...Confidence.DEFAULT_OPTIONS, window: W }) ?? 0
      return {
        key: c.answer === undefined ? undefined : mathAnswerKey.key(c.answer),
        answer: c.answer,
        prm: c.score ?? 0,
        conf: v / (1 + v)
      }
    })
    data.push({ samples, gold: p.gold, weighted: p.gold !== undefined && grade(r.answer, p.gold) })
  }
  await runner.dispose()
  const n = data.length
  const base = data.filter((d) => d.weighted).length
  console.log(`simulated, ${n} MATH-500 problems (every ${every}), N = ${N}, W = ${W}, seed 0`)
  console.log(`weighted@${N} (PRM, all samples): ${((100 * base) / n).toFixed(1)}%`)
  console.log("| weight | z | accuracy % | mean samples | × fewer | Δ vs weighted@N (pts ± SE) |")
  console.log("|---|---|---|---|---|---|")
  for (const b of [0, 1, 2, 4, 8]) {
    for (const z of [0.5, 0.4, 0.3, 0.25, 0.2, 0.15, 0.1]) {
      let correct = 0
      let samplesUsed = 0
      const d: Array<number> = []
      for (const { samples, gold, weighted } of data) {
        let k = 1
        for (; k <= N; k++)
          if (leader(samples, k, b).lead >= z * Math.sqrt(N - k) && leader(samples, k, b).answer !== undefined) break
        k = Math.min(k, N)
        const answer = leader(samples, k, b).answer
        const ok = gold !== undefined && grade(answer, gold)
        correct += Number(ok)
        samplesUsed += k
        d.push(Number(ok) - Number(weighted))
      }
      const mean = d.reduce((a, x) => a + x, 0) / n
      const sd = Math.sqrt(d.reduce((a, x) => a + (x - mean) ** 2, 0) / Math.max(1, n - 1))
      console.log(
        `| prm · (C/(1+C))^${b} | ${z} | ${((100 * correct) / n).toFixed(1)} | ${(samplesUsed / n).toFixed(2)} | ${(N / (samplesUsed / n)).toFixed(2)} | ${(100 * mean).toFixed(2)} ± ${((100 * sd) / Math.sqrt(n)).toFixed(2)} |`
      )
    }
  }
}

main().catch((e: unknown) => {
  console.error(e)
  process.exit(1)
})
