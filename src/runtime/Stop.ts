/**
 * Stopping rules over a vote that grows one sample at a time (the `waves` node): the tally of the
 * answers seen so far, and the rules that read it —
 *
 * - **ESC** (Li et al. 2024, "Escape Sky-high Cost: Early-stopping Self-Consistency"): samples
 *   come in windows of `window`; stop at the end of a window whose samples all give one answer;
 * - **Adaptive-Consistency** (Aggarwal et al. 2023, "Let's Sample Step by Step"): stop as soon as
 *   the posterior probability that the leading answer is the true majority exceeds `confidence` —
 *   `beta`: over the top two answers, P(p₁ > p₂) under Beta(v₁ + 1, v₂ + 1); `dirichlet`: over
 *   every answer seen, P(p₁ > max pⱼ) under Dirichlet(v + 1);
 * - **until**: a condition over the vote (`vote.share >= 0.7 and vote.count >= 4`).
 *
 * Every rule is a function of the first k samples in order, so where it stops never depends on
 * how many samples were in flight. Pure functions.
 *
 * @since 0.3.0
 */
import * as Expression from "../graph/Expression.ts"
import type { AnswerKeyShape } from "../services/Grader.ts"
import { Merger } from "./Merge.ts"

// ---------------------------------------------------------------------------------------------
// The tally

/** One answer group of the tally: how many samples give it, and the sum of their scores. */
interface Group {
  readonly answer: string
  count: number
  total: number
  best: number
}

/**
 * The answers of the samples so far, grouped as `Vote.group` groups them (same keys, same merging
 * of equivalent answers in first-seen order), so a `select` over the same
 * samples sees the same groups. Samples without an answer count as drawn, not as votes.
 *
 * @example
 * const t = new Tally(answers); t.add("2", 0.9); t.add("3", 0.1); t.stats("majority").share // 0.5
 */
export class Tally {
  private readonly merger: Merger<Group>
  private readonly groups: Array<Group>
  /** samples added (with or without an answer) */
  samples = 0
  /** the group index of each sample, `-1` for none */
  readonly of: Array<number> = []
  constructor(answers: AnswerKeyShape) {
    this.merger = new Merger<Group>(answers, (answer) => ({
      answer,
      count: 0,
      total: 0,
      best: Number.NEGATIVE_INFINITY
    }))
    this.groups = this.merger.groups
  }
  /** adds the next sample: its answer (if any) and its score (0 when unscored) */
  add(answer: string | undefined, score = 0): void {
    this.samples++
    if (answer === undefined) {
      this.of.push(-1)
      return
    }
    const { group: g, index } = this.merger.find(answer)
    g.count++
    g.total += score
    if (score > g.best) g.best = score
    this.of.push(index)
  }
  /** the answer counts, largest first (ties: first seen first) */
  counts(): ReadonlyArray<number> {
    return this.groups.map((g) => g.count).sort((a, b) => b - a)
  }
  /** whether the last `window` samples all give one answer */
  agree(window: number): boolean {
    if (window < 1 || this.of.length < window) return false
    const last = this.of.slice(this.of.length - window)
    const first = last[0] ?? -1
    return first >= 0 && last.every((g) => g === first)
  }
  /** the count of the most frequent answer other than `top` */
  private runnerUp(top: Group): number {
    let m = 0
    for (const g of this.groups) if (g !== top && g.count > m) m = g.count
    return m
  }
  /** the vote's statistics, weighing each answer by its count (`majority`) or its total score (`weighted`) */
  stats(method: "majority" | "weighted"): VoteStats {
    const weight = (g: Group) => (method === "majority" ? g.count : g.total)
    let top: Group | undefined
    let second: Group | undefined
    let total = 0
    for (const g of this.groups) {
      total += weight(g)
      if (top === undefined || weight(g) > weight(top)) {
        second = top
        top = g
      } else if (second === undefined || weight(g) > weight(second)) second = g
    }
    const w1 = top === undefined ? 0 : weight(top)
    const w2 = second === undefined ? 0 : weight(second)
    return {
      samples: this.samples,
      answered: this.of.filter((g) => g >= 0).length,
      answers: this.groups.length,
      count: top?.count ?? 0,
      share: total > 0 ? w1 / total : 0,
      margin: total > 0 ? (w1 - w2) / total : 0,
      lead: w1 - w2,
      best: top === undefined || top.best === Number.NEGATIVE_INFINITY ? 0 : top.best,
      beta: top === undefined ? 0 : betaMajority(top.count, this.runnerUp(top)),
      ...(top === undefined ? {} : { answer: top.answer })
    }
  }
}

/** What a condition may read about the vote (`vote.<name>`). */
export interface VoteStats {
  /** samples drawn and counted */
  readonly samples: number
  /** of them, those with an answer */
  readonly answered: number
  /** distinct answers */
  readonly answers: number
  /** samples giving the leading answer */
  readonly count: number
  /** the leading answer's share of the vote's weight (0 when nothing answered) */
  readonly share: number
  /** the leading answer's share less the runner-up's */
  readonly margin: number
  /**
   * the leading answer's weight less the runner-up's (counts, or score sums): with scores in
   * [0, 1], a lead above the samples still to come means no later sample can change the winner
   */
  readonly lead: number
  /** the best score among the leading answer's samples (0 unscored) */
  readonly best: number
  /**
   * Adaptive-Consistency's Beta posterior that the leading answer (by the vote's method) is the
   * majority against the most frequent other answer, from their counts
   */
  readonly beta: number
  readonly answer?: string
}

/** The names a condition reads from the vote. */
export const VOTE_NAMES = [
  "samples",
  "answered",
  "answers",
  "count",
  "share",
  "margin",
  "lead",
  "best",
  "beta"
] as const

// ---------------------------------------------------------------------------------------------
// Adaptive-Consistency's posteriors

/**
 * P(p₁ > p₂) for p₁ ~ Beta(v₁ + 1, v₂ + 1): the Beta stopping criterion of Adaptive-Consistency,
 * exact for integer counts — Σ_{j<v₁+1} C(n, j) / 2ⁿ with n = v₁ + v₂ + 1.
 *
 * @example
 * betaMajority(4, 0) // 0.96875 (31/32): four agreeing samples pass c = 0.95, three (0.9375) do not
 */
export const betaMajority = (v1: number, v2: number): number => {
  const a = Math.round(v1) + 1
  const n = Math.round(v1) + Math.round(v2) + 1
  // C(n, j) 2^{−n} in log space (n may be in the hundreds)
  const logTerm = (j: number) => lgamma(n + 1) - lgamma(j + 1) - lgamma(n - j + 1) - n * Math.LN2
  // sum the smaller tail, so that a probability near 1 is 1 − (a small, accurate sum)
  if (2 * a <= n + 1) {
    let sum = 0
    for (let j = 0; j < a; j++) sum += Math.exp(logTerm(j))
    return Math.min(1, sum)
  }
  let upper = 0
  for (let j = n; j >= a; j--) upper += Math.exp(logTerm(j))
  return Math.max(0, 1 - upper)
}

const lgamma = (x: number): number => {
  // Lanczos (g = 7, n = 9): ~1e-15 relative for x > 0
  const c = [
    0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
    12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7
  ]
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - lgamma(1 - x)
  const y = x - 1
  let a = c[0] ?? 0
  const t = y + 7.5
  for (let i = 1; i < 9; i++) a += (c[i] ?? 0) / (y + i)
  return 0.5 * Math.log(2 * Math.PI) + (y + 0.5) * Math.log(t) - t + Math.log(a)
}

/** The regularized lower incomplete gamma P(a, x) for integer a ≥ 1: 1 − e^{−x} Σ_{k<a} x^k / k!. */
const gammaCdf = (a: number, x: number): number => {
  if (x <= 0) return 0
  let term = Math.exp(-x)
  let sum = term
  for (let k = 1; k < a; k++) {
    term *= x / k
    sum += term
  }
  return Math.max(0, 1 - sum)
}

/**
 * P(p₁ > max_{j>1} pⱼ) for p ~ Dirichlet(v + 1) — the Dirichlet stopping criterion of
 * Adaptive-Consistency — over the counts `v` (the leading answer first). Computed as
 * ∫ f₁(x) Π_{j>1} Fⱼ(x) dx over independent Gamma(vⱼ + 1) variables (Simpson's rule, 2000
 * panels): deterministic, ~1e-6 accurate.
 *
 * @example
 * dirichletMajority([4]) // ≈ betaMajority(4, 0) = 0.96875
 */
export const dirichletMajority = (counts: ReadonlyArray<number>): number => {
  const alphas = counts.map((v) => Math.round(v) + 1)
  const a1 = alphas[0]
  if (a1 === undefined) return 0
  // one answer seen: the rest of the answer space is one more category with no votes (else the
  // first sample would settle every vote)
  const others = alphas.length === 1 ? [1] : alphas.slice(1)
  const lg = lgamma(a1)
  const hi = a1 + 12 * Math.sqrt(a1) + 30
  const panels = 2000
  const h = hi / panels
  const f = (x: number): number => {
    if (x <= 0) return 0
    let p = Math.exp((a1 - 1) * Math.log(x) - x - lg)
    for (const a of others) p *= gammaCdf(a, x)
    return p
  }
  let s = f(0) + f(hi)
  for (let i = 1; i < panels; i++) s += (i % 2 === 1 ? 4 : 2) * f(i * h)
  return Math.min(1, Math.max(0, (s * h) / 3))
}

// ---------------------------------------------------------------------------------------------
// Conditions over the vote

/** A comparison of two expressions. */
interface Comparison {
  readonly op: Expression.CmpOp
  readonly left: Expression.Expr
  readonly right: Expression.Expr
}

/** A condition: comparisons joined by `and` within each alternative, alternatives by `or`. */
export interface Condition {
  readonly source: string
  readonly any: ReadonlyArray<ReadonlyArray<Comparison>>
}

/**
 * Parses a condition: `<expr> (>=|>|<=|<|==|!=) <expr>`, joined by `and` (binding tighter) and `or`.
 * Expressions are those of numeric fields (`graph/Expression.ts`); `vote.<name>` reads the vote.
 * Each comparison is parsed by the expression parser, so its sides may hold conditionals.
 *
 * @example
 * parseCondition("vote.share >= 0.8 and vote.count >= 4") // { ok: true, condition }
 */
export const parseCondition = (
  text: string
): { readonly ok: true; readonly condition: Condition } | { readonly ok: false; readonly message: string } => {
  const any: Array<Array<Comparison>> = []
  for (const alternative of text.split(/\s+or\s+/u)) {
    const all: Array<Comparison> = []
    for (const part of alternative.split(/\s+and\s+/u)) {
      const r = Expression.parse(part.trim())
      if (!r.ok) return { ok: false, message: `in "${part.trim()}": ${r.message}` }
      if (r.expr._tag !== "Cmp")
        return {
          ok: false,
          message: `expected "<expression> >= <expression>" (or >, <=, <, ==, !=) in "${part.trim()}"`
        }
      all.push({ op: r.expr.op, left: r.expr.left, right: r.expr.right })
    }
    any.push(all)
  }
  return { ok: true, condition: { source: text, any } }
}

/**
 * The names a condition reads.
 *
 * @example
 * conditionNames(condition) // ["vote.share", "vote.count"]
 */
export const conditionNames = (c: Condition): ReadonlyArray<string> => [
  ...new Set(
    c.any.flatMap((all) => all.flatMap((cmp) => [...Expression.names(cmp.left), ...Expression.names(cmp.right)]))
  )
]

/**
 * A lookup of the vote's names (`vote.share`, …) in front of another lookup (params, budget).
 *
 * @example
 * Expression.evaluate(expr, voteLookup(stats, (name) => params[name]))
 */
export const voteLookup =
  (stats: VoteStats, rest: (name: string) => number | undefined) =>
  (name: string): number | undefined => {
    if (name.startsWith("vote.")) {
      const key = name.slice(5)
      return (VOTE_NAMES as ReadonlyArray<string>).includes(key) ? stats[key as (typeof VOTE_NAMES)[number]] : undefined
    }
    return rest(name)
  }

/**
 * Whether a condition holds under a lookup.
 *
 * @example
 * holds(condition, voteLookup(stats, () => undefined)) // true once vote.share >= 0.8
 */
export const holds = (c: Condition, lookup: (name: string) => number | undefined): boolean =>
  c.any.some((all) => all.every((cmp) => Expression.evaluate({ _tag: "Cmp", ...cmp }, lookup) === 1))

// ---------------------------------------------------------------------------------------------
// The rules

/** A stopping rule. */
export type Rule =
  | { readonly _tag: "esc"; readonly window: number }
  | { readonly _tag: "beta"; readonly confidence: number }
  | { readonly _tag: "dirichlet"; readonly confidence: number }
  | { readonly _tag: "until"; readonly condition: Condition }

/**
 * Whether a rule says stop after the tally's samples; `lookup` resolves the names an `until`
 * condition reads besides the vote's. ESC decides only at the end of a window (every `window`
 * samples); the other rules after every sample.
 *
 * @example
 * shouldStop({ _tag: "beta", confidence: 0.95 }, tally, "majority", () => undefined)
 */
export const shouldStop = (
  rule: Rule,
  tally: Tally,
  method: "majority" | "weighted",
  lookup: (name: string) => number | undefined
): boolean => {
  switch (rule._tag) {
    case "esc":
      return tally.samples % rule.window === 0 && tally.agree(rule.window)
    case "beta": {
      const [v1 = 0, v2 = 0] = tally.counts()
      return v1 > 0 && betaMajority(v1, v2) > rule.confidence
    }
    case "dirichlet": {
      const counts = tally.counts()
      return (counts[0] ?? 0) > 0 && dirichletMajority(counts) > rule.confidence
    }
    case "until":
      return tally.samples > 0 && holds(rule.condition, voteLookup(tally.stats(method), lookup))
  }
}
