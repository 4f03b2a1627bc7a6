/**
 * Parsing the CLI's shared inputs — `--param K=V`, `--budget meter=limit,…`, a JSON config file,
 * and the backend flags every registry backend declares — into values or an `InvalidInput` with
 * one line per problem.
 *
 * @since 0.1.0
 */
import { readFile } from "node:fs/promises"
import { Effect, Layer, Option, Redacted } from "effect"
import { Flag } from "effect/cli"
import { registry as builtin } from "../backends/Registry.ts"
import * as Limits from "../budget/Limits.ts"
import type * as Pricing from "../budget/Pricing.ts"
import type { Params } from "../graph/Scope.ts"
import type { BackendFlag, BackendServices, Registry } from "../services/Backend.ts"
import { InvalidInput } from "./InvalidInput.ts"

/**
 * Parses `K=V` pairs with numeric values.
 *
 * @example
 * parseParams(["N=64", "M=8"]) // Effect of { N: 64, M: 8 }
 */
export const parseParams = (pairs: ReadonlyArray<string>): Effect.Effect<Params, InvalidInput> => {
  // a Map, not `out[name] = …`: `--param __proto__=1` would hit the prototype setter and vanish
  // instead of being reported as an undeclared param
  const out = new Map<string, number>()
  const problems: Array<string> = []
  for (const pair of pairs) {
    const eq = pair.indexOf("=")
    const name = eq < 0 ? pair : pair.slice(0, eq).trim()
    const text = eq < 0 ? "" : pair.slice(eq + 1).trim()
    const value = Number(text.replaceAll("_", ""))
    if (eq < 0 || name === "") problems.push(`--param ${pair}: expected NAME=VALUE`)
    else if (text === "" || !Number.isFinite(value)) problems.push(`params.${name}: expected a number, got "${text}"`)
    else out.set(name, value)
  }
  return problems.length > 0
    ? Effect.fail(new InvalidInput({ subject: "--param", problems }))
    : Effect.succeed(Object.fromEntries(out))
}

/**
 * Parses `--budget meter=limit,…`.
 *
 * @example
 * parseBudget("sequences=10") // Effect of { sequences: 10 }
 */
export const parseBudget = (text: string | undefined): Effect.Effect<Limits.Limits, InvalidInput> => {
  if (text === undefined) return Effect.succeed({})
  const r = Limits.parse(text)
  return r.ok ? Effect.succeed(r.limits) : Effect.fail(new InvalidInput({ subject: "--budget", problems: r.problems }))
}

/**
 * The flags that set prices and parameter counts, in every command that runs or plans a graph:
 * `--price-input`, `--price-output`, `--price-verifier` (USD per million tokens) and
 * `--generator-params`, `--verifier-params` (for FLOPs). They win over a sweep's or the server's
 * `prices`, the backend configuration's, and mull's price table.
 *
 * @example
 * Command.make("run", { ...priceFlags }, (flags) => Effect.log(pricesOf(flags)))
 */
export const priceFlags = {
  priceInput: Flag.Finite("price-input").pipe(
    Flag.withDescription("USD per million generator input (prompt) tokens"),
    Flag.optional
  ),
  priceOutput: Flag.Finite("price-output").pipe(
    Flag.withDescription("USD per million generated tokens"),
    Flag.optional
  ),
  priceVerifier: Flag.Finite("price-verifier").pipe(
    Flag.withDescription("USD per million tokens the verifier reads"),
    Flag.optional
  ),
  generatorParams: Flag.Finite("generator-params").pipe(
    Flag.withDescription("Generator parameters, for FLOPs (2·params·tokens)"),
    Flag.optional
  ),
  verifierParams: Flag.Finite("verifier-params").pipe(
    Flag.withDescription("Verifier parameters, for FLOPs (2·params·tokens)"),
    Flag.optional
  )
}

/** The values of `priceFlags`. */
export interface PriceFlagValues {
  readonly priceInput: Option.Option<number>
  readonly priceOutput: Option.Option<number>
  readonly priceVerifier: Option.Option<number>
  readonly generatorParams: Option.Option<number>
  readonly verifierParams: Option.Option<number>
}

/**
 * The prices the flags set (`undefined` when none is given); a negative or non-finite value is
 * `InvalidInput` naming the flag.
 *
 * @example
 * const prices = yield* pricesOf(flags) // { input: 0.5, output: 1.5 }
 */
export const pricesOf = (flags: PriceFlagValues): Effect.Effect<Pricing.Prices | undefined, InvalidInput> => {
  const entries: ReadonlyArray<readonly [keyof Pricing.Prices, string, Option.Option<number>]> = [
    ["input", "--price-input", flags.priceInput],
    ["output", "--price-output", flags.priceOutput],
    ["verifier", "--price-verifier", flags.priceVerifier],
    ["generatorParams", "--generator-params", flags.generatorParams],
    ["verifierParams", "--verifier-params", flags.verifierParams]
  ]
  const out: Record<string, number> = {}
  const problems: Array<string> = []
  for (const [key, flag, value] of entries) {
    if (Option.isNone(value)) continue
    if (!Number.isFinite(value.value) || value.value < 0)
      problems.push(`${flag}: expected a finite number ≥ 0, got ${value.value}`)
    else out[key] = value.value
  }
  if (problems.length > 0) return Effect.fail(new InvalidInput({ subject: "prices", problems }))
  return Effect.succeed(Object.keys(out).length === 0 ? undefined : (out as Pricing.Prices))
}

/**
 * The JSON a flag gives: inline (a value that starts with `{` or `[`) or in a file (`undefined`
 * when the flag is absent). Bad JSON or an unreadable file is `InvalidInput` naming the flag.
 *
 * @example
 * const config = yield* readJsonFile("--backend-config", "sim.json")
 * const inline = yield* readJsonFile("--backend-config", '{"worldSeed": 2}') // { worldSeed: 2 }
 */
export const readJsonFile = (flag: string, value: string | undefined): Effect.Effect<unknown, InvalidInput> => {
  if (value === undefined) return Effect.succeed(undefined)
  const bad = (why: string) => new InvalidInput({ subject: flag, problems: [why] })
  if (/^\s*[[{]/u.test(value))
    return Effect.try({
      try: () => JSON.parse(value) as unknown,
      catch: (e) => bad(`${flag}: inline JSON that does not parse: ${e instanceof Error ? e.message : String(e)}`)
    })
  return Effect.tryPromise({
    try: async () => JSON.parse(await readFile(value, "utf8")) as unknown,
    catch: (e) => bad(`${flag} ${value}: ${e instanceof Error ? e.message : String(e)}`)
  })
}

/**
 * A backend's layer for the CLI: a bad `--backend-config` becomes `InvalidInput` (exit 2).
 *
 * @example
 * program.pipe(Effect.provide(cliBackend("simulated", config)))
 */
export const cliBackend = (
  name: string,
  config: unknown,
  registry: Registry = builtin
): Layer.Layer<BackendServices, InvalidInput> =>
  registry
    .layer(name, config)
    .pipe(
      Layer.catchTag("BackendConfigError", (e) =>
        Layer.effectContext(Effect.fail(new InvalidInput({ subject: "--backend-config", problems: e.problems })))
      )
    )

/** The values of the backend flags, by flag name in camelCase (`baseUrl` for `--base-url`). */
export type BackendOptions = { readonly [flag: string]: Option.Option<unknown> }

const camel = (name: string): string => name.replace(/-([a-z])/gu, (_, c: string) => c.toUpperCase())

const flagOf = (f: BackendFlag): Flag.Flag<Option.Option<unknown>> => {
  switch (f.kind) {
    case "integer":
      return Flag.Int(f.name).pipe(Flag.optional)
    case "secret":
      return Flag.Redacted(f.name).pipe(Flag.optional)
    case "text":
      return Flag.String(f.name).pipe(Flag.optional)
  }
}

/**
 * The flags the registry's backends declare, each an optional `--name` described as its
 * backends' (`openai backend: the served model …`). `secrets: false` leaves out secrets (`mull
 * eval` stores its backend configuration).
 *
 * @example
 * Command.make("run", { backendOptions: optionFlags(registry) }, (config) => Effect.log(config))
 */
export const optionFlags = (
  registry: Registry = builtin,
  options: { readonly secrets?: boolean } = {}
): { readonly [flag: string]: Flag.Flag<Option.Option<unknown>> } =>
  Object.fromEntries(
    registry.flags
      .filter((f) => options.secrets !== false || f.kind !== "secret")
      .map((f) => [
        camel(f.name),
        flagOf(f).pipe(Flag.withDescription(`${f.backends.join(" and ")} backend: ${f.description}`))
      ])
  )

/** A copy of `config` (an object, else `{}`) with `value` at `path`, objects on the way kept or made. */
const setPath = (config: unknown, path: ReadonlyArray<string>, value: unknown): unknown => {
  const [key, ...rest] = path
  if (key === undefined) return value
  const base = typeof config === "object" && config !== null ? (config as Record<string, unknown>) : {}
  return { ...base, [key]: setPath(base[key], rest, value) }
}

/**
 * A backend config with the backend flags that were given merged in (flags win). A flag that
 * belongs to other backends is an error naming them.
 *
 * @example
 * const config = yield* withBackendOptions("openai", { model: "old" }, { model: Option.some("m") }) // { model: "m" }
 */
export const withBackendOptions = (
  backend: string,
  config: unknown,
  given: BackendOptions,
  registry: Registry = builtin
): Effect.Effect<unknown, InvalidInput> => {
  const problems: Array<string> = []
  let out = config
  for (const f of registry.flags) {
    const value = given[camel(f.name)]
    if (value === undefined || Option.isNone(value)) continue
    if (!f.backends.includes(backend))
      problems.push(`--${f.name}: only for --backend ${f.backends.join(" or --backend ")}`)
    else out = setPath(out, f.path, Redacted.isRedacted(value.value) ? Redacted.value(value.value) : value.value)
  }
  return problems.length > 0 ? Effect.fail(new InvalidInput({ subject: "--backend", problems })) : Effect.succeed(out)
}

/**
 * The flags that choose and configure a backend, in every command that runs one: `--backend`,
 * `--backend-config FILE.json` (or inline JSON), and the flags of every backend of the registry (`backendOptions`).
 *
 * @example
 * Command.make("run", { ...backendFlags(), graph: Argument.String("graph") }, (config) => Effect.log(config))
 */
export const backendFlags = (registry: Registry = builtin) => ({
  backend: Flag.Literals("backend", registry.names).pipe(
    Flag.withDescription(
      `The backend: ${registry.names.join(", ")} (default ${registry.defaultName}; docs/backends.md)`
    ),
    Flag.withDefault(registry.defaultName)
  ),
  backendConfig: Flag.String("backend-config").pipe(
    Flag.withDescription("The backend's configuration: a JSON file, or the JSON itself ('{\"worldSeed\": 2}')"),
    Flag.optional
  ),
  backendOptions: optionFlags(registry)
})

/** The values of `backendFlags`. */
export interface BackendFlags {
  readonly backend: string
  readonly backendConfig: Option.Option<string>
  readonly backendOptions: BackendOptions
}

/**
 * The backend configuration the flags give: the `--backend-config` file with the backend flags
 * merged in (flags win).
 *
 * @example
 * const config = yield* backendConfigOf(flags)
 */
export const backendConfigOf = (
  flags: BackendFlags,
  registry: Registry = builtin
): Effect.Effect<unknown, InvalidInput> =>
  Effect.gen(function* () {
    const file = yield* readJsonFile("--backend-config", Option.getOrUndefined(flags.backendConfig))
    return yield* withBackendOptions(flags.backend, file, flags.backendOptions, registry)
  })

/**
 * The backend's layer from the flags; a bad configuration is `InvalidInput` (exit 2).
 *
 * @example
 * program.pipe(Effect.provide(yield* backendOf(flags)))
 */
export const backendOf = (
  flags: BackendFlags,
  registry: Registry = builtin
): Effect.Effect<Layer.Layer<BackendServices, InvalidInput>, InvalidInput> =>
  Effect.map(backendConfigOf(flags, registry), (config) => cliBackend(flags.backend, config, registry))
