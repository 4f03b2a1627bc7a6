/**
 * `mull serve [--backend B] [--backend-config F] [--config F] [--host H] [--port P] [--graphs DIR]…
 * [--no-builtin] [--strict] [--traces DIR] [--otlp URL] [--budget-store URL] [--budget-lease S]`:
 * strategies behind an OpenAI-compatible endpoint (docs/service.md). The bearer token comes from
 * MULL_SERVE_TOKEN (never a flag: flags show in the process list); without one the server binds
 * loopback only. With a fleet budget, chat requests present a tenant's API key instead.
 *
 * @since 0.1.0
 */
import { Config, Console, Context, Effect, Layer, Option, Redacted, Schema } from "effect"
import { Command, Flag } from "effect/cli"
import { HttpServer } from "effect/http"
import { registry } from "../backends/Registry.ts"
import { formatIssues } from "../domain/SchemaProblems.ts"
import { redactUrl } from "../eval/Store.ts"
import { builtinDir } from "../graph/Loader.ts"
import { type Policy, policyOf, policyProblems, ServerConfig } from "../server/Policy.ts"
import * as Server from "../server/Server.ts"
import { backendFlags, backendOf, cliBackend, priceFlags, pricesOf, readJsonFile } from "./Inputs.ts"
import { InvalidInput } from "./InvalidInput.ts"
import { otlpFlag, otlpLayer } from "./Otlp.ts"

const decodeConfig = (json: unknown) =>
  Schema.decodeUnknownEffect(ServerConfig)(json ?? {}, { errors: "all", onExcessProperty: "error" }).pipe(
    Effect.mapError(
      (e) => new InvalidInput({ subject: "--config", problems: formatIssues(e).map((l) => `config.${l}`) })
    )
  )

/** The flags that shape the policy. */
interface PolicyFlags {
  readonly host: Option.Option<string>
  readonly port: Option.Option<number>
  readonly graphs: ReadonlyArray<string>
  readonly noBuiltin: boolean
  readonly strict: boolean
  readonly traces: Option.Option<string>
}

/**
 * The policy of `mull serve`: the config file, then flags, then the token from the environment;
 * refused (exit 2) when it would serve beyond loopback without a token.
 *
 * @example
 * const policy = yield* servePolicy(undefined, { host: Option.none(), port: Option.some(0), graphs: [], noBuiltin: false, strict: false, traces: Option.none() })
 */
const servePolicy = (file: unknown, flags: PolicyFlags) =>
  Effect.gen(function* () {
    const config = yield* decodeConfig(file)
    const token = yield* Config.option(Config.Redacted("MULL_SERVE_TOKEN")).pipe(
      Effect.mapError(
        (e) => new InvalidInput({ subject: "MULL_SERVE_TOKEN", problems: [`MULL_SERVE_TOKEN: ${e.message}`] })
      )
    )
    const merged: ServerConfig = {
      ...config,
      ...(Option.isSome(flags.host) ? { host: flags.host.value } : {}),
      ...(Option.isSome(flags.port) ? { port: flags.port.value } : {}),
      ...(flags.graphs.length > 0 ? { graphs: [...(config.graphs ?? []), ...flags.graphs] } : {}),
      ...(flags.noBuiltin ? { builtin: false } : {}),
      ...(flags.strict ? { strict: true } : {}),
      ...(Option.isSome(flags.traces) ? { traces: flags.traces.value } : {})
    }
    const policy = policyOf(merged, builtinDir, Option.isSome(token) ? Redacted.value(token.value) : undefined)
    const problems = policyProblems(policy)
    if (problems.length > 0) return yield* new InvalidInput({ subject: "mull serve", problems })
    return policy
  })

/** The fleet budget at `url`, open for the server's life (its modules load only when asked for). */
const fleetGate = (url: string, leaseMs: number) =>
  Effect.gen(function* () {
    const [{ layer, FleetBudget }, { gate }] = yield* Effect.promise(() =>
      Promise.all([import("../server/FleetBudget.ts"), import("../server/FleetGate.ts")])
    )
    const context = yield* Layer.build(layer(url, { leaseMs })).pipe(
      Effect.mapError(
        (e) => new InvalidInput({ subject: "--budget-store", problems: [`--budget-store: ${e.message}`] })
      )
    )
    return gate(Context.get(context, FleetBudget))
  })

const banner = (policy: Policy, backend: string, parts: Server.ServerParts, url: string) =>
  [
    `mull serve: ${url}/v1 (${backend} backend)`,
    `  models     ${[...parts.catalog.graphs.keys()].map((g) => `mull/${g}`).join(", ")}`,
    ...(parts.catalog.aliases.size > 0 ? [`  aliases    ${[...parts.catalog.aliases.keys()].join(", ")}`] : []),
    `  auth       ${policy.tokens.length === 0 ? "none: loopback only (set MULL_SERVE_TOKEN to require a bearer token)" : `bearer token (${policy.tokens.length} tenant${policy.tokens.length === 1 ? "" : "s"})`}`,
    `  ceilings   budget ${JSON.stringify(policy.maxBudget)}, params ×${policy.paramHeadroom} their defaults${Object.keys(policy.maxParams).length > 0 ? ` or ${JSON.stringify(policy.maxParams)}` : ""}, body ${policy.maxBodyBytes} bytes`,
    `  admission  ${policy.admission.maxConcurrent} at once (+${policy.admission.maxQueued} queued), ${policy.admission.perTenantConcurrent} per tenant (+${policy.admission.perTenantQueued} queued)`,
    ...parts.catalog.problems.map((b) => `  not served ${b}`)
  ].join("\n")

export const serve = Command.make(
  "serve",
  {
    ...backendFlags(),
    ...priceFlags,
    config: Flag.String("config").pipe(
      Flag.withDescription("A JSON file of server policy: aliases, ceilings, admission, folders (docs/service.md)"),
      Flag.optional
    ),
    host: Flag.String("host").pipe(
      Flag.withDescription("Interface to listen on (default 127.0.0.1; beyond loopback needs MULL_SERVE_TOKEN)"),
      Flag.optional
    ),
    port: Flag.Int("port").pipe(Flag.withDescription("Port (default 8080; 0 = any free port)"), Flag.optional),
    graphs: Flag.String("graphs").pipe(
      Flag.withDescription("A folder of graphs served by their names, beside the built-ins (repeatable)"),
      Flag.atLeast(0)
    ),
    noBuiltin: Flag.Boolean("no-builtin").pipe(
      Flag.withDescription("Serve only the graphs of --graphs, not the built-in ones"),
      Flag.withDefault(false)
    ),
    strict: Flag.Boolean("strict").pipe(
      Flag.withDescription("Refuse to start when a graph or alias does not load or validate"),
      Flag.withDefault(false)
    ),
    traces: Flag.String("traces").pipe(
      Flag.withDescription("A folder where requests that ask for a trace (mull.trace) have it written"),
      Flag.optional
    ),
    otlp: otlpFlag,
    budgetStore: Flag.String("budget-store").pipe(
      Flag.withDescription(
        "A PostgreSQL URL (also MULL_BUDGET_STORE) holding tenants, API keys and limits shared by every replica (docs/service.md § Fleet budget)"
      ),
      Flag.optional
    ),
    budgetLease: Flag.Int("budget-lease").pipe(
      Flag.withDescription("Seconds a reservation lives unless its replica renews it (default 30)"),
      Flag.withDefault(30)
    )
  },
  Effect.fn(function* (flags) {
    const configured = yield* servePolicy(yield* readJsonFile("--config", Option.getOrUndefined(flags.config)), flags)
    // price flags win over the config file's prices
    const prices = yield* pricesOf(flags)
    const policy: Policy =
      prices === undefined ? configured : { ...configured, prices: { ...configured.prices, ...prices } }
    const backend = yield* backendOf(flags)
    const budgetStore =
      Option.getOrUndefined(flags.budgetStore) ??
      (process.env.MULL_BUDGET_STORE === "" ? undefined : process.env.MULL_BUDGET_STORE)
    if (flags.budgetLease < 1)
      return yield* new InvalidInput({
        subject: "--budget-lease",
        problems: [`--budget-lease: expected at least 1 second, got ${flags.budgetLease}`]
      })
    // the cost route's dry runs: on the served backend if it is a simulator, else on the registry's
    const simulator = registry.backends.find((b) => b.simulator)
    const planner =
      registry.find(flags.backend)?.simulator === true
        ? backend
        : simulator === undefined
          ? undefined
          : cliBackend(simulator.name, undefined, registry)
    const program = Effect.gen(function* () {
      const dry =
        planner === undefined ? undefined : yield* Effect.provide(Effect.context<Server.ServedServices>(), planner)
      const fleet = budgetStore === undefined ? undefined : yield* fleetGate(budgetStore, flags.budgetLease * 1000)
      const parts = yield* Server.makeParts(policy, { planner: dry, fleet }).pipe(
        Effect.mapError((e) => new InvalidInput({ subject: "mull serve", problems: e.problems }))
      )
      return yield* Layer.launch(
        Layer.effectDiscard(
          Effect.gen(function* () {
            const server = yield* HttpServer.HttpServer
            yield* Console.log(banner(policy, flags.backend, parts, HttpServer.formatAddress(server.address)))
            if (budgetStore !== undefined)
              yield* Console.log(
                `  budget     fleet budget at ${redactUrl(budgetStore)}: requests need a tenant's API key; leases ${flags.budgetLease} s`
              )
          })
        ).pipe(Layer.provide(Server.layer(parts)))
      )
    })
    yield* program.pipe(Effect.provide(Layer.merge(backend, otlpLayer(flags.otlp, "mull serve"))), Effect.scoped)
  })
).pipe(Command.withDescription("Serve graphs behind an OpenAI-compatible endpoint"))
