/**
 * `mull serve [--backend B] [--backend-config F] [--config F] [--host H] [--port P] [--graphs DIR]…
 * [--traces DIR]`: strategies behind an OpenAI-compatible endpoint (docs/service.md). The bearer
 * token comes from MULL_SERVE_TOKEN (never a flag: flags show in the process list).
 *
 * @since 0.1.0
 */
import { Config, Console, Effect, Layer, Option, Redacted, Schema } from "effect"
import { Command, Flag } from "effect/cli"
import { registry } from "../backends/Registry.ts"
import { formatIssues } from "../domain/SchemaProblems.ts"
import { builtinDir } from "../graph/Loader.ts"
import { type Policy, policyOf, ServerConfig } from "../server/Policy.ts"
import * as Server from "../server/Server.ts"
import { backendFlags, backendOf, cliBackend, priceFlags, pricesOf, readJsonFile } from "./Inputs.ts"
import { InvalidInput } from "./InvalidInput.ts"

const decodeConfig = (json: unknown) =>
  Schema.decodeUnknownEffect(ServerConfig)(json ?? {}, { errors: "all", onExcessProperty: "error" }).pipe(
    Effect.mapError(
      (e) => new InvalidInput({ subject: "--config", problems: formatIssues(e).map((l) => `config.${l}`) })
    )
  )

/**
 * The policy of `mull serve`: the config file, then flags, then the token from the environment.
 *
 * @example
 * const policy = yield* servePolicy(undefined, { host: Option.none(), port: Option.some(0), graphs: [], traces: Option.none() })
 */
const servePolicy = (
  file: unknown,
  flags: {
    readonly host: Option.Option<string>
    readonly port: Option.Option<number>
    readonly graphs: ReadonlyArray<string>
    readonly traces: Option.Option<string>
  }
) =>
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
      ...(flags.graphs.length > 0 ? { graphs: flags.graphs } : {}),
      ...(Option.isSome(flags.traces) ? { traces: flags.traces.value } : {})
    }
    return policyOf(merged, [builtinDir], Option.isSome(token) ? Redacted.value(token.value) : undefined)
  })

const banner = (policy: Policy, backend: string, parts: Server.ServerParts) =>
  [
    `mull serve: http://${policy.host}:${policy.port}/v1 (${backend} backend)`,
    `  models     ${[...parts.catalog.graphs.keys()].map((g) => `mull/${g}`).join(", ")}`,
    ...(Object.keys(policy.aliases).length > 0 ? [`  aliases    ${Object.keys(policy.aliases).join(", ")}`] : []),
    `  auth       ${policy.token === undefined ? "none (set MULL_SERVE_TOKEN to require a bearer token)" : "bearer token"}`,
    `  caps       params ${JSON.stringify(policy.maxParams)}, budget ${JSON.stringify(policy.maxBudget)}, body ${policy.maxBodyBytes} bytes`,
    ...parts.catalog.broken.map((b) => `  not served ${b}`)
  ].join("\n")

export const serve = Command.make(
  "serve",
  {
    ...backendFlags(),
    ...priceFlags,
    config: Flag.String("config").pipe(
      Flag.withDescription("A JSON file of server policy: aliases, caps, folders (docs/service.md)"),
      Flag.optional
    ),
    host: Flag.String("host").pipe(Flag.withDescription("Interface to listen on (default 127.0.0.1)"), Flag.optional),
    port: Flag.Int("port").pipe(Flag.withDescription("Port (default 8080; 0 = any free port)"), Flag.optional),
    graphs: Flag.String("graphs").pipe(
      Flag.withDescription("A folder of graphs served by name (repeatable; default: the built-in graphs)"),
      Flag.atLeast(0)
    ),
    traces: Flag.String("traces").pipe(
      Flag.withDescription("A folder where requests that ask for a trace (mull.trace) have it written"),
      Flag.optional
    )
  },
  Effect.fn(function* (flags) {
    const configured = yield* servePolicy(yield* readJsonFile("--config", Option.getOrUndefined(flags.config)), flags)
    // price flags win over the config file's prices
    const prices = yield* pricesOf(flags)
    const policy: Policy =
      prices === undefined ? configured : { ...configured, prices: { ...configured.prices, ...prices } }
    const backend = yield* backendOf(flags)
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
      const parts = yield* Server.makeParts(policy, dry)
      yield* Console.log(banner(policy, flags.backend, parts))
      return yield* Layer.launch(Server.layer(parts))
    })
    yield* program.pipe(Effect.provide(backend))
  })
).pipe(Command.withDescription("Serve graphs behind an OpenAI-compatible endpoint"))
