/**
 * The fault-injecting wrapper: seeded backend faults around any generator and verifier, for
 * robustness tests (docs/reliability.md).
 *
 * @since 0.1.0
 */
export { type FaultCounts, type FaultOptions, layer, makeCounts, wrapGenerator, wrapVerifier } from "./Faults.ts"
export {
  check,
  draw,
  FaultSchedule,
  GENERATOR_FAULTS,
  type GeneratorFault,
  VERIFIER_FAULTS,
  type VerifierFault
} from "./Schedule.ts"
