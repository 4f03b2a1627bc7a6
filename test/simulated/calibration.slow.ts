/**
 * The slow calibration test (`npm run test:slow`, not part of `npm test`): mull's strategy tables
 * on the default simulated backend (world model v2, length jitter on, mull's call seeds) against
 * results2.txt over the reference's seeds and problems — world seeds 0–3 × all 500 MATH-500
 * problems, budgets 4–256, every search row (best-of-N weighted and majority, beam search M = 4 and
 * √N, lookahead k = 1 and 3, DVTS) and every revision row (C = N/T chains of T, flat vote), each
 * run by mull's runtime from a graph file (calibration/strategies.ts).
 *
 * It checks, with z-scores as calibration/compare.ts defines them:
 *
 * - the oracle labels are the reference's: pass@1 and PRM AUROC per bin equal results2.txt's;
 * - the tables agree: at most 5% of the cells (overall and per bin) lie beyond 2 standard errors,
 *   and none beyond 3;
 * - the findings with clear margins in the reference hold in mull's table: best-of-N rises and then
 *   flattens and beats majority at 256; beam search beats best-of-N at N = 4 and 16; lookahead is
 *   no better than beam search at N = 4–64; the hardest bin stays at or below 0.10.
 *
 * It ran 101 minutes on 2 cores shared with other work (two worker threads). `MULL_CALIBRATION_SAVE=path`
 * writes the per-(seed, problem) results; `MULL_CALIBRATION_UNITS=path` reads them instead of
 * running (to re-check a table without re-running it).
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs"
import { describe, expect, it } from "vitest"
import { compare, formatComparison, referenceTable } from "./calibration/compare.ts"
import { accOf, formatTable, runParallel, tabulate, type Unit } from "./calibration/table.ts"

const BUDGETS = [4, 16, 64, 256]
const SEEDS = [0, 1, 2, 3]

const units = async (): Promise<ReadonlyArray<Unit>> => {
  const cached = process.env.MULL_CALIBRATION_UNITS
  if (cached !== undefined && existsSync(cached)) return JSON.parse(readFileSync(cached, "utf8")) as Array<Unit>
  const problems = Array.from({ length: 500 }, (_, i) => i)
  const started = Date.now()
  const out = await runParallel(
    SEEDS.map((worldSeed) => ({ worldSeed, problems, budgets: BUDGETS, runSeed: 0 })),
    {
      onUnit: (_u, done) => {
        if (done % 100 === 0) console.error(`${done}/2000 units, ${((Date.now() - started) / 1000).toFixed(0)} s`)
      }
    }
  )
  const save = process.env.MULL_CALIBRATION_SAVE
  if (save !== undefined) writeFileSync(save, JSON.stringify(out))
  return out
}

describe("calibration against results2.txt (4 world seeds × 500 problems)", () => {
  it("mull's strategy tables agree with the reference's", { timeout: 6 * 3_600_000 }, async () => {
    const all = [...(await units())].sort((a, b) => a.worldSeed - b.worldSeed || a.index - b.index)
    expect(all.length).toBe(2000)
    const ref = referenceTable()
    const table = tabulate(all)

    // the oracle labels: bins, pass@1 and AUROC per bin, exactly the reference's (3 decimals)
    for (let b = 0; b < 5; b++) {
      expect(
        Math.abs((table.pass1[b] ?? Number.NaN) - (ref.pass1[b] ?? Number.NaN)),
        `pass@1 bin ${b + 1}`
      ).toBeLessThanOrEqual(0.0005)
      const auroc = ref.auroc[b]
      if (auroc === null || auroc === undefined) expect(table.auroc[b]).toBeNaN()
      else expect(Math.abs((table.auroc[b] ?? Number.NaN) - auroc), `AUROC bin ${b + 1}`).toBeLessThanOrEqual(0.0005)
    }

    const rows = ["bon_w", "maj", "maj_ref", "beam4", "beamsq", "look1", "look3", "dvts"]
    const revs = [1, 2, 4, 8, 16, 32, 64, 128, 256].map((T) => `rev_T${T}`)
    console.log(
      `mull's table (maj: ties to the first answer seen; maj_ref: ties by PRM score, the reference's rule)\n${formatTable(table, [...rows, ...revs], BUDGETS)}`
    )
    const cells = compare(table, ref)
    console.log(`against results2.txt (mull/reference, z)\n${formatComparison(cells)}`)
    const beyond2 = cells.filter((c) => Math.abs(c.z) > 2)
    const beyond3 = cells.filter((c) => Math.abs(c.z) > 3)
    const worst = [...cells].sort((a, b) => Math.abs(b.z) - Math.abs(a.z)).slice(0, 8)
    console.log(
      `${cells.length} cells; beyond 2 SE: ${beyond2.length}; beyond 3 SE: ${beyond3.length}; largest |z|: ${worst
        .map((c) => `${c.row}@${c.budget}${c.bin === 0 ? "" : ` bin ${c.bin}`} ${c.z.toFixed(2)}`)
        .join(", ")}`
    )
    // mull's own majority (first-seen ties) against the reference's, for the record
    const firstSeen = BUDGETS.map((B) => `N=${B} ${(accOf(table, "maj", B) - accOf(table, "maj_ref", B)).toFixed(3)}`)
    console.log(`majority, first-seen ties minus PRM-score ties: ${firstSeen.join(", ")}`)

    expect(cells.length).toBeGreaterThan(300)
    expect(beyond3, beyond3.map((c) => `${c.row}@${c.budget} bin ${c.bin}: z ${c.z.toFixed(2)}`).join("; ")).toEqual([])
    expect(beyond2.length).toBeLessThanOrEqual(Math.floor(0.05 * cells.length))

    // findings with clear margins in the reference
    const acc = (row: string, B: number, bin?: number) => accOf(table, row, B, bin)
    expect(acc("bon_w", 64) - acc("bon_w", 4)).toBeGreaterThan(0.15)
    expect(acc("bon_w", 256) - acc("bon_w", 64)).toBeLessThan((acc("bon_w", 64) - acc("bon_w", 4)) / 2)
    expect(acc("bon_w", 256) - acc("maj_ref", 256)).toBeGreaterThan(0.03)
    for (const B of [4, 16]) expect(acc("beam4", B), `beam vs BoN at ${B}`).toBeGreaterThan(acc("bon_w", B))
    for (const B of [4, 16, 64]) expect(acc("look1", B), `lookahead at ${B}`).toBeLessThanOrEqual(acc("beam4", B))
    for (const [key, c] of table.cells) expect(c.bins[4]?.acc, `${key} bin 5`).toBeLessThanOrEqual(0.1)
  })
})
