/**
 * The replay backend: recorded completions and reward scores (the Qwen pool format and a generic
 * JSONL format), seeded sampling without replacement, and a clear refusal of step-level search.
 * Its descriptor is `backend`. See docs/replay.md.
 *
 * @since 0.1.0
 */
export { decodeConfig, ReplayConfig, type ReplayConfigInput, type ResolvedReplayConfig } from "./Config.ts"
export { backend } from "./Descriptor.ts"
export { generate, STEP_DELIMITER, STEP_LEVEL_REFUSAL, toGeneration } from "./Generate.ts"
export { exactAnswerKey, labelGrader } from "./Grading.ts"
export { loadJsonlPool, parseJsonlRecord } from "./JsonlPool.ts"
export { isReplayLatent, lastLatent, type ReplayLatent } from "./Latent.ts"
export { draw, permutation } from "./Order.ts"
export {
  hasRewards,
  makeDataset,
  type Pool,
  type RecordedResponse,
  type ReplayDataset,
  recordedLabel
} from "./Pool.ts"
export { loadQwenPool, parseQwenRecord, QWEN_POOL, qwenPoolPath } from "./QwenPool.ts"
export {
  BACKEND,
  CAPABILITIES,
  fromDataset,
  layer,
  layerBackend,
  layerConfig,
  layerDataset,
  loadDataset,
  make,
  problems,
  type ReplayBackend,
  type ReplayServices
} from "./Replay.ts"
export { scoreCandidate, sigmoid, VERIFIERS } from "./Score.ts"
export { approximateTokens, truncateTokens } from "./Tokens.ts"
