/**
 * The paper's qualitative findings (Snell et al. 2024), each checked on a sweep: "holds" or "does
 * not hold", with the numbers it rests on. They are the criteria of the simulator reference
 * (`../shared/simulator-reference-v2/SIMULATOR2.md`, results2.txt), checked the same way: an
 * accuracy difference is paired over problems and shown ± its standard error; an efficiency ratio
 * with its bootstrap interval. A finding whose strategies were not run reads "not measured".
 *
 * Strategies are recognised by graph and params, not labels: best-of-N is the baseline, beam
 * search `beam-search` with M = 4, lookahead `lookahead` with k = 1, DVTS `dvts`, majority
 * `majority` (or `majority-prm-ties`), and revisions `hybrid-revisions` (or `hybrid-revisions-flat`)
 * with S = T attempts per chain (T = 1 parallel, T = N sequential; `parallel-revisions` and
 * `sequential-revisions` count as those). When a sweep holds both variants of a vote, the analysis
 * passes only the one it uses (`Voting.ts`).
 *
 * @since 0.1.0
 */
import { type Configuration, mean, standardError } from "./Accuracy.ts"
import type { Binning } from "./Bins.ts"
import type { ExchangeFlops } from "./Exchange.ts"
import { formatRatio, type RouterResult } from "./Router.ts"

/**
 * The verdict on a finding, one rule for all of them. A finding is a set of claims, each a measured
 * quantity on one side of a bound (a paired accuracy difference above 0, a ratio within 2–8, …).
 * `holds`: every point estimate is on its claimed side. `holds within noise`: not every one, but
 * each claim's 90% interval (± 1.645 standard errors, or the bootstrap interval of a ratio) reaches
 * its claimed side, so the data cannot tell the miss from noise. `does not hold`: some claim is
 * missed beyond its interval.
 */
export type Verdict = "holds" | "holds within noise" | "does not hold" | "not measured"

/** z of a two-sided 90% interval: the same level as the routers' bootstrap intervals. */
export const Z90 = 1.645

/** One claim of a finding: `value` on the `side` of `bound`, with its interval. */
export interface Claim {
  readonly value: number
  readonly lo: number
  readonly hi: number
  /** `>`: value > bound; `≥`: value ≥ bound; `≤`: value ≤ bound; `<`: value < bound */
  readonly side: ">" | "≥" | "≤" | "<"
  readonly bound: number
}

/** One finding. `holds` (every point estimate on its claimed side) is undefined when it could not be measured. */
export interface Finding {
  readonly id: number
  readonly finding: string
  readonly measured: string
  readonly holds: boolean | undefined
  /** the verdict under the stated rule (`Verdict`) */
  readonly verdict: Verdict
  /** why it does not hold, or a caveat */
  readonly note?: string | undefined
}

const EPS = 1e-9

/** Whether x is on a claim's side of its bound (≥ and ≤ with a rounding tolerance). */
const onSide = (x: number, side: Claim["side"], bound: number): boolean =>
  side === ">" ? x > bound + EPS : side === "≥" ? x >= bound - EPS : side === "≤" ? x <= bound + EPS : x < bound - EPS

/**
 * The verdict on a set of claims (see `Verdict`); undefined claims make it "not measured".
 *
 * @example
 * verdictOf([{ value: 0.004, lo: -0.03, hi: 0.038, side: "≤", bound: 0 }]) // "holds within noise"
 */
export const verdictOf = (claims: ReadonlyArray<Claim | undefined>): Verdict => {
  const cs = claims.filter((c): c is Claim => c !== undefined && !Number.isNaN(c.value))
  if (claims.length === 0 || cs.length < claims.length) return "not measured"
  if (cs.every((c) => onSide(c.value, c.side, c.bound))) return "holds"
  // the end of the interval nearest the claimed side reaches it (a strict side is reached at the bound)
  const reaches = (c: Claim) => (c.side === ">" || c.side === "≥" ? c.hi >= c.bound - EPS : c.lo <= c.bound + EPS)
  return cs.every((c) => onSide(c.value, c.side, c.bound) || reaches(c)) ? "holds within noise" : "does not hold"
}

/** A claim on a paired difference ± its standard error. */
const diffClaim = (d: Diff | undefined, side: Claim["side"], bound = 0): Claim | undefined =>
  d === undefined || !Number.isFinite(d.mean)
    ? undefined
    : {
        value: d.mean,
        lo: d.mean - Z90 * (Number.isFinite(d.se) ? d.se : 0),
        hi: d.mean + Z90 * (Number.isFinite(d.se) ? d.se : 0),
        side,
        bound
      }

export interface FindingsInput {
  readonly configs: ReadonlyArray<Configuration>
  readonly baseline: string | undefined
  readonly oracle: Binning
  /** the routers on oracle bins (the paper's and sim2's criterion) and as they would run */
  readonly oracleSearch?: RouterResult | undefined
  readonly oracleRevisions?: RouterResult | undefined
  readonly predictedSearch?: RouterResult | undefined
  readonly predictedRevisions?: RouterResult | undefined
  readonly exchange?: ExchangeFlops | undefined
}

type Row = (c: Configuration) => boolean

const num = (c: Configuration, k: string) => c.params[k]
const rows = {
  beam4: (c: Configuration) => c.graph === "beam-search" && num(c, "M") === 4,
  look1: (c: Configuration) => c.graph === "lookahead" && num(c, "k") === 1,
  dvts: (c: Configuration) => c.graph === "dvts",
  maj: (c: Configuration) => c.graph === "majority" || c.graph === "majority-prm-ties"
} satisfies Record<string, Row>

interface Diff {
  readonly mean: number
  readonly se: number
}

/** A revision configuration's chain length T (attempts per chain), if it is one. */
export const chainLength = (c: Configuration): number | undefined =>
  c.graph === "hybrid-revisions" || c.graph === "hybrid-revisions-flat"
    ? num(c, "S")
    : c.graph === "parallel-revisions"
      ? 1
      : c.graph === "sequential-revisions"
        ? c.budget
        : undefined

const f3 = (x: number) => (Number.isFinite(x) ? x.toFixed(3) : "—")
const signed = (x: number) => (Number.isFinite(x) ? `${x >= 0 ? "+" : "−"}${Math.abs(x).toFixed(3)}` : "—")
const showDiff = (d: Diff | undefined) =>
  d === undefined ? "—" : `${signed(d.mean)}${Number.isFinite(d.se) ? ` ± ${d.se.toFixed(3)}` : ""}`

/**
 * Checks every finding on a sweep.
 *
 * @example
 * findings({ configs, baseline: "best-of-N weighted", oracle }).filter((f) => f.holds === true).length
 */
export const findings = (input: FindingsInput): ReadonlyArray<Finding> => {
  const { configs, oracle } = input
  const find = (row: Row, budget: number) => configs.find((c) => row(c) && c.budget === budget)
  const bon: Row = (c) => c.strategy === input.baseline
  const problemsOf = (bin?: number) =>
    [...oracle.bins].filter(([, b]) => bin === undefined || b === bin).map(([id]) => id)
  const acc = (c: Configuration | undefined, bin?: number): number => {
    if (c === undefined) return Number.NaN
    return mean(problemsOf(bin).flatMap((p) => (c.outcomes.has(p) ? [c.outcomes.get(p)?.correct ?? 0] : [])))
  }
  const diff = (a: Configuration | undefined, b: Configuration | undefined, bin?: number): Diff | undefined => {
    if (a === undefined || b === undefined) return undefined
    const xs = problemsOf(bin).flatMap((p) => {
      const x = a.outcomes.get(p)
      const y = b.outcomes.get(p)
      return x === undefined || y === undefined ? [] : [x.correct - y.correct]
    })
    return xs.length === 0 ? undefined : { mean: mean(xs), se: standardError(xs) }
  }
  const out: Array<Finding> = []
  // every finding is judged by the same rule (`verdictOf`); `holds` is its point-estimate part
  const add = (finding: Omit<Finding, "holds" | "verdict">, claims: ReadonlyArray<Claim | undefined> | undefined) => {
    const verdict = claims === undefined ? "not measured" : verdictOf(claims)
    out.push({ ...finding, verdict, holds: verdict === "not measured" ? undefined : verdict === "holds" })
  }
  // an accuracy with its standard error over the problems (of a bin)
  const accDiff = (c: Configuration | undefined, bin?: number): Diff | undefined => {
    if (c === undefined) return undefined
    const xs = problemsOf(bin).flatMap((p) => (c.outcomes.has(p) ? [c.outcomes.get(p)?.correct ?? 0] : []))
    return xs.length === 0 ? undefined : { mean: mean(xs), se: standardError(xs) }
  }

  // 1. best-of-N rises then flattens, and beats majority at 256
  const bonBudgets = configs
    .filter(bon)
    .map((c) => c.budget)
    .sort((a, b) => a - b)
  const top = bonBudgets[bonBudgets.length - 1] ?? Number.NaN
  const b4 = acc(find(bon, 4))
  const b16 = acc(find(bon, 16))
  const b64 = acc(find(bon, 64))
  const b256 = acc(find(bon, 256))
  const bTop = acc(find(bon, top))
  const bonMaj = diff(find(bon, 256), find(rows.maj, 256))
  const gainLow = diff(find(bon, 64), find(bon, 4))
  const gainHigh = diff(find(bon, top), find(bon, 256))
  add(
    {
      id: 1,
      finding: "best-of-N rises, then flattens; it beats majority at N = 256",
      measured: `best-of-N ${f3(b4)} / ${f3(b16)} / ${f3(b64)} / ${f3(b256)} / ${f3(bTop)} at N = 4 / 16 / 64 / 256 / ${top}; gain ${showDiff(gainLow)} for 4→64, ${showDiff(gainHigh)} for 256→${top}; best-of-N − majority at 256 ${showDiff(bonMaj)}`
    },
    Number.isFinite(top) && top > 256
      ? [diffClaim(gainLow, ">", 0.1), diffClaim(gainHigh, "<", (b16 - b4) / 2), diffClaim(bonMaj, ">")]
      : undefined
  )

  // 2. beam search beats best-of-N at low budgets
  const beam4v16 = [4, 16].map((n) => diff(find(rows.beam4, n), find(bon, n)))
  add(
    {
      id: 2,
      finding: "beam search (M = 4) beats best-of-N at low budgets (N = 4, 16)",
      measured: `beam − best-of-N: N = 4 ${showDiff(beam4v16[0])}, N = 16 ${showDiff(beam4v16[1])}`
    },
    beam4v16.map((d) => diffClaim(d, ">"))
  )

  // 3. on easy bins at a high budget, beam search is no better than best-of-N
  const easy = [1, 2].map((bin) => diff(find(rows.beam4, 256), find(bon, 256), bin))
  add(
    {
      id: 3,
      finding: "on the easy bins (1–2) at N = 256, beam search is no better than best-of-N",
      measured: `beam − best-of-N at 256: bin 1 ${showDiff(easy[0])}, bin 2 ${showDiff(easy[1])}`
    },
    easy.map((d) => diffClaim(d, "≤"))
  )

  // 4. on the middle bins beam search beats best-of-N at N = 16, 64
  const middle = [3, 4].flatMap((bin) =>
    [16, 64].map((n) => ({ bin, n, d: diff(find(rows.beam4, n), find(bon, n), bin) }))
  )
  add(
    {
      id: 4,
      finding: "on the medium-hard bins (3–4) beam search beats best-of-N at N = 16 and 64",
      measured: middle.map((m) => `bin ${m.bin} N = ${m.n} ${showDiff(m.d)}`).join("; ")
    },
    middle.map((m) => diffClaim(m.d, ">"))
  )

  // 5. the hardest bin stays at or below 0.10 for every strategy at N = 256
  const hardest = oracle.count
  const at256 = configs.filter((c) => c.budget === 256)
  const hardAcc = at256.map((c) => ({ c, d: accDiff(c, hardest) })).filter((x) => x.d !== undefined)
  const worst = [...hardAcc].sort((x, y) => (y.d?.mean ?? 0) - (x.d?.mean ?? 0))[0]
  add(
    {
      id: 5,
      finding: `the hardest bin (${hardest}) stays at or below 0.10 for every strategy at N = 256`,
      measured:
        worst === undefined
          ? "—"
          : `highest: ${worst.c.strategy} ${f3(worst.d?.mean ?? Number.NaN)} (best-of-N ${f3(acc(find(bon, 256), hardest))}, beam ${f3(acc(find(rows.beam4, 256), hardest))}, DVTS ${f3(acc(find(rows.dvts, 256), hardest))})`,
      note: "the simulator's ceiling puts problems beyond the model (pass@1 = 0) in this bin"
    },
    hardAcc.length === 0 ? undefined : hardAcc.map((x) => diffClaim(x.d, "≤", 0.1))
  )

  // 6. lookahead is no better than beam search at the same budget
  const look = [4, 16, 64, 256].map((n) => diff(find(rows.look1, n), find(rows.beam4, n)))
  add(
    {
      id: 6,
      finding: "lookahead (k = 1) is no better than beam search at equal generations",
      measured: `lookahead − beam at N = 4 / 16 / 64 / 256: ${look.map(showDiff).join(" / ")}`
    },
    look.some((d) => d !== undefined) ? look.filter((d) => d !== undefined).map((d) => diffClaim(d, "≤")) : undefined
  )

  // 7. DVTS as search-and-learn reports it
  const dv = (n: number, bin?: number) => diff(find(rows.dvts, n), find(rows.beam4, n), bin)
  const large = [64, 256].flatMap((n) => [1, 2, 3].map((bin) => ({ n, bin, d: dv(n, bin) })))
  const small = [4, 16].flatMap((n) => [4, 5].map((bin) => ({ n, bin, d: dv(n, bin) })))
  const overall = [4, 16, 64, 256].map((n) => dv(n))
  add(
    {
      id: 7,
      finding:
        "DVTS ≥ beam search at large N on easy/medium bins, ≤ beam at small N on hard bins, within a few points overall",
      measured: `DVTS − beam: bins 1–3 at N ≥ 64 ${large.map((x) => signed(x.d?.mean ?? Number.NaN)).join(" ")}; bins 4–5 at N ≤ 16 ${small.map((x) => signed(x.d?.mean ?? Number.NaN)).join(" ")}; overall at N = 4 / 16 / 64 / 256 ${overall.map(showDiff).join(" / ")}`
    },
    [
      ...large.map((x) => diffClaim(x.d, "≥")),
      ...small.map((x) => diffClaim(x.d, "≤")),
      ...overall.flatMap((d) => [diffClaim(d, "≤", 0.08), diffClaim(d, "≥", -0.08)])
    ]
  )

  // 8. sequential > parallel revisions on easy bins; an intermediate ratio best on hard ones
  const revs = configs.filter((c) => chainLength(c) !== undefined)
  const rev = (n: number, t: number) => revs.find((c) => c.budget === n && chainLength(c) === t)
  const seqPar = [1, 2].map((bin) => ({
    bin,
    ds: [4, 16, 64, 256].map((n) => diff(rev(n, n), rev(n, 1), bin))
  }))
  const bestT = [3, 4].flatMap((bin) =>
    [64, 256].map((n) => {
      const ts = revs.filter((c) => c.budget === n)
      const ranked = ts
        .map((c) => ({ c, t: chainLength(c) ?? 0, a: acc(c, bin) }))
        .sort((x, y) => y.a - x.a || x.t - y.t)
      const best = ranked[0]
      // the best intermediate chain length against the better end (parallel T = 1 or sequential T = N)
      const mid = ranked.find((x) => x.t > 1 && x.t < n)
      const end = ranked.find((x) => x.t === 1 || x.t === n)
      return { bin, n, best, choices: ts.length, margin: diff(mid?.c, end?.c, bin) }
    })
  )
  add(
    {
      id: 8,
      finding:
        "sequential revisions beat parallel ones on the easy bins (1–2); an intermediate sequential/parallel ratio is best on the harder bins (3–4) at N ≥ 64",
      measured: `sequential − parallel at N = 4 / 16 / 64 / 256: ${seqPar.map((s) => `bin ${s.bin} ${s.ds.map(showDiff).join(", ")}`).join("; ")}; best chain length T: ${bestT.map((b) => `bin ${b.bin} N = ${b.n}: T = ${b.best?.t ?? "—"} (${f3(b.best?.a ?? Number.NaN)}; best intermediate − best end ${showDiff(b.margin)})`).join(", ")}`
    },
    revs.length === 0 || bestT.some((b) => b.choices < 3)
      ? undefined
      : [
          ...seqPar.flatMap((s) => {
            const present = s.ds.filter((d): d is Diff => d !== undefined)
            // never worse, and better somewhere (the largest difference above 0)
            const largest = [...present].sort((x, y) => y.mean - x.mean)[0]
            return [...present.map((d) => diffClaim(d, "≥")), diffClaim(largest, ">")]
          }),
          ...bestT.map((b) => diffClaim(b.margin, ">"))
        ]
  )

  // 9, 10. compute-optimal efficiency 2–8× best-of-N at N = 4–64 (oracle bins, as the paper)
  const ratioFinding = (id: number, what: string, r: RouterResult | undefined, asRun: RouterResult | undefined) => {
    const pts = r?.points.filter((p) => p.budget >= 4 && p.budget <= 64) ?? []
    const show = (x: RouterResult | undefined) =>
      x === undefined
        ? "—"
        : x.points
            .filter((p) => p.budget >= 4 && p.budget <= 64)
            .map((p) => `N = ${p.budget}: ${formatRatio(p.ratio, x.ceiling)}`)
            .join("; ")
    const ok =
      pts.length > 0 && pts.every((p) => p.ratio.kind === "reached" && p.ratio.value >= 2 && p.ratio.value <= 8)
    const never = pts.filter((p) => p.ratio.kind === "never").map((p) => p.budget)
    const low = pts.filter((p) => p.ratio.kind !== "never" && p.ratio.value < 2).map((p) => p.budget)
    // a ratio's claims: within 2–8, its bootstrap interval as the noise (never reached: +∞)
    const ratioClaims = pts.flatMap((p): ReadonlyArray<Claim> => {
      const value = p.ratio.kind === "never" ? Number.POSITIVE_INFINITY : p.ratio.value
      const lo = Number.isNaN(p.ratio.lo) ? value : p.ratio.lo
      const hi = Number.isNaN(p.ratio.hi) ? value : p.ratio.hi
      return [
        { value, lo, hi, side: "≥", bound: 2 },
        { value, lo, hi, side: "≤", bound: 8 }
      ]
    })
    add(
      {
        id,
        finding: `compute-optimal ${what} is 2–8× as efficient as best-of-N at N = 4–64 (oracle bins, cross-validated, as the paper)`,
        measured: `oracle bins: ${show(r)}. As it would run (predicted difficulty, estimate charged): ${show(asRun)}`,
        note: ok
          ? undefined
          : [
              never.length > 0
                ? `at N = ${never.join(", ")} best-of-N never reaches the policy within its measured budgets (its ceiling is ${r === undefined ? "—" : f3(r.ceiling.value)}), so there is no finite ratio`
                : "",
              low.length > 0 ? `at N = ${low.join(", ")} the ratio is below 2` : ""
            ]
              .filter((s) => s !== "")
              .join("; ")
      },
      r === undefined || pts.length === 0 ? undefined : ratioClaims
    )
  }
  ratioFinding(9, "search (best-of-N, beam, lookahead; no DVTS)", input.oracleSearch, input.predictedSearch)
  ratioFinding(10, "revisions (every chain length)", input.oracleRevisions, input.predictedRevisions)

  // 11. the exchange rate, verifier FLOPs counted
  const x = input.exchange
  if (x === undefined) add({ id: 11, finding: "exchange rate", measured: "not measured" }, undefined)
  else {
    const cell = (r: number, bin: number) => x.rows.find((row) => row.r === r && row.bin === bin)
    const rMin = Math.min(...x.rs)
    const rMax = Math.max(...x.rs)
    const easyCells = [1, 2, 3].map((b) => cell(rMin, b))
    const hardCells = [4, 5].map((b) => cell(rMax, b))
    const show = (c: (typeof easyCells)[number]) => (c === undefined ? "—" : `${f3(c.testTime)} vs ${f3(c.large)}`)
    // a cell's difference has no interval here (the larger model's side is an expectation): judged on its point
    const cellClaim = (c: (typeof easyCells)[number], side: Claim["side"]): Claim | undefined =>
      c === undefined
        ? undefined
        : { value: c.testTime - c.large, lo: c.testTime - c.large, hi: c.testTime - c.large, side, bound: 0 }
    add(
      {
        id: 11,
        finding:
          "exchange rate (verifier FLOPs counted): at small R test-time compute beats a 14× larger model on the easier bins; at large R the larger model wins the hardest bins",
        measured: `R = ${rMin}, bins 1–3 (test-time vs larger): ${easyCells.map(show).join(", ")}; R = ${rMax}, bins 4–5: ${hardCells.map(show).join(", ")}`,
        note: "cells carry no interval; judged on their points"
      },
      [...easyCells.map((c) => cellClaim(c, ">")), ...hardCells.map((c) => cellClaim(c, "≤"))]
    )
  }
  return out
}

/**
 * The findings' verdicts in one line: how many hold, hold within noise, and do not.
 *
 * @example
 * summarizeFindings(fs) // "7 of 11 measured findings hold, 2 more within noise, 2 do not (#8, #9)"
 */
export const summarizeFindings = (fs: ReadonlyArray<Finding>): string => {
  const measured = fs.filter((f) => f.verdict !== "not measured")
  const ids = (v: Verdict) => measured.filter((f) => f.verdict === v).map((f) => `#${f.id}`)
  const noise = ids("holds within noise")
  const not = ids("does not hold")
  return `${ids("holds").length} of ${measured.length} measured findings hold, ${noise.length} more within noise${noise.length > 0 ? ` (${noise.join(", ")})` : ""}, ${not.length} do not${not.length > 0 ? ` (${not.join(", ")})` : ""}`
}

/** The rule every verdict follows, in words (for reports). */
export const VERDICT_RULE =
  "One rule for every finding: a finding is a set of claims (a paired accuracy difference above or below 0, an accuracy at most 0.10, a ratio within 2–8, …). It holds when every point estimate is on its claimed side; it holds within noise when some are not but each such claim's 90% interval (± 1.645 standard errors of the paired difference, or the ratio's bootstrap interval) reaches its claimed side; otherwise it does not hold."

/**
 * The findings as a table.
 *
 * @example
 * const { header, rows } = findingsTableRows(findings(input))
 */
export const findingsTableRows = (
  fs: ReadonlyArray<Finding>
): { readonly header: ReadonlyArray<string>; readonly rows: ReadonlyArray<ReadonlyArray<string>> } => ({
  header: ["#", "finding (Snell et al. 2024)", "measured", "verdict"],
  rows: fs.map((f) => [
    String(f.id),
    f.finding,
    f.note === undefined || f.note === "" ? f.measured : `${f.measured}. ${f.note}`,
    f.verdict
  ])
})
