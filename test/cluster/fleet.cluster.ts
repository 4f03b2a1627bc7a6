/**
 * The fleet budget over a real PostgreSQL (issue 21, acceptance 4):
 * - property: three replicas (three fleet budgets, each with its own connection pool) × random
 *   concurrent requests (real graph runs on the simulated backend, admitted by the server's gate)
 *   × random tenant limits never exceed a tenant's limit at any moment — a monitor reads the
 *   tables in consistent snapshots all along and checks `used + reserved ≤ limit` for every limit;
 * - three `mull serve --budget-store` processes: 401 without a tenant's key, 429 with what remains,
 *   when it resets and `Retry-After`, and the usage the replies report is what the store committed;
 * - a replica SIGKILLed mid-request leaves nothing reserved once its lease has expired.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { Context, Effect, ManagedRuntime } from "effect"
import { SqlClient } from "effect/sql"
import fc from "fast-check"
import { registry } from "../../src/backends/Registry.ts"
import type { Limits } from "../../src/budget/Limits.ts"
import { makeProblem } from "../../src/domain/Problem.ts"
import type { Meter } from "../../src/domain/Usage.ts"
import * as PgStore from "../../src/eval/PgStore.ts"
import * as Loader from "../../src/graph/Loader.ts"
import { run, staticFacts } from "../../src/runtime/Run.ts"
import * as RunEvents from "../../src/runtime/RunEvents.ts"
import type { Period } from "../../src/server/FleetAdmission.ts"
import { FleetBudget, layer as fleetLayer } from "../../src/server/FleetBudget.ts"
import { gate, isAdmitted } from "../../src/server/FleetGate.ts"
import type { BackendServices } from "../../src/services/Backend.ts"
import { Generator } from "../../src/services/Generator.ts"
import { Verifier } from "../../src/services/Verifier.ts"
import { freePort, type Postgres, startPostgres } from "./postgres.ts"
import { type Child, killAll, sleep, start, until } from "./processes.ts"

let pg: Postgres
let dir: string
let sql: ManagedRuntime.ManagedRuntime<SqlClient.SqlClient, unknown>
let backend: ManagedRuntime.ManagedRuntime<BackendServices, unknown>

beforeAll(async () => {
  pg = await startPostgres()
  dir = mkdtempSync(join(tmpdir(), "mull-fleet-"))
  sql = ManagedRuntime.make(PgStore.clientLayer(pg.url, { maxConnections: 2 }))
  backend = ManagedRuntime.make(registry.layer("simulated", {}))
}, 180_000)

afterAll(async () => {
  await killAll()
  await backend?.dispose()
  await sql?.dispose()
  await pg?.stop()
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true })
})

const replica = (name: string, leaseMs = 10_000) => ManagedRuntime.make(fleetLayer(pg.url, { leaseMs, replica: name }))

/** Every limit of the given tenants with used and reserved, read in one consistent snapshot. */
const snapshot = (tenants: ReadonlyArray<string>) =>
  sql.runPromise(
    Effect.gen(function* () {
      const client = yield* SqlClient.SqlClient
      return yield* client.withTransaction(
        Effect.gen(function* () {
          yield* client.unsafe("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
          const limits = yield* client.unsafe<{
            tenant: string
            meter: string
            period: string
            amount: number
            used: number | null
          }>(
            `SELECT l.tenant, l.meter, l.period, l.amount, u.used FROM mull.fleet_limits l
             LEFT JOIN mull.fleet_usage u ON u.tenant = l.tenant AND u.meter = l.meter AND u.period = l.period
               AND u.window_start = CASE WHEN l.period = 'total' THEN 'epoch'::timestamptz ELSE date_trunc(l.period, now(), 'UTC') END
             WHERE l.tenant = ANY($1)`,
            [[...tenants]]
          )
          const held = yield* client.unsafe<{ tenant: string; amounts: string }>(
            "SELECT tenant, amounts FROM mull.fleet_reservations WHERE tenant = ANY($1) AND expires_at >= now()",
            [[...tenants]]
          )
          return { limits, held }
        })
      )
    })
  )

/** Limits over `used + reserved` in a snapshot (empty when the invariant holds). */
const overruns = async (tenants: ReadonlyArray<string>): Promise<ReadonlyArray<string>> => {
  const { limits, held } = await snapshot(tenants)
  const reserved = new Map<string, number>()
  for (const h of held)
    for (const [meter, amount] of Object.entries(JSON.parse(h.amounts) as Record<string, number>))
      reserved.set(`${h.tenant}/${meter}`, (reserved.get(`${h.tenant}/${meter}`) ?? 0) + amount)
  return limits.flatMap((l) => {
    const used = Number(l.used ?? 0)
    const held = reserved.get(`${l.tenant}/${l.meter}`) ?? 0
    return used + held > Number(l.amount) + 1e-6
      ? [`${l.tenant} ${l.meter}/${l.period}: used ${used} + reserved ${held} > ${l.amount}`]
      : []
  })
}

/** What the tests read of a chat reply, success or refusal. */
interface ReplyBody {
  readonly error: { readonly code: string }
  readonly mull: {
    readonly tenant: string
    readonly remaining: Record<string, number>
    readonly resets: Record<string, string | null>
    readonly usage: { readonly sequences: number; readonly outputTokens: number }
  }
}

const GRAPHS = ["weighted-best-of-n", "majority", "beam-search"] as const
const graphs = new Map<string, Loader.LoadedGraph>()
const graph = async (name: string): Promise<Loader.LoadedGraph> => {
  const known = graphs.get(name)
  if (known !== undefined) return known
  const g = await Effect.runPromise(Loader.load(name))
  graphs.set(name, g)
  return g
}

const problem = makeProblem({ id: "fleet/q", question: "What is $6 \\cdot 7$?", gold: "42" })

/** One request through a replica's gate, as the chat handler makes it: admitted and run, or refused. */
const request = async (
  fleet: ManagedRuntime.ManagedRuntime<FleetBudget, unknown>,
  tenant: string,
  name: string,
  N: number,
  seed: number
): Promise<"ran" | "refused"> => {
  const loaded = await graph(name)
  const params = { N }
  const budget: Limits = { sequences: 4096 }
  const context = await backend.runPromise(Effect.context<BackendServices>())
  const generator = Context.get(context, Generator)
  const facts = staticFacts(loaded, params, budget, generator, Context.get(context, Verifier))
  const admitted = await fleet.runPromise(
    FleetBudget.use((f) =>
      gate(f).admit({ tenant, loaded, params, budget, maxTokens: generator.maxTokens, firstCall: facts.firstCall })
    )
  )
  if (!isAdmitted(admitted)) {
    assert.strictEqual(admitted.status, 429)
    return "refused"
  }
  const result = await Effect.runPromise(
    run(loaded, problem, { params, limits: admitted.budget, seed }).pipe(
      Effect.provide(RunEvents.layerSilent),
      Effect.provide(context),
      Effect.onExit(() => Effect.void)
    )
  )
  await Effect.runPromise(admitted.settle(result.usage))
  return "ran"
}

describe("fleet budget", () => {
  it("three replicas × random concurrent requests × random limits never exceed a tenant's limit at any moment", {
    timeout: 600_000
  }, async () => {
    const replicas = ["r0", "r1", "r2"].map((n) => replica(n))
    const admin = replicas[0]
    let round = 0
    let refusedSome = false
    let ranSome = false
    try {
      const limitArb = fc.record({
        meter: fc.constantFrom<Meter>("sequences", "outputTokens", "calls"),
        period: fc.constantFrom<Period>("day", "total"),
        amount: fc.integer({ min: 1, max: 120 })
      })
      await fc.assert(
        fc.asyncProperty(
          fc.array(fc.array(limitArb, { minLength: 1, maxLength: 3 }), { minLength: 1, maxLength: 3 }),
          fc.array(
            fc.record({
              tenant: fc.nat(),
              replica: fc.integer({ min: 0, max: 2 }),
              graph: fc.constantFrom(...GRAPHS),
              N: fc.constantFrom(2, 4, 8, 16),
              seed: fc.nat(1000)
            }),
            { minLength: 8, maxLength: 30 }
          ),
          async (tenantLimits, requests) => {
            round++
            const tenants = tenantLimits.map((_, i) => `p${round}-t${i}`)
            await admin?.runPromise(
              FleetBudget.use((f) =>
                Effect.forEach(tenants, (t, i) =>
                  Effect.gen(function* () {
                    yield* f.createTenant(t)
                    // tokens need room for one call's worst case (4096), or nothing ever runs
                    for (const l of tenantLimits[i] ?? [])
                      yield* f.setLimit(t, l.meter, l.period, l.meter === "outputTokens" ? l.amount * 400 : l.amount)
                  })
                )
              )
            )
            // the monitor reads snapshots for as long as the requests run
            let running = true
            const seen: Array<string> = []
            let snapshots = 0
            const monitor = (async () => {
              while (running) {
                seen.push(...(await overruns(tenants)))
                snapshots++
              }
            })()
            const outcomes = await Promise.all(
              requests.map((r) => {
                const fleet = replicas[r.replica]
                if (fleet === undefined) throw new Error("no replica")
                return request(fleet, tenants[r.tenant % tenants.length] ?? "", r.graph, r.N, r.seed)
              })
            )
            running = false
            await monitor
            seen.push(...(await overruns(tenants)))
            refusedSome ||= outcomes.includes("refused")
            ranSome ||= outcomes.includes("ran")
            assert.deepStrictEqual(seen, [], `over a limit in ${snapshots} snapshots`)
            // nothing stays reserved once the requests are done
            const left = await admin?.runPromise(
              FleetBudget.use((f) =>
                Effect.forEach(tenants, (t) => f.reservations(t)).pipe(Effect.map((n) => n.reduce((a, b) => a + b, 0)))
              )
            )
            assert.strictEqual(left, 0)
          }
        ),
        { numRuns: 12 }
      )
      assert.isTrue(ranSome && refusedSome, "the rounds both admitted and refused requests")
    } finally {
      await Promise.all(replicas.map((r) => r.dispose()))
    }
  })

  describe("three mull serve replicas", () => {
    let servers: ReadonlyArray<{ readonly child: Child; readonly url: string }> = []
    const admin = () => replica("admin")

    beforeAll(async () => {
      // every generator call takes 150 ms, so a request is still running when its replica is killed
      const config = join(dir, "slow.json")
      writeFileSync(config, JSON.stringify({ generator: { latency: { fixedMs: 150 } } }))
      const started: Array<{ child: Child; url: string }> = []
      for (let i = 0; i < 3; i++) {
        const port = await freePort()
        started.push({
          child: start([
            "serve",
            "--port",
            String(port),
            "--backend-config",
            config,
            "--budget-store",
            pg.url,
            "--budget-lease",
            "2"
          ]),
          url: `http://127.0.0.1:${port}/v1/chat/completions`
        })
      }
      await Promise.all(started.map((s) => until(s.child, /Listening on/u, 120_000)))
      servers = started
    }, 300_000)

    const chat = (url: string, key: string | undefined, N: number) =>
      fetch(url, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          ...(key === undefined ? {} : { authorization: `Bearer ${key}` })
        },
        body: JSON.stringify({
          model: "mull/weighted-best-of-n",
          messages: [{ role: "user", content: "What is $6 \\cdot 7$?" }],
          mull: { params: { N } }
        })
      })

    it("401 without a tenant's key; 429 with what remains and when it resets; replies' usage is what was committed", {
      timeout: 300_000
    }, async () => {
      const fleet = admin()
      try {
        const [k1, k2] = await fleet.runPromise(
          Effect.gen(function* () {
            const f = yield* FleetBudget
            const a = yield* f.createTenant("alpha")
            yield* f.setLimit("alpha", "sequences", "day", 60)
            const b = yield* f.createTenant("bravo")
            yield* f.setLimit("bravo", "outputTokens", "total", 30_000)
            return [a, b]
          })
        )
        const url0 = servers[0]?.url ?? ""
        assert.strictEqual((await chat(url0, undefined, 4)).status, 401)
        assert.strictEqual((await chat(url0, "mull_not-a-key", 4)).status, 401)
        const sent = Array.from({ length: 24 }, (_, i) => ({
          key: i % 2 === 0 ? k1 : k2,
          tenant: i % 2 === 0 ? "alpha" : "bravo",
          url: servers[i % 3]?.url ?? "",
          N: [4, 8, 16][i % 3] ?? 4
        }))
        const replies = await Promise.all(
          sent.map(async (s) => {
            const res = await chat(s.url, s.key, s.N)
            return {
              ...s,
              status: res.status,
              retryAfter: res.headers.get("retry-after"),
              body: (await res.json()) as ReplyBody
            }
          })
        )
        const used = { alpha: 0, bravo: 0 }
        for (const r of replies) {
          assert.oneOf(r.status, [200, 429], JSON.stringify(r.body))
          if (r.status === 429) {
            assert.isNotNull(r.retryAfter)
            assert.isAbove(Number(r.retryAfter), 0)
            assert.strictEqual(r.body.error.code, "tenant_budget_exhausted")
            assert.strictEqual(r.body.mull.tenant, r.tenant)
            assert.isObject(r.body.mull.remaining)
            assert.isObject(r.body.mull.resets)
          } else if (r.tenant === "alpha") used.alpha += r.body.mull.usage.sequences
          else used.bravo += r.body.mull.usage.outputTokens
        }
        assert.isTrue(
          replies.some((r) => r.status === 429),
          "the limits refused some requests"
        )
        const rows = await fleet.runPromise(FleetBudget.use((f) => f.usage()))
        const alpha = rows.find((r) => r.tenant === "alpha")
        const bravo = rows.find((r) => r.tenant === "bravo")
        assert.isAtMost(alpha?.used ?? Number.NaN, 60)
        assert.isAtMost(bravo?.used ?? Number.NaN, 30_000)
        assert.strictEqual(alpha?.used, used.alpha, "alpha's committed sequences are its replies'")
        assert.strictEqual(bravo?.used, used.bravo, "bravo's committed output tokens are its replies'")
        assert.strictEqual(alpha?.reserved, 0)
        assert.strictEqual(bravo?.reserved, 0)
      } finally {
        await fleet.dispose()
      }
    })

    it("a replica SIGKILLed mid-request leaves nothing reserved after its lease", { timeout: 300_000 }, async () => {
      const fleet = admin()
      try {
        const key = await fleet.runPromise(
          Effect.gen(function* () {
            const f = yield* FleetBudget
            const k = yield* f.createTenant("kilo")
            yield* f.setLimit("kilo", "sequences", "day", 1000)
            return k
          })
        )
        const reservations = () => fleet.runPromise(FleetBudget.use((f) => f.reservations("kilo")))
        const victim = servers[0]
        assert.isDefined(victim)
        // a slow request (N = 16 samples at 150 ms a call, then scoring)
        const pending = chat(victim?.url ?? "", key, 16).catch(() => undefined)
        const deadline = Date.now() + 60_000
        while ((await reservations()) === 0) {
          if (Date.now() > deadline) throw new Error("the request never reserved")
          await sleep(10)
        }
        victim?.child.kill()
        await victim?.child.exited
        await pending
        assert.strictEqual(await reservations(), 1, "the dead replica's reservation is still there")
        const killedAt = Date.now()
        while ((await reservations()) > 0) {
          if (Date.now() - killedAt > 30_000) throw new Error("the lease never expired")
          await sleep(100)
        }
        const waited = Date.now() - killedAt
        assert.isAtLeast(waited, 1000, "released by expiry, not at once")
        const rows = await fleet.runPromise(FleetBudget.use((f) => f.usage("kilo")))
        assert.strictEqual(rows[0]?.reserved, 0)
        assert.strictEqual(rows[0]?.remaining, 1000, "nothing was committed for the killed request")
        // the other replicas serve the tenant with the whole budget
        const res = await chat(servers[1]?.url ?? "", key, 4)
        assert.strictEqual(res.status, 200)
      } finally {
        await fleet.dispose()
      }
    })
  })
})
