/**
 * What every plugin's configuration needs: fields with defaults and descriptions, strict decoding
 * (unknown keys rejected, so a typo names itself) into `path: message` lines, and optional
 * environment variables that are reported, never silently dropped, when they cannot be read.
 *
 * @since 0.1.0
 */
import { Config, Effect, Option, Schema } from "effect"
import { formatIssue, issuesOf } from "../domain/SchemaProblems.ts"

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

/** Why a configuration does not decode: its first bad field, and one `path: message` line per problem. */
export interface ConfigProblems {
  readonly path: string
  readonly lines: ReadonlyArray<string>
}

/**
 * The problems of a Schema error, as `path: message` lines (`(root)` for the whole object).
 *
 * @example
 * problemsOf(error).lines // ["prm.sd0: Expected a number, got \"x\""]
 */
export const problemsOf = (error: Schema.SchemaError): ConfigProblems => {
  const issues = issuesOf(error)
  return {
    path: issues[0] === undefined || issues[0].path.length === 0 ? "(root)" : issues[0].path.join("."),
    lines: issues.map((i) => formatIssue(i, "", "(root)"))
  }
}

/**
 * Decodes a configuration strictly: every problem reported, unknown keys rejected; absent input is `{}`.
 *
 * @example
 * const config = yield* decodeStrict(SimulatedConfig)(input).pipe(Effect.mapError((p) => new MyConfigError(p)))
 */
export const decodeStrict =
  <S extends Schema.Top & { readonly DecodingServices: never }>(schema: S) =>
  (input: unknown): Effect.Effect<S["Type"], ConfigProblems> =>
    Schema.decodeUnknownEffect(schema)(input ?? {}, { errors: "all", onExcessProperty: "error" }).pipe(
      Effect.mapError(problemsOf)
    )

/**
 * An optional environment variable (through Effect `Config`): `undefined` when unset; a value that
 * cannot be read fails with a line saying why.
 *
 * @example
 * const baseUrl = yield* optionalEnv(Config.String("MULL_BASE_URL"))
 */
export const optionalEnv = <A>(config: Config.Config<A>): Effect.Effect<A | undefined, string> =>
  Config.option(config).pipe(
    Effect.map(Option.getOrUndefined),
    Effect.mapError((e) => `environment: ${e.message}`)
  )
