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

/** One finding. `holds` is undefined when it could not be measured. */
export interface Finding {
  readonly id: number
  readonly finding: string
  readonly measured: string
  readonly holds: boolean | undefined
  /** why it does not hold, or a caveat */
  readonly note?: string | undefined
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

/** A revision configuration's chain length T (attempts per chain), if it is one. */
export const chainLength = (c: Configuration): number | undefined =>
  c.graph === "hybrid-revisions" || c.graph === "hybrid-revisions-flat"
    ? num(c, "S")
    : c.graph === "parallel-revisions"
      ? 1
      : c.graph === "sequential-revisions"
        ? c.budget
        : undefined

interface Diff {
  readonly mean: number
  readonly se: number
}

const f3 = (x: number) => (Number.isFinite(x) ? x.toFixed(3) : "—")
const signed = (x: number) => (Number.isFinite(x) ? `${x >= 0 ? "+" : "−"}${Math.abs(x).toFixed(3)}` : "—")
const showDiff = (d: Diff | undefined) =>
  d === undefined ? "—" : `${signed(d.mean)}${Number.isFinite(d.se) ? ` ± ${d.se.toFixed(3)}` : ""}`
const EPS = 1e-9

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
  const add = (finding: Omit<Finding, "holds">, holds: boolean | undefined) => out.push({ ...finding, holds })
  const measured = (...xs: ReadonlyArray<number | Diff | undefined>) =>
    xs.every((x) => (typeof x === "number" ? Number.isFinite(x) : x !== undefined && Number.isFinite(x.mean)))

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
  add(
    {
      id: 1,
      finding: "best-of-N rises, then flattens; it beats majority at N = 256",
      measured: `best-of-N ${f3(b4)} / ${f3(b16)} / ${f3(b64)} / ${f3(b256)} / ${f3(bTop)} at N = 4 / 16 / 64 / 256 / ${top}; gain ${signed(b64 - b4)} for 4→64, ${signed(bTop - b256)} for 256→${top}; best-of-N − majority at 256 ${showDiff(bonMaj)}`
    },
    measured(b4, b64, b256, bTop, bonMaj) && top > 256
      ? b64 - b4 > 0.1 && bTop - b256 < (b16 - b4) / 2 && (bonMaj?.mean ?? 0) > 0
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
    measured(...beam4v16) ? beam4v16.every((d) => (d?.mean ?? 0) > 0) : undefined
  )

  // 3. on easy bins at a high budget, beam search is no better than best-of-N
  const easy = [1, 2].map((bin) => diff(find(rows.beam4, 256), find(bon, 256), bin))
  add(
    {
      id: 3,
      finding: "on the easy bins (1–2) at N = 256, beam search is no better than best-of-N",
      measured: `beam − best-of-N at 256: bin 1 ${showDiff(easy[0])}, bin 2 ${showDiff(easy[1])}`
    },
    measured(...easy) ? easy.every((d) => (d?.mean ?? 1) <= EPS) : undefined
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
    middle.every((m) => m.d !== undefined) ? middle.every((m) => (m.d?.mean ?? 0) > 0) : undefined
  )

  // 5. the hardest bin stays at or below 0.10 for every strategy at N = 256
  const hardest = oracle.count
  const at256 = configs.filter((c) => c.budget === 256)
  const worst = at256
    .map((c) => ({ c, a: acc(c, hardest) }))
    .filter((x) => Number.isFinite(x.a))
    .sort((x, y) => y.a - x.a)[0]
  add(
    {
      id: 5,
      finding: `the hardest bin (${hardest}) stays at or below 0.10 for every strategy at N = 256`,
      measured:
        worst === undefined
          ? "—"
          : `highest: ${worst.c.strategy} ${f3(worst.a)} (best-of-N ${f3(acc(find(bon, 256), hardest))}, beam ${f3(acc(find(rows.beam4, 256), hardest))}, DVTS ${f3(acc(find(rows.dvts, 256), hardest))})`,
      note: "the simulator's ceiling puts problems beyond the model (pass@1 = 0) in this bin"
    },
    worst === undefined ? undefined : worst.a <= 0.1 + EPS
  )

  // 6. lookahead is no better than beam search at the same budget
  const look = [4, 16, 64, 256].map((n) => diff(find(rows.look1, n), find(rows.beam4, n)))
  add(
    {
      id: 6,
      finding: "lookahead (k = 1) is no better than beam search at equal generations",
      measured: `lookahead − beam at N = 4 / 16 / 64 / 256: ${look.map(showDiff).join(" / ")}`
    },
    look.some((d) => d !== undefined) ? look.every((d) => d === undefined || d.mean <= EPS) : undefined
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
    [...large, ...small].every((x) => x.d !== undefined) && overall.every((d) => d !== undefined)
      ? large.every((x) => (x.d?.mean ?? -1) >= -EPS) &&
          small.every((x) => (x.d?.mean ?? 1) <= EPS) &&
          overall.every((d) => Math.abs(d?.mean ?? 1) <= 0.08)
      : undefined
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
      const best = ts.map((c) => ({ t: chainLength(c) ?? 0, a: acc(c, bin) })).sort((x, y) => y.a - x.a || x.t - y.t)[0]
      return { bin, n, best, choices: ts.length }
    })
  )
  const seqOk = seqPar.every(
    (s) => s.ds.every((d) => d === undefined || d.mean >= -EPS) && s.ds.some((d) => (d?.mean ?? 0) > EPS)
  )
  const midOk = bestT.every((b) => b.best !== undefined && b.best.t > 1 && b.best.t < b.n)
  add(
    {
      id: 8,
      finding:
        "sequential revisions beat parallel ones on the easy bins (1–2); an intermediate sequential/parallel ratio is best on the harder bins (3–4) at N ≥ 64",
      measured: `sequential − parallel at N = 4 / 16 / 64 / 256: ${seqPar.map((s) => `bin ${s.bin} ${s.ds.map((d) => signed(d?.mean ?? Number.NaN)).join(" ")}`).join("; ")}; best chain length T: ${bestT.map((b) => `bin ${b.bin} N = ${b.n}: T = ${b.best?.t ?? "—"} (${f3(b.best?.a ?? Number.NaN)})`).join(", ")}`
    },
    revs.length === 0 || bestT.some((b) => b.choices < 3) ? undefined : seqOk && midOk
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
      r === undefined || pts.length === 0 ? undefined : ok
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
    add(
      {
        id: 11,
        finding:
          "exchange rate (verifier FLOPs counted): at small R test-time compute beats a 14× larger model on the easier bins; at large R the larger model wins the hardest bins",
        measured: `R = ${rMin}, bins 1–3 (test-time vs larger): ${easyCells.map(show).join(", ")}; R = ${rMax}, bins 4–5: ${hardCells.map(show).join(", ")}`
      },
      [...easyCells, ...hardCells].some((c) => c === undefined)
        ? undefined
        : easyCells.every((c) => (c?.testTime ?? 0) > (c?.large ?? 1)) &&
            hardCells.every((c) => (c?.large ?? 0) >= (c?.testTime ?? 1) - EPS)
    )
  }
  return out
}

/**
 * The findings as a table.
 *
 * @example
 * const { header, rows } = findingsTableRows(findings(input))
 */
export const findingsTableRows = (
  fs: ReadonlyArray<Finding>
): { readonly header: ReadonlyArray<string>; readonly rows: ReadonlyArray<ReadonlyArray<string>> } => ({
  header: ["#", "finding (Snell et al. 2024)", "measured", "holds"],
  rows: fs.map((f) => [
    String(f.id),
    f.finding,
    f.note === undefined || f.note === "" ? f.measured : `${f.measured}. ${f.note}`,
    f.holds === undefined ? "not measured" : f.holds ? "holds" : "does not hold"
  ])
})
