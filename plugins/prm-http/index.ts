/**
 * The prm-http verifier: process reward models behind HTTP — vLLM's pooling endpoint for
 * Qwen2.5-Math-PRM-style models, and "+"/"-" next-token probabilities through a completions
 * endpoint (Math-Shepherd, RLHFlow). The openai backend's verifier (`verifier`, nested in its
 * descriptor). See docs/backends.md.
 *
 * @since 0.1.0
 */
export {
  FORMATS,
  type Format,
  MODES,
  type Mode,
  PrmHttpConfig,
  type PrmHttpConfigInput,
  type ResolvedPrmHttpConfig,
  resolveConfig
} from "./Config.ts"
export { verifier } from "./Descriptor.ts"
export { BACKEND, layerConfig, layerNoDeps, make, VERIFIERS } from "./PrmHttp.ts"
export { logprobPrompt, poolingInput, scoredSteps } from "./Prompts.ts"
export { plusProbability, poolingScores } from "./Scores.ts"
export { LogprobsResponse, PoolingResponse } from "./Wire.ts"
