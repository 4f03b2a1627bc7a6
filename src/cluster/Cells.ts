/**
 * The work of a sharded sweep: one persisted message per cell (problem × graph × params × seed ×
 * backend config — a sweep's item, keyed as the SQLite runner keys it), sent to the entity of its
 * problem. All cells of a problem go to one entity, which runs them one at a time in the order
 * they were sent (difficulty first, then largest budget first) with one generation cache, as the
 * single-machine runner does; entities of different problems run on whichever runner holds their
 * shard. A message's primary key is its cell and attempt, so submitting a sweep twice (two `mull
 * eval`s, or one resumed) stores each message once. A cell that fails (the backend, the graph) is
 * recorded in `mull.cluster_failures`; submitting again retries it as the next attempt.
 *
 * @since 0.2.0
 */
import { Effect, Schema } from "effect"
import { ClusterSchema, Entity } from "effect/cluster"
import { Rpc } from "effect/rpc"
import type { SqlClient, SqlError } from "effect/sql"
import { hash64 } from "../domain/Hash.ts"
import { SCHEMA_LOCK } from "../eval/PgStore.ts"
import type { SweepSpec } from "../eval/Sweep.ts"

/** Run one cell of a sweep: `spec` is the sweep's content hash (its spec is in the store's metadata). */
export const RunCell = Rpc.make("RunCell", {
  payload: { spec: Schema.String, key: Schema.String, attempt: Schema.Int },
  primaryKey: (p) => `${p.spec}/${p.key}/${p.attempt}`
}).annotate(ClusterSchema.Persisted, true)

/** The entity of one problem of one sweep. */
export const SweepProblem = Entity.make("MullSweepProblem", [RunCell])

/**
 * The content hash of a sweep spec: the name its cells are sent under, and the metadata key of
 * its spec (`cluster:spec:<hash>`).
 *
 * @example
 * specHash(spec) // "9f03c1a2b4d5e6f7"
 */
export const specHash = (spec: SweepSpec): string => hash64(["sweep-spec", JSON.stringify(spec)]).toString(16)

/** The metadata key under which a submitted spec is stored. */
export const specMetaKey = (hash: string): string => `cluster:spec:${hash}`

/**
 * The entity id of a problem of a sweep.
 *
 * @example
 * entityId("9f03c1a2", "test/algebra/1.json") // "9f03c1a2/test/algebra/1.json"
 */
export const entityId = (spec: string, problemId: string): string => `${spec}/${problemId}`

const FAILURES = `CREATE TABLE IF NOT EXISTS mull.cluster_failures (
  spec TEXT NOT NULL, key TEXT NOT NULL, attempt INTEGER NOT NULL, runner TEXT NOT NULL,
  tag TEXT NOT NULL, message TEXT NOT NULL, at TIMESTAMPTZ NOT NULL DEFAULT now(),
  PRIMARY KEY (spec, key, attempt))`

/**
 * Creates the failures table when missing (after the store's schema), under the store's schema
 * lock: runners starting together would otherwise race on CREATE TABLE IF NOT EXISTS.
 *
 * @example
 * yield* ensureFailures(sql)
 */
export const ensureFailures = (sql: SqlClient.SqlClient): Effect.Effect<void, SqlError.SqlError> =>
  sql.withTransaction(
    Effect.gen(function* () {
      yield* sql`SELECT pg_advisory_xact_lock(${SCHEMA_LOCK})`
      yield* sql.unsafe(FAILURES)
    })
  )

/** A cell that failed on a runner. */
export interface Failure {
  readonly key: string
  readonly attempt: number
  readonly runner: string
  readonly tag: string
  readonly message: string
}

/**
 * Records that a cell failed (once per attempt).
 *
 * @example
 * yield* recordFailure(sql, hash, { key, attempt: 0, runner: "10.0.0.7:34431", tag: "Timeout", message })
 */
export const recordFailure = (
  sql: SqlClient.SqlClient,
  spec: string,
  f: Failure
): Effect.Effect<void, SqlError.SqlError> =>
  sql`INSERT INTO mull.cluster_failures (spec, key, attempt, runner, tag, message)
      VALUES (${spec}, ${f.key}, ${f.attempt}, ${f.runner}, ${f.tag}, ${f.message})
      ON CONFLICT (spec, key, attempt) DO NOTHING`.pipe(Effect.asVoid)

/**
 * The failures of a sweep's cells, oldest first.
 *
 * @example
 * const failed = yield* failuresOf(sql, hash)
 */
export const failuresOf = (
  sql: SqlClient.SqlClient,
  spec: string
): Effect.Effect<ReadonlyArray<Failure>, SqlError.SqlError> =>
  sql<{ key: string; attempt: number; runner: string; tag: string; message: string }>`
    SELECT key, attempt, runner, tag, message FROM mull.cluster_failures WHERE spec = ${spec} ORDER BY at, key`.pipe(
    Effect.map((rows) =>
      rows.map((r) => ({
        key: String(r.key),
        attempt: Number(r.attempt),
        runner: String(r.runner),
        tag: String(r.tag),
        message: String(r.message)
      }))
    )
  )
