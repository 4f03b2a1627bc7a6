/**
 * Loading node-llama-cpp and a GGUF model, in a scope that disposes them. The package is an
 * optional peer dependency: it is imported only here, and only when the backend is built, so
 * mull runs without it unless this backend is chosen.
 *
 * @since 0.1.0
 */
import { existsSync } from "node:fs"
import { Effect, Schema, type Scope } from "effect"
import type { Llama, LlamaModel } from "node-llama-cpp"

/** The version mull is tested with; newer releases may not install with `npm ci`. */
export const NODE_LLAMA_CPP_VERSION = "3.21.1"

/** node-llama-cpp is missing, or the model cannot be loaded. */
export class LlamaCppLoadError extends Schema.TaggedError<LlamaCppLoadError>()("LlamaCppLoadError", {
  /** the config field at fault (`modelPath`, `judge.modelPath`) or `node-llama-cpp` */
  path: Schema.String,
  /** what is wrong with it */
  problem: Schema.String
}) {
  override get message(): string {
    return this.path === "node-llama-cpp" ? this.problem : `${this.path}: ${this.problem}`
  }
}

type NodeLlamaCpp = typeof import("node-llama-cpp")

const describe = (e: unknown): string => (e instanceof Error ? e.message : String(e))

/**
 * Imports node-llama-cpp, or fails with the command that installs it.
 *
 * @example
 * const { getLlama, LlamaLogLevel } = yield* importNodeLlamaCpp
 */
export const importNodeLlamaCpp: Effect.Effect<NodeLlamaCpp, LlamaCppLoadError> = Effect.tryPromise({
  try: () => import("node-llama-cpp"),
  catch: (e) =>
    new LlamaCppLoadError({
      path: "node-llama-cpp",
      problem: `the llama-cpp backend needs the node-llama-cpp package (${describe(e)}); install it with: npm i -E node-llama-cpp@${NODE_LLAMA_CPP_VERSION}`
    })
})

/**
 * A CPU-only llama.cpp runtime with `threads` threads, disposed when the scope closes. The
 * prebuilt binary is used as is (`build: "never"`): nothing is compiled or downloaded.
 *
 * @example
 * const llama = yield* acquireLlama(2)
 */
export const acquireLlama = Effect.fn("llama-cpp.acquireLlama")(function* (
  threads: number
): Effect.fn.Return<Llama, LlamaCppLoadError, Scope.Scope> {
  const { getLlama, LlamaLogLevel } = yield* importNodeLlamaCpp
  return yield* Effect.acquireRelease(
    Effect.tryPromise({
      try: () => getLlama({ gpu: false, build: "never", maxThreads: threads, logLevel: LlamaLogLevel.error }),
      catch: (e) => new LlamaCppLoadError({ path: "node-llama-cpp", problem: `cannot start llama.cpp: ${describe(e)}` })
    }),
    (llama) => Effect.promise(() => llama.dispose())
  )
})

/**
 * Fails unless a model file exists (checked before llama.cpp starts, so a typo fails fast).
 *
 * @example
 * yield* checkFile("/data/stories260K.gguf", "modelPath")
 */
export const checkFile = (file: string, path: string): Effect.Effect<void, LlamaCppLoadError> =>
  existsSync(file) ? Effect.void : Effect.fail(new LlamaCppLoadError({ path, problem: `no such file: ${file}` }))

/**
 * Loads a GGUF file (disposed with the scope); `path` names the config field in errors.
 *
 * @example
 * const model = yield* loadModel(llama, "/data/stories260K.gguf", "modelPath")
 */
export const loadModel = Effect.fn("llama-cpp.loadModel")(function* (
  llama: Llama,
  modelPath: string,
  path: string
): Effect.fn.Return<LlamaModel, LlamaCppLoadError, Scope.Scope> {
  yield* checkFile(modelPath, path)
  return yield* Effect.acquireRelease(
    Effect.tryPromise({
      try: () => llama.loadModel({ modelPath }),
      catch: (e) => new LlamaCppLoadError({ path, problem: `cannot load ${modelPath}: ${describe(e)}` })
    }),
    (model) => Effect.promise(() => model.dispose())
  )
})
