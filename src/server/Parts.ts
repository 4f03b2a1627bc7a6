/**
 * Everything a running server holds: its policy, the graphs it serves, its metrics, the backend
 * services its runs use, its admission controls, and the signal that it is shutting down.
 *
 * @since 0.2.0
 */
import type { Deferred } from "effect"
import type * as Pricing from "../budget/Pricing.ts"
import type { AdmissionShape } from "./Admission.ts"
import type { Catalog, ServedContext } from "./Catalog.ts"
import type { FleetGate } from "./FleetGate.ts"
import type * as Metrics from "./Metrics.ts"
import type { Policy } from "./Policy.ts"

/** Everything a server needs: its policy, graphs, metrics, backend and admission. */
export interface ServerParts {
  readonly policy: Policy
  readonly catalog: Catalog
  readonly metrics: Metrics.Metrics
  readonly context: ServedContext
  /**
   * the pricing of every run (the policy's prices, then the backend's, then the table): the
   * backend and the prices are fixed for the server's life, so it is resolved once, at start
   */
  readonly pricing: Pricing.Pricing
  /** a simulated backend for the cost route's dry runs (expected spend); absent: none are made */
  readonly planner?: ServedContext | undefined
  /** admission of chat completions */
  readonly admission: AdmissionShape
  /** admission of graph validations and costings (CPU work, with its own small limit) */
  readonly graphAdmission: AdmissionShape
  /** completed when the server starts shutting down: requests then have `drainMs` to finish */
  readonly draining: Deferred.Deferred<void>
  /** a fleet budget shared with other replicas (`--budget-store`): tenants' keys and limits */
  readonly fleet?: FleetGate | undefined
}
