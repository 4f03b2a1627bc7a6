/**
 * The llama-cpp backend as the registry knows it: its configuration, the flags of its main
 * options, what it can do, and its services (with mull's MATH grader). A model that cannot be
 * loaded is reported at its field (`modelPath`, `judge.modelPath`); a missing node-llama-cpp with
 * the command that installs it.
 *
 * @since 0.1.0
 */
import { Effect, Layer } from "effect"
import * as MathGrader from "../../src/answer/MathGrader.ts"
import * as Backend from "../../src/services/Backend.ts"
import { decodeConfig, LlamaCppConfig } from "./Config.ts"
import { BACKEND, CAPABILITIES, layerConfig } from "./LlamaCpp.ts"
import type { LlamaCppLoadError } from "./Load.ts"

const loadProblem = (e: LlamaCppLoadError) =>
  // a missing package is not a field's problem: its message says what to install
  Backend.configError(BACKEND, e.path === "node-llama-cpp" ? undefined : e.path.split("."), e.problem)

/**
 * The llama-cpp backend's descriptor.
 *
 * @example
 * program.pipe(Effect.provide(backend.layer({ modelPath: "stories260K.gguf", threads: 1 })))
 */
export const backend: Backend.BackendDescriptor = Backend.make({
  name: BACKEND,
  description:
    "a GGUF model in-process via node-llama-cpp (CPU; --model-path, --threads); verifier: a next-token-probability judge (docs/backends.md)",
  config: LlamaCppConfig,
  decode: decodeConfig,
  flags: [
    { name: "model-path", kind: "text", path: ["modelPath"], description: "the GGUF model file" },
    { name: "threads", kind: "integer", path: ["threads"], description: "CPU threads (default: all cores but one)" },
    {
      name: "context-size",
      kind: "integer",
      path: ["contextSize"],
      description: "the context window in tokens (default: the model's, at most 4096)"
    },
    {
      name: "max-tokens",
      kind: "integer",
      path: ["maxTokens"],
      description: "default and largest output tokens of one call, the solution cap (default 512)"
    },
    {
      name: "step-tokens",
      kind: "integer",
      path: ["stepTokens"],
      description: "default output tokens of a step-wise call (default: --max-tokens)"
    }
  ],
  variants: [{ label: "", capabilities: CAPABILITIES, verifiers: "prm, orm (yes/no judge)" }],
  layer: (config) =>
    Layer.mergeAll(
      layerConfig(config).pipe(
        Layer.catchTag("LlamaCppLoadError", (e) => Layer.effectContext(Effect.fail(loadProblem(e))))
      ),
      MathGrader.layer
    )
})
