/**
 * The simulated backend (the embedded default): a deterministic simulated reasoner and PRM; its
 * descriptor is `backend`. See docs/simulator.md.
 *
 * @since 0.1.0
 */
export {
  decodeConfig,
  decodeConfigUnsafe,
  defaultConfig,
  MODELS,
  type Model,
  SimulatedConfig,
  type SimulatedConfigInput,
  V1_PRESET,
  withModelDefaults
} from "./Config.ts"
export { backend } from "./Descriptor.ts"
export { isCorrect, isSimLatent, type LineageState, lastLatent, type SimLatent } from "./Latent.ts"
export { BACKEND, CAPABILITIES, layer, layerConfig, make, type SimulatedBackend } from "./Simulated.ts"
export { countTokens } from "./Tokens.ts"
export { makeWorld, type World } from "./World.ts"
