/**
 * `mull tenant …`: the administration of a fleet budget (`mull serve --budget-store URL`,
 * docs/service.md § Fleet budget) — create tenants and API keys, set and remove limits per meter
 * and period, and read usage. The store is `--budget-store URL` or `MULL_BUDGET_STORE`.
 *
 * @since 0.2.0
 */
import { Console, Context, Effect, Layer, Option } from "effect"
import { Argument, Command, Flag } from "effect/cli"
import { METERS, type Meter } from "../domain/Usage.ts"
import { isPostgresUrl } from "../eval/Store.ts"
import { PERIODS, type Period } from "../server/FleetAdmission.ts"
import type { FleetBudgetShape } from "../server/FleetBudget.ts"
import { InvalidInput } from "./InvalidInput.ts"
import { fmt, table } from "./Table.ts"

const storeFlag = Flag.String("budget-store").pipe(
  Flag.withDescription("The fleet budget's PostgreSQL URL (default: MULL_BUDGET_STORE)"),
  Flag.optional
)
const tenantArg = Argument.String("tenant").pipe(Argument.withDescription("The tenant's name"))

/** Runs `f` against the fleet budget named by the flag or the environment. */
const withFleet = <A>(
  flag: Option.Option<string>,
  f: (fleet: FleetBudgetShape) => Effect.Effect<A, { readonly _tag: string; readonly message: string }>
) =>
  Effect.gen(function* () {
    const url =
      Option.getOrUndefined(flag) ?? (process.env.MULL_BUDGET_STORE === "" ? undefined : process.env.MULL_BUDGET_STORE)
    if (url === undefined || !isPostgresUrl(url))
      return yield* new InvalidInput({
        subject: "--budget-store",
        problems: ["--budget-store: give the fleet budget's postgres:// URL (or set MULL_BUDGET_STORE)"]
      })
    const { layer, FleetBudget } = yield* Effect.promise(() => import("../server/FleetBudget.ts"))
    return yield* Effect.scoped(
      Effect.gen(function* () {
        const fleet = Context.get(yield* Layer.build(layer(url)), FleetBudget)
        return yield* f(fleet)
      })
    ).pipe(
      Effect.mapError((e) =>
        e._tag === "FleetInputError" && "problems" in e
          ? new InvalidInput({ subject: "tenant", problems: [...(e.problems as ReadonlyArray<string>)] })
          : new InvalidInput({ subject: "--budget-store", problems: [e.message] })
      )
    )
  })

const create = Command.make(
  "create",
  { store: storeFlag, tenant: tenantArg },
  Effect.fn(function* ({ store, tenant }) {
    const key = yield* withFleet(store, (fleet) => fleet.createTenant(tenant))
    yield* Console.log(`tenant ${tenant} created; its API key (shown once, stored only as a digest):\n${key}`)
  })
).pipe(Command.withDescription("Create a tenant and its first API key"))

const key = Command.make(
  "key",
  { store: storeFlag, tenant: tenantArg },
  Effect.fn(function* ({ store, tenant }) {
    const k = yield* withFleet(store, (fleet) => fleet.addKey(tenant))
    yield* Console.log(`a new API key for ${tenant} (shown once):\n${k}`)
  })
).pipe(Command.withDescription("Give a tenant another API key"))

const meterFlag = Flag.Literals(
  "meter",
  METERS.filter((m) => m !== "wallMs")
).pipe(Flag.withDescription("The meter the limit is on (sequences, outputTokens, usd, …)"))
const periodFlag = Flag.Literals("per", PERIODS).pipe(
  Flag.withDescription("The window: minute, hour, day, week, month (UTC calendar windows) or total"),
  Flag.withDefault("day" as const)
)

const limit = Command.make(
  "limit",
  {
    store: storeFlag,
    tenant: tenantArg,
    meter: meterFlag,
    per: periodFlag,
    amount: Flag.Finite("amount").pipe(Flag.withDescription("The most the tenant may spend per window"))
  },
  Effect.fn(function* ({ store, tenant, meter, per, amount }) {
    yield* withFleet(store, (fleet) => fleet.setLimit(tenant, meter as Meter, per as Period, amount))
    yield* Console.log(`tenant ${tenant}: at most ${fmt(amount)} ${meter} per ${per}`)
  })
).pipe(Command.withDescription("Set (or change) a tenant's limit on a meter per period"))

const unlimit = Command.make(
  "unlimit",
  { store: storeFlag, tenant: tenantArg, meter: meterFlag, per: periodFlag },
  Effect.fn(function* ({ store, tenant, meter, per }) {
    const removed = yield* withFleet(store, (fleet) => fleet.removeLimit(tenant, meter as Meter, per as Period))
    yield* Console.log(
      removed
        ? `tenant ${tenant}: no limit on ${meter} per ${per}`
        : `tenant ${tenant} had no limit on ${meter} per ${per}`
    )
  })
).pipe(Command.withDescription("Remove a tenant's limit"))

const usage = Command.make(
  "usage",
  {
    store: storeFlag,
    tenant: Argument.String("tenant").pipe(Argument.withDescription("Only this tenant"), Argument.optional)
  },
  Effect.fn(function* ({ store, tenant }) {
    const rows = yield* withFleet(store, (fleet) =>
      Effect.all({ rows: fleet.usage(Option.getOrUndefined(tenant)), tenants: fleet.tenants })
    )
    const shown = Option.isSome(tenant) ? [tenant.value] : rows.tenants
    yield* Console.log(
      table(
        ["tenant", "meter", "per", "limit", "used", "reserved", "remaining", "resets"],
        rows.rows.map((r) => [
          r.tenant,
          r.meter,
          r.period,
          fmt(r.limit),
          fmt(r.used),
          fmt(r.reserved),
          fmt(r.remaining),
          r.resetsAt ?? "never"
        ])
      )
    )
    const unlimited = shown.filter((t) => !rows.rows.some((r) => r.tenant === t))
    if (unlimited.length > 0) yield* Console.log(`no limits: ${unlimited.join(", ")}`)
  })
).pipe(
  Command.withDescription("Each tenant's limits: used and reserved in the current window, what remains, when it resets")
)

export const tenantCommand = Command.make("tenant").pipe(
  Command.withDescription("Tenants, API keys and limits of a fleet budget (mull serve --budget-store)"),
  Command.withSubcommands([create, key, limit, unlimit, usage])
)
