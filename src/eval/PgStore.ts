/**
 * The results store in PostgreSQL: the SQLite store's tables, columns and meaning (`Store.ts`) in
 * a schema of their own (`mull`), for sweeps sharded over machines (`mull eval --cluster`) and for
 * several processes on one database. A run is keyed by its cell, and inserting it again is a no-op
 * (`ON CONFLICT DO NOTHING`): a cell re-run after a crash stores one row, and determinism makes the
 * re-run's row the same. Claims use the database's clock, so machines with skewed clocks agree on
 * when a claim expires.
 *
 * @since 0.2.0
 */
import * as PgClient from "@effect/sql-pg/PgClient"
import { Context, Effect, Layer, Redacted, type Scope } from "effect"
import { SqlClient, type SqlError } from "effect/sql"
import {
  type Row,
  RUN_COLUMNS,
  redactUrl,
  runValues,
  Store,
  StoreError,
  type StoreShape,
  toDifficulty,
  toRun
} from "./Store.ts"

/** The schema's tables: the SQLite store's, with PostgreSQL types. */
const SCHEMA = [
  "CREATE SCHEMA IF NOT EXISTS mull",
  `CREATE TABLE IF NOT EXISTS mull.runs (
    key TEXT PRIMARY KEY, sweep TEXT NOT NULL, strategy TEXT NOT NULL, graph TEXT NOT NULL,
    params TEXT NOT NULL, budget DOUBLE PRECISION NOT NULL, seed INTEGER NOT NULL, problem TEXT NOT NULL,
    level INTEGER, answer TEXT, gold TEXT, correct INTEGER NOT NULL, exhausted INTEGER NOT NULL,
    usage TEXT NOT NULL, backend_usage TEXT NOT NULL, candidates INTEGER NOT NULL, done INTEGER NOT NULL,
    correct_candidates INTEGER NOT NULL, math_correct INTEGER, math_correct_candidates INTEGER,
    created_at TEXT NOT NULL)`,
  "CREATE INDEX IF NOT EXISTS runs_sweep ON mull.runs(sweep)",
  `CREATE TABLE IF NOT EXISTS mull.difficulty (
    sweep TEXT NOT NULL, problem TEXT NOT NULL, level INTEGER, samples INTEGER NOT NULL, seed INTEGER NOT NULL,
    pass1 DOUBLE PRECISION NOT NULL, mean_score DOUBLE PRECISION NOT NULL, PRIMARY KEY (sweep, problem))`,
  "CREATE TABLE IF NOT EXISTS mull.cache (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
  "CREATE TABLE IF NOT EXISTS mull.meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
  "CREATE TABLE IF NOT EXISTS mull.claims (key TEXT PRIMARY KEY, owner TEXT NOT NULL, expires_at TIMESTAMPTZ NOT NULL)"
]

/**
 * The advisory lock every process holds while it creates mull's tables: CREATE … IF NOT EXISTS
 * races between sessions (a unique violation in `pg_type`).
 */
export const SCHEMA_LOCK = 0x6d756c6c // "mull"

/**
 * Creates the store's schema and tables when missing (safe to run from many processes at once).
 *
 * @example
 * yield* ensureSchema(sql)
 */
export const ensureSchema = (sql: SqlClient.SqlClient): Effect.Effect<void, SqlError.SqlError> =>
  sql.withTransaction(
    Effect.gen(function* () {
      yield* sql`SELECT pg_advisory_xact_lock(${SCHEMA_LOCK})`
      for (const statement of SCHEMA) yield* sql.unsafe(statement)
    })
  )

/**
 * A store over a PostgreSQL client (the schema is created when missing). `label` names it in errors
 * (a URL without its password).
 *
 * @example
 * const store = yield* makeWith(yield* SqlClient.SqlClient, "postgres://db/mull")
 */
export const makeWith = Effect.fnUntraced(function* (sql: SqlClient.SqlClient, label: string) {
  const fail = (operation: string) => (e: SqlError.SqlError | Error) =>
    new StoreError({ path: label, operation, reason: e.message })
  yield* ensureSchema(sql).pipe(Effect.mapError(fail("open")))
  const attempt = <A>(operation: string, effect: Effect.Effect<A, SqlError.SqlError>) =>
    effect.pipe(Effect.mapError(fail(operation)))
  const rows = (effect: Effect.Effect<ReadonlyArray<Row>, SqlError.SqlError>) => effect

  const store: StoreShape = {
    path: label,
    finished: (keys) =>
      attempt(
        "finished",
        Effect.gen(function* () {
          const out = new Set<string>()
          for (let i = 0; i < keys.length; i += 1000) {
            const chunk = keys.slice(i, i + 1000)
            if (chunk.length === 0) continue
            for (const r of yield* rows(sql`SELECT key FROM mull.runs WHERE key IN ${sql.in(chunk)}`))
              out.add(String(r.key))
          }
          return out as ReadonlySet<string>
        })
      ),
    putRun: (r) =>
      attempt(
        "putRun",
        sql
          .unsafe(
            `INSERT INTO mull.runs (${RUN_COLUMNS.join(", ")}) VALUES (${RUN_COLUMNS.map((_, i) => `$${i + 1}`).join(", ")})
             ON CONFLICT (key) DO NOTHING`,
            runValues(r, new Date().toISOString())
          )
          .pipe(Effect.asVoid)
      ),
    runs: (sweep) =>
      attempt(
        "runs",
        (sweep === undefined
          ? rows(sql`SELECT * FROM mull.runs ORDER BY created_at, key`)
          : rows(sql`SELECT * FROM mull.runs WHERE sweep = ${sweep} ORDER BY created_at, key`)
        ).pipe(Effect.map((list) => list.map(toRun)))
      ),
    putDifficulty: (r) =>
      attempt(
        "putDifficulty",
        // replaced, as in the SQLite store: a sweep that changes its difficulty samples re-estimates
        sql`INSERT INTO mull.difficulty (sweep, problem, level, samples, seed, pass1, mean_score)
            VALUES (${r.sweep}, ${r.problemId}, ${r.level ?? null}, ${r.samples}, ${r.seed}, ${r.pass1}, ${r.meanScore})
            ON CONFLICT (sweep, problem) DO UPDATE SET level = EXCLUDED.level, samples = EXCLUDED.samples,
              seed = EXCLUDED.seed, pass1 = EXCLUDED.pass1, mean_score = EXCLUDED.mean_score`.pipe(Effect.asVoid)
      ),
    difficulties: (sweep) =>
      attempt(
        "difficulties",
        (sweep === undefined
          ? rows(sql`SELECT * FROM mull.difficulty ORDER BY sweep, problem`)
          : rows(sql`SELECT * FROM mull.difficulty WHERE sweep = ${sweep} ORDER BY problem`)
        ).pipe(Effect.map((list) => list.map(toDifficulty)))
      ),
    cacheGet: (key) =>
      attempt(
        "cacheGet",
        rows(sql`SELECT value FROM mull.cache WHERE key = ${key}`).pipe(
          Effect.map((list) => (list[0] === undefined ? undefined : String(list[0].value)))
        )
      ),
    // entries are keyed by content: the first writer's value is every writer's
    cachePut: (key, value) =>
      attempt(
        "cachePut",
        sql`INSERT INTO mull.cache (key, value) VALUES (${key}, ${value}) ON CONFLICT (key) DO NOTHING`.pipe(
          Effect.asVoid
        )
      ),
    putMeta: (key, value) =>
      attempt(
        "putMeta",
        sql`INSERT INTO mull.meta (key, value) VALUES (${key}, ${value})
            ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value`.pipe(Effect.asVoid)
      ),
    getMeta: (key) =>
      attempt(
        "getMeta",
        rows(sql`SELECT value FROM mull.meta WHERE key = ${key}`).pipe(
          Effect.map((list) => (list[0] === undefined ? undefined : String(list[0].value)))
        )
      ),
    sweeps: attempt(
      "sweeps",
      rows(sql`SELECT DISTINCT sweep FROM mull.runs ORDER BY sweep`).pipe(
        Effect.map((list) => list.map((r) => String(r.sweep)))
      )
    ),
    claim: (key, owner, ttlMs, abandoned) =>
      attempt(
        "claim",
        sql.withTransaction(
          Effect.gen(function* () {
            const inserted = yield* rows(
              sql`INSERT INTO mull.claims (key, owner, expires_at)
                  VALUES (${key}, ${owner}, now() + ${ttlMs}::double precision * interval '1 millisecond')
                  ON CONFLICT (key) DO NOTHING RETURNING key`
            )
            if (inserted.length > 0) return true
            const held = yield* rows(
              sql`SELECT owner, expires_at < now() AS expired FROM mull.claims WHERE key = ${key} FOR UPDATE`
            )
            const row = held[0]
            const free =
              row === undefined || String(row.owner) === owner || row.expired === true || abandoned(String(row.owner))
            if (!free) return false
            yield* sql`INSERT INTO mull.claims (key, owner, expires_at)
                       VALUES (${key}, ${owner}, now() + ${ttlMs}::double precision * interval '1 millisecond')
                       ON CONFLICT (key) DO UPDATE SET owner = EXCLUDED.owner, expires_at = EXCLUDED.expires_at`
            return true
          })
        )
      ),
    renewClaims: (owner, ttlMs) =>
      attempt(
        "renewClaims",
        sql`UPDATE mull.claims SET expires_at = now() + ${ttlMs}::double precision * interval '1 millisecond'
            WHERE owner = ${owner}`.pipe(Effect.asVoid)
      ),
    releaseClaim: (key, owner) =>
      attempt("releaseClaim", sql`DELETE FROM mull.claims WHERE key = ${key} AND owner = ${owner}`.pipe(Effect.asVoid))
  }
  return store
})

/**
 * A PostgreSQL client layer for a `postgres://` URL (the password stays redacted in errors).
 *
 * @example
 * program.pipe(Effect.provide(clientLayer("postgres://mull:secret@db:5432/mull")))
 */
export const clientLayer = (url: string, options: { readonly maxConnections?: number } = {}) =>
  PgClient.layer({
    url: Redacted.make(url),
    maxConnections: options.maxConnections ?? 8,
    applicationName: "mull"
  })

/**
 * Opens the store at a `postgres://` URL with a connection pool of its own, closed with the scope.
 *
 * @example
 * const store = yield* make("postgres://mull:secret@db:5432/mull")
 */
export const make = (url: string): Effect.Effect<StoreShape, StoreError, Scope.Scope> =>
  Effect.gen(function* () {
    const label = redactUrl(url)
    const context = yield* Layer.build(clientLayer(url)).pipe(
      Effect.mapError((e) => new StoreError({ path: label, operation: "open", reason: e.message }))
    )
    return yield* makeWith(Context.get(context, SqlClient.SqlClient), label)
  })

/**
 * A PostgreSQL store layer.
 *
 * @example
 * program.pipe(Effect.provide(layer("postgres://mull:secret@db:5432/mull")))
 */
export const layer = (url: string): Layer.Layer<Store, StoreError> => Layer.effect(Store, make(url))
