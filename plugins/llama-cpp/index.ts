/**
 * The llama-cpp backend: a GGUF model in the same process through node-llama-cpp (an optional
 * peer dependency, imported only when this backend is built). Its descriptor is `backend`. See
 * docs/backends.md.
 *
 * @since 0.1.0
 */
export {
  continuationSeed,
  type RawCompletion,
  type StopReason,
  splitSteps,
  stepTokenCounts,
  toGeneration
} from "./Completion.ts"
export {
  decodeConfig,
  defaultThreads,
  JudgeConfig,
  LlamaCppConfig,
  type LlamaCppConfigInput,
  type ResolvedLlamaCppConfig,
  resolveTemplate
} from "./Config.ts"
export { backend } from "./Descriptor.ts"
export {
  evaluatedTokens,
  type JudgeTokens,
  judgedPrefixes,
  judgeScore,
  judgeTokens,
  reuse,
  VERIFIERS
} from "./Judge.ts"
export {
  BACKEND,
  CAPABILITIES,
  type LlamaCppBackend,
  type LlamaCppServices,
  layer,
  layerConfig,
  make
} from "./LlamaCpp.ts"
export {
  acquireLlama,
  checkFile,
  importNodeLlamaCpp,
  LlamaCppLoadError,
  loadModel,
  NODE_LLAMA_CPP_VERSION
} from "./Load.ts"
export { type Memo, makeMemo } from "./Memo.ts"
export { makeSerial, type Serial } from "./Serial.ts"
