/**
 * The backends mull knows: one line per descriptor, in the order `mull backends` lists them (the
 * first is the default). This is the only module in `src/` that imports the backend plugins; the
 * CLI, the sweep workers (which load this module by its URL in each thread), the server and the
 * embedding API read the registry. To add a backend, add its descriptor here (docs/backends.md).
 *
 * @since 0.1.0
 */

import type { Layer } from "effect"
import * as LlamaCpp from "../../plugins/llama-cpp/index.ts"
import * as OpenAi from "../../plugins/openai/index.ts"
import * as Replay from "../../plugins/replay/index.ts"
import * as Simulated from "../../plugins/simulated/index.ts"
import { type BackendConfigError, type BackendServices, makeRegistry, type Registry } from "../services/Backend.ts"

/**
 * The built-in registry.
 *
 * @example
 * registry.names // ["simulated", "replay", "openai", "llama-cpp"]
 */
export const registry: Registry = makeRegistry([Simulated.backend, Replay.backend, OpenAi.backend, LlamaCpp.backend], {
  module: import.meta.url
})

/**
 * A built-in backend's services, configured from JSON (e.g. a `--backend-config` file); a bad
 * configuration fails with a `BackendConfigError` whose lines start `backend-config.`.
 *
 * @example
 * program.pipe(Effect.provide(backendLayer("simulated", { worldSeed: 1 })))
 */
export const backendLayer = (name: string, config?: unknown): Layer.Layer<BackendServices, BackendConfigError> =>
  registry.layer(name, config)
