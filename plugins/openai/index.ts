/**
 * The openai backend: any OpenAI-compatible server (vLLM, SGLang, llama.cpp's server, Ollama,
 * OpenAI) as mull's generator, with a prm-http reward model as its verifier. Its descriptor is
 * `backend`. See docs/backends.md.
 *
 * @since 0.1.0
 */
export {
  OpenAiConfig,
  type OpenAiConfigInput,
  PROFILES,
  type ResolvedOpenAiConfig,
  resolveConfig,
  SERVERS,
  type ServerKind,
  type ServerProfile,
  STEP_MODES,
  type StepMode
} from "./Config.ts"
export { backend } from "./Descriptor.ts"
export { type Choice, outputTokensOf, type Shape, splitTotal, toGeneration } from "./Generations.ts"
export {
  BACKEND,
  capabilitiesOf,
  layerConfig,
  layerNoDeps,
  make,
  NO_VERIFIER,
  noVerifier,
  profileCapabilities
} from "./OpenAi.ts"
export { bodyOf, isRefusal, promptBound, promptKey, type Route, routeOf, seedOf, tokenizeBodyOf } from "./Request.ts"
export { ChatResponse, CompletionResponse, TokenizeResponse } from "./Wire.ts"
