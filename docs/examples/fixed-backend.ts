/**
 * A backend of one's own, as one descriptor (docs/backends.md § Adding a backend): "fixed" answers
 * every question with the configured answer, n times, and has no verifier. It shows every part of
 * a descriptor: the configuration's Schema and its strict decoding, a CLI flag, what the backend
 * can do, and the layer of its services. `registry` adds it to mull's own backends;
 * fixed-backend.test.ts runs graphs on it.
 *
 * In your own project, import from "mull" instead of "../../src/index.ts".
 */
import { Effect, Layer, Schema } from "effect"
import {
  Answer,
  Backend,
  BackendError,
  registry as builtin,
  type Capability,
  ConfigSchema,
  type GenerateRequest,
  Generator,
  makeRegistry,
  Verifier
} from "../../src/index.ts"

/** The configuration: `{ "answer": "42", "tokens": 8 }` (tokens per solution, default 8). */
export const FixedConfig = Schema.Struct({
  answer: Schema.NonEmptyString,
  tokens: ConfigSchema.intField(8, 1, 1000, "output tokens of one solution")
})
type FixedConfig = typeof FixedConfig.Type

const CAPABILITIES: ReadonlySet<Capability> = new Set<Capability>(["seeded", "nSampling"])

/** The services of a decoded configuration: a generator, a verifier with no names, mull's grader. */
const layerConfig = (config: FixedConfig) =>
  Layer.mergeAll(
    Layer.succeed(Generator, {
      backend: "fixed",
      model: `fixed:${config.answer}`,
      params: 0,
      capabilities: CAPABILITIES,
      concurrency: 8,
      maxTokens: config.tokens,
      stepDelimiter: "\n\n",
      promptTokens: undefined,
      generate: (request: GenerateRequest) =>
        Effect.succeed({
          inputTokens: 0,
          generations: Array.from({ length: request.n }, () => ({
            steps: [{ text: `The answer is $\\boxed{${config.answer}}$.`, tokens: config.tokens }],
            done: true,
            answer: config.answer,
            outputTokens: config.tokens,
            finishReason: "end" as const
          }))
        })
    }),
    // no verifier names: graphs that score are refused at load, naming the missing verifier
    Layer.succeed(Verifier, {
      backend: "fixed",
      model: "none",
      params: 0,
      verifiers: [],
      concurrency: 1,
      inputTokens: undefined,
      score: () =>
        Effect.fail(BackendError.backendError({ backend: "fixed", operation: "score" }, "Unsupported", "no verifier"))
    }),
    Answer.layer
  )

/** The descriptor: everything mull needs to know of the backend. */
export const fixed: Backend.BackendDescriptor = Backend.make({
  name: "fixed",
  description: "answers every question with the configured answer",
  config: FixedConfig,
  decode: ConfigSchema.decodeStrict("fixed", FixedConfig),
  flags: [{ name: "fixed-answer", kind: "text", path: ["answer"], description: "the answer it gives" }],
  variants: [{ label: "", capabilities: CAPABILITIES, verifiers: "none" }],
  layer: layerConfig
})

/** mull's backends and this one; `module` lets a parallel sweep load it in each worker thread. */
export const registry = makeRegistry([...builtin.backends, fixed], { module: import.meta.url })
