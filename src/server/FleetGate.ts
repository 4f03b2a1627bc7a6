/**
 * The fleet budget at the door of `POST /v1/chat/completions` (`mull serve --budget-store URL`):
 * the bearer token is a tenant's API key (401 otherwise); the request reserves its worst case —
 * its budget, lowered per meter to the graph's static cost bound — from what the tenant has left,
 * and runs with a budget no larger than what it got; or it is refused with 429, what remains per
 * meter, when the exhausted windows reset, and `Retry-After`. What the run used is committed when
 * it ends, however it ends (`settle`, once).
 *
 * @since 0.2.0
 */
import { Effect } from "effect"
import { type HttpServerRequest, HttpServerResponse } from "effect/http"
import type * as Limits from "../budget/Limits.ts"
import { METERS, type Meter, type Usage } from "../domain/Usage.ts"
import { staticCost } from "../graph/Cost.ts"
import type { LoadedGraph } from "../graph/Loader.ts"
import type { Params } from "../graph/Scope.ts"
import { narrow } from "./FleetAdmission.ts"
import type { FleetBudgetShape, Lease } from "./FleetBudget.ts"
import { fail } from "./Http.ts"
import * as Wire from "./Wire.ts"

/** A request the fleet budget let in: the budget it may spend, and how to record what it spent. */
export interface Admitted {
  readonly tenant: string
  readonly budget: Limits.Limits
  /** commits what the run used and drops its reservation (runs once; later calls do nothing) */
  readonly settle: (used: Usage) => Effect.Effect<void>
}

/** What the chat handler asks of a fleet budget. */
export interface FleetGate {
  /** the tenant of the request's bearer key; 401 without a known key */
  readonly tenantOf: (request: HttpServerRequest.HttpServerRequest) => ReturnType<typeof tenantOf>
  /** reserves for a planned request: admitted, or the 429 (or 503) response to send */
  readonly admit: (input: {
    readonly tenant: string
    readonly loaded: LoadedGraph
    readonly params: Params
    readonly budget: Limits.Limits
    /** the generator's largest `maxTokens` of one call */
    readonly maxTokens: number
    readonly firstCall: Usage
  }) => Effect.Effect<Admitted | HttpServerResponse.HttpServerResponse>
}

const tenantOf = (fleet: FleetBudgetShape, request: HttpServerRequest.HttpServerRequest) =>
  Effect.gen(function* () {
    const header = request.headers.authorization ?? ""
    const key = header.startsWith("Bearer ") ? header.slice(7).trim() : ""
    if (key === "")
      return yield* fail(401, "this server bills tenants: send Authorization: Bearer <your API key>", "invalid_api_key")
    const tenant = yield* fleet
      .authenticate(key)
      .pipe(
        Effect.catch(() => fail(503, "the fleet budget store is unavailable; try again", "budget_store_unavailable"))
      )
    if (tenant === undefined) return yield* fail(401, "unknown API key", "invalid_api_key")
    return tenant
  })

/**
 * What a request may spend at most, per meter: its budget, lowered to the static bound.
 *
 * @example
 * worstCase(loaded, { N: 16 }, { sequences: 4096 }, 1024) // { sequences: 16, outputTokens: 16384, … }
 */
export const worstCase = (
  loaded: LoadedGraph,
  params: Params,
  budget: Limits.Limits,
  maxTokens: number
): Limits.Limits => {
  const bound = staticCost(loaded, { params, limits: budget, maxTokens }).usage
  const out: Partial<Record<Meter, number>> = {}
  for (const meter of METERS) {
    const w = Math.min(budget[meter] ?? Number.POSITIVE_INFINITY, bound[meter])
    if (Number.isFinite(w)) out[meter] = w
  }
  return out
}

/**
 * A gate over a fleet budget.
 *
 * @example
 * const parts = { ...(yield* Server.makeParts(policy)), fleet: gate(fleet) }
 */
export const gate = (fleet: FleetBudgetShape): FleetGate => ({
  tenantOf: (request) => tenantOf(fleet, request),
  admit: ({ tenant, loaded, params, budget, maxTokens, firstCall }) =>
    Effect.gen(function* () {
      const want = worstCase(loaded, params, budget, maxTokens)
      const admission = yield* fleet.reserve(tenant, want, firstCall).pipe(Effect.result)
      if (admission._tag === "Failure")
        return HttpServerResponse.jsonUnsafe(
          Wire.errorBody(503, "the fleet budget store is unavailable; try again", "budget_store_unavailable"),
          { status: 503, headers: { "retry-after": "1" } }
        )
      const a = admission.success
      if (a._tag === "Refused") {
        const what = a.exhausted.map((m) => `${m} (${a.remaining[m] ?? 0} left)`).join(", ")
        const body = Wire.errorBody(
          429,
          `tenant ${tenant} has too little budget left for this request: ${what}`,
          "tenant_budget_exhausted"
        ) as { readonly error: object }
        return HttpServerResponse.jsonUnsafe(
          {
            ...body,
            mull: { tenant, exhausted: a.exhausted, remaining: a.remaining, resets: a.resets }
          },
          { status: 429, headers: { "retry-after": String(a.retryAfterSeconds) } }
        )
      }
      const lease: Lease = a.lease
      let settled = false
      const settle = (used: Usage) =>
        Effect.suspend(() => {
          if (settled) return Effect.void
          settled = true
          return fleet
            .commit(lease, used)
            .pipe(
              Effect.catch((e) =>
                Effect.logWarning(`fleet budget: could not commit the usage of tenant ${tenant}: ${e.message}`)
              )
            )
        })
      return { tenant, budget: narrow(budget, lease.granted), settle } satisfies Admitted
    })
})

/** Whether an admission let the request in. */
export const isAdmitted = (a: Admitted | HttpServerResponse.HttpServerResponse): a is Admitted =>
  "settle" in a && typeof a.settle === "function"
