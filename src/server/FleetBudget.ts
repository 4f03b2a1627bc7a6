/**
 * One budget for a fleet of `mull serve` replicas (`--budget-store <postgres url>`): tenants, their
 * API keys (stored as SHA-256 digests) and limits per meter and period live in PostgreSQL. A request
 * *reserves* from its tenant's remaining budget before it runs — atomically across replicas: the
 * tenant's row is locked for the decision (`FleetAdmission.decide`) and the reservation's insert —
 * runs with a budget no larger than what it reserved, then *commits* what it used and drops the
 * reservation. A reservation is a lease: its replica renews it while the request runs, and a
 * replica that dies leaves one that expires (`leaseMs`, 30 s by default) and is deleted by any
 * replica. Windows and expiry use the database's clock, so replicas with skewed clocks agree.
 *
 * @since 0.2.0
 */
import { createHash, randomBytes } from "node:crypto"
import { hostname } from "node:os"
import * as PgClient from "@effect/sql-pg/PgClient"
import { Context, Effect, Layer, Redacted, Schedule, Schema } from "effect"
import { SqlClient, type SqlError } from "effect/sql"
import type * as Limits from "../budget/Limits.ts"
import { METERS, type Meter, type Usage } from "../domain/Usage.ts"
import { type Decision, decide, type LimitState, PERIODS, type Period } from "./FleetAdmission.ts"

/** The fleet budget's database failed. */
export class FleetError extends Schema.TaggedError<FleetError>()("FleetError", {
  operation: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `fleet budget: ${this.operation} failed: ${this.reason}`
  }
}

/** An admin command named a tenant that does not exist, or gave a bad value. */
export class FleetInputError extends Schema.TaggedError<FleetInputError>()("FleetInputError", {
  problems: Schema.Array(Schema.String)
}) {
  override get message(): string {
    return this.problems.join("\n")
  }
}

/** A reservation held by a request in flight. */
export interface Lease {
  readonly id: string
  readonly tenant: string
  /** what the request may spend, per limited meter */
  readonly granted: Limits.Limits
}

export type Admission = { readonly _tag: "Granted"; readonly lease: Lease } | Extract<Decision, { _tag: "Refused" }>

/** A tenant's limit and how its current window stands. */
export interface UsageRow {
  readonly tenant: string
  readonly meter: Meter
  readonly period: Period
  readonly limit: number
  readonly used: number
  readonly reserved: number
  readonly remaining: number
  /** ISO time the window ends; null for `total` */
  readonly resetsAt: string | null
}

export interface FleetBudgetShape {
  /** the tenant an API key belongs to */
  readonly authenticate: (apiKey: string) => Effect.Effect<string | undefined, FleetError>
  /** reserves `want` (capped by what remains) for a request whose first call costs `minimum` */
  readonly reserve: (tenant: string, want: Limits.Limits, minimum: Usage) => Effect.Effect<Admission, FleetError>
  /** records what a request used and drops its reservation */
  readonly commit: (lease: Lease, used: Usage) => Effect.Effect<void, FleetError>
  readonly createTenant: (tenant: string) => Effect.Effect<string, FleetError | FleetInputError>
  readonly addKey: (tenant: string) => Effect.Effect<string, FleetError | FleetInputError>
  readonly setLimit: (
    tenant: string,
    meter: Meter,
    period: Period,
    amount: number
  ) => Effect.Effect<void, FleetError | FleetInputError>
  readonly removeLimit: (tenant: string, meter: Meter, period: Period) => Effect.Effect<boolean, FleetError>
  readonly usage: (tenant?: string) => Effect.Effect<ReadonlyArray<UsageRow>, FleetError>
  readonly tenants: Effect.Effect<ReadonlyArray<string>, FleetError>
  /** reservations alive now (for tests and the usage command) */
  readonly reservations: (tenant?: string) => Effect.Effect<number, FleetError>
}

export class FleetBudget extends Context.Service<FleetBudget, FleetBudgetShape>()("mull/server/FleetBudget") {}

const SCHEMA = [
  "CREATE SCHEMA IF NOT EXISTS mull",
  "CREATE TABLE IF NOT EXISTS mull.fleet_tenants (id TEXT PRIMARY KEY, created_at TIMESTAMPTZ NOT NULL DEFAULT now())",
  `CREATE TABLE IF NOT EXISTS mull.fleet_keys (key_hash TEXT PRIMARY KEY,
    tenant TEXT NOT NULL REFERENCES mull.fleet_tenants(id) ON DELETE CASCADE, created_at TIMESTAMPTZ NOT NULL DEFAULT now())`,
  `CREATE TABLE IF NOT EXISTS mull.fleet_limits (tenant TEXT NOT NULL REFERENCES mull.fleet_tenants(id) ON DELETE CASCADE,
    meter TEXT NOT NULL, period TEXT NOT NULL, amount DOUBLE PRECISION NOT NULL, PRIMARY KEY (tenant, meter, period))`,
  `CREATE TABLE IF NOT EXISTS mull.fleet_usage (tenant TEXT NOT NULL, meter TEXT NOT NULL, period TEXT NOT NULL,
    window_start TIMESTAMPTZ NOT NULL, used DOUBLE PRECISION NOT NULL, PRIMARY KEY (tenant, meter, period, window_start))`,
  `CREATE TABLE IF NOT EXISTS mull.fleet_reservations (id TEXT PRIMARY KEY, tenant TEXT NOT NULL, replica TEXT NOT NULL,
    amounts TEXT NOT NULL, created_at TIMESTAMPTZ NOT NULL DEFAULT now(), expires_at TIMESTAMPTZ NOT NULL)`,
  "CREATE INDEX IF NOT EXISTS fleet_reservations_tenant ON mull.fleet_reservations(tenant)"
]

const SCHEMA_LOCK = 0x666c6565 // "flee"

/** Tenant names: letters, digits, `.`, `_`, `-`. */
const TENANT = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/u

/** The digest an API key is stored and looked up as. */
export const keyDigest = (apiKey: string): string => createHash("sha256").update(apiKey).digest("hex")

const newKey = (): string => `mull_${randomBytes(24).toString("base64url")}`

/** A window's start in SQL: the period's calendar window in UTC, or the epoch for `total`. */
const windowStart = (period: string) =>
  period === "total" ? "'epoch'::timestamptz" : `date_trunc('${period}', now(), 'UTC')`

export interface FleetOptions {
  /** how long a reservation lives without renewal (default 30 s) */
  readonly leaseMs?: number
  /** this replica's name in its reservations (default host/pid/nonce) */
  readonly replica?: string
}

/**
 * A fleet budget over a PostgreSQL client; its tables are created when missing. Renews this
 * replica's reservations and deletes expired ones while the scope is open.
 *
 * @example
 * const fleet = yield* make(yield* SqlClient.SqlClient, { leaseMs: 30_000 })
 */
export const make = Effect.fnUntraced(function* (sql: SqlClient.SqlClient, options: FleetOptions = {}) {
  const leaseMs = options.leaseMs ?? 30_000
  const replica = options.replica ?? `${hostname()}/${process.pid}/${randomBytes(3).toString("hex")}`
  const fail = (operation: string) => (e: SqlError.SqlError) => new FleetError({ operation, reason: e.message })
  yield* sql
    .withTransaction(
      Effect.gen(function* () {
        yield* sql`SELECT pg_advisory_xact_lock(${SCHEMA_LOCK})`
        for (const statement of SCHEMA) yield* sql.unsafe(statement)
      })
    )
    .pipe(Effect.mapError(fail("open")))
  const live = new Set<string>()
  const lease = `${leaseMs}::double precision * interval '1 millisecond'`

  const tenantExists = (tenant: string) =>
    sql<{ id: string }>`SELECT id FROM mull.fleet_tenants WHERE id = ${tenant}`.pipe(Effect.map((r) => r.length > 0))

  const unknownTenant = (tenant: string) =>
    new FleetInputError({ problems: [`tenant "${tenant}" does not exist (create it: mull tenant create ${tenant})`] })

  /** The tenant's limits with their current windows (the tenant's row must be locked). */
  const limitStates = (tenant: string) =>
    Effect.gen(function* () {
      const rows = yield* sql<{
        meter: string
        period: string
        amount: number
        used: number | null
        resets_at: Date | null
      }>`SELECT l.meter, l.period, l.amount, u.used,
           CASE WHEN l.period = 'total' THEN NULL
                ELSE date_trunc(l.period, now(), 'UTC') + ('1 ' || l.period)::interval END AS resets_at
         FROM mull.fleet_limits l
         LEFT JOIN mull.fleet_usage u ON u.tenant = l.tenant AND u.meter = l.meter AND u.period = l.period
           AND u.window_start = CASE WHEN l.period = 'total' THEN 'epoch'::timestamptz
                                     ELSE date_trunc(l.period, now(), 'UTC') END
         WHERE l.tenant = ${tenant}`
      const held = yield* sql<{ amounts: string }>`
        SELECT amounts FROM mull.fleet_reservations WHERE tenant = ${tenant} AND expires_at >= now()`
      const reserved: Partial<Record<string, number>> = {}
      for (const r of held)
        for (const [meter, amount] of Object.entries(JSON.parse(r.amounts) as Record<string, number>))
          reserved[meter] = (reserved[meter] ?? 0) + amount
      const [clock] = yield* sql<{ now: Date }>`SELECT now() AS now`
      const states: ReadonlyArray<LimitState> = rows.map((r) => ({
        meter: r.meter as Meter,
        period: r.period as Period,
        amount: Number(r.amount),
        used: Number(r.used ?? 0),
        reserved: reserved[r.meter] ?? 0,
        resetsAt: r.resets_at === null ? undefined : new Date(r.resets_at)
      }))
      return { states, now: clock?.now === undefined ? new Date() : new Date(clock.now) }
    })

  const authenticate = (apiKey: string) =>
    sql<{ tenant: string }>`SELECT tenant FROM mull.fleet_keys WHERE key_hash = ${keyDigest(apiKey)}`.pipe(
      Effect.map((rows) => rows[0]?.tenant),
      Effect.mapError(fail("authenticate"))
    )

  const reserve = (tenant: string, want: Limits.Limits, minimum: Usage): Effect.Effect<Admission, FleetError> =>
    sql
      .withTransaction(
        Effect.gen(function* () {
          // one decision at a time per tenant, on every replica
          yield* sql`SELECT id FROM mull.fleet_tenants WHERE id = ${tenant} FOR UPDATE`
          yield* sql`DELETE FROM mull.fleet_reservations WHERE tenant = ${tenant} AND expires_at < now()`
          const { states, now } = yield* limitStates(tenant)
          const decision = decide(states, want, minimum, now)
          if (decision._tag === "Refused") return decision
          const id = randomBytes(12).toString("hex")
          yield* sql.unsafe(
            `INSERT INTO mull.fleet_reservations (id, tenant, replica, amounts, expires_at) VALUES ($1, $2, $3, $4, now() + ${lease})`,
            [id, tenant, replica, JSON.stringify(decision.granted)]
          )
          live.add(id)
          return { _tag: "Granted", lease: { id, tenant, granted: decision.granted } } as const
        })
      )
      .pipe(Effect.mapError(fail("reserve")))

  const commit = (held: Lease, used: Usage) =>
    sql
      .withTransaction(
        Effect.gen(function* () {
          yield* sql`SELECT id FROM mull.fleet_tenants WHERE id = ${held.tenant} FOR UPDATE`
          yield* sql`DELETE FROM mull.fleet_reservations WHERE id = ${held.id}`
          const limits = yield* sql<{ meter: string; period: string }>`
            SELECT meter, period FROM mull.fleet_limits WHERE tenant = ${held.tenant}`
          const windows = new Map<string, Set<string>>()
          for (const meter of METERS) if (used[meter] > 0) windows.set(meter, new Set(["total"]))
          for (const l of limits) windows.get(l.meter)?.add(l.period)
          for (const [meter, periods] of windows)
            for (const period of periods)
              yield* sql.unsafe(
                `INSERT INTO mull.fleet_usage (tenant, meter, period, window_start, used)
                 VALUES ($1, $2, $3, ${windowStart(period)}, $4)
                 ON CONFLICT (tenant, meter, period, window_start) DO UPDATE SET used = mull.fleet_usage.used + EXCLUDED.used`,
                [held.tenant, meter, period, used[meter as Meter]]
              )
        })
      )
      .pipe(
        Effect.mapError(fail("commit")),
        Effect.ensuring(
          Effect.sync(() => {
            live.delete(held.id)
          })
        )
      )

  const createTenant = (tenant: string) =>
    Effect.gen(function* () {
      if (!TENANT.test(tenant))
        return yield* new FleetInputError({
          problems: [`tenant "${tenant}": names are letters, digits, . _ - (at most 128)`]
        })
      const key = newKey()
      const created = yield* sql
        .withTransaction(
          Effect.gen(function* () {
            const rows =
              yield* sql`INSERT INTO mull.fleet_tenants (id) VALUES (${tenant}) ON CONFLICT DO NOTHING RETURNING id`
            if (rows.length === 0) return false
            yield* sql`INSERT INTO mull.fleet_keys (key_hash, tenant) VALUES (${keyDigest(key)}, ${tenant})`
            return true
          })
        )
        .pipe(Effect.mapError(fail("createTenant")))
      if (!created) return yield* new FleetInputError({ problems: [`tenant "${tenant}" exists already`] })
      return key
    })

  const addKey = (tenant: string) =>
    Effect.gen(function* () {
      if (!(yield* tenantExists(tenant).pipe(Effect.mapError(fail("addKey"))))) return yield* unknownTenant(tenant)
      const key = newKey()
      yield* sql`INSERT INTO mull.fleet_keys (key_hash, tenant) VALUES (${keyDigest(key)}, ${tenant})`.pipe(
        Effect.mapError(fail("addKey"))
      )
      return key
    })

  const setLimit = (tenant: string, meter: Meter, period: Period, amount: number) =>
    Effect.gen(function* () {
      const problems: Array<string> = []
      if (!METERS.includes(meter)) problems.push(`meter "${meter}": one of ${METERS.join(", ")}`)
      if (meter === "wallMs")
        problems.push("meter wallMs: wall-clock time is only known after a call, so it cannot be reserved")
      if (!PERIODS.includes(period)) problems.push(`period "${period}": one of ${PERIODS.join(", ")}`)
      if (!Number.isFinite(amount) || amount < 0) problems.push(`amount: expected a number ≥ 0, got ${amount}`)
      if (problems.length > 0) return yield* new FleetInputError({ problems })
      if (!(yield* tenantExists(tenant).pipe(Effect.mapError(fail("setLimit"))))) return yield* unknownTenant(tenant)
      yield* sql`INSERT INTO mull.fleet_limits (tenant, meter, period, amount) VALUES (${tenant}, ${meter}, ${period}, ${amount})
                 ON CONFLICT (tenant, meter, period) DO UPDATE SET amount = EXCLUDED.amount`.pipe(
        Effect.mapError(fail("setLimit"))
      )
    })

  const removeLimit = (tenant: string, meter: Meter, period: Period) =>
    sql`DELETE FROM mull.fleet_limits WHERE tenant = ${tenant} AND meter = ${meter} AND period = ${period} RETURNING tenant`.pipe(
      Effect.map((rows) => rows.length > 0),
      Effect.mapError(fail("removeLimit"))
    )

  const usage = (tenant?: string) =>
    sql
      .withTransaction(
        Effect.gen(function* () {
          const names =
            tenant === undefined
              ? (yield* sql<{ id: string }>`SELECT id FROM mull.fleet_tenants ORDER BY id`).map((r) => r.id)
              : [tenant]
          const out: Array<UsageRow> = []
          for (const name of names) {
            const { states } = yield* limitStates(name)
            for (const s of states)
              out.push({
                tenant: name,
                meter: s.meter,
                period: s.period,
                limit: s.amount,
                used: s.used,
                reserved: s.reserved,
                remaining: Math.max(0, s.amount - s.used - s.reserved),
                resetsAt: s.resetsAt === undefined ? null : s.resetsAt.toISOString()
              })
          }
          return out.sort((a, b) =>
            a.tenant !== b.tenant
              ? a.tenant < b.tenant
                ? -1
                : 1
              : METERS.indexOf(a.meter) - METERS.indexOf(b.meter) ||
                PERIODS.indexOf(a.period) - PERIODS.indexOf(b.period)
          )
        })
      )
      .pipe(Effect.mapError(fail("usage")))

  const reservations = (tenant?: string) =>
    (tenant === undefined
      ? sql<{ n: string }>`SELECT count(*) AS n FROM mull.fleet_reservations WHERE expires_at >= now()`
      : sql<{
          n: string
        }>`SELECT count(*) AS n FROM mull.fleet_reservations WHERE tenant = ${tenant} AND expires_at >= now()`
    ).pipe(
      Effect.map((rows) => Number(rows[0]?.n ?? 0)),
      Effect.mapError(fail("reservations"))
    )

  // this replica's leases stay alive while their requests run; anyone's expired ones go
  const renew = Effect.suspend(() =>
    live.size === 0
      ? Effect.void
      : sql
          .unsafe(
            `UPDATE mull.fleet_reservations SET expires_at = now() + ${lease} WHERE id IN (${[...live].map((_, i) => `$${i + 1}`).join(", ")})`,
            [...live]
          )
          .pipe(Effect.asVoid)
  )
  const sweep = sql`DELETE FROM mull.fleet_reservations WHERE expires_at < now()`.pipe(Effect.asVoid)
  yield* Effect.forkScoped(
    renew.pipe(Effect.ignore, Effect.repeat(Schedule.spaced(Math.max(50, Math.floor(leaseMs / 3)))))
  )
  yield* Effect.forkScoped(sweep.pipe(Effect.ignore, Effect.repeat(Schedule.spaced(Math.max(100, leaseMs)))))

  return FleetBudget.of({
    authenticate,
    reserve,
    commit,
    createTenant,
    addKey,
    setLimit,
    removeLimit,
    usage,
    tenants: sql<{ id: string }>`SELECT id FROM mull.fleet_tenants ORDER BY id`.pipe(
      Effect.map((rows) => rows.map((r) => r.id)),
      Effect.mapError(fail("tenants"))
    ),
    reservations
  })
})

/**
 * A fleet budget over its own connection pool to `url`.
 *
 * @example
 * program.pipe(Effect.provide(layer("postgres://mull:secret@db:5432/mull")))
 */
export const layer = (url: string, options: FleetOptions = {}): Layer.Layer<FleetBudget, FleetError> =>
  Layer.effect(
    FleetBudget,
    Effect.gen(function* () {
      const context = yield* Layer.build(
        PgClient.layer({ url: Redacted.make(url), maxConnections: 8, applicationName: "mull-fleet" })
      ).pipe(Effect.mapError((e) => new FleetError({ operation: "connect", reason: e.message })))
      return yield* make(Context.get(context, SqlClient.SqlClient), options)
    })
  )
