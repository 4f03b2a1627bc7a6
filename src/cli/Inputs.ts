/**
 * Parsing the CLI's shared inputs — `--param K=V`, `--budget meter=limit,…`, a JSON config file —
 * into values or an `InvalidInput` with one line per problem.
 *
 * @since 0.1.0
 */
import { readFile } from "node:fs/promises"
import { Effect, Layer } from "effect"
import { type BackendName, type BackendServices, backendLayer } from "../backends.ts"
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
  const out: Record<string, number> = {}
  const problems: Array<string> = []
  for (const pair of pairs) {
    const eq = pair.indexOf("=")
    const name = eq < 0 ? pair : pair.slice(0, eq).trim()
    const text = eq < 0 ? "" : pair.slice(eq + 1).trim()
    const value = Number(text.replaceAll("_", ""))
    if (eq < 0 || name === "") problems.push(`--param ${pair}: expected NAME=VALUE`)
    else if (text === "" || !Number.isFinite(value)) problems.push(`params.${name}: expected a number, got "${text}"`)
    else out[name] = value
  }
  return problems.length > 0 ? Effect.fail(new InvalidInput({ subject: "--param", problems })) : Effect.succeed(out)
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
