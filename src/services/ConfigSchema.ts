/**
 * What every plugin's configuration needs: fields with defaults and descriptions, strict decoding
 * (unknown keys rejected, so a typo names itself) into a `BackendConfigError` with one
 * `path: message` line per problem, and optional environment variables that are reported, never
 * silently dropped, when they cannot be read.
 *
 * @since 0.1.0
 */
import { Config, Effect, Option, Schema } from "effect"
import { issuesOf } from "../domain/SchemaProblems.ts"
import { BackendConfigError, configError } from "./Backend.ts"

/**
 * An integer knob in [minimum, maximum] with a default and a description.
 *
 * @example
 * const Knobs = Schema.Struct({ concurrency: intField(64, 1, 1_000_000, "concurrent calls") })
 */
export const intField = (value: number, minimum: number, maximum: number, description: string) =>
  Schema.Int.check(Schema.isBetween({ minimum, maximum }))
    .annotate({ description })
    .pipe(Schema.withDecodingDefaultKey(Effect.succeed(value)))

/**
 * A non-negative number knob with a default and a description.
 *
 * @example
 * const Knobs = Schema.Struct({ timeoutMs: nonNegativeField(60_000, "per-call timeout") })
 */
export const nonNegativeField = (value: number, description: string) =>
  Schema.Finite.check(Schema.isGreaterThanOrEqualTo(0))
    .annotate({ description })
    .pipe(Schema.withDecodingDefaultKey(Effect.succeed(value)))

/**
 * Decodes a backend's configuration strictly: every problem reported with its path, unknown keys
 * rejected; absent input is `{}`.
 *
 * @example
 * const config = yield* decodeStrict("simulated", SimulatedConfig)({ worldSeed: 3 })
 */
export const decodeStrict =
  <S extends Schema.Top & { readonly DecodingServices: never }>(backend: string, schema: S) =>
  (input: unknown): Effect.Effect<S["Type"], BackendConfigError> =>
    Schema.decodeUnknownEffect(schema)(input ?? {}, { errors: "all", onExcessProperty: "error" }).pipe(
      Effect.mapError(
        (e) =>
          new BackendConfigError({
            backend,
            issues: issuesOf(e).map((i) => ({ path: [...i.path], message: i.message }))
          })
      )
    )

/**
 * An optional environment variable (through Effect `Config`): `undefined` when unset; a value that
 * cannot be read fails with a problem saying why.
 *
 * @example
 * const baseUrl = yield* optionalEnv("openai", Config.String("MULL_BASE_URL"))
 */
export const optionalEnv = <A>(
  backend: string,
  config: Config.Config<A>
): Effect.Effect<A | undefined, BackendConfigError> =>
  Config.option(config).pipe(
    Effect.map(Option.getOrUndefined),
    Effect.mapError((e) => configError(backend, undefined, `environment: ${e.message}`))
  )

const price = (description: string) =>
  Schema.optionalKey(Schema.Finite.check(Schema.isGreaterThanOrEqualTo(0)).annotate({ description }))

/**
 * A backend configuration's `prices`: USD per million tokens (the generator's input and output,
 * what the verifier reads) — the same fields as a sweep's or the server's `prices`. Prices set
 * by flags or by a sweep or the server win over these.
 *
 * @example
 * const Knobs = Schema.Struct({ prices: PricesConfig })
 */
export const PricesConfig = Schema.optionalKey(
  Schema.Struct({
    input: price("USD per million input (prompt) tokens"),
    output: price("USD per million generated tokens"),
    verifier: price("USD per million tokens the verifier reads")
  }).annotate({ description: "USD prices per million tokens, for usd budgets (docs/concepts.md#prices-and-flops)" })
)
