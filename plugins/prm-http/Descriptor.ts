/**
 * prm-http as a part of another backend: the openai backend's verifier. Not a backend of its own
 * (it has no generator), so it is not in the registry; the openai descriptor nests its
 * configuration at `verifier` and its flags (`--prm-url`, `--prm-model`) with it.
 *
 * @since 0.1.0
 */
import type { BackendFlag } from "../../src/services/Backend.ts"
import { PrmHttpConfig, resolveConfig } from "./Config.ts"
import { BACKEND, layerNoDeps, make, VERIFIERS } from "./PrmHttp.ts"

/**
 * The prm-http verifier, as a backend embeds it: its name, configuration Schema and decoding,
 * flags (paths relative to its configuration), verifier names, and its service over an
 * `HttpClient`.
 *
 * @example
 * const config = yield* verifier.decode({ baseUrl: "http://localhost:8001", model: "Qwen/Qwen2.5-Math-PRM-7B" })
 * const shape = yield* verifier.make(config)
 */
export const verifier = {
  name: BACKEND,
  description: "a process reward model behind HTTP (vLLM pooling, logprob judges)",
  config: PrmHttpConfig,
  decode: resolveConfig,
  flags: [
    {
      name: "prm-url",
      kind: "text",
      path: ["baseUrl"],
      description: "a prm-http reward model server as verifier (default: MULL_PRM_URL)"
    },
    { name: "prm-model", kind: "text", path: ["model"], description: "the reward model (default: MULL_PRM_MODEL)" }
  ] satisfies ReadonlyArray<BackendFlag>,
  verifiers: VERIFIERS,
  make,
  layerNoDeps
} as const
