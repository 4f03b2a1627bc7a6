/**
 * The backend port: a backend is one *descriptor* value — its name, its configuration's Schema,
 * the CLI flags that set fields of that configuration, what it can do, and the layer of its
 * services built from a configuration. Each plugin exports one (`plugins/<name>/index.ts`,
 * `backend`); a `Registry` lists them, and the CLI, the sweep workers, the server and the
 * embedding API all read a registry (the built-in one is `src/backends/Registry.ts`). Nothing else
 * switches on backend names.
 *
 * A configuration that does not decode, or names something that cannot be loaded, fails with the
 * one `BackendConfigError`: a `path: message` line per problem.
 *
 * @since 0.1.0
 */
import { Effect, Layer, Schema } from "effect"
import type { AnswerKind } from "../domain/AnswerKind.ts"
import type { Problem } from "../domain/Problem.ts"
import { formatIssue } from "../domain/SchemaProblems.ts"
import type { Capability } from "./Capability.ts"
import type { Generator } from "./Generator.ts"
import type { AnswerKey, Grader } from "./Grader.ts"
import type { Verifier } from "./Verifier.ts"

/** Everything a run needs from its backend. */
export type BackendServices = Generator | Verifier | Grader | AnswerKey

/**
 * One problem of a configuration: the field's path (`[]` for the whole configuration), or no path
 * for a problem that is not a field's (a missing optional package, an unreadable environment).
 */
export const ConfigIssue = Schema.Struct({
  path: Schema.optionalKey(Schema.Array(Schema.String)),
  message: Schema.String
})
export type ConfigIssue = typeof ConfigIssue.Type

/**
 * A backend configuration that does not decode or cannot be loaded; `problems` are its lines,
 * `path: message`.
 *
 * @example
 * new BackendConfigError({ backend: "simulated", issues: [{ path: ["prm", "sd0"], message: "Expected a value ≥ 0" }] }).problems
 * // ["prm.sd0: Expected a value ≥ 0"]
 */
export class BackendConfigError extends Schema.TaggedError<BackendConfigError>()("BackendConfigError", {
  backend: Schema.String,
  issues: Schema.Array(ConfigIssue)
}) {
  /** one `path: message` line per problem (`(root)` for the whole configuration) */
  get problems(): ReadonlyArray<string> {
    return this.issues.map((i) =>
      i.path === undefined ? i.message : formatIssue({ path: i.path, message: i.message }, "", "(root)")
    )
  }

  override get message(): string {
    return `invalid ${this.backend} backend config: ${this.problems.join("; ")}`
  }

  /** the first bad field, in dots (`prm.sd0`; `(root)` for the whole configuration), if a field is at fault */
  get path(): string | undefined {
    const path = this.issues.find((i) => i.path !== undefined)?.path
    return path === undefined ? undefined : path.length === 0 ? "(root)" : path.join(".")
  }

  /**
   * The same problems inside a larger document: every path starts with `prefix` (its segments).
   *
   * @example
   * error.within("backend-config").problems // ["backend-config.prm.sd0: …"]
   */
  within(...prefix: ReadonlyArray<string>): BackendConfigError {
    return new BackendConfigError({
      backend: this.backend,
      issues: this.issues.map((i) => (i.path === undefined ? i : { ...i, path: [...prefix, ...i.path] }))
    })
  }
}

/**
 * A `BackendConfigError` with one problem.
 *
 * @example
 * configError("openai", ["baseUrl"], "missing (give --base-url …)")
 */
export const configError = (
  backend: string,
  path: ReadonlyArray<string> | undefined,
  message: string
): BackendConfigError =>
  new BackendConfigError({ backend, issues: [path === undefined ? { message } : { path: [...path], message }] })

/**
 * A CLI flag a backend declares: the CLI turns it into an optional `--name` flag whose value,
 * when given, sets the configuration field at `path` (and beats `--backend-config`). Given with
 * another backend, it is an error naming the backends it belongs to.
 */
export interface BackendFlag {
  /** the flag without dashes, e.g. `base-url` */
  readonly name: string
  /** `secret` values are redacted by the CLI (and never stored by `mull eval`) */
  readonly kind: "text" | "integer" | "secret"
  /** the configuration field it sets, e.g. `["verifier", "baseUrl"]` */
  readonly path: ReadonlyArray<string>
  readonly description: string
}

/** What `mull backends` shows: a kind of deployment and what it can do. */
export interface BackendVariant {
  /** empty for a backend with one variant, e.g. `server vllm` */
  readonly label: string
  readonly capabilities: ReadonlySet<Capability>
  /** the verifiers a `score` node can name, in words */
  readonly verifiers: string
}

/**
 * A backend, as the registry knows it. Build one with `make`.
 */
export interface BackendDescriptor {
  readonly name: string
  /** one line for `mull backends` */
  readonly description: string
  /** the configuration's Schema (what `--backend-config` holds) */
  readonly config: Schema.Top
  readonly flags: ReadonlyArray<BackendFlag>
  readonly variants: ReadonlyArray<BackendVariant>
  /** whether a sweep should cache its calls (a recording costs nothing to serve again) */
  readonly cacheable: boolean
  /** whether its numbers describe a simulator, not a model (reports say so) */
  readonly simulator: boolean
  /** the services from a JSON configuration (missing fields take their defaults) */
  readonly layer: (config: unknown) => Layer.Layer<BackendServices, BackendConfigError>
  /** the problems a configuration serves, for a backend that serves its own (a recording) */
  readonly problems: ((config: unknown) => Effect.Effect<ReadonlyArray<Problem>, BackendConfigError>) | undefined
  /** named datasets it serves (an evaluation's `dataset.name`): the configuration that serves each */
  readonly datasets: Readonly<Record<string, (path: string | undefined) => unknown>>
  /**
   * the configuration that serves a recording file in a record format (`mull eval --dataset
   * FILE --format qwen`), or `undefined` when it serves no recording in that format
   */
  readonly recording: ((file: RecordingFile) => unknown) | undefined
}

/** A recording file an evaluation names: its path, record format and the answer kind of its problems. */
export interface RecordingFile {
  readonly path: string
  readonly format: string
  readonly answer?: AnswerKind | undefined
}

/** What a plugin gives `make`: its typed pieces. */
export interface DescriptorOptions<C> {
  readonly name: string
  readonly description: string
  readonly config: Schema.Top
  /** decodes a JSON configuration: defaults, environment variables, checks across fields */
  readonly decode: (input: unknown) => Effect.Effect<C, BackendConfigError>
  readonly flags?: ReadonlyArray<BackendFlag> | undefined
  readonly variants: ReadonlyArray<BackendVariant>
  /** default true */
  readonly cacheable?: boolean | undefined
  /** default false */
  readonly simulator?: boolean | undefined
  /** the services of a decoded configuration (a load failure is a `BackendConfigError` too) */
  readonly layer: (config: C) => Layer.Layer<BackendServices, BackendConfigError>
  readonly problems?: ((config: C) => Effect.Effect<ReadonlyArray<Problem>, BackendConfigError>) | undefined
  readonly datasets?: Readonly<Record<string, (path: string | undefined) => unknown>> | undefined
  readonly recording?: ((file: RecordingFile) => unknown) | undefined
}

/**
 * A backend descriptor from its typed pieces: `layer` and `problems` decode their input first.
 *
 * @example
 * const backend = make({
 *   name: "echo", description: "answers with the question", config: EchoConfig,
 *   decode: decodeStrict("echo", EchoConfig), variants: [{ label: "", capabilities: new Set(["seeded"]), verifiers: "none" }],
 *   layer: (config) => layerConfig(config)
 * })
 */
export const make = <C>(options: DescriptorOptions<C>): BackendDescriptor => {
  const { decode, layer, problems } = options
  return {
    name: options.name,
    description: options.description,
    config: options.config,
    flags: options.flags ?? [],
    variants: options.variants,
    cacheable: options.cacheable ?? true,
    simulator: options.simulator ?? false,
    layer: (input) => Layer.unwrap(Effect.map(decode(input), layer)),
    problems: problems === undefined ? undefined : (input) => Effect.flatMap(decode(input), problems),
    datasets: options.datasets ?? {},
    recording: options.recording
  }
}

/** The backends one program knows. */
export interface Registry {
  readonly backends: ReadonlyArray<BackendDescriptor>
  /** their names, in order (the first is the default) */
  readonly names: ReadonlyArray<string>
  /** the first backend's name */
  readonly defaultName: string
  /** every backend's flags, each once, in order, with the backends that declare it */
  readonly flags: ReadonlyArray<BackendFlag & { readonly backends: ReadonlyArray<string> }>
  /**
   * the URL of a module that exports this registry as `registry`, so a worker thread (a parallel
   * sweep) can load the same backends; without one, sweeps run in the calling thread
   */
  readonly module: string | undefined
  readonly find: (name: string) => BackendDescriptor | undefined
  /**
   * A backend's services from its configuration; problems are reported at `backend-config.<field>`
   * (what the CLI's `--backend-config` file, the embedding API's `backendConfig` and a sweep's
   * backend hold).
   */
  readonly layer: (name: string, config?: unknown) => Layer.Layer<BackendServices, BackendConfigError>
  /** the backend that serves a named dataset (e.g. `qwen-pool`), if any, and its configuration */
  readonly serving: (
    dataset: string,
    path?: string | undefined
  ) => { readonly backend: BackendDescriptor; readonly config: unknown } | undefined
}

const unknownBackend = (name: string, names: ReadonlyArray<string>): BackendConfigError =>
  configError(name, undefined, `unknown backend "${name}" (known: ${names.join(", ")})`)

/**
 * A registry of descriptors. Two backends may share a flag only if it is of the same kind and
 * sets the same field; otherwise (and for duplicate names) this throws: a programming error.
 *
 * @example
 * const registry = makeRegistry([Simulated.backend, Replay.backend], { module: import.meta.url })
 * registry.layer("simulated", { worldSeed: 1 })
 */
export const makeRegistry = (
  backends: ReadonlyArray<BackendDescriptor>,
  options: { readonly module?: string | undefined } = {}
): Registry => {
  const byName = new Map<string, BackendDescriptor>()
  for (const b of backends) {
    if (byName.has(b.name)) throw new Error(`backend registry: two backends named "${b.name}"`)
    byName.set(b.name, b)
  }
  const first = backends[0]
  if (first === undefined) throw new Error("backend registry: no backends")
  const flags = new Map<string, BackendFlag & { backends: Array<string> }>()
  for (const b of backends)
    for (const f of b.flags) {
      const seen = flags.get(f.name)
      if (seen === undefined) flags.set(f.name, { ...f, backends: [b.name] })
      else if (seen.kind !== f.kind || seen.path.join(".") !== f.path.join("."))
        throw new Error(`backend registry: --${f.name} means different things to ${seen.backends[0]} and ${b.name}`)
      else seen.backends.push(b.name)
    }
  const names = backends.map((b) => b.name)
  return {
    backends,
    names,
    defaultName: first.name,
    flags: [...flags.values()],
    module: options.module,
    find: (name) => byName.get(name),
    layer: (name, config) => {
      const b = byName.get(name)
      return b === undefined
        ? Layer.effectContext(Effect.fail(unknownBackend(name, names)))
        : b
            .layer(config)
            .pipe(
              Layer.catchTag("BackendConfigError", (e) => Layer.effectContext(Effect.fail(e.within("backend-config"))))
            )
    },
    serving: (dataset, path) => {
      for (const b of backends) {
        // own keys only: a dataset called "constructor" is nobody's
        const config = Object.hasOwn(b.datasets, dataset) ? b.datasets[dataset] : undefined
        if (config !== undefined) return { backend: b, config: config(path) }
      }
      return undefined
    }
  }
}

/**
 * Whether a value is a registry (what a worker thread checks of the module it loads).
 *
 * @example
 * isRegistry((await import(url)).registry)
 */
export const isRegistry = (u: unknown): u is Registry =>
  typeof u === "object" &&
  u !== null &&
  "backends" in u &&
  Array.isArray(u.backends) &&
  "layer" in u &&
  typeof u.layer === "function"
