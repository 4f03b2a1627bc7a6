/**
 * The results store: an embedded SQLite database (`node:sqlite`) holding every run record, every
 * difficulty estimate and the generation cache, so an interrupted sweep resumes where it stopped
 * and never redoes finished work. One file, e.g. `out/mull.db`; WAL mode; each record is written
 * as soon as its run finishes. Work in progress is *claimed* (a lease that expires), so several
 * `mull eval` processes on one store share a sweep instead of running it twice. `open` also opens
 * the PostgreSQL store (`PgStore.ts`, same schema and meaning) when given a `postgres://` URL.
 *
 * @since 0.1.0
 */
import { mkdirSync } from "node:fs"
import { dirname } from "node:path"
import { DatabaseSync } from "node:sqlite"
import { Context, Effect, Layer, Schedule, Schema, type Scope } from "effect"
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
  /**
   * Claims a piece of work (`key`) for `owner` until `ttlMs` from now: true when it was free, its
   * claim had expired or was `abandoned` (its holder is known to be dead), or `owner` holds it
   * already. Atomic across threads and processes.
   */
  readonly claim: (
    key: string,
    owner: string,
    ttlMs: number,
    abandoned: (holder: string) => boolean
  ) => Effect.Effect<boolean, StoreError>
  /** extends every claim `owner` holds to `ttlMs` from now */
  readonly renewClaims: (owner: string, ttlMs: number) => Effect.Effect<void, StoreError>
  /** gives a claim up (a no-op unless `owner` holds it) */
  readonly releaseClaim: (key: string, owner: string) => Effect.Effect<void, StoreError>
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
CREATE TABLE IF NOT EXISTS claims (key TEXT PRIMARY KEY, owner TEXT NOT NULL, expires_at INTEGER NOT NULL);
`

/** A row as a database driver returns it. */
export type Row = Record<string, unknown>

const str = (v: unknown): string => (typeof v === "string" ? v : String(v))
const num = (v: unknown): number => (typeof v === "number" ? v : typeof v === "bigint" ? Number(v) : Number(v))

/**
 * A stored row of `runs` as a record (both stores share the columns).
 *
 * @example
 * rows.map(toRun)
 */
export const toRun = (r: Row): RunRecord => ({
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

/**
 * A stored row of `difficulty` as a record (both stores share the columns).
 *
 * @example
 * rows.map(toDifficulty)
 */
export const toDifficulty = (r: Row): DifficultyRecord => ({
  sweep: str(r.sweep),
  problemId: str(r.problem),
  ...(r.level === null || r.level === undefined ? {} : { level: num(r.level) }),
  samples: num(r.samples),
  seed: num(r.seed),
  pass1: num(r.pass1),
  meanScore: num(r.mean_score)
})

/** The columns of `runs`, in order (both stores share them). */
export const RUN_COLUMNS = [
  "key",
  "sweep",
  "strategy",
  "graph",
  "params",
  "budget",
  "seed",
  "problem",
  "level",
  "answer",
  "gold",
  "correct",
  "exhausted",
  "usage",
  "backend_usage",
  "candidates",
  "done",
  "correct_candidates",
  "math_correct",
  "math_correct_candidates",
  "created_at"
] as const

/**
 * A record's values in the order of `RUN_COLUMNS`.
 *
 * @example
 * insert.run(...runValues(record, new Date().toISOString()))
 */
export const runValues = (r: RunRecord, createdAt: string): Array<string | number | null> => [
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
  createdAt
]

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
        try {
          // the busy timeout first: switching to WAL takes a lock, and a second process opening the
          // store at the same moment would otherwise fail at once with "database is locked"
          d.exec("PRAGMA busy_timeout = 5000; PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;")
          d.exec(SCHEMA)
        } catch (e) {
          d.close()
          throw e
        }
        return d
      },
      catch: fail("open")
    }).pipe(
      // SQLite answers some lock conflicts at once, without the busy timeout (two processes that
      // both create the schema can deadlock, and one is refused): opening again is safe
      Effect.retry({
        while: (e) => /locked|busy/iu.test(e.reason),
        schedule: Schedule.spaced("50 millis"),
        times: 100
      })
    ),
    (d) => Effect.sync(() => d.close())
  )
  const insertRun = db.prepare(
    `INSERT OR REPLACE INTO runs (${RUN_COLUMNS.join(", ")}) VALUES (${RUN_COLUMNS.map(() => "?").join(", ")})`
  )
  const insertDifficulty = db.prepare(
    "INSERT OR REPLACE INTO difficulty (sweep, problem, level, samples, seed, pass1, mean_score) VALUES (?, ?, ?, ?, ?, ?, ?)"
  )
  const getCache = db.prepare("SELECT value FROM cache WHERE key = ?")
  const putCache = db.prepare("INSERT OR REPLACE INTO cache (key, value) VALUES (?, ?)")
  const getMetaStmt = db.prepare("SELECT value FROM meta WHERE key = ?")
  const putMetaStmt = db.prepare("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)")
  const attempt = <A>(operation: string, f: () => A) => Effect.try({ try: f, catch: fail(operation) })
  const claimHolder = db.prepare("SELECT owner, expires_at FROM claims WHERE key = ?")
  const claimPut = db.prepare("INSERT OR REPLACE INTO claims (key, owner, expires_at) VALUES (?, ?, ?)")
  const claimsRenew = db.prepare("UPDATE claims SET expires_at = ? WHERE owner = ?")
  const claimDelete = db.prepare("DELETE FROM claims WHERE key = ? AND owner = ?")

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
        insertRun.run(...runValues(r, new Date().toISOString()))
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
    ),
    claim: (key, owner, ttlMs, abandoned) =>
      attempt("claim", () => {
        // BEGIN IMMEDIATE takes the write lock first: the read and the write are one step for
        // every other connection (thread or process) on the file
        db.exec("BEGIN IMMEDIATE")
        try {
          const now = Date.now()
          const row = claimHolder.get(key) as Row | undefined
          const free =
            row === undefined || str(row.owner) === owner || num(row.expires_at) < now || abandoned(str(row.owner))
          if (free) claimPut.run(key, owner, now + ttlMs)
          db.exec("COMMIT")
          return free
        } catch (e) {
          db.exec("ROLLBACK")
          throw e
        }
      }),
    renewClaims: (owner, ttlMs) =>
      attempt("renewClaims", () => {
        claimsRenew.run(Date.now() + ttlMs, owner)
      }),
    releaseClaim: (key, owner) =>
      attempt("releaseClaim", () => {
        claimDelete.run(key, owner)
      })
  })
})

/**
 * Whether a store target is a PostgreSQL URL (`postgres://…` or `postgresql://…`) rather than a
 * SQLite file.
 *
 * @example
 * isPostgresUrl("postgres://mull@db:5432/mull") // true
 */
export const isPostgresUrl = (target: string): boolean => /^postgres(?:ql)?:\/\//iu.test(target)

/**
 * Opens the store at `target`: a SQLite file, or the PostgreSQL store when `target` is a
 * `postgres://` URL (loaded on demand, so the embedded path never loads the PostgreSQL client).
 *
 * @example
 * const store = yield* open("postgres://mull:secret@db:5432/mull")
 */
export const open = (target: string): Effect.Effect<StoreShape, StoreError, Scope.Scope> =>
  isPostgresUrl(target)
    ? Effect.tryPromise({
        try: () => import("./PgStore.ts"),
        catch: (e) => new StoreError({ path: redactUrl(target), operation: "open", reason: String(e) })
      }).pipe(Effect.flatMap((m) => m.make(target)))
    : make(target)

/**
 * A URL with its password replaced by `***`, for messages.
 *
 * @example
 * redactUrl("postgres://mull:secret@db/mull") // "postgres://mull:***@db/mull"
 */
export const redactUrl = (target: string): string => target.replace(/^([a-z]+:\/\/[^:/@]*:)[^@]*@/iu, "$1***@")

/**
 * A store layer: a SQLite file, or PostgreSQL for a `postgres://` URL.
 *
 * @example
 * program.pipe(Effect.provide(layer("out/mull.db")))
 */
export const layer = (target: string): Layer.Layer<Store, StoreError> => Layer.effect(Store, open(target))
