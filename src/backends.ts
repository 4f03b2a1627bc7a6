/**
 * The composition point for backends: a backend name maps to the layer of its services. Only this
 * module (and the CLI and server, through it) imports plugins.
 *
 * @since 0.1.0
 */
import { Config, Context, Effect, Layer, Option, Schema } from "effect"
import { FetchHttpClient } from "effect/http"
import * as LlamaCpp from "../plugins/llama-cpp/index.ts"
import * as OpenAi from "../plugins/openai/index.ts"
import * as PrmHttp from "../plugins/prm-http/index.ts"
import * as Replay from "../plugins/replay/index.ts"
import * as Simulated from "../plugins/simulated/index.ts"
import * as MathGrader from "./answer/MathGrader.ts"
import type { Problem } from "./domain/Problem.ts"
import type { Capability } from "./services/Capability.ts"
import { Generator } from "./services/Generator.ts"
import type { AnswerKey, Grader } from "./services/Grader.ts"
import { Verifier, type VerifierShape } from "./services/Verifier.ts"

/** The backends mull knows by name. */
export const BACKENDS = ["simulated", "replay", "openai", "llama-cpp"] as const
export type BackendName = (typeof BACKENDS)[number]

/** Everything a run needs from its backend. */
export type BackendServices = Generator | Verifier | Grader | AnswerKey

/** A backend configuration that does not decode; `problems` are `path: message` lines. */
export class BackendConfigError extends Schema.TaggedError<BackendConfigError>()("BackendConfigError", {
  backend: Schema.String,
  problems: Schema.Array(Schema.String)
}) {
  override get message(): string {
    return `invalid ${this.backend} backend config:\n${this.problems.join("\n")}`
  }
}

/**
 * The services of a backend, configured from JSON (e.g. a `--backend-config` file), with mull's
 * MATH grader for grading and answer grouping — except replay, which grades by its recorded labels
 * unless configured with `grading: "math"` (see docs/replay.md).
 *
 * @example
 * program.pipe(Effect.provide(backendLayer("simulated", { worldSeed: 1 })))
 */
export const backendLayer = (
  name: BackendName,
  config: unknown = undefined
): Layer.Layer<BackendServices, BackendConfigError> => {
  switch (name) {
    case "simulated":
      return Layer.mergeAll(
        Layer.unwrap(
          Simulated.decodeConfig(config ?? {}).pipe(
            Effect.mapError(
              (e) =>
                new BackendConfigError({
                  backend: name,
                  problems: e.message
                    .replace(/^invalid simulated backend config: /u, "")
                    .split("; ")
                    .map((l) => `backend-config.${l}`)
                })
            ),
            Effect.map(Simulated.layerConfig)
          )
        ),
        MathGrader.layer
      )
    case "replay":
      return Layer.unwrap(
        Replay.decodeConfig(config ?? {}).pipe(
          Effect.mapError(
            (e) =>
              new BackendConfigError({
                backend: name,
                problems: e.message
                  .replace(/^invalid replay backend config: /u, "")
                  .split("; ")
                  .map((l) => `backend-config.${l}`)
              })
          ),
          Effect.flatMap((c) =>
            Effect.mapError(
              Replay.make(c),
              (e) => new BackendConfigError({ backend: name, problems: [`backend-config.dataset: ${e.message}`] })
            )
          ),
          Effect.map(Replay.layerBackend)
        )
      )
    case "openai":
      return Layer.mergeAll(Layer.effectContext(openAiContext(config)), MathGrader.layer)
    case "llama-cpp": {
      const fail = (problems: ReadonlyArray<string>) =>
        Layer.effectContext(Effect.fail(new BackendConfigError({ backend: name, problems })))
      return Layer.mergeAll(
        LlamaCpp.layer(config ?? {}).pipe(
          Layer.catchTag("LlamaCppConfigError", (e) => fail(e.problems.map((l) => `backend-config.${l}`))),
          // a missing node-llama-cpp is not a config problem: its message says what to install
          Layer.catchTag("LlamaCppLoadError", (e) =>
            fail([e.path === "node-llama-cpp" ? e.message : `backend-config.${e.message}`])
          )
        ),
        MathGrader.layer
      )
    }
  }
}

/**
 * The openai backend's services: its generator, and as verifier a prm-http reward model — from the
 * config's `verifier` object, or from `MULL_PRM_URL`/`MULL_PRM_MODEL` — or, with neither, no
 * verifier (graphs that score are then refused at load time, see `OpenAi.NO_VERIFIER`).
 */
const openAiContext = (config: unknown): Effect.Effect<Context.Context<Generator | Verifier>, BackendConfigError> =>
  Effect.gen(function* () {
    const problems = (prefix: string) => (e: { readonly problems: ReadonlyArray<string> }) =>
      new BackendConfigError({ backend: "openai", problems: e.problems.map((p) => `${prefix}${p}`) })
    const resolved = yield* OpenAi.resolveConfig(config).pipe(Effect.mapError(problems("backend-config.")))
    const backend = yield* OpenAi.make(resolved)
    const prmFromEnv = Option.isSome(
      yield* Config.option(Config.String("MULL_PRM_URL")).pipe(Effect.orElseSucceed(Option.none))
    )
    let verifier: VerifierShape = OpenAi.noVerifier
    if (resolved.verifier !== undefined || prmFromEnv) {
      const prm = yield* PrmHttp.resolveConfig(resolved.verifier ?? {}).pipe(
        Effect.mapError(problems("backend-config.verifier."))
      )
      verifier = yield* PrmHttp.make(prm)
    }
    return Context.make(Generator, backend.generator).pipe(Context.add(Verifier, verifier))
  }).pipe(Effect.provide(FetchHttpClient.layer))

/**
 * The problems a backend serves itself (a recording): the replay backend's pool, e.g. the Qwen
 * pool for `dataset: "qwen-pool"`.
 *
 * @example
 * const problems = yield* servedProblems({ dataset: "qwen-pool" })
 */
export const servedProblems = (config: unknown): Effect.Effect<ReadonlyArray<Problem>, BackendConfigError> =>
  Replay.problems(config).pipe(
    Effect.mapError(
      (e) =>
        new BackendConfigError({
          backend: "replay",
          problems: [`dataset: ${e.message}`]
        })
    )
  )

/** Whether a backend's calls are worth caching (a recording costs nothing to serve again). */
export const cacheable = (name: BackendName): boolean => name !== "replay"

/** What `mull backends` shows of a backend: its variants and what each can do. */
export interface BackendInfo {
  readonly name: string
  readonly description: string
  readonly variants: ReadonlyArray<{
    readonly label: string
    readonly capabilities: ReadonlySet<Capability>
    readonly verifiers: string
  }>
}

/**
 * The backends mull knows, with their capabilities (per kind of server for openai).
 *
 * @example
 * backendInfo().map((b) => b.name) // ["simulated", "replay", "openai", …]
 */
export const backendInfo = (): ReadonlyArray<BackendInfo> => [
  {
    name: "simulated",
    description: "the embedded simulated reasoner and PRM (docs/simulator.md)",
    variants: [{ label: "", capabilities: Simulated.CAPABILITIES, verifiers: "prm, orm" }]
  },
  {
    name: "replay",
    description: "recorded whole solutions and reward scores (docs/replay.md)",
    variants: [{ label: "", capabilities: Replay.CAPABILITIES, verifiers: "prm, orm (recorded rewards)" }]
  },
  {
    name: "openai",
    description: "an OpenAI-compatible server; verifier: a prm-http reward model (docs/backends.md)",
    variants: OpenAi.SERVERS.map((server) => ({
      label: `server ${server}`,
      capabilities: OpenAi.profileCapabilities(server),
      verifiers: "prm, orm with a prm-http verifier; none without"
    }))
  },
  {
    name: "llama-cpp",
    description:
      "a GGUF model in-process via node-llama-cpp (CPU; --model-path, --threads); verifier: a next-token-probability judge (docs/backends.md)",
    variants: [{ label: "", capabilities: LlamaCpp.CAPABILITIES, verifiers: "prm, orm (yes/no judge)" }]
  }
]
