/**
 * The results store: an embedded SQLite database (`node:sqlite`) holding every run record, every
 * difficulty estimate and the generation cache, so an interrupted sweep resumes where it stopped
 * and never redoes finished work. One file, e.g. `out/mull.db`; WAL mode; each record is written
 * as soon as its run finishes.
 *
 * @since 0.1.0
 */
import { mkdirSync } from "node:fs"
import { dirname } from "node:path"
import { DatabaseSync } from "node:sqlite"
import { Context, Effect, Layer, Schema } from "effect"
import type { DifficultyRecord, RunRecord } from "./Record.ts"

/** The store could not be opened or written. */
export class StoreError extends Schema.TaggedError<StoreError>()("StoreError", {
  path: Schema.String,
  operation: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `results store ${this.path}: ${this.operation} failed: ${this.reason}`
  }
}

export interface StoreShape {
  readonly path: string
  /** keys of the finished runs among `keys` */
  readonly finished: (keys: ReadonlyArray<string>) => Effect.Effect<ReadonlySet<string>, StoreError>
  readonly putRun: (record: RunRecord) => Effect.Effect<void, StoreError>
  /** run records, optionally of one sweep */
  readonly runs: (sweep?: string) => Effect.Effect<ReadonlyArray<RunRecord>, StoreError>
  readonly putDifficulty: (record: DifficultyRecord) => Effect.Effect<void, StoreError>
  readonly difficulties: (sweep?: string) => Effect.Effect<ReadonlyArray<DifficultyRecord>, StoreError>
  /** the generation/verifier cache */
  readonly cacheGet: (key: string) => Effect.Effect<string | undefined, StoreError>
  readonly cachePut: (key: string, value: string) => Effect.Effect<void, StoreError>
  /** free-form metadata of a sweep (its spec, backend, knobs) */
  readonly putMeta: (key: string, value: string) => Effect.Effect<void, StoreError>
  readonly getMeta: (key: string) => Effect.Effect<string | undefined, StoreError>
  readonly sweeps: Effect.Effect<ReadonlyArray<string>, StoreError>
}

export class Store extends Context.Service<Store, StoreShape>()("mull/eval/Store") {}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS runs (
  key TEXT PRIMARY KEY, sweep TEXT NOT NULL, strategy TEXT NOT NULL, graph TEXT NOT NULL,
  params TEXT NOT NULL, budget REAL NOT NULL, seed INTEGER NOT NULL, problem TEXT NOT NULL,
  level INTEGER, answer TEXT, gold TEXT, correct INTEGER NOT NULL, exhausted INTEGER NOT NULL,
  usage TEXT NOT NULL, backend_usage TEXT NOT NULL, candidates INTEGER NOT NULL, done INTEGER NOT NULL,
  correct_candidates INTEGER NOT NULL, math_correct INTEGER, math_correct_candidates INTEGER,
  created_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS runs_sweep ON runs(sweep);
CREATE TABLE IF NOT EXISTS difficulty (
  sweep TEXT NOT NULL, problem TEXT NOT NULL, level INTEGER, samples INTEGER NOT NULL, seed INTEGER NOT NULL,
  pass1 REAL NOT NULL, mean_score REAL NOT NULL, PRIMARY KEY (sweep, problem)
);
CREATE TABLE IF NOT EXISTS cache (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
`

type Row = Record<string, unknown>

const str = (v: unknown): string => (typeof v === "string" ? v : String(v))
const num = (v: unknown): number => (typeof v === "number" ? v : typeof v === "bigint" ? Number(v) : Number(v))

const toRun = (r: Row): RunRecord => ({
  key: str(r.key),
  sweep: str(r.sweep),
  strategy: str(r.strategy),
  graph: str(r.graph),
  params: JSON.parse(str(r.params)) as RunRecord["params"],
  budget: num(r.budget),
  seed: num(r.seed),
  problemId: str(r.problem),
  ...(r.level === null || r.level === undefined ? {} : { level: num(r.level) }),
  ...(r.answer === null || r.answer === undefined ? {} : { answer: str(r.answer) }),
  ...(r.gold === null || r.gold === undefined ? {} : { gold: str(r.gold) }),
  correct: num(r.correct) === 1,
  exhausted: num(r.exhausted) === 1,
  usage: JSON.parse(str(r.usage)) as RunRecord["usage"],
  backendUsage: JSON.parse(str(r.backend_usage)) as RunRecord["backendUsage"],
  candidates: num(r.candidates),
  done: num(r.done),
  correctCandidates: num(r.correct_candidates),
  ...(r.math_correct === null || r.math_correct === undefined
    ? {}
    : { math: { correct: num(r.math_correct) === 1, correctCandidates: num(r.math_correct_candidates) } })
})

const toDifficulty = (r: Row): DifficultyRecord => ({
  sweep: str(r.sweep),
  problemId: str(r.problem),
  ...(r.level === null || r.level === undefined ? {} : { level: num(r.level) }),
  samples: num(r.samples),
  seed: num(r.seed),
  pass1: num(r.pass1),
  meanScore: num(r.mean_score)
})

/**
 * Opens (or creates) a store; the database is closed when the scope closes.
 *
 * @example
 * const store = yield* make("out/mull.db")
 */
export const make = Effect.fnUntraced(function* (path: string) {
  const fail = (operation: string) => (e: unknown) =>
    new StoreError({ path, operation, reason: e instanceof Error ? e.message : String(e) })
  const db = yield* Effect.acquireRelease(
    Effect.try({
      try: () => {
        if (path !== ":memory:") mkdirSync(dirname(path), { recursive: true })
        const d = new DatabaseSync(path)
        d.exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 5000;")
        d.exec(SCHEMA)
        return d
      },
      catch: fail("open")
    }),
    (d) => Effect.sync(() => d.close())
  )
  const insertRun = db.prepare(
    `INSERT OR REPLACE INTO runs (key, sweep, strategy, graph, params, budget, seed, problem, level, answer, gold,
       correct, exhausted, usage, backend_usage, candidates, done, correct_candidates, math_correct,
       math_correct_candidates, created_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
  )
  const insertDifficulty = db.prepare(
    "INSERT OR REPLACE INTO difficulty (sweep, problem, level, samples, seed, pass1, mean_score) VALUES (?, ?, ?, ?, ?, ?, ?)"
  )
  const getCache = db.prepare("SELECT value FROM cache WHERE key = ?")
  const putCache = db.prepare("INSERT OR REPLACE INTO cache (key, value) VALUES (?, ?)")
  const getMetaStmt = db.prepare("SELECT value FROM meta WHERE key = ?")
  const putMetaStmt = db.prepare("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)")
  const attempt = <A>(operation: string, f: () => A) => Effect.try({ try: f, catch: fail(operation) })

  return Store.of({
    path,
    finished: (keys) =>
      attempt("finished", () => {
        const out = new Set<string>()
        // chunks keep the statement under SQLite's variable limit
        for (let i = 0; i < keys.length; i += 500) {
          const chunk = keys.slice(i, i + 500)
          const rows = db
            .prepare(`SELECT key FROM runs WHERE key IN (${chunk.map(() => "?").join(",")})`)
            .all(...chunk) as ReadonlyArray<Row>
          for (const r of rows) out.add(str(r.key))
        }
        return out
      }),
    putRun: (r) =>
      attempt("putRun", () => {
        insertRun.run(
          r.key,
          r.sweep,
          r.strategy,
          r.graph,
          JSON.stringify(r.params),
          r.budget,
          r.seed,
          r.problemId,
          r.level ?? null,
          r.answer ?? null,
          r.gold ?? null,
          r.correct ? 1 : 0,
          r.exhausted ? 1 : 0,
          JSON.stringify(r.usage),
          JSON.stringify(r.backendUsage),
          r.candidates,
          r.done,
          r.correctCandidates,
          r.math === undefined ? null : r.math.correct ? 1 : 0,
          r.math?.correctCandidates ?? null,
          new Date().toISOString()
        )
      }),
    runs: (sweep) =>
      attempt("runs", () =>
        (sweep === undefined
          ? (db.prepare("SELECT * FROM runs ORDER BY rowid").all() as ReadonlyArray<Row>)
          : (db.prepare("SELECT * FROM runs WHERE sweep = ? ORDER BY rowid").all(sweep) as ReadonlyArray<Row>)
        ).map(toRun)
      ),
    putDifficulty: (r) =>
      attempt("putDifficulty", () => {
        insertDifficulty.run(r.sweep, r.problemId, r.level ?? null, r.samples, r.seed, r.pass1, r.meanScore)
      }),
    difficulties: (sweep) =>
      attempt("difficulties", () =>
        (sweep === undefined
          ? (db.prepare("SELECT * FROM difficulty ORDER BY rowid").all() as ReadonlyArray<Row>)
          : (db.prepare("SELECT * FROM difficulty WHERE sweep = ? ORDER BY rowid").all(sweep) as ReadonlyArray<Row>)
        ).map(toDifficulty)
      ),
    cacheGet: (key) =>
      attempt("cacheGet", () => {
        const row = getCache.get(key) as Row | undefined
        return row === undefined ? undefined : str(row.value)
      }),
    cachePut: (key, value) =>
      attempt("cachePut", () => {
        putCache.run(key, value)
      }),
    putMeta: (key, value) =>
      attempt("putMeta", () => {
        putMetaStmt.run(key, value)
      }),
    getMeta: (key) =>
      attempt("getMeta", () => {
        const row = getMetaStmt.get(key) as Row | undefined
        return row === undefined ? undefined : str(row.value)
      }),
    sweeps: attempt("sweeps", () =>
      (db.prepare("SELECT DISTINCT sweep FROM runs ORDER BY sweep").all() as ReadonlyArray<Row>).map((r) =>
        str(r.sweep)
      )
    )
  })
})

/**
 * A store layer.
 *
 * @example
 * program.pipe(Effect.provide(layer("out/mull.db")))
 */
export const layer = (path: string): Layer.Layer<Store, StoreError> => Layer.effect(Store, make(path))
