/**
 * Parsing the CLI's shared inputs — `--param K=V`, `--budget meter=limit,…`, a JSON config file —
 * into values or an `InvalidInput` with one line per problem.
 *
 * @since 0.1.0
 */
import { readFile } from "node:fs/promises"
import { Effect, Layer, Option, Redacted } from "effect"
import { Flag } from "effect/cli"
import { BACKENDS, type BackendName, type BackendServices, backendLayer } from "../backends.ts"
import * as Limits from "../budget/Limits.ts"
import type { Params } from "../graph/Scope.ts"
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
 * Reads a JSON file given by a flag (`undefined` when the flag is absent).
 *
 * @example
 * const config = yield* readJsonFile("--backend-config", "sim.json")
 */
export const readJsonFile = (flag: string, file: string | undefined): Effect.Effect<unknown, InvalidInput> =>
  file === undefined
    ? Effect.succeed(undefined)
    : Effect.tryPromise({
        try: async () => JSON.parse(await readFile(file, "utf8")) as unknown,
        catch: (e) =>
          new InvalidInput({
            subject: flag,
            problems: [`${flag} ${file}: ${e instanceof Error ? e.message : String(e)}`]
          })
      })

/**
 * A backend's layer for the CLI: a bad `--backend-config` becomes `InvalidInput` (exit 2).
 *
 * @example
 * program.pipe(Effect.provide(cliBackend("simulated", config)))
 */
export const cliBackend = (name: BackendName, config: unknown): Layer.Layer<BackendServices, InvalidInput> =>
  backendLayer(name, config).pipe(
    Layer.catchTag("BackendConfigError", (e) =>
      Layer.effectContext(Effect.fail(new InvalidInput({ subject: "--backend-config", problems: e.problems })))
    )
  )

/**
 * The flags that point the openai backend at a server (`mull run`, `mull eval`). Each overrides
 * the same field of `--backend-config`; absent, the backend reads MULL_BASE_URL, MULL_MODEL,
 * MULL_API_KEY, MULL_SERVER, MULL_PRM_URL and MULL_PRM_MODEL (docs/backends.md).
 */
export const connectionFlags = {
  baseUrl: Flag.String("base-url").pipe(
    Flag.withDescription("openai backend: the API root, e.g. http://localhost:8000/v1 (default: MULL_BASE_URL)"),
    Flag.optional
  ),
  model: Flag.String("model").pipe(
    Flag.withDescription("openai backend: the served model (default: MULL_MODEL)"),
    Flag.optional
  ),
  server: Flag.String("server").pipe(
    Flag.withDescription("openai backend: vllm, sglang, llama.cpp, ollama or openai (default: MULL_SERVER, else vllm)"),
    Flag.optional
  ),
  apiKey: Flag.Redacted("api-key").pipe(
    Flag.withDescription("openai backend: the API key (prefer MULL_API_KEY: a flag shows in the process list)"),
    Flag.optional
  ),
  prmUrl: Flag.String("prm-url").pipe(
    Flag.withDescription("openai backend: a prm-http reward model server as verifier (default: MULL_PRM_URL)"),
    Flag.optional
  ),
  prmModel: Flag.String("prm-model").pipe(
    Flag.withDescription("openai backend: the reward model (default: MULL_PRM_MODEL)"),
    Flag.optional
  )
}

/** The values of `connectionFlags`. */
export interface ConnectionFlags {
  readonly baseUrl: Option.Option<string>
  readonly model: Option.Option<string>
  readonly server: Option.Option<string>
  readonly apiKey: Option.Option<Redacted.Redacted<string>>
  readonly prmUrl: Option.Option<string>
  readonly prmModel: Option.Option<string>
}

/**
 * A backend config with the connection flags merged in (flags win). The flags belong to the
 * openai backend; given with another backend they are an error.
 *
 * @example
 * const config = yield* withConnection("openai", undefined, flags) // { baseUrl, model, … }
 */
export const withConnection = (
  backend: BackendName,
  config: unknown,
  flags: ConnectionFlags
): Effect.Effect<unknown, InvalidInput> => {
  const given = (Object.keys(connectionFlags) as ReadonlyArray<keyof ConnectionFlags>).filter((k) => {
    const value: Option.Option<unknown> = flags[k]
    return Option.isSome(value)
  })
  if (given.length === 0) return Effect.succeed(config)
  if (backend !== "openai")
    return Effect.fail(
      new InvalidInput({
        subject: "--backend",
        problems: given.map((k) => `--${k.replace(/[A-Z]/gu, (c) => `-${c.toLowerCase()}`)}: only for --backend openai`)
      })
    )
  const base = typeof config === "object" && config !== null ? (config as Record<string, unknown>) : {}
  const verifier = typeof base.verifier === "object" && base.verifier !== null ? (base.verifier as object) : undefined
  const set = <A>(o: Option.Option<A>, f: (a: A) => Record<string, unknown>) => (Option.isSome(o) ? f(o.value) : {})
  const prm = { ...set(flags.prmUrl, (baseUrl) => ({ baseUrl })), ...set(flags.prmModel, (model) => ({ model })) }
  return Effect.succeed({
    ...base,
    ...set(flags.baseUrl, (baseUrl) => ({ baseUrl })),
    ...set(flags.model, (model) => ({ model })),
    ...set(flags.server, (server) => ({ server })),
    ...set(flags.apiKey, (key) => ({ apiKey: Redacted.value(key) })),
    ...(Object.keys(prm).length === 0 && verifier === undefined ? {} : { verifier: { ...verifier, ...prm } })
  })
}

/**
 * The flags of the llama-cpp backend's main options (`mull run`, `validate`, `cost`, `eval`). Each
 * overrides the same field of `--backend-config`; the other knobs are set there (docs/backends.md).
 */
export const localModelFlags = {
  modelPath: Flag.String("model-path").pipe(
    Flag.withDescription("llama-cpp backend: the GGUF model file"),
    Flag.optional
  ),
  threads: Flag.Int("threads").pipe(
    Flag.withDescription("llama-cpp backend: CPU threads (default: all cores but one)"),
    Flag.optional
  ),
  contextSize: Flag.Int("context-size").pipe(
    Flag.withDescription("llama-cpp backend: the context window in tokens (default: the model's, at most 4096)"),
    Flag.optional
  ),
  maxTokens: Flag.Int("max-tokens").pipe(
    Flag.withDescription("llama-cpp backend: default and largest output tokens of one call (default 512)"),
    Flag.optional
  )
}

/** The values of `localModelFlags`. */
export interface LocalModelFlags {
  readonly modelPath: Option.Option<string>
  readonly threads: Option.Option<number>
  readonly contextSize: Option.Option<number>
  readonly maxTokens: Option.Option<number>
}

/**
 * A backend config with the llama-cpp flags merged in (flags win); given with another backend,
 * they are an error.
 *
 * @example
 * const config = yield* withLocalModel("llama-cpp", undefined, flags) // { modelPath, threads, … }
 */
export const withLocalModel = (
  backend: string,
  config: unknown,
  flags: LocalModelFlags
): Effect.Effect<unknown, InvalidInput> => {
  const given = (Object.keys(localModelFlags) as ReadonlyArray<keyof LocalModelFlags>).filter((k) =>
    Option.isSome<unknown>(flags[k])
  )
  if (given.length === 0) return Effect.succeed(config)
  if (backend !== "llama-cpp")
    return Effect.fail(
      new InvalidInput({
        subject: "--backend",
        problems: given.map(
          (k) => `--${k.replace(/[A-Z]/gu, (c) => `-${c.toLowerCase()}`)}: only for --backend llama-cpp`
        )
      })
    )
  const base = typeof config === "object" && config !== null ? (config as Record<string, unknown>) : {}
  const out: Record<string, unknown> = { ...base }
  for (const k of given) out[k] = Option.getOrUndefined<unknown>(flags[k])
  return Effect.succeed(out)
}

/**
 * The flags that choose and configure a backend, in every command that runs one: `--backend`,
 * `--backend-config FILE.json`, and the openai and llama-cpp options.
 */
export const backendFlags = {
  backend: Flag.Literals("backend", BACKENDS).pipe(
    Flag.withDescription(`The backend: ${BACKENDS.join(", ")} (default simulated; docs/backends.md)`),
    Flag.withDefault("simulated" as const)
  ),
  backendConfig: Flag.String("backend-config").pipe(
    Flag.withDescription("A JSON file configuring the backend"),
    Flag.optional
  ),
  ...connectionFlags,
  ...localModelFlags
}

/** The values of `backendFlags`. */
export interface BackendFlags extends ConnectionFlags, LocalModelFlags {
  readonly backend: BackendName
  readonly backendConfig: Option.Option<string>
}

/**
 * The backend configuration the flags give: the `--backend-config` file with the connection and
 * local-model flags merged in (flags win).
 *
 * @example
 * const config = yield* backendConfigOf(flags)
 */
export const backendConfigOf = (flags: BackendFlags): Effect.Effect<unknown, InvalidInput> =>
  Effect.gen(function* () {
    const file = yield* readJsonFile("--backend-config", Option.getOrUndefined(flags.backendConfig))
    return yield* withLocalModel(flags.backend, yield* withConnection(flags.backend, file, flags), flags)
  })

/**
 * The backend's layer from the flags; a bad configuration is `InvalidInput` (exit 2).
 *
 * @example
 * program.pipe(Effect.provide(yield* backendOf(flags)))
 */
export const backendOf = (
  flags: BackendFlags
): Effect.Effect<Layer.Layer<BackendServices, InvalidInput>, InvalidInput> =>
  Effect.map(backendConfigOf(flags), (config) => cliBackend(flags.backend, config))
