/**
 * The exchange rate between pretraining and test-time compute (Snell et al. 2024 §7): at equal
 * total FLOPs, is a small model with more test-time compute better than a model `ratio` times
 * larger answering once?
 *
 * FLOPs: pretraining X = 6·P·D_pretrain, inference Y = 2·P·D_inference, and R = D_inference /
 * D_pretrain. Give the larger model P_l = ratio·P_s parameters, the same pretraining tokens and
 * one sample per question (its pass@1), and let the small model spend M times the larger model's
 * inference tokens. Equal totals:
 *
 *     6·P_s·D_pre + 2·P_s·M·D_inf = 6·P_l·D_pre + 2·P_l·D_inf
 *     divide by 2·P_s·D_inf:  3/R + M = ratio·(3/R + 1)
 *     M = ratio·(1 + 3/R) − 3/R
 *
 * With ratio = 14: M = 257.75 (R = 0.16), 63.37 (R = 0.79), 15.77 (R = 22). M counts the small
 * model's generations per question (the paper's N) on the assumption that its samples are as long
 * as the larger model's answer. The small model's accuracy at N = M is read off its measured
 * curves, interpolated in log2(N) and clipped to the measured range (with a note); it is compared
 * with the larger model's mean pass@1, overall and per difficulty bin.
 *
 * @since 0.1.0
 */
import { type Configuration, formatAccuracy, formatWithError, mean, standardError } from "./Accuracy.ts"
import type { Binning } from "./Bins.ts"
import type { Policy } from "./ComputeOptimal.ts"
import { type CurvePoint, type Reading, readAt } from "./Curve.ts"
import type { DifficultyRecord } from "./Record.ts"

/** The paper's inference-to-pretraining token ratios. */
export const DEFAULT_R: ReadonlyArray<number> = [0.16, 0.79, 22]

/** The paper's parameter ratio between the larger and the smaller model. */
export const DEFAULT_PARAMETER_RATIO = 14

/**
 * The test-time multiplier M that matches total FLOPs: `ratio·(1 + 3/R) − 3/R`.
 *
 * @example
 * multiplier(0.16, 14) // 257.75
 * multiplier(22, 14) // 15.77…
 */
export const multiplier = (r: number, ratio: number): number => ratio * (1 + 3 / r) - 3 / r

/** Which side of the exchange wins. */
export type Winner = "test-time compute" | "larger model" | "tie" | "n/a"

/** The comparison at one R, overall (`bin: "all"`) or in one bin. */
export interface ExchangeRow {
  readonly r: number
  readonly multiplier: number
  readonly bin: number | "all"
  /** the compute-optimal policy (cross-validated) at N = M */
  readonly policy: Reading | undefined
  /** best-of-N weighted at N = M */
  readonly bestOfN: Reading | undefined
  /** the larger model's mean pass@1 (NaN without its records) */
  readonly large: number
  readonly largeProblems: number
  /** compute-optimal policy versus the larger model */
  readonly winner: Winner
  /**
   * Standard errors over the scope's problems (the chart's error bars are these): each side's, of
   * the per-problem values read at M as its accuracy is (log2-interpolated between the two
   * budgets around M); and the paired one of compute-optimal − larger model, over the problems
   * with both (the same problems answer on both sides).
   */
  readonly stderr: ExchangeErrors
}

/** The standard errors of an exchange row (NaN where a side has fewer than two problems). */
export interface ExchangeErrors {
  readonly policy: number
  readonly bestOfN: number
  readonly large: number
  /** paired: of (compute-optimal − larger model) per problem */
  readonly difference: number
}

export interface Exchange {
  readonly ratio: number
  readonly rs: ReadonlyArray<number>
  readonly rows: ReadonlyArray<ExchangeRow>
  readonly notes: ReadonlyArray<string>
}

export interface ExchangeInput {
  readonly policy: Policy
  readonly configs: ReadonlyArray<Configuration>
  readonly binning: Binning
  /** the larger model's difficulty records (pass1 = its pass@1 per problem), e.g. sweep `<sweep>/large` */
  readonly large: ReadonlyArray<DifficultyRecord>
}

export interface ExchangeOptions {
  /** inference-to-pretraining token ratios (default 0.16, 0.79, 22) */
  readonly rs?: ReadonlyArray<number> | undefined
  /** P_large / P_small (default 14) */
  readonly ratio?: number | undefined
}

const EPS = 1e-9

const winnerOf = (small: number | undefined, large: number): Winner =>
  small === undefined || Number.isNaN(small) || Number.isNaN(large)
    ? "n/a"
    : Math.abs(small - large) <= EPS
      ? "tie"
      : small > large
        ? "test-time compute"
        : "larger model"

/** Per-problem values of one strategy at one measured budget. */
interface Measured {
  readonly budget: number
  readonly values: ReadonlyMap<string, number>
}

/**
 * Per-problem values of `problems` at budget m, read as `readAt` reads a curve: log2-interpolated
 * between the two measured budgets around m (a problem missing at either is left out), clipped to
 * the nearest end outside them. Budgets with no value on these problems are skipped, as `readAt`
 * skips a curve's undefined points.
 *
 * @example
 * valuesAt([{ budget: 4, values: new Map([["a", 0]]) }, { budget: 16, values: new Map([["a", 1]]) }], ["a"], 8).get("a") // 0.5
 */
export const valuesAt = (
  measured: ReadonlyArray<Measured>,
  problems: ReadonlyArray<string>,
  m: number
): ReadonlyMap<string, number> => {
  const ps = measured
    .filter((x) => x.budget > 0 && problems.some((p) => x.values.has(p)))
    .sort((a, b) => a.budget - b.budget)
  const first = ps[0]
  const last = ps[ps.length - 1]
  const out = new Map<string, number>()
  if (first === undefined || last === undefined) return out
  const i = ps.findIndex((x) => x.budget >= m)
  const hi = i < 0 ? last : (ps[i] ?? last)
  const lo = i <= 0 || hi.budget === m ? hi : (ps[i - 1] ?? hi)
  const f = lo === hi ? 0 : (Math.log2(m) - Math.log2(lo.budget)) / (Math.log2(hi.budget) - Math.log2(lo.budget))
  for (const p of problems) {
    const a = lo.values.get(p)
    const b = hi.values.get(p)
    if (a !== undefined && b !== undefined) out.set(p, a + f * (b - a))
  }
  return out
}

/**
 * The paired standard error of (small − large) over the problems with both values.
 *
 * @example
 * pairedError(new Map([["a", 1], ["b", 0]]), new Map([["a", 0.5], ["b", 0.5]]), ["a", "b"]) // 0.5
 */
export const pairedError = (
  small: ReadonlyMap<string, number>,
  large: ReadonlyMap<string, number>,
  problems: ReadonlyArray<string>
): number =>
  standardError(
    problems.flatMap((p) => {
      const a = small.get(p)
      const b = large.get(p)
      return a === undefined || b === undefined || Number.isNaN(a) || Number.isNaN(b) ? [] : [a - b]
    })
  )

/**
 * The FLOPs-matched comparison for each R, overall and per bin.
 *
 * @example
 * const x = exchange({ policy, configs, binning, large: yield* store.difficulties("main/large") })
 * x.rows.filter((r) => r.bin === "all") // one row per R
 */
export const exchange = (input: ExchangeInput, options: ExchangeOptions = {}): Exchange => {
  const ratio = options.ratio ?? DEFAULT_PARAMETER_RATIO
  const rs = options.rs ?? DEFAULT_R
  const { policy, binning } = input
  const largeById = new Map(input.large.map((d) => [d.problemId, d.pass1] as const))
  const binned = [...binning.bins.keys()]
  const inBin = (b: number | "all") => (b === "all" ? binned : binned.filter((p) => binning.bins.get(p) === b))
  const largeOn = (problems: ReadonlyArray<string>) => {
    const xs = problems.flatMap((p) => {
      const v = largeById.get(p)
      return v === undefined ? [] : [v]
    })
    return { value: mean(xs), n: xs.length, se: standardError(xs) }
  }
  const baseline = input.configs.filter((c) => c.strategy === policy.baseline)
  const bonCurve = (b: number | "all"): ReadonlyArray<CurvePoint> =>
    b === "all"
      ? policy.baselineCurve
      : baseline.flatMap((c) => {
          const xs = inBin(b).flatMap((p) => {
            const o = c.outcomes.get(p)
            return o === undefined ? [] : [o.correct]
          })
          return xs.length === 0 ? [] : [{ budget: c.budget, accuracy: mean(xs) }]
        })
  const policyCurve = (b: number | "all"): ReadonlyArray<CurvePoint> =>
    policy.points.flatMap((p) => {
      const accuracy = b === "all" ? p.accuracy : (p.bins[b - 1]?.crossValidated ?? Number.NaN)
      return Number.isFinite(accuracy) ? [{ budget: p.budget, accuracy }] : []
    })
  // per-problem values at each budget, for the standard errors (read at M as the curves are)
  const policyValues: ReadonlyArray<Measured> = policy.points.flatMap((p) =>
    p.heldOut === undefined ? [] : [{ budget: p.budget, values: p.heldOut }]
  )
  const bonValues: ReadonlyArray<Measured> = baseline.map((c) => ({
    budget: c.budget,
    values: new Map(
      binned.flatMap((p) => {
        const o = c.outcomes.get(p)
        return o === undefined ? [] : [[p, o.correct] as const]
      })
    )
  }))
  const scopes: ReadonlyArray<number | "all"> = ["all", ...Array.from({ length: binning.count }, (_, i) => i + 1)]
  const rows: Array<ExchangeRow> = []
  const clippedAt = new Set<string>()
  for (const r of rs) {
    const m = multiplier(r, ratio)
    for (const bin of scopes) {
      const pol = readAt(policyCurve(bin), m)
      const bon = readAt(bonCurve(bin), m)
      const large = largeOn(inBin(bin))
      for (const [what, reading] of [
        ["policy", pol],
        ["best-of-N", bon]
      ] as const)
        if (reading?.clipped !== undefined && bin === "all")
          clippedAt.add(
            `R = ${r}: M = ${m.toFixed(2)} is ${reading.clipped === "above" ? "above the largest" : "below the smallest"} measured budget of the ${what}; its accuracy at N = ${reading.at} is used`
          )
      const members = inBin(bin)
      const polAt = valuesAt(policyValues, members, m)
      const bonAt = valuesAt(bonValues, members, m)
      rows.push({
        r,
        multiplier: m,
        bin,
        policy: pol,
        bestOfN: bon,
        large: large.value,
        largeProblems: large.n,
        winner: winnerOf(pol?.accuracy, large.value),
        stderr: {
          policy: standardError([...polAt.values()]),
          bestOfN: standardError([...bonAt.values()]),
          large: large.se,
          difference: pairedError(polAt, largeById, members)
        }
      })
    }
  }
  const notes: Array<string> = [...clippedAt]
  if (input.large.length === 0)
    notes.push("no larger-model records (difficulty records of sweep <sweep>/large): its pass@1 is n/a")
  else {
    const missing = binned.filter((p) => !largeById.has(p)).length
    if (missing > 0)
      notes.push(`${missing} of ${binned.length} problems have no larger-model pass@1; they are left out of its mean`)
  }
  if (policy.points.length === 0) notes.push("no compute-optimal policy points (no runs with bins)")
  return { ratio, rs, rows, notes }
}

// ---------------------------------------------------------------------------------------------
// The exchange rate with the verifier's FLOPs counted

/** The comparison at one R in one scope, the verifier counted. */
export interface FlopsRow {
  readonly r: number
  /** small-model queries (generations) of equal FLOPs: `ratio·(1 + 3/R) − 3/R` */
  readonly multiplier: number
  /** verifier-scored generations those FLOPs buy: multiplier / (1 + P_verifier / P_generator) */
  readonly scored: number
  readonly bin: number | "all"
  /** the small model's cross-validated compute-optimal accuracy at that budget */
  readonly testTime: number
  /** the strategies chosen (fold 0's choice / fold 1's), for a bin */
  readonly choices: ReadonlyArray<string>
  /** the larger model's expected pass@1 */
  readonly large: number
  readonly winner: Winner
  /** standard errors over the scope's problems: each side's, and the paired one of test-time − larger */
  readonly stderr: { readonly testTime: number; readonly large: number; readonly difference: number }
}

export interface ExchangeFlops {
  readonly ratio: number
  readonly rs: ReadonlyArray<number>
  readonly generatorParams: number
  readonly verifierParams: number
  /** small-model queries one verifier-scored generation costs: (P_generator + P_verifier) / P_generator */
  readonly perScored: number
  readonly rows: ReadonlyArray<FlopsRow>
  readonly notes: ReadonlyArray<string>
}

export interface ExchangeFlopsInput {
  readonly configs: ReadonlyArray<Configuration>
  /** the problems in dataset order (fold = position mod 2) */
  readonly problems: ReadonlyArray<string>
  readonly binning: Binning
  readonly large: ReadonlyArray<DifficultyRecord>
  /** configurations the small model may use (default: all but revision chains longer than 16, as sim2.py) */
  readonly candidates?: ((c: Configuration) => boolean) | undefined
}

export interface ExchangeFlopsOptions extends ExchangeOptions {
  /** the generator's parameters (default 1.5e9, the simulator's) */
  readonly generatorParams?: number | undefined
  /** the verifier's parameters (default 7e9: the paper's PRM size); 0 ignores the verifier, as the paper's formula does */
  readonly verifierParams?: number | undefined
}

/** Strategies that need no verifier (their generations are not scored). */
const UNSCORED_GRAPHS: ReadonlyArray<string> = ["majority"]

/**
 * The exchange rate with every FLOP counted (FLOPs = 2 × params × tokens for the generator and the
 * verifier): each verifier-scored generation costs (P_g + P_v)/P_g small-model queries, so the M
 * queries of equal FLOPs buy M/(1 + P_v/P_g) scored generations; majority voting needs no verifier
 * and gets all M. Per bin, the small model's side is a compute-optimal choice among the strategies
 * read at their affordable N (log2-interpolated per problem; a strategy not measured that low is
 * not available; above its largest budget it is read there, an underestimate), chosen on one fold
 * and scored on the other (fold = position mod 2). The larger model answers once (its expected
 * pass@1). As the simulator reference (sim2.py) does it.
 *
 * @example
 * exchangeFlops({ configs, problems, binning: oracle, large }, { verifierParams: 7e9 }).rows.filter((r) => r.bin === "all")
 */
export const exchangeFlops = (input: ExchangeFlopsInput, options: ExchangeFlopsOptions = {}): ExchangeFlops => {
  const ratio = options.ratio ?? DEFAULT_PARAMETER_RATIO
  const rs = options.rs ?? DEFAULT_R
  const pg = options.generatorParams ?? 1.5e9
  const pv = options.verifierParams ?? 7e9
  const perScored = (pg + pv) / pg
  const isCandidate =
    input.candidates ??
    ((c: Configuration) =>
      !((c.graph === "hybrid-revisions" || c.graph === "hybrid-revisions-flat") && (c.params.S ?? 0) > 16) &&
      !(c.graph === "sequential-revisions" && c.budget > 16))
  const byStrategy = new Map<string, Array<Configuration>>()
  for (const c of input.configs)
    if (isCandidate(c)) byStrategy.set(c.strategy, [...(byStrategy.get(c.strategy) ?? []), c])
  const strategies = [...byStrategy.entries()].map(([label, cs]) => ({
    label,
    unscored: cs.every((c) => UNSCORED_GRAPHS.includes(c.graph)),
    cs: [...cs].sort((a, b) => a.budget - b.budget)
  }))
  const ids = input.problems.filter((p) => input.binning.bins.has(p))
  const position = new Map(input.problems.map((p, i) => [p, i] as const))
  const largeById = new Map(input.large.map((d) => [d.problemId, d.pass1] as const))
  const notes = new Set<string>()
  /** per-problem accuracy of a strategy at budget n (undefined: not available that low) */
  const readings = (s: (typeof strategies)[number], n: number): ReadonlyMap<string, number> | undefined => {
    const first = s.cs[0]
    const last = s.cs[s.cs.length - 1]
    if (first === undefined || last === undefined || n < first.budget - 1e-9) return undefined
    if (n >= last.budget) {
      if (n > last.budget * 1.0001)
        notes.add(`${s.label}: read at its largest budget ${last.budget} for N = ${n.toFixed(1)}`)
      return new Map(ids.map((p) => [p, last.outcomes.get(p)?.correct ?? Number.NaN] as const))
    }
    const i = s.cs.findIndex((c) => c.budget >= n)
    const hi = s.cs[i]
    const lo = s.cs[i - 1] ?? hi
    if (hi === undefined || lo === undefined) return undefined
    const f =
      hi.budget === lo.budget
        ? 0
        : (Math.log2(n) - Math.log2(lo.budget)) / (Math.log2(hi.budget) - Math.log2(lo.budget))
    return new Map(
      ids.map((p) => {
        const a = lo.outcomes.get(p)?.correct ?? Number.NaN
        const b = hi.outcomes.get(p)?.correct ?? Number.NaN
        return [p, a + f * (b - a)] as const
      })
    )
  }
  const meanOf = (m: ReadonlyMap<string, number>, ps: ReadonlyArray<string>) =>
    mean(ps.map((p) => m.get(p) ?? Number.NaN).filter((x) => !Number.isNaN(x)))
  const rows: Array<FlopsRow> = []
  for (const r of rs) {
    const m = multiplier(r, ratio)
    const scored = m / perScored
    const available = strategies.flatMap((s) => {
      const read = readings(s, s.unscored ? m : scored)
      return read === undefined ? [] : [{ label: s.label, read }]
    })
    const heldOut = new Map<string, number>()
    const binRows: Array<FlopsRow> = []
    for (let bin = 1; bin <= input.binning.count; bin++) {
      const members = ids.filter((p) => input.binning.bins.get(p) === bin)
      const choices: Array<string> = []
      for (const f of [0, 1] as const) {
        const selecting = members.filter((p) => (position.get(p) ?? 0) % 2 !== f)
        const best = available
          .map((s) => ({ s, a: meanOf(s.read, selecting) }))
          .filter((x) => !Number.isNaN(x.a))
          .sort((x, y) => y.a - x.a || (x.s.label < y.s.label ? -1 : 1))[0]
        choices.push(best?.s.label ?? "—")
        for (const p of members)
          if ((position.get(p) ?? 0) % 2 === f) {
            const v = best?.s.read.get(p)
            if (v !== undefined && !Number.isNaN(v)) heldOut.set(p, v)
          }
      }
      const tt = members.flatMap((p) => (heldOut.has(p) ? [heldOut.get(p) ?? 0] : []))
      const lg = members.flatMap((p) => (largeById.has(p) ? [largeById.get(p) ?? 0] : []))
      const testTime = mean(tt)
      const large = mean(lg)
      binRows.push({
        r,
        multiplier: m,
        scored,
        bin,
        testTime,
        choices,
        large,
        winner: winnerOf(testTime, large),
        stderr: {
          testTime: standardError(tt),
          large: standardError(lg),
          difference: pairedError(heldOut, largeById, members)
        }
      })
    }
    const tt = [...heldOut.values()]
    const lg = ids.flatMap((p) => (largeById.has(p) ? [largeById.get(p) ?? 0] : []))
    const testTime = mean(tt)
    const large = mean(lg)
    rows.push(
      {
        r,
        multiplier: m,
        scored,
        bin: "all",
        testTime,
        choices: [],
        large,
        winner: winnerOf(testTime, large),
        stderr: {
          testTime: standardError(tt),
          large: standardError(lg),
          difference: pairedError(heldOut, largeById, ids)
        }
      },
      ...binRows
    )
  }
  if (input.large.length === 0) notes.add("no larger-model records (sweep <sweep>/large): its pass@1 is n/a")
  return { ratio, rs, generatorParams: pg, verifierParams: pv, perScored, rows, notes: [...notes] }
}

// ---------------------------------------------------------------------------------------------
// Tables (the report and the CLI print the same ones)

const signed = (x: number, se: number): string =>
  Number.isNaN(x)
    ? "—"
    : `${x >= 0 ? "+" : "−"}${Math.abs(x).toFixed(3)}${Number.isFinite(se) ? ` ± ${se.toFixed(3)}` : ""}`

/**
 * The exchange table (the paper's formula), overall (`"all"`) or per bin: each side ± its standard
 * error (the chart's error bars), and compute-optimal − larger model ± its paired standard error.
 *
 * @example
 * const { header, rows } = exchangeTableRows(analysis.exchange, "bins")
 */
export const exchangeTableRows = (
  x: Exchange,
  scope: "all" | "bins"
): { readonly header: ReadonlyArray<string>; readonly rows: ReadonlyArray<ReadonlyArray<string>> } => {
  const readAtText = (r: ExchangeRow) => {
    const at = r.policy?.at ?? r.bestOfN?.at
    const clipped = r.policy?.clipped ?? r.bestOfN?.clipped
    return at === undefined ? "—" : `${Number(at.toPrecision(4))}${clipped === undefined ? "" : " (clipped)"}`
  }
  const side = (accuracy: number | undefined, se: number) =>
    accuracy === undefined ? "—" : formatWithError(accuracy, se)
  return {
    header: [
      "R",
      "M",
      ...(scope === "all" ? [] : ["bin"]),
      "small model read at N",
      "compute-optimal ± SE",
      "best-of-N ± SE",
      `${x.ratio}× larger, pass@1 ± SE`,
      "compute-optimal − larger ± paired SE",
      "winner"
    ],
    rows: x.rows
      .filter((r) => (scope === "all" ? r.bin === "all" : r.bin !== "all"))
      .map((r) => [
        String(r.r),
        r.multiplier.toFixed(2),
        ...(scope === "all" ? [] : [String(r.bin)]),
        readAtText(r),
        side(r.policy?.accuracy, r.stderr.policy),
        side(r.bestOfN?.accuracy, r.stderr.bestOfN),
        Number.isNaN(r.large) ? formatAccuracy(r.large) : formatWithError(r.large, r.stderr.large),
        signed((r.policy?.accuracy ?? Number.NaN) - r.large, r.stderr.difference),
        r.winner
      ])
  }
}

/**
 * The exchange table with the verifier counted: one row per R, a cell per scope (all, then each
 * bin) reading `test-time ± SE / larger ± SE, Δ ± paired SE`, and the winner per bin.
 *
 * @example
 * const { header, rows } = flopsTableRows(analysis.exchangeFlops)
 */
export const flopsTableRows = (
  x: ExchangeFlops
): { readonly header: ReadonlyArray<string>; readonly rows: ReadonlyArray<ReadonlyArray<string>> } => {
  const bins = [...new Set(x.rows.flatMap((r) => (r.bin === "all" ? [] : [r.bin])))].sort((p, q) => p - q)
  const cell = (r: number, bin: number | "all") => {
    const row = x.rows.find((w) => w.r === r && w.bin === bin)
    return row === undefined
      ? "—"
      : `${formatWithError(row.testTime, row.stderr.testTime)} / ${formatWithError(row.large, row.stderr.large)}, Δ ${signed(row.testTime - row.large, row.stderr.difference)}`
  }
  return {
    header: ["R", "M (queries)", "scored generations", "all", ...bins.map((b) => `bin ${b}`), "winner per bin"],
    rows: x.rs.map((r) => {
      const all = x.rows.find((w) => w.r === r && w.bin === "all")
      return [
        String(r),
        all === undefined ? "—" : all.multiplier.toFixed(1),
        all === undefined ? "—" : all.scored.toFixed(1),
        cell(r, "all"),
        ...bins.map((b) => cell(r, b)),
        x.rows
          .filter((w) => w.r === r && w.bin !== "all")
          .map(
            (w) =>
              `${w.bin}: ${w.winner === "test-time compute" ? "test-time" : w.winner === "larger model" ? "larger" : w.winner}`
          )
          .join(", ")
      ]
    })
  }
}
