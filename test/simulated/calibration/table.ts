/**
 * The strategy table over problems and world seeds, as results2.txt reports it: per (row, budget)
 * the accuracy over every (seed, problem) and per oracle bin, with its standard error. Problems run
 * in worker threads (one per core by default; `calibration/worker.ts`), each a share of one world
 * seed's problems; bins are computed per seed over the problems run, as sim2.py does.
 */
import { availableParallelism } from "node:os"
import { Worker } from "node:worker_threads"
import { Effect } from "effect"
import { decodeConfigUnsafe, make, type SimulatedConfigInput } from "../../../plugins/simulated/index.ts"
import { loadMath500 } from "../../../src/data/DatasetMath500.ts"
import type { Problem } from "../../../src/domain/Problem.ts"
import { configs, loadGraphs, oraclePass1, quintileBins, type Row, runProblem, treeAuroc } from "./strategies.ts"

/** What one share of the work is. */
export interface Job {
  readonly worldSeed: number
  /** MATH-500 positions (0-based) to run */
  readonly problems: ReadonlyArray<number>
  readonly budgets: ReadonlyArray<number>
  /** rows to run (all when absent) */
  readonly rows?: ReadonlyArray<Row>
  /** only these cells, `row@B` (all of `rows` × `budgets` when absent) */
  readonly cells?: ReadonlyArray<string>
  readonly runSeed: number
  /** backend config on top of `{ worldSeed }` (e.g. `{ length: { jitter: 0 } }`) */
  readonly config?: SimulatedConfigInput
}

/** One (seed, problem) of the table. */
export interface Unit {
  readonly worldSeed: number
  readonly index: number
  readonly level: number
  readonly ph: number
  /** the reference's oracle pass@1 (256 samples, length jitter 0) */
  readonly pass1: number
  /** the PRM's within-problem AUROC over 256 samples (NaN without both classes) */
  readonly auroc: number
  /** `row@B` → 1 right, 0 wrong */
  readonly results: Readonly<Record<string, number>>
}

/**
 * Runs one share: for each problem, the oracle label (pass@1, AUROC — from the model as the
 * reference runs it, length jitter 0, whatever the job's config) and every configuration through
 * mull's runtime on the job's backend config.
 */
export const runJob = (job: Job, onUnit: (u: Unit) => void = () => {}) =>
  Effect.gen(function* () {
    const all = yield* loadMath500()
    const list = configs(job.budgets, job.rows).filter(
      (c) => job.cells === undefined || job.cells.includes(`${c.row}@${c.budget}`)
    )
    const graphs = yield* loadGraphs(list)
    const backend = yield* make(decodeConfigUnsafe({ ...job.config, worldSeed: job.worldSeed }))
    const oracle = yield* make(decodeConfigUnsafe({ ...job.config, worldSeed: job.worldSeed, length: { jitter: 0 } }))
    const units: Array<Unit> = []
    for (const index of job.problems) {
      const problem = all[index] as Problem | undefined
      if (problem === undefined) return yield* Effect.die(new Error(`no MATH-500 problem at ${index}`))
      const w = yield* oracle.world(problem)
      const results = yield* runProblem(backend, graphs, list, problem, job.runSeed)
      const unit: Unit = {
        worldSeed: job.worldSeed,
        index,
        level: w.level,
        ph: w.ph,
        pass1: oraclePass1(w, 256),
        auroc: treeAuroc(w, 256),
        results
      }
      units.push(unit)
      onUnit(unit)
    }
    return units
  })

/** What a worker posts. */
export type WorkerMessage =
  | { readonly type: "unit"; readonly unit: Unit }
  | { readonly type: "done" }
  | { readonly type: "error"; readonly message: string }

const workerUrl = new URL("./worker.ts", import.meta.url)

/**
 * Runs jobs in worker threads (each job split into `workers` shards), returning every unit.
 *
 * @example
 * const units = await runParallel([{ worldSeed: 0, problems: [0, 5, 10], budgets: [4], runSeed: 0 }])
 */
export const runParallel = async (
  jobs: ReadonlyArray<Job>,
  options: { readonly workers?: number; readonly onUnit?: (u: Unit, done: number) => void } = {}
): Promise<ReadonlyArray<Unit>> => {
  const workers = Math.max(1, options.workers ?? availableParallelism())
  // interleaved shards of every job, so each worker gets every level
  const shards: Array<Job> = []
  for (let k = 0; k < workers; k++)
    shards.push(
      ...jobs
        .map((j) => ({ ...j, problems: j.problems.filter((_, i) => i % workers === k) }))
        .filter((j) => j.problems.length > 0)
    )
  const units: Array<Unit> = []
  const queue = [...shards]
  const runOne = (job: Job) =>
    new Promise<void>((resolve, reject) => {
      const worker = new Worker(workerUrl, { workerData: job })
      worker.on("message", (m: WorkerMessage) => {
        if (m.type === "unit") {
          units.push(m.unit)
          options.onUnit?.(m.unit, units.length)
        } else if (m.type === "done") resolve()
        else reject(new Error(m.message))
      })
      worker.on("error", reject)
      worker.on("exit", (code) => (code === 0 ? resolve() : reject(new Error(`worker exited with ${code}`))))
    })
  await Promise.all(
    Array.from({ length: Math.min(workers, queue.length) }, async () => {
      for (let job = queue.shift(); job !== undefined; job = queue.shift()) await runOne(job)
    })
  )
  return units
}

/** A cell: accuracy and its standard error over the units. */
export interface Cell {
  readonly acc: number
  readonly se: number
  readonly n: number
}

const cell = (xs: ReadonlyArray<number>): Cell => {
  const n = xs.length
  const acc = xs.reduce((a, x) => a + x, 0) / n
  const sd = Math.sqrt(xs.reduce((a, x) => a + (x - acc) ** 2, 0) / n)
  return { acc, se: sd / Math.sqrt(n), n }
}

/** The pooled table: `row@B` → overall cell and the five bins' cells. */
export interface Table {
  readonly units: number
  readonly cells: ReadonlyMap<string, { readonly all: Cell; readonly bins: ReadonlyArray<Cell> }>
  /** per bin: mean oracle pass@1 and mean AUROC (NaN-free problems) */
  readonly pass1: ReadonlyArray<number>
  readonly auroc: ReadonlyArray<number>
  /** bin of each unit, in `units` order */
  readonly binOf: ReadonlyArray<number>
}

/**
 * Pools units into a table; bins are quintiles of pass@1 within each world seed (sim2.py).
 *
 * @example
 * tabulate(units).cells.get("beam4@16")?.all.acc
 */
export const tabulate = (units: ReadonlyArray<Unit>): Table => {
  const binOf = new Array<number>(units.length).fill(0)
  for (const seed of new Set(units.map((u) => u.worldSeed))) {
    const idx = units.map((u, i) => [u, i] as const).filter(([u]) => u.worldSeed === seed)
    const bins = quintileBins(idx.map(([u]) => u))
    idx.forEach(([, i], k) => {
      binOf[i] = bins[k] ?? 0
    })
  }
  const keys = new Set(units.flatMap((u) => Object.keys(u.results)))
  const cells = new Map<string, { all: Cell; bins: Array<Cell> }>()
  for (const key of keys) {
    const xs = units.map((u) => u.results[key] ?? Number.NaN)
    cells.set(key, {
      all: cell(xs),
      bins: [1, 2, 3, 4, 5].map((b) => cell(xs.filter((_, i) => binOf[i] === b)))
    })
  }
  const mean = (xs: ReadonlyArray<number>) => xs.reduce((a, x) => a + x, 0) / xs.length
  const perBin = (f: (u: Unit) => number) =>
    [1, 2, 3, 4, 5].map((b) =>
      mean(
        units
          .filter((_, i) => binOf[i] === b)
          .map(f)
          // NaN (no right or no wrong answer) comes back as null from units saved as JSON
          .filter((x) => typeof x === "number" && !Number.isNaN(x))
      )
    )
  return { units: units.length, cells, pass1: perBin((u) => u.pass1), auroc: perBin((u) => u.auroc), binOf }
}

/** The accuracy of `row@B` overall (bin undefined) or in a bin. */
export const accOf = (table: Table, row: Row, budget: number, bin?: number): number => {
  const c = table.cells.get(`${row}@${budget}`)
  if (c === undefined) throw new Error(`no cell ${row}@${budget}`)
  return (bin === undefined ? c.all : c.bins[bin - 1])?.acc ?? Number.NaN
}

/** The table as text, in results2.txt's layout. */
export const formatTable = (table: Table, rows: ReadonlyArray<Row>, budgets: ReadonlyArray<number>): string => {
  const lines = [
    `${"strategy".padEnd(10)} ${"N".padStart(5)}  ${"all".padStart(6)} ${"±se".padStart(5)} | bin1   bin2   bin3   bin4   bin5`
  ]
  for (const row of rows)
    for (const B of budgets) {
      const c = table.cells.get(`${row}@${B}`)
      if (c === undefined) continue
      lines.push(
        `${row.padEnd(10)} ${String(B).padStart(5)}  ${c.all.acc.toFixed(3).padStart(6)} ${c.all.se.toFixed(3)} | ${c.bins.map((x) => x.acc.toFixed(3)).join("  ")}`
      )
    }
  return lines.join("\n")
}
