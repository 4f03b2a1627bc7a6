/**
 * The simulated backend as the registry knows it: its configuration, what it can do, and its
 * services (with mull's MATH grader).
 *
 * @since 0.1.0
 */
import { Layer } from "effect"
import * as MathGrader from "../../src/answer/MathGrader.ts"
import * as Backend from "../../src/services/Backend.ts"
import { decodeConfig, SimulatedConfig } from "./Config.ts"
import { BACKEND, CAPABILITIES, layerConfig } from "./Simulated.ts"

/**
 * The simulated backend's descriptor.
 *
 * @example
 * program.pipe(Effect.provide(backend.layer({ worldSeed: 1 })))
 */
export const backend: Backend.BackendDescriptor = Backend.make({
  name: BACKEND,
  description: "the embedded simulated reasoner and PRM (docs/simulator.md)",
  config: SimulatedConfig,
  decode: decodeConfig,
  variants: [{ label: "", capabilities: CAPABILITIES, verifiers: "prm, orm" }],
  simulator: true,
  layer: (config) => Layer.mergeAll(layerConfig(config), MathGrader.layer)
})
