/**
 * The composition point for backends: a backend name (`--backend`) maps to the layer of its
 * services. Only this module (and the server's) imports plugins.
 *
 * @since 0.1.0
 */
import { Effect, Layer } from "effect"
import * as Simulated from "../../plugins/simulated/index.ts"
import * as MathGrader from "../answer/MathGrader.ts"
import type { Generator } from "../services/Generator.ts"
import type { AnswerKey, Grader } from "../services/Grader.ts"
import type { Tokenizer } from "../services/Tokenizer.ts"
import type { Verifier } from "../services/Verifier.ts"
import { InvalidInput } from "./InvalidInput.ts"

/** The backends the CLI knows. */
export const BACKENDS = ["simulated"] as const
export type BackendName = (typeof BACKENDS)[number]

export type BackendServices = Generator | Verifier | Tokenizer | Grader | AnswerKey

/**
 * The services of a backend, configured from JSON (a `--backend-config` file).
 *
 * @example
 * program.pipe(Effect.provide(backendLayer("simulated", { worldSeed: 1 })))
 */
export const backendLayer = (name: BackendName, config: unknown): Layer.Layer<BackendServices, InvalidInput> => {
  switch (name) {
    case "simulated":
      return Layer.mergeAll(
        Layer.unwrap(
          Simulated.decodeConfig(config ?? {}).pipe(
            Effect.mapError(
              (e) =>
                new InvalidInput({
                  subject: "--backend-config",
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
  }
}
