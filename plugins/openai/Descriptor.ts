/**
 * The openai backend as the registry knows it: its configuration (with a prm-http reward model as
 * its verifier, nested at `verifier`), the flags that point it at a server, what each kind of
 * server can do, and its services (with mull's MATH grader). Without a verifier its `Verifier`
 * answers to no name, so graphs that score are refused at load (`NO_VERIFIER`).
 *
 * @since 0.1.0
 */
import { Context, Effect, Layer } from "effect"
import { FetchHttpClient } from "effect/http"
import * as MathGrader from "../../src/answer/MathGrader.ts"
import * as Backend from "../../src/services/Backend.ts"
import { Generator } from "../../src/services/Generator.ts"
import { Verifier } from "../../src/services/Verifier.ts"
import * as PrmHttp from "../prm-http/index.ts"
import { OpenAiConfig, type ResolvedOpenAiConfig, resolveConfig, SERVERS } from "./Config.ts"
import { BACKEND, make, noVerifier, profileCapabilities } from "./OpenAi.ts"

/** The generator and verifier of a resolved configuration, over the platform's `fetch`. */
const services = (config: ResolvedOpenAiConfig) =>
  Layer.effectContext(
    Effect.gen(function* () {
      const { generator } = yield* make(config)
      const verifier = config.verifier === undefined ? noVerifier : yield* PrmHttp.verifier.make(config.verifier)
      return Context.make(Generator, generator).pipe(Context.add(Verifier, verifier))
    })
  ).pipe(Layer.provide(FetchHttpClient.layer))

/**
 * The openai backend's descriptor.
 *
 * @example
 * program.pipe(Effect.provide(backend.layer({ baseUrl: "http://localhost:8000/v1", model: "Qwen/Qwen2.5-Math-1.5B-Instruct" })))
 */
export const backend: Backend.BackendDescriptor = Backend.make({
  name: BACKEND,
  description: "an OpenAI-compatible server; verifier: a prm-http reward model (docs/backends.md)",
  config: OpenAiConfig,
  decode: resolveConfig,
  flags: [
    {
      name: "base-url",
      kind: "text",
      path: ["baseUrl"],
      description: "the API root, e.g. http://localhost:8000/v1 (default: MULL_BASE_URL)"
    },
    { name: "model", kind: "text", path: ["model"], description: "the served model (default: MULL_MODEL)" },
    {
      name: "server",
      kind: "text",
      path: ["server"],
      description: `${SERVERS.slice(0, -1).join(", ")} or ${SERVERS.at(-1)} (default: MULL_SERVER, else vllm)`
    },
    {
      name: "api-key",
      kind: "secret",
      path: ["apiKey"],
      description: "the API key (prefer MULL_API_KEY: a flag shows in the process list)"
    },
    // the verifier's flags, at its place in this configuration
    ...PrmHttp.verifier.flags.map((f) => ({ ...f, path: ["verifier", ...f.path] }))
  ],
  variants: SERVERS.map((server) => ({
    label: `server ${server}`,
    capabilities: profileCapabilities(server),
    verifiers: "prm, orm with a prm-http verifier; none without"
  })),
  layer: (config) => Layer.mergeAll(services(config), MathGrader.layer)
})
