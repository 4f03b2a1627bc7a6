/**
 * mull's strategy table against the reference's (results2.txt, through the committed fixture):
 * cell by cell (row, budget, overall and per bin), the difference and its z-score.
 *
 * Both tables are estimates over the same 2000 (seed, problem) units with independent strategy
 * randomness (mull's call seeds, sim2.py's tree indices). The z-score divides the difference by
 * `√(se_mull² + se_ref²)`, the standard error of a difference of independent estimates, each
 * `√(p(1−p)/n)` over its units; it ignores the positive correlation of the shared problems, so it
 * overstates the noise of the difference. The reference's figures are rounded to 3 decimals:
 * 0.0005 of any difference is forgiven.
 */
import { readFileSync } from "node:fs"
import type { Table } from "./table.ts"

interface RefCell {
  readonly all: number
  readonly bins: ReadonlyArray<number>
}

/** results2.txt's tables, as make_fixture2.py parsed them. */
export interface ReferenceTable {
  readonly problems: number
  readonly seeds: ReadonlyArray<number>
  readonly strategies: Readonly<Record<string, Readonly<Record<string, RefCell>>>>
  readonly bestOfN: Readonly<Record<string, Readonly<Record<string, RefCell>>>>
  readonly pass1: ReadonlyArray<number>
  readonly auroc: ReadonlyArray<number | null>
}

/** The reference table of the committed fixture. */
export const referenceTable = (): ReferenceTable =>
  (
    JSON.parse(readFileSync(new URL("../../fixtures/simulated/sim2-reference.json", import.meta.url), "utf8")) as {
      readonly table: ReferenceTable
    }
  ).table

/** One compared cell. */
export interface Comparison {
  /** the reference's row name (mull's `maj_ref` is compared with `maj`) */
  readonly row: string
  readonly budget: number
  /** 0 = overall, 1..5 = bin */
  readonly bin: number
  readonly mull: number
  readonly reference: number
  readonly diff: number
  readonly se: number
  readonly z: number
}

const ROUNDING = 0.0005

/** The mull row that stands for a reference row: the reference's majority breaks ties by PRM score. */
export const mullRow = (row: string): string => (row === "maj" ? "maj_ref" : row)

/**
 * Every cell of the reference's strategy tables that mull's table has.
 *
 * @example
 * compare(table, referenceTable()).filter((c) => Math.abs(c.z) > 2)
 */
export const compare = (table: Table, ref: ReferenceTable): ReadonlyArray<Comparison> => {
  const out: Array<Comparison> = []
  const perBin = ref.problems / 5
  for (const [row, byBudget] of Object.entries(ref.strategies))
    for (const [B, refCell] of Object.entries(byBudget)) {
      const mine = table.cells.get(`${mullRow(row)}@${B}`)
      if (mine === undefined) continue
      const columns: ReadonlyArray<readonly [number, number, number, number, number]> = [
        [0, mine.all.acc, mine.all.se, refCell.all, ref.problems],
        ...mine.bins.map((c, i) => [i + 1, c.acc, c.se, refCell.bins[i] ?? Number.NaN, perBin] as const)
      ]
      for (const [bin, m, seM, r, n] of columns) {
        const seR = Math.sqrt((r * (1 - r)) / n)
        const se = Math.sqrt(seM ** 2 + seR ** 2)
        const excess = Math.max(0, Math.abs(m - r) - ROUNDING)
        const z = excess === 0 ? 0 : se === 0 ? Number.POSITIVE_INFINITY : (Math.sign(m - r) * excess) / se
        out.push({ row, budget: Number(B), bin, mull: m, reference: r, diff: m - r, se, z })
      }
    }
  return out
}

/** The comparison as text: one line per (row, budget), `mull/reference (z)` per column. */
export const formatComparison = (cells: ReadonlyArray<Comparison>): string => {
  const lines = [`${"row".padEnd(9)} ${"N".padStart(4)} | all                 | bin1 … bin5 (mull/ref, z)`]
  const keys = [...new Set(cells.map((c) => `${c.row}@${c.budget}`))]
  for (const key of keys) {
    const row = cells.filter((c) => `${c.row}@${c.budget}` === key).sort((a, b) => a.bin - b.bin)
    const first = row[0]
    if (first === undefined) continue
    const fmt = (c: Comparison) =>
      `${c.mull.toFixed(3)}/${c.reference.toFixed(3)} (${c.z >= 0 ? "+" : ""}${c.z.toFixed(1)})`
    lines.push(`${first.row.padEnd(9)} ${String(first.budget).padStart(4)} | ${row.map(fmt).join(" | ")}`)
  }
  return lines.join("\n")
}
