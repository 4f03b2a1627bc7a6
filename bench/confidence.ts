/**
 * The simulator's token-confidence model against what DeepConf reports (Fu et al. 2025): AUROC of
 * right-vs-wrong traces by lowest group confidence (pooled, and within a problem), and DeepConf
 * offline's confidence-filtered vote (keep the top η by lowest group confidence, weight by
 * C/(1+C)) against majority over the same N traces, paired per problem.
 *
 *   node bench/confidence.ts                        # every 4th MATH-500 problem, N = 64, W = 256
 *   node bench/confidence.ts --every 10 --n 32
 *
 * The traces are generated once (simulated, seed 0); their confidences are then drawn by
 * `plugins/simulated/Logprobs.ts` from each step's latent, so `--grid` can try calibrations
 * without regenerating.
 *
 * @since 0.3.0
 */
import { Effect } from "effect"
import { defaultConfig } from "../plugins/simulated/Config.ts"
import { isSimLatent } from "../plugins/simulated/Latent.ts"
import { CALIBRATION, stepConfidence } from "../plugins/simulated/Logprobs.ts"
import { makeWorld } from "../plugins/simulated/World.ts"
import { grade } from "../src/answer/Equivalence.ts"
import { mathAnswerKey } from "../src/answer/MathGrader.ts"
import { registry } from "../src/backends/Registry.ts"
import * as Confidence from "../src/domain/Confidence.ts"
import type { Step } from "../src/domain/Steps.ts"
import * as Steps from "../src/domain/Steps.ts"
import { loadProblems } from "../src/eval/Problems.ts"
import { makeRunner } from "../src/Mull.ts"

const arg = (name: string, fallback: string): string => {
  const i = process.argv.indexOf(`--${name}`)
  return i >= 0 ? (process.argv[i + 1] ?? fallback) : fallback
}
const N = Number(arg("n", "64"))
const every = Number(arg("every", "4"))
const W = Number(arg("window", "256"))
const grid = process.argv.includes("--grid")

interface Trace {
  readonly steps: ReadonlyArray<Step>
  readonly answer: string | undefined
  readonly correct: boolean
}

const auroc = (right: ReadonlyArray<number>, wrong: ReadonlyArray<number>): number => {
  if (right.length === 0 || wrong.length === 0) return Number.NaN
  const all = [...right.map((v) => ({ v, r: 1 })), ...wrong.map((v) => ({ v, r: 0 }))].sort((a, b) => a.v - b.v)
  let rankSum = 0
  let i = 0
  while (i < all.length) {
    let j = i
    while (j + 1 < all.length && all[j + 1]?.v === all[i]?.v) j++
    const rank = (i + j) / 2 + 1
    for (let k = i; k <= j; k++) if (all[k]?.r === 1) rankSum += rank
    i = j + 1
  }
  return (rankSum - (right.length * (right.length + 1)) / 2) / (right.length * wrong.length)
}

const vote = (answers: ReadonlyArray<string | undefined>, weights: ReadonlyArray<number>): string | undefined => {
  const by = new Map<string, { answer: string; w: number; first: number }>()
  answers.forEach((a, i) => {
    if (a === undefined) return
    const k = mathAnswerKey.key(a)
    const e = by.get(k) ?? { answer: a, w: 0, first: i }
    e.w += weights[i] ?? 0
    by.set(k, e)
  })
  let best: { answer: string; w: number; first: number } | undefined
  for (const e of by.values())
    if (best === undefined || e.w > best.w || (e.w === best.w && e.first < best.first)) best = e
  return best?.answer
}

const main = async () => {
  const problems = await Effect.runPromise(loadProblems({ name: "math500", every }, { registry }))
  const runner = makeRunner({ backend: "simulated" })
  const graph = {
    name: "s",
    description: "N samples",
    root: {
      type: "sequence",
      nodes: [
        { type: "sample", n: N, until: "end" },
        { type: "select", method: "majority" }
      ]
    }
  }
  const data: Array<{ traces: ReadonlyArray<Trace>; world: ReturnType<typeof makeWorld>; gold: string | undefined }> =
    []
  for (const p of problems) {
    const r = await runner.run({ graph, problem: p, seed: 0 })
    data.push({
      world: makeWorld(defaultConfig, p),
      gold: p.gold,
      traces: r.population.map((c) => ({
        steps: Steps.toArray(c.steps),
        answer: c.answer,
        correct: p.gold !== undefined && grade(c.answer, p.gold)
      }))
    })
  }
  await runner.dispose()
  const evaluate = () => {
    const right: Array<number> = []
    const wrong: Array<number> = []
    let within = 0
    let withinN = 0
    const d: Array<number> = []
    let maj = 0
    let filt = 0
    for (const { traces, world, gold } of data) {
      const lowest = traces.map((t) => {
        const values = t.steps.map((s) =>
          isSimLatent(s.latent) ? stepConfidence(world, s.latent, s.tokens) : { counts: [], values: [], logprob: 0 }
        )
        const tr = Confidence.trace(
          Steps.appendAll(
            undefined,
            values.map((c, i) => ({ ...t.steps[i], confidence: c }) as Step)
          )
        )
        return tr === undefined
          ? 0
          : (Confidence.statOf(tr, "lowest-group", { ...Confidence.DEFAULT_OPTIONS, window: W }) ?? 0)
      })
      const r: Array<number> = []
      const w: Array<number> = []
      for (const [i, t] of traces.entries()) (t.correct ? r : w).push(lowest[i] ?? 0)
      right.push(...r)
      wrong.push(...w)
      const a = auroc(r, w)
      if (Number.isFinite(a)) {
        within += a
        withinN++
      }
      const answers = traces.map((t) => t.answer)
      const m = vote(
        answers,
        answers.map(() => 1)
      )
      const k = Math.max(1, Math.ceil(0.1 * traces.length))
      const order = lowest.map((v, i) => ({ v, i })).sort((x, y) => y.v - x.v || x.i - y.i)
      const keep = new Set(order.slice(0, k).map((x) => x.i))
      const f = vote(
        answers.map((x, i) => (keep.has(i) ? x : undefined)),
        lowest.map((v) => v / (1 + v))
      )
      const ok = (x: string | undefined) => (gold !== undefined && grade(x, gold) ? 1 : 0)
      maj += ok(m)
      filt += ok(f)
      d.push(ok(f) - ok(m))
    }
    const n = data.length
    const mean = d.reduce((a, b) => a + b, 0) / n
    const sd = Math.sqrt(d.reduce((a, b) => a + (b - mean) ** 2, 0) / Math.max(1, n - 1))
    return {
      auroc: auroc(right, wrong),
      within: within / withinN,
      majority: (100 * maj) / n,
      filtered: (100 * filt) / n,
      delta: `${(100 * mean).toFixed(2)} ± ${((100 * sd) / Math.sqrt(n)).toFixed(2)}`
    }
  }
  const show = (label: string) => {
    const e = evaluate()
    console.log(
      `| ${label} | ${e.auroc.toFixed(3)} | ${e.within.toFixed(3)} | ${e.majority.toFixed(1)} | ${e.filtered.toFixed(1)} | ${e.delta} |`
    )
  }
  console.log(`simulated, ${data.length} MATH-500 problems (every ${every}), N = ${N}, W = ${W}, seed 0`)
  console.log(
    "| calibration | AUROC (pooled) | AUROC (within a problem, mean) | majority % | top-10% weighted % | Δ (pts ± SE) |"
  )
  console.log("|---|---|---|---|---|---|")
  show(JSON.stringify(CALIBRATION))
  if (!grid) return
  const c = CALIBRATION as unknown as Record<string, number>
  const base = { ...c }
  for (const [k, vs] of Object.entries(JSON.parse(arg("grid", "{}")) as Record<string, ReadonlyArray<number>>)) {
    for (const v of vs) {
      Object.assign(c, base, { [k]: v })
      show(`${k}=${v}`)
    }
  }
  Object.assign(c, base)
}

main().catch((e: unknown) => {
  console.error(e)
  process.exit(1)
})
