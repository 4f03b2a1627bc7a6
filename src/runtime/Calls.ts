/**
 * Metered backend calls. Every call of a node is reserved first, *in population order, before any
 * call starts*, so which calls the budget pays for never depends on concurrency or timing; then
 * the paid calls run concurrently (bounded by the backend's permits) and each commits what it
 * really used. Reservations live in the node's scope: a failure or interruption releases them.
 *
 * @since 0.1.0
 */
import { Clock, Effect, Random, type Scope } from "effect"
import type { BudgetRefused, Reservation, ReserveRequest } from "../budget/Ledger.ts"
import type { Candidate } from "../domain/Candidate.ts"
import { seedOf } from "../domain/Hash.ts"
import * as Usage from "../domain/Usage.ts"
import { type BackendError, backendError } from "../services/BackendError.ts"
import type { GenerateRequest, GenerateResult } from "../services/Generator.ts"
import * as Retry from "../services/Retry.ts"
import type { ScoreResult } from "../services/Verifier.ts"
import type { Frame } from "./Env.ts"

/**
 * Reserves each request in order; stops at the first refusal (marking the run exhausted), so the
 * result is a paid prefix followed by `undefined`s. A partial grant (fewer units than asked) marks
 * the run exhausted too: the answer then comes from what could be paid for.
 *
 * @example
 * const reservations = yield* reserveInOrder(frame, requests)
 */
export const reserveInOrder = (
  frame: Frame,
  requests: ReadonlyArray<ReserveRequest>
): Effect.Effect<ReadonlyArray<Reservation | undefined>, never, Scope.Scope> => {
  const refuse = (request: ReserveRequest, refusal: BudgetRefused): Effect.Effect<void> => {
    frame.env.exhausted.value = true
    if (!frame.env.events.enabled) return Effect.void
    return frame.env.events.publish({
      _tag: "Refused",
      node: request.node,
      meter: refusal.meter,
      requested: refusal.requested,
      available: refusal.available
    })
  }
  const only = requests.length === 1 ? requests[0] : undefined
  // one request (a sample node, a single batch, a retry): no loop to drive
  if (only !== undefined)
    return Effect.matchEffect(frame.ledger.reserve(only), {
      onSuccess: (r) => {
        if (r.units < only.units) frame.env.exhausted.value = true
        return Effect.succeed([r])
      },
      onFailure: (refusal) => Effect.as(refuse(only, refusal), [undefined])
    })
  return Effect.gen(function* () {
    const out: Array<Reservation | undefined> = []
    let refused = false
    for (const request of requests) {
      if (refused) {
        out.push(undefined)
        continue
      }
      const r = yield* Effect.result(frame.ledger.reserve(request))
      if (r._tag === "Success") {
        out.push(r.success)
        if (r.success.units < request.units) frame.env.exhausted.value = true
      } else {
        refused = true
        out.push(undefined)
        yield* refuse(request, r.failure)
      }
    }
    return out
  })
}

/**
 * Commits a reservation and publishes the charge.
 *
 * @example
 * yield* commit(frame, reservation, actual, spent)
 */
export const commit = (
  frame: Frame,
  reservation: Reservation,
  actual: Usage.Usage,
  spent: Usage.Usage = actual
): Effect.Effect<void> => {
  const committed = frame.ledger.commit(reservation, actual, spent)
  // with no listener there is no event to build: the commit is all there is to do
  if (!frame.env.events.enabled) return committed
  const events = frame.env.events
  return Effect.gen(function* () {
    yield* committed
    const snap = yield* frame.ledger.snapshot
    const at = yield* Clock.currentTimeMillis
    yield* events.publish({
      _tag: "Charged",
      node: reservation.node,
      usage: actual,
      total: snap.committed,
      at
    })
  })
}

/** What a paid attempt returns: its value, and its logical and real usage to commit. */
interface Paid<A> {
  readonly value: A
  readonly usage: Usage.Usage
  readonly spent: Usage.Usage
}

/**
 * Runs one paid call under the backend's retry policy. Every attempt reaches the backend, so every
 * attempt is a call on the ledger: a failed one commits one call (and its wall time) to its
 * reservation; a retry waits (backoff with jitter, or `retry-after`) and then reserves `again`
 * before it starts — if the ledger refuses, the call goes unpaid (`undefined`) and the run is
 * exhausted, as for any refusal. Commits are uninterruptible: once a backend has answered, its
 * spend is on the ledger even if the run is interrupted.
 *
 * @example
 * const result = yield* paidCall(frame, generator.retry, reservation, request, (r) => invoke(r))
 */
export const paidCall = <A>(
  frame: Frame,
  policy: Retry.RetryPolicy | undefined,
  first: Reservation,
  again: ReserveRequest,
  attempt: (reservation: Reservation) => Effect.Effect<Paid<A>, BackendError>
): Effect.Effect<A | undefined, BackendError, Scope.Scope> =>
  Effect.uninterruptibleMask((restore) =>
    // the clock is read directly: a call that succeeds is one effect and a commit, no generator
    Effect.clockWith((clock) => {
      const tryWith = (
        reservation: Reservation,
        retry: number
      ): Effect.Effect<A | undefined, BackendError, Scope.Scope> => {
        const t0 = clock.currentTimeMillisUnsafe()
        return Effect.matchEffect(restore(attempt(reservation)), {
          onSuccess: (paid) => Effect.as(commit(frame, reservation, paid.usage, paid.spent), paid.value),
          onFailure: (error) =>
            Effect.gen(function* () {
              const wallMs = clock.currentTimeMillisUnsafe() - t0
              yield* commit(frame, reservation, Usage.make({ calls: 1, wallMs }))
              if (policy === undefined || !error.retryable || retry >= policy.retries) return yield* Effect.fail(error)
              const unit = yield* Random.next
              yield* restore(Effect.sleep(Retry.delayMs(policy, retry + 1, error, unit)))
              const [next] = yield* reserveInOrder(frame, [again])
              if (next === undefined) return undefined
              return yield* tryWith(next, retry + 1)
            })
        })
      }
      return tryWith(first, 0)
    })
  )

/** One generation wanted by a node. */
export interface GenCall {
  /** the id that seeds the call: the fresh sample's, the parent's, or the revision's */
  readonly seedKey: string
  readonly prefix: Candidate | undefined
  readonly context?: ReadonlyArray<Candidate>
  readonly n: number
  /** least acceptable n (a partial grant); defaults to n */
  readonly minN?: number
  readonly until: "step" | "end"
  readonly temperature: number
  readonly maxTokens: number
}

/**
 * The backend request of a call, seeded by `seedOf(runSeed, problem, seedKey, node)`.
 *
 * @example
 * const request = requestOf(frame, "root.nodes.0", call, 1)
 */
export const requestOf = (frame: Frame, node: string, call: GenCall, n: number): GenerateRequest => ({
  problem: frame.env.problem,
  prefix: call.prefix,
  n,
  until: call.until,
  temperature: call.temperature,
  maxTokens: call.maxTokens,
  seed: seedOf(frame.env.runSeed, frame.env.problem.id, call.seedKey, node),
  ...(call.context === undefined ? {} : { context: call.context })
})

/**
 * What a generation call reserves: one call and its exact prompt tokens (when the backend has a
 * tokenizer) as the fixed part, one sequence and `maxTokens` output tokens per unit. `request` is
 * the call's request (`requestOf(frame, node, call, call.n)`) when the caller has built it already.
 *
 * @example
 * const r = generationReservation(frame, node, call)
 */
export const generationReservation = (
  frame: Frame,
  node: string,
  call: GenCall,
  request: GenerateRequest = requestOf(frame, node, call, call.n)
): ReserveRequest => {
  const prompt = frame.env.generator.promptTokens?.(request) ?? 0
  return {
    node,
    fixed: Usage.make({ calls: 1, inputTokens: prompt }),
    perUnit: Usage.make({ sequences: 1, outputTokens: call.maxTokens }),
    units: call.n,
    minUnits: call.minN ?? call.n
  }
}

/**
 * Calls the generator (holding one of its permits) and checks the response's shape. Returns the
 * result and the logical and real usage of the call.
 *
 * @example
 * const { result, usage } = yield* invokeGenerator(frame, request)
 */
export const invokeGenerator = (
  frame: Frame,
  request: GenerateRequest
): Effect.Effect<
  { readonly result: GenerateResult; readonly usage: Usage.Usage; readonly spent: Usage.Usage },
  BackendError
> =>
  frame.env.generatorPermits.withPermits(1)(
    Effect.clockWith((clock) => {
      const gen = frame.env.generator
      const t0 = clock.currentTimeMillisUnsafe()
      return Effect.flatMap(gen.generate(request), (result) => {
        const wallMs = clock.currentTimeMillisUnsafe() - t0
        if (result.generations.length !== request.n)
          return Effect.fail(
            backendError(
              { backend: gen.backend, operation: "generate" },
              "BadResponse",
              `asked for ${request.n} continuations, got ${result.generations.length}`
            )
          )
        let outputTokens = 0
        for (const [i, g] of result.generations.entries()) {
          if (!(Number.isInteger(g.outputTokens) && g.outputTokens >= 0 && g.outputTokens <= request.maxTokens))
            return Effect.fail(
              backendError(
                { backend: gen.backend, operation: "generate" },
                "BadResponse",
                `continuation ${i} reports ${g.outputTokens} output tokens; maxTokens is ${request.maxTokens}`
              )
            )
          outputTokens += g.outputTokens
        }
        const usage = Usage.make({
          calls: 1,
          sequences: request.n,
          inputTokens: result.inputTokens,
          outputTokens,
          wallMs
        })
        const spent = result.spent === undefined ? usage : Usage.make({ ...result.spent, wallMs })
        return Effect.succeed({ result, usage, spent })
      })
    })
  )

/**
 * Runs a node's generation calls: reserves them in order, runs the paid ones concurrently, commits
 * each. `undefined` marks a call the budget refused.
 *
 * @example
 * const results = yield* generate(frame, "root.nodes.0", calls)
 */
export const generate = (
  frame: Frame,
  node: string,
  calls: ReadonlyArray<GenCall>
): Effect.Effect<ReadonlyArray<GenerateResult | undefined>, BackendError> =>
  Effect.scoped(
    Effect.suspend(() => {
      // each call's request and reservation are built once: the seed (a 64-bit hash) and the
      // prompt's token count serve the reservation, the call and any retry's reservation
      const requests = calls.map((c) => requestOf(frame, node, c, c.n))
      const wanted = calls.map((c, i) => generationReservation(frame, node, c, requests[i]))
      return Effect.flatMap(reserveInOrder(frame, wanted), (reservations) => {
        const one = (i: number): Effect.Effect<GenerateResult | undefined, BackendError, Scope.Scope> => {
          const r = reservations[i]
          const full = requests[i]
          const asked = wanted[i]
          if (r === undefined || full === undefined || asked === undefined) return Effect.succeed(undefined)
          // a partial grant asks for fewer continuations, with the same seed
          const request = r.units === full.n ? full : { ...full, n: r.units }
          const again = { ...asked, units: r.units, minUnits: r.units }
          return paidCall(frame, frame.env.generator.retry, r, again, () =>
            Effect.map(invokeGenerator(frame, request), ({ result, usage, spent }) => ({ value: result, usage, spent }))
          )
        }
        // a single call (a sample node, a one-parent expansion) runs in this fiber: no fork to join
        if (calls.length === 1) return Effect.map(one(0), (r) => [r])
        return Effect.forEach(calls, (_, i) => one(i), { concurrency: "unbounded" })
      })
    })
  )

/**
 * Runs a node's verifier calls: the candidates go in batches (of at most the verifier's `maxBatch`),
 * one call each. Each batch is reserved in order before any call starts — one call, and per
 * candidate one verifier call and the exact tokens the verifier will read (when known) — and a
 * partial grant scores the batch's first candidates. Returns each candidate's step scores, or
 * `undefined` where the budget refused.
 *
 * @example
 * const scores = yield* score(frame, "root.nodes.1", "prm", candidates)
 */
export const score = (
  frame: Frame,
  node: string,
  verifierName: string,
  candidates: ReadonlyArray<Candidate>
): Effect.Effect<ReadonlyArray<ReadonlyArray<number> | undefined>, BackendError> =>
  Effect.scoped(
    Effect.gen(function* () {
      const v = frame.env.verifier
      const size = Math.max(1, Math.floor(v.maxBatch ?? candidates.length))
      const batches: Array<ReadonlyArray<Candidate>> = []
      for (let i = 0; i < candidates.length; i += size) batches.push(candidates.slice(i, i + size))
      // each candidate's cost (the verifier's token count of it) is computed once, for the batch's
      // reservation and any retry's
      const requestOfBatch = (unitCosts: ReadonlyArray<Usage.Usage>, minUnits: number): ReserveRequest => ({
        node,
        fixed: Usage.make({ calls: 1 }),
        perUnit: Usage.zero,
        units: unitCosts.length,
        minUnits,
        unitCosts
      })
      const costs = batches.map((batch) =>
        batch.map((c) => Usage.make({ verifierCalls: 1, verifierTokens: v.inputTokens?.(frame.env.problem, c) ?? 0 }))
      )
      const reservations = yield* reserveInOrder(
        frame,
        costs.map((unitCosts) => requestOfBatch(unitCosts, 1))
      )
      const one = (
        batch: ReadonlyArray<Candidate>,
        i: number
      ): Effect.Effect<ReadonlyArray<ReadonlyArray<number> | undefined>, BackendError, Scope.Scope> => {
        const r = reservations[i]
        if (r === undefined) return Effect.succeed(batch.map(() => undefined))
        const paid = batch.slice(0, r.units)
        const paidCosts = (costs[i] ?? []).slice(0, r.units)
        const attempt = Effect.gen(function* () {
          const t0 = yield* Clock.currentTimeMillis
          const result: ScoreResult = yield* frame.env.verifierPermits.withPermits(1)(
            v.score({ problem: frame.env.problem, candidates: paid, verifier: verifierName })
          )
          const wallMs = (yield* Clock.currentTimeMillis) - t0
          const ok =
            result.stepScores.length === paid.length &&
            result.stepScores.every((scores) => scores.length > 0 && scores.every((x) => x >= 0 && x <= 1))
          if (!ok)
            return yield* backendError(
              { backend: v.backend, operation: "score" },
              "BadResponse",
              `expected ${paid.length} non-empty lists of step scores in [0, 1], got ${JSON.stringify(result.stepScores).slice(0, 200)}`
            )
          const usage = Usage.make({
            calls: 1,
            verifierCalls: paid.length,
            verifierTokens: result.inputTokens,
            wallMs
          })
          const spent =
            result.spent === undefined
              ? usage
              : Usage.make({
                  calls: result.spent.calls,
                  verifierCalls: result.spent.calls === 0 ? 0 : paid.length,
                  verifierTokens: result.spent.inputTokens,
                  wallMs
                })
          return { value: result.stepScores, usage, spent }
        })
        return Effect.map(
          paidCall(frame, v.retry, r, requestOfBatch(paidCosts, paid.length), () => attempt),
          (stepScores) => batch.map((_, j): ReadonlyArray<number> | undefined => stepScores?.[j])
        )
      }
      // one batch (the usual case: the verifier takes them all) runs in this fiber: no fork to join
      const only = batches.length === 1 ? batches[0] : undefined
      if (only !== undefined) return yield* one(only, 0)
      const scored = yield* Effect.forEach(batches, one, { concurrency: "unbounded" })
      return scored.flat()
    })
  )
