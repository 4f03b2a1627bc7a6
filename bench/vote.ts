/**
 * The vote at scale (issue 20): a weighted vote over 4,096 candidates with 256 distinct symbolic
 * answers — 64 polynomials, each in 4 spellings (`(x+3)^2`, `(3+x)^2`, `x^2+6x+9`, `9+6x+x^2`) —
 * where the right class wins only if its spellings merge: each spelling alone has fewer votes
 * than the leading wrong spelling. Measured cold (empty verdict caches) in a fresh child process:
 * the vote (wall and CPU time), then — apart, since every answer here is an exact polynomial that
 * `Polynomial.ts` decides without it — the algebra engine's start-up on a pair it must decide.
 *
 * @since 0.4.0
 */
import { execFileSync } from "node:child_process"
import { fileURLToPath } from "node:url"
import { mathAnswerKey } from "../src/answer/MathGrader.ts"
import { identical } from "../src/answer/Symbolic.ts"
import { type Ballot, vote } from "../src/runtime/Vote.ts"

export interface VoteResult {
  readonly candidates: number
  readonly distinct: number
  /** building the algebra engine (its first comparison), after the vote: the vote does not need it */
  readonly engineMs: number
  /** the vote itself, cold (no verdict cached), wall time */
  readonly voteMs: number
  /** the same, CPU time of the process (user + system) */
  readonly voteCpuMs: number
  readonly right: boolean
  readonly winner: string
}

/** The 4 spellings of (x+k)². */
const spellings = (k: number): ReadonlyArray<string> => [
  `(x+${k})^2`,
  `(${k}+x)^2`,
  `x^2+${2 * k}x+${k * k}`,
  `${k * k}+${2 * k}x+x^2`
]

/** mulberry32, so the ballots are the same on every run */
const rng = (seed: number) => {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/**
 * The ballots: class 1 (the right one) gets 300 ballots on each of its 4 spellings; the leading
 * wrong spelling `(x+2)^2` gets 500; the other 251 answers share the rest; shuffled, scores in
 * (0.5, 1).
 *
 * @example
 * ballots().length // 4096
 */
export const ballots = (): ReadonlyArray<Ballot> => {
  const next = rng(20)
  const answers: Array<string> = []
  for (const s of spellings(1)) for (let i = 0; i < 300; i++) answers.push(s)
  for (let i = 0; i < 500; i++) answers.push("(x+2)^2")
  const rest = [...spellings(2).slice(1), ...Array.from({ length: 62 }, (_, j) => spellings(j + 3)).flat()]
  for (let i = 0; answers.length < 4096; i++) answers.push(rest[i % rest.length] ?? "")
  for (let i = answers.length - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1))
    const t = answers[i] ?? ""
    answers[i] = answers[j] ?? ""
    answers[j] = t
  }
  return answers.map((answer, i) => ({ id: `c${i}`, answer, score: 0.5 + next() / 2 }))
}

/** The vote measured in this process (run it in a fresh one for a cold figure). */
export const measureHere = (): VoteResult => {
  const list = ballots()
  const cpu = process.cpuUsage()
  let t = performance.now()
  const ranking = vote(list, "weighted", mathAnswerKey)
  const voteMs = performance.now() - t
  const used = process.cpuUsage(cpu)
  t = performance.now()
  identical("\\sqrt{2}y", "\\frac{2y}{\\sqrt{2}}") // not a polynomial: builds the engine
  const engineMs = performance.now() - t
  const winner = ranking[0]?.answer ?? ""
  return {
    candidates: list.length,
    distinct: new Set(list.map((b) => b.answer)).size,
    engineMs,
    voteMs,
    voteCpuMs: (used.user + used.system) / 1000,
    right: spellings(1).includes(winner) && ranking[0]?.count === 1200,
    winner
  }
}

/**
 * The vote in a fresh child process (`node bench/vote.ts`).
 *
 * @example
 * const r = measure(); r.right // true
 */
export const measure = (): VoteResult => {
  const out = execFileSync(process.execPath, [fileURLToPath(import.meta.url)], { encoding: "utf8", maxBuffer: 1 << 20 })
  return JSON.parse(out) as VoteResult
}

if (import.meta.main) process.stdout.write(JSON.stringify(measureHere()))
