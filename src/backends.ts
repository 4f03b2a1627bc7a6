/**
 * The composition point for backends: a backend name maps to the layer of its services. Only this
 * module (and the CLI and server, through it) imports plugins.
 *
 * @since 0.1.0
 */
import { Effect, Layer, Schema } from "effect"
import * as Replay from "../plugins/replay/index.ts"
import * as Simulated from "../plugins/simulated/index.ts"
import * as MathGrader from "./answer/MathGrader.ts"
import type { Problem } from "./domain/Problem.ts"
import type { Generator } from "./services/Generator.ts"
import type { AnswerKey, Grader } from "./services/Grader.ts"
import type { Tokenizer } from "./services/Tokenizer.ts"
import type { Verifier } from "./services/Verifier.ts"

/** The backends mull knows by name. */
export const BACKENDS = ["simulated", "replay"] as const
export type BackendName = (typeof BACKENDS)[number]

/** Everything a run needs from its backend. */
export type BackendServices = Generator | Verifier | Tokenizer | Grader | AnswerKey

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
  }
}

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
