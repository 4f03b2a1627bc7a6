/**
 * Metered backend calls. Which calls the budget pays for never depends on concurrency or timing:
 *
 * 1. **Up front, in population order**, each call of a node reserves its whole worst case (its
 *    sequences, each at the call's `max_tokens` cap; one request — or one per sequence on a server
 *    without `n`; its prompt's tokens). Reservations stop at the first call that does not fit
 *    whole, and the calls reserved so far run concurrently (bounded by the backend's permits).
 * 2. **Then, one at a time**, once every earlier call has settled (committed what it really used
 *    and released the rest), each remaining call reserves what fits: as many of its sequences as
 *    fit at the full cap, else one sequence with `max_tokens` shrunk to what remains (a *partial
 *    grant in tokens*: the output is marked `cut`), and goes on with its remaining sequences
 *    (continuation indices after those paid) until it has them all or the budget refuses. A
 *    refusal marks the run exhausted and no later call of the node is made.
 *
 * Each grant in step 2 depends only on what earlier calls used, so a run is the same at any
 * concurrency. Work that completes a candidate (`finishing`) may draw on the run's reserve (the
 * ledger's hold; see `Finish.ts`).
 *
 * What an attempt is charged: what it used when it succeeds; when it fails, what the provider may
 * have done — one call per request for a refusal the provider answered before doing any work (a
 * rate limit, a rejected request), otherwise (a timeout, a cut connection, a malformed or short
 * reply, an interruption after the request was sent) the attempt's whole reservation, so a limit
 * bounds what the backend really did. A retry reserves again before it starts. Reservations live
 * in the node's scope: a failure or interruption before a request is sent releases them.
 *
 * The functions here are separate steps (reserve, invoke, charge, the two phases) so that
 * instrumentation (spans, attributes) can wrap each without touching the protocol.
 *
 * @since 0.1.0
 */
import { Cause, Clock, Effect, type Exit, Random, Result, type Scope, type Types } from "effect"
import type { BudgetRefused, Reservation, ReserveRequest } from "../budget/Ledger.ts"
import type { Candidate } from "../domain/Candidate.ts"
import { seedOf } from "../domain/Hash.ts"
import * as Usage from "../domain/Usage.ts"
import { type BackendError, backendError } from "../services/BackendError.ts"
import type {
  AnswerNow,
  GenerateRequest,
  GenerateResult,
  Generation,
  GeneratorShape,
  StopBelow,
  ThinkRequest
} from "../services/Generator.ts"
import * as Retry from "../services/Retry.ts"
import type { ScoreResult } from "../services/Verifier.ts"
import { type Frame, openPermits } from "./Env.ts"
import * as Spans from "./Spans.ts"

/** Publishes a refusal and marks the run exhausted. */
const refused = (frame: Frame, request: ReserveRequest, refusal: BudgetRefused): Effect.Effect<void> => {
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

/**
 * Reserves each request in order; stops at the first refusal (marking the run exhausted), so the
 * result is a paid prefix followed by `undefined`s. A partial grant (fewer units than asked, or a
 * shrunk meter) marks the run exhausted too: the answer then comes from what could be paid for.
 *
 * @example
 * const reservations = yield* reserveInOrder(frame, requests)
 */
export const reserveInOrder = (
  frame: Frame,
  requests: ReadonlyArray<ReserveRequest>
): Effect.Effect<ReadonlyArray<Reservation | undefined>, never, Scope.Scope> => {
  const partial = (request: ReserveRequest, r: Reservation) => {
    if (r.units < request.units || r.shrunk !== undefined) frame.env.exhausted.value = true
  }
  const only = requests.length === 1 ? requests[0] : undefined
  // one request (a sample node, a single batch, a retry): no loop to drive
  if (only !== undefined)
    return Effect.matchEffect(frame.ledger.reserve(only), {
      onSuccess: (r) => {
        partial(only, r)
        return Effect.succeed([r])
      },
      onFailure: (refusal) => Effect.as(refused(frame, only, refusal), [undefined])
    })
  return reserveEach(frame, requests)
}

// Generator functions on the hot path are written once, at module level: V8 takes several µs to
// create a generator closure (measured: ≈ 5 µs against ≈ 0.3 µs to call a hoisted one), more
// than most of the bookkeeping around a backend call. The requests are reserved in one ledger
// step (`reserveAll`), then read as `reserve`'s results would have been, one by one.
const reserveEach = Effect.fnUntraced(function* (frame: Frame, requests: ReadonlyArray<ReserveRequest>) {
  const granted = yield* frame.ledger.reserveAll(requests)
  const out: Array<Reservation | undefined> = []
  for (let i = 0; i < granted.reservations.length; i++) {
    const r = granted.reservations[i] as Reservation
    const request = requests[i] as ReserveRequest
    out.push(r)
    if (r.units < request.units || r.shrunk !== undefined) frame.env.exhausted.value = true
  }
  if (granted.refusal !== undefined) yield* refused(frame, requests[out.length] as ReserveRequest, granted.refusal)
  while (out.length < requests.length) out.push(undefined)
  return out
})

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
  return publishCharge(frame, reservation, actual, committed)
}

const publishCharge = Effect.fnUntraced(function* (
  frame: Frame,
  reservation: Reservation,
  actual: Usage.Usage,
  committed: Effect.Effect<void>
) {
  yield* committed
  const snap = yield* frame.ledger.snapshot
  const at = yield* Clock.currentTimeMillis
  yield* frame.env.events.publish({
    _tag: "Charged",
    node: reservation.node,
    usage: actual,
    total: snap.committed,
    at
  })
})

/** What a paid attempt returns: its value, and its logical and real usage to commit. */
interface Paid<A> {
  readonly value: A
  readonly usage: Usage.Usage
  readonly spent: Usage.Usage
}

/** Whether a request has reached the backend (set just before the backend is called). */
export interface Sent {
  value: boolean
}

/**
 * Failures the provider answers before doing any work: a rate limit, a request it rejects. Every
 * other failure (a timeout, a cut connection, a malformed or short reply) may come after the work
 * was done and billed.
 */
const NOTHING_DONE: ReadonlySet<string> = new Set(["RateLimited", "InvalidRequest", "Unsupported"])

/**
 * What a failed attempt is charged: one call per request it sent when the provider refused before
 * working, otherwise everything the attempt reserved (what the provider may have done).
 *
 * @example
 * failureCharge(reservation, error, 120) // reservation.usage with wallMs 120, for a timeout
 */
export const failureCharge = (reservation: Reservation, error: BackendError | undefined, wallMs: number) =>
  error !== undefined && NOTHING_DONE.has(error.reason._tag)
    ? Usage.make({ calls: reservation.usage.calls, wallMs })
    : { ...reservation.usage, flops: 0, usd: 0, wallMs }

/**
 * Runs one paid call under the backend's retry policy. Every attempt reaches the backend, so every
 * attempt is paid: a failed one is charged `failureCharge` (and its wall time); a retry waits
 * (backoff with jitter, or `retry-after`) and then reserves `again` before it starts — if the
 * ledger refuses, the call goes unpaid (`undefined`) and the run is exhausted, as for any refusal.
 * An attempt interrupted after its request was sent is charged its whole reservation. Commits are
 * uninterruptible: once a backend has answered, its spend is on the ledger even if the run is
 * interrupted.
 *
 * @example
 * const result = yield* paidCall(frame, generator.retry, reservation, request, (r, sent) => invoke(r, sent))
 */
export const paidCall = <A>(
  frame: Frame,
  policy: Retry.RetryPolicy | undefined,
  first: Reservation,
  again: ReserveRequest | (() => ReserveRequest),
  attempt: (reservation: Reservation, sent: Sent) => Effect.Effect<Paid<A>, BackendError>
): Effect.Effect<A | undefined, BackendError, Scope.Scope> =>
  paidCallAs(frame, policy, first, again, attempt, paidValue)

/** A paid attempt's value (undefined when a retry went unpaid). */
const paidValue = <A>(p: Paid<A> | undefined): A | undefined => p?.value

/**
 * `paidCall`, with what a paid attempt gives mapped in the step that takes its value (the
 * generation and verifier paths would otherwise map it again, an effect per call).
 */
const paidCallAs = <A, B>(
  frame: Frame,
  policy: Retry.RetryPolicy | undefined,
  first: Reservation,
  again: ReserveRequest | (() => ReserveRequest),
  attempt: (reservation: Reservation, sent: Sent) => Effect.Effect<Paid<A>, BackendError>,
  project: (paid: Paid<A> | undefined) => B
): Effect.Effect<B, BackendError, Scope.Scope> =>
  // One `onExit` per attempt, not a mask, a match and an interrupt handler: its handler runs
  // uninterruptibly once the attempt has ended, so a success is committed (and a failure or an
  // interruption after the request was sent is charged) before anything can interrupt the
  // fiber; the attempt itself keeps the caller's interruptibility. Three effects fewer per call.
  Effect.clockWith((clock) => {
    const tryWith = (
      reservation: Reservation,
      retry: number
    ): Effect.Effect<Paid<A> | undefined, BackendError, Scope.Scope> => {
      const t0 = clock.currentTimeMillisUnsafe()
      const sent: Sent = { value: false }
      const charged = (error: BackendError | undefined) =>
        commit(frame, reservation, failureCharge(reservation, error, clock.currentTimeMillisUnsafe() - t0))
      const settled = Effect.onExit(attempt(reservation, sent), (exit) => {
        if (exit._tag === "Success") return commit(frame, reservation, exit.value.usage, exit.value.spent)
        const error = Cause.findErrorOption(exit.cause)
        if (error._tag === "Some") return charged(error.value)
        // the provider may finish (and bill) a request the run no longer waits for; a defect is
        // no answer from the provider (its reservation is released with the node's scope)
        return sent.value && Cause.hasInterrupts(exit.cause) ? charged(undefined) : Effect.void
      })
      if (policy === undefined) return settled
      return Effect.catch(settled, (error) => retryAfter(frame, policy, error, retry, again, tryWith))
    }
    // what the call gives is mapped once, whichever attempt paid (or none, if a retry was refused)
    return Effect.map(tryWith(first, 0), project)
  })

/** After a failed attempt (already charged): waits and tries again with a fresh reservation, or fails. */
const retryAfter = Effect.fnUntraced(function* <A>(
  frame: Frame,
  policy: Retry.RetryPolicy,
  error: BackendError,
  retry: number,
  again: ReserveRequest | (() => ReserveRequest),
  tryWith: (reservation: Reservation, retry: number) => Effect.Effect<A | undefined, BackendError, Scope.Scope>
) {
  if (!error.retryable || retry >= policy.retries) return yield* Effect.fail(error)
  const unit = yield* Random.next
  yield* Effect.sleep(Retry.delayMs(policy, retry + 1, error, unit))
  const [next] = yield* reserveInOrder(frame, [typeof again === "function" ? again() : again])
  if (next === undefined) return undefined
  return yield* tryWith(next, retry + 1)
})

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
  /** the call's cap on output tokens per sequence (`maxTokensOf`) */
  readonly maxTokens: number
  /** work that completes a candidate: it may draw on the run's reserve to finish (`Frame.hold`) */
  readonly finishing?: boolean
  /**
   * the first continuation of the seed it asks for (default 0): a node that samples in waves asks
   * for continuations k… of one seed, so its samples are those of one `sample` call of them all
   */
  readonly index?: number
  /** ask for each step's token confidences from this many top log-probabilities (`GenerateRequest.logprobs`) */
  readonly logprobs?: number
  /** DeepConf online: stop each continuation when its group confidence falls below a threshold (`GenerateRequest.stopBelow`) */
  readonly stopBelow?: StopBelow
  /** one phase of a thinking sample (`GenerateRequest.think`, budget forcing) */
  readonly think?: ThinkRequest
}

/** What a node gets back for one call: the generations paid for, in continuation order. */
export interface Generated extends GenerateResult {
  /** per generation: whether its `max_tokens` was shrunk below the call's cap by the budget */
  readonly cut: ReadonlyArray<boolean>
}

/**
 * The backend request of a call, seeded by `seedOf(runSeed, problem, seedKey, node)`; `index` is
 * the first continuation it asks for (continuations after those already paid).
 *
 * @example
 * const request = requestOf(frame, "root.nodes.0", call, 1)
 */
export const requestOf = (
  frame: Frame,
  node: string,
  call: GenCall,
  n: number,
  index = call.index ?? 0
): GenerateRequest => {
  const request: Types.Mutable<GenerateRequest> = {
    problem: frame.env.problem,
    prefix: call.prefix,
    n,
    until: call.until,
    temperature: call.temperature,
    maxTokens: call.maxTokens,
    seed: seedOf(frame.env.runSeed, frame.env.problem.id, call.seedKey, node)
  }
  // optional fields assigned in order, not conditional spreads (each builds and copies an
  // object, on every call): the same keys in the same order
  if (index !== 0) request.index = index
  if (call.context !== undefined) request.context = call.context
  if (call.logprobs !== undefined) request.logprobs = call.logprobs
  if (call.stopBelow !== undefined) request.stopBelow = call.stopBelow
  if (call.think !== undefined) request.think = call.think
  return request
}

/**
 * Whether a call may spend thinking tokens: a think phase does, an answer phase does not, and a
 * plain call does on a generator that thinks unasked (a reasoning model). Its sequences then
 * reserve `thinkingTokens` as their output tokens (thinking is part of the output).
 *
 * @example
 * mayThink(frame, { ...call, think: { phase: "think", text: "", tokens: 0, waits: 0 } }) // true
 */
export const mayThink = (frame: Frame, call: GenCall): boolean =>
  call.think === undefined ? frame.env.generator.thinks === true : call.think.phase === "think"

/** Whether the generator sends one request per sequence (a server without `n`). */
export const perSequenceRequests = (frame: Frame): boolean => !frame.env.generator.capabilities.has("nSampling")

/**
 * What a generation call reserves: its requests (one, or one per sequence on a server without
 * `n`) and their prompt tokens (exact with a tokenizer, else a bound), and per sequence one
 * sequence and `maxTokens` output tokens, which may shrink. `request` is the call's request
 * (`requestOf(frame, node, call, call.n)`) when the caller has built it already.
 *
 * @example
 * const r = generationReservation(frame, node, call)
 */
export const generationReservation = (
  frame: Frame,
  node: string,
  call: GenCall,
  request: GenerateRequest = requestOf(frame, node, call, call.n),
  // the whole call as a tentative ask (phase 1 of a call: all its sequences or nothing, and no
  // refusal published), in the one object rather than a copy of it
  whole = false
): ReserveRequest => {
  const prompt = frame.env.generator.promptTokens?.(request) ?? 0
  const each = perSequenceRequests(frame)
  const reservation: Types.Mutable<ReserveRequest> = {
    node,
    fixed: each ? Usage.zero : Usage.make({ calls: 1, inputTokens: prompt }),
    perUnit: Usage.make({
      calls: each ? 1 : 0,
      sequences: 1,
      inputTokens: each ? prompt : 0,
      outputTokens: call.maxTokens,
      thinkingTokens: mayThink(frame, call) ? call.maxTokens : 0
    }),
    units: call.n,
    minUnits: call.minN ?? call.n,
    shrink: SHRINK_OUTPUT
  }
  if (call.finishing === true && frame.hold !== undefined) reservation.hold = frame.hold
  if (whole) {
    reservation.minUnits = reservation.units
    reservation.tentative = true
  }
  return reservation
}

/** A generation's output tokens shrink to what remains (and its thinking tokens with them). */
const SHRINK_OUTPUT: NonNullable<ReserveRequest["shrink"]> = { meter: "outputTokens", min: 1, with: ["thinkingTokens"] }

/**
 * Calls the generator (holding one of its permits) and checks the response's shape. Returns the
 * result and the logical and real usage of the call; `sent` is set when the request goes out.
 *
 * @example
 * const { result, usage } = yield* invokeGenerator(frame, request)
 */
export const invokeGenerator = (
  frame: Frame,
  request: GenerateRequest,
  sent: Sent = { value: false }
): Effect.Effect<
  {
    readonly result: GenerateResult
    /** the result again, as `paidCall` reads it (one object, no mapping step per call) */
    readonly value: GenerateResult
    readonly usage: Usage.Usage
    readonly spent: Usage.Usage
  },
  BackendError
> =>
  permitted(
    frame,
    Effect.clockWith((clock) => {
      const gen = frame.env.generator
      const t0 = clock.currentTimeMillisUnsafe()
      sent.value = true
      return Effect.flatMap(gen.generate(request), (result) => {
        const metered = meteredAnswer(gen, request, result, clock.currentTimeMillisUnsafe() - t0)
        if (Result.isFailure(metered)) return Effect.fail(metered.failure)
        return Effect.succeed({ result, value: result, usage: metered.success.usage, spent: metered.success.spent })
      })
    })
  )

/**
 * A generation's answer checked against its request (as many continuations as asked, token counts
 * within the cap) and metered: the call's logical usage and what the backend spent.
 *
 * @example
 * const metered = meteredAnswer(frame.env.generator, request, result, 12)
 */
const meteredAnswer = (
  gen: GeneratorShape,
  request: GenerateRequest,
  result: GenerateResult,
  wallMs: number
): Result.Result<{ readonly usage: Usage.Usage; readonly spent: Usage.Usage }, BackendError> => {
  if (result.generations.length !== request.n)
    return Result.fail(
      backendError(
        { backend: gen.backend, operation: "generate" },
        "BadResponse",
        `asked for ${request.n} continuations, got ${result.generations.length}`
      )
    )
  let outputTokens = 0
  let thinkingTokens = 0
  for (let i = 0; i < result.generations.length; i++) {
    const g = result.generations[i] as Generation
    if (!(Number.isInteger(g.outputTokens) && g.outputTokens >= 0 && g.outputTokens <= request.maxTokens))
      return Result.fail(
        backendError(
          { backend: gen.backend, operation: "generate" },
          "BadResponse",
          `continuation ${i} reports ${g.outputTokens} output tokens; maxTokens is ${request.maxTokens}`
        )
      )
    outputTokens += g.outputTokens
    const thought = g.thinkingTokens
    if (thought !== undefined) {
      // thinking is part of the output: a count outside [0, outputTokens] is a malformed reply
      if (!(Number.isInteger(thought) && thought >= 0 && thought <= g.outputTokens))
        return Result.fail(
          backendError(
            { backend: gen.backend, operation: "generate" },
            "BadResponse",
            `continuation ${i} reports ${thought} thinking tokens of ${g.outputTokens} output tokens`
          )
        )
      thinkingTokens += thought
    }
  }
  // every meter written out, in `Usage.make`'s order (one object, not a partial and its copy)
  const usage: Usage.Usage = {
    calls: gen.capabilities.has("nSampling") ? 1 : request.n,
    sequences: request.n,
    inputTokens: result.inputTokens,
    outputTokens,
    thinkingTokens,
    verifierCalls: 0,
    verifierTokens: 0,
    flops: 0,
    usd: 0,
    wallMs
  }
  const spent =
    result.spent === undefined
      ? usage
      : Usage.make({
          ...result.spent,
          thinkingTokens: Math.min(thinkingTokens, result.spent.outputTokens),
          wallMs
        })
  return Result.succeed({ usage, spent })
}

/**
 * Whether the run's generator answers each call in the step that makes it (`GeneratorShape.atOnce`,
 * still the port's own `generate`).
 *
 * @example
 * answersAtOnce(frame) // true on the simulator without latency
 */
export const answersAtOnce = (frame: Frame): boolean => {
  const gen = frame.env.generator
  return gen.atOnce !== undefined && gen.atOnce === gen.generate
}

/**
 * A generation call under one of the generator's permits, unless the generator answers at once:
 * then no two calls are ever in progress together, so the cap has nothing to bound, and a
 * semaphore's take and release (several steps, more than the simulator's own work for one step)
 * is skipped.
 */
const permitted = <A, E>(frame: Frame, call: Effect.Effect<A, E>): Effect.Effect<A, E> =>
  answersAtOnce(frame) ? call : frame.env.generatorPermits.withPermits(1)(call)

/**
 * Whether a node's generation calls run one after another in the node's fiber instead of a fiber
 * each: the generator answers at once (a forked call would run to its end before the next is
 * forked anyway, so the order of every step is the same), it has no retry policy (a retry waits),
 * and nobody listens to events or exports spans (their paths stay as they are).
 *
 * @example
 * inOneFiber(frame) // true for a silent run on the simulator without latency
 */
export const inOneFiber = (frame: Frame): boolean =>
  answersAtOnce(frame) && frame.env.generator.retry === undefined && !frame.env.events.enabled && !frame.env.traced

/**
 * `f(0)`, then `f(1)`, … `f(count − 1)`, each after the one before has ended: one `flatMap` per
 * call (`Effect.forEach` without concurrency steps through an iterator and builds its result).
 */
const inTurn = <E, R>(count: number, f: (i: number) => Effect.Effect<void, E, R>): Effect.Effect<void, E, R> => {
  const from = (i: number): Effect.Effect<void, E, R> =>
    i >= count ? Effect.void : Effect.flatMap(f(i), () => from(i + 1))
  return from(0)
}

/** One paid request of a call: `units` continuations from `index`, each capped at `maxTokens`. */
const paidGeneration = <B = Generated | undefined>(
  frame: Frame,
  node: string,
  call: GenCall,
  full: GenerateRequest,
  asked: ReserveRequest,
  r: Reservation,
  index: number,
  // what the caller makes of the result, applied in the same step (no mapping effect per call)
  then: (generated: Generated | undefined) => B = asIs as (generated: Generated | undefined) => B
): Effect.Effect<B, BackendError, Scope.Scope> => {
  const maxTokens = r.shrunk ?? call.maxTokens
  // a partial grant asks for fewer continuations (from `index`), with the same seed
  const request: GenerateRequest =
    r.units === full.n && index === 0 && maxTokens === full.maxTokens
      ? full
      : {
          ...full,
          n: r.units,
          maxTokens,
          ...(index + (call.index ?? 0) === 0 ? {} : { index: index + (call.index ?? 0) })
        }
  const cut = maxTokens < call.maxTokens
  if (frame.env.generator.retry === undefined && !frame.env.traced) return paidOnce(frame, request, r, cut, then)
  // a retry asks for the same continuations at the same cap, all or nothing (built only for one)
  const again = (): ReserveRequest => ({
    node,
    fixed: asked.fixed,
    perUnit: {
      ...asked.perUnit,
      outputTokens: maxTokens,
      thinkingTokens: Math.min(asked.perUnit.thinkingTokens, maxTokens)
    },
    units: r.units,
    minUnits: r.units,
    ...(asked.hold === undefined ? {} : { hold: asked.hold })
  })
  return paidCallAs(
    frame,
    frame.env.generator.retry,
    r,
    again,
    (_, sent) => Spans.generation(frame, node, request, invokeGenerator(frame, request, sent)),
    (paid): B => {
      if (paid === undefined) return then(undefined)
      return then(generatedOf(paid.value, cut))
    }
  )
}

/**
 * One attempt's state: when it was built (a failure's wall time counts from there, permit wait
 * included, as `paidCallAs` counts it), when its request went out, and the answer's failure to
 * check, if any.
 */
class Attempt {
  readonly builtAt: number
  sent = false
  sentAt = 0
  failure: BackendError | undefined = undefined
  constructor(builtAt: number) {
    this.builtAt = builtAt
  }
}

/**
 * `paidGeneration`'s one attempt when the generator has no retry policy and nobody traces the run:
 * the same request and the same charges as `paidCallAs` with `invokeGenerator` — the answer's
 * usage when it checks out (`meteredAnswer`); `failureCharge` for a failure or a malformed answer
 * (which then fails the call); the whole reservation when interrupted after the request went out,
 * nothing before — in fewer steps: the run's clock read in plain code (no effect to fetch it, twice),
 * the answer checked, metered and committed in the attempt's `onExit` (uninterruptible once the
 * answer is in), no retry closures. Every step a call takes is paid 256 times by a 256-branch
 * fan-out, on the path between its answers and its vote.
 *
 * @example
 * const generated = yield* paidOnce(frame, request, reservation, false, (g) => g)
 */
const paidOnce = <B>(
  frame: Frame,
  request: GenerateRequest,
  r: Reservation,
  cut: boolean,
  then: (generated: Generated | undefined) => B
): Effect.Effect<B, BackendError, Scope.Scope> => {
  const gen = frame.env.generator
  const clock = frame.env.clock
  // built when it starts: every caller builds a call in the step that runs it
  const attempt = new Attempt(clock.currentTimeMillisUnsafe())
  // with no permit to wait for, the request goes out in the step after the attempt is built: at
  // the time it was built (one clock read a call, not two)
  const waits = !answersAtOnce(frame) && frame.env.generatorPermits !== openPermits
  const ask = permitted(
    frame,
    Effect.suspend(() => {
      attempt.sent = true
      attempt.sentAt = waits ? clock.currentTimeMillisUnsafe() : attempt.builtAt
      return gen.generate(request)
    })
  )
  return Effect.flatMap(
    onExitOrNothing(ask, (exit) => settleAttempt(frame, request, r, attempt, exit)),
    (result): Effect.Effect<B, BackendError> =>
      attempt.failure === undefined ? Effect.succeed(then(generatedOf(result, cut))) : Effect.fail(attempt.failure)
  )
}

/**
 * `Effect.onExit` for a finalizer that may return nothing: Effect's `onExit` hands on the exit at
 * once when its finalizer returns `undefined` (Effect's own `Semaphore` releases its permits so),
 * where an effect returned costs three more steps, once per backend call. Its signature asks for
 * an effect, hence the cast; `test/faults/retry.test.ts` checks what the finalizer commits.
 */
const onExitOrNothing = Effect.onExit as unknown as <A, E, R>(
  self: Effect.Effect<A, E, R>,
  f: (exit: Exit.Exit<A, E>) => Effect.Effect<void> | undefined
) => Effect.Effect<A, E, R>

/** What `paidOnce`'s attempt commits as it ends: see `paidOnce`. */
const settleAttempt = (
  frame: Frame,
  request: GenerateRequest,
  r: Reservation,
  attempt: Attempt,
  exit: Exit.Exit<GenerateResult, BackendError>
): Effect.Effect<void> | undefined => {
  const clock = frame.env.clock
  if (exit._tag === "Success") {
    const now = clock.currentTimeMillisUnsafe()
    const metered = meteredAnswer(frame.env.generator, request, exit.value, now - attempt.sentAt)
    if (Result.isSuccess(metered)) return commitNow(frame, r, metered.success.usage, metered.success.spent)
    attempt.failure = metered.failure
    return commitNow(frame, r, failureCharge(r, metered.failure, now - attempt.builtAt))
  }
  const error = Cause.findErrorOption(exit.cause)
  if (error._tag === "Some")
    return commitNow(frame, r, failureCharge(r, error.value, clock.currentTimeMillisUnsafe() - attempt.builtAt))
  // the provider may finish (and bill) a request the run no longer waits for; a defect is no
  // answer from the provider (its reservation is released with the node's scope)
  return attempt.sent && Cause.hasInterrupts(exit.cause)
    ? commitNow(frame, r, failureCharge(r, undefined, clock.currentTimeMillisUnsafe() - attempt.builtAt))
    : undefined
}

/**
 * `commit`, done now when it can be: with nobody listening (no `Charged` event to publish) and a
 * ledger that commits in plain code (`Ledger.Commit`), the commit is made here and nothing is left
 * to run; else the effect that commits.
 */
const commitNow = (
  frame: Frame,
  reservation: Reservation,
  actual: Usage.Usage,
  spent: Usage.Usage = actual
): Effect.Effect<void> | undefined => {
  const now = frame.ledger.commit.now
  if (now === undefined || frame.env.events.enabled) return commit(frame, reservation, actual, spent)
  now(reservation, actual, spent)
  return undefined
}

/** A paid call's result as its node reads it: the generations, with which were cut by the budget. */
const generatedOf = (result: GenerateResult, cut: boolean): Generated =>
  result.spent === undefined
    ? {
        generations: result.generations,
        inputTokens: result.inputTokens,
        cut: cutFlags(result.generations.length, cut)
      }
    : {
        generations: result.generations,
        inputTokens: result.inputTokens,
        spent: result.spent,
        cut: cutFlags(result.generations.length, cut)
      }

/** A result as it is. */
const asIs = <A>(a: A): A => a

/** A single call's result as the list `generate` returns. */
const listOf = (g: Generated | undefined): ReadonlyArray<Generated | undefined> => [g]

/** Shared all-false flag lists by length: a call's output is seldom cut, and nobody writes to them. */
const uncut: Array<ReadonlyArray<boolean>> = []
const cutFlags = (n: number, cut: boolean): ReadonlyArray<boolean> => {
  if (cut || n > 4096) return Array.from({ length: n }, () => cut)
  let flags = uncut[n]
  if (flags === undefined) {
    flags = Object.freeze(Array.from({ length: n }, () => false))
    uncut[n] = flags
  }
  return flags
}

/** Concatenates the paid parts of one call. */
const joinParts = (parts: ReadonlyArray<Generated>): Generated | undefined => {
  const [only] = parts
  if (parts.length <= 1) return only
  const generations: Array<Generation> = []
  const cut: Array<boolean> = []
  let inputTokens = 0
  for (const p of parts) {
    generations.push(...p.generations)
    cut.push(...p.cut)
    inputTokens += p.inputTokens
  }
  return { generations, cut, inputTokens }
}

/**
 * The second phase of a node's calls: one at a time, each call reserves what fits (whole
 * sequences at the cap, else one with its tokens shrunk) and goes on with the rest of its
 * sequences; the first refusal ends the node's calls.
 */
const payOneByOne: (
  frame: Frame,
  node: string,
  calls: ReadonlyArray<GenCall>,
  requests: ReadonlyArray<GenerateRequest>,
  wanted: ReadonlyArray<ReserveRequest>,
  from: number,
  out: Array<Generated | undefined>
) => Effect.Effect<void, BackendError, Scope.Scope> = Effect.fnUntraced(function* (
  frame: Frame,
  node: string,
  calls: ReadonlyArray<GenCall>,
  requests: ReadonlyArray<GenerateRequest>,
  wanted: ReadonlyArray<ReserveRequest>,
  from: number,
  out: Array<Generated | undefined>
) {
  for (let i = from; i < calls.length; i++) {
    const call = calls[i]
    const full = requests[i]
    const asked = wanted[i]
    if (call === undefined || full === undefined || asked === undefined) continue
    const parts: Array<Generated> = []
    let index = 0
    const least = Math.min(call.n, call.minN ?? call.n)
    while (index < call.n) {
      const left = call.n - index
      // the sequences already paid count towards the call's least acceptable number
      const minUnits = Math.max(1, least - index)
      const request: ReserveRequest = { ...asked, units: left, minUnits }
      const granted = yield* Effect.result(frame.ledger.reserve(request))
      if (granted._tag === "Failure") {
        yield* refused(frame, request, granted.failure)
        out[i] = joinParts(parts)
        return
      }
      const r = granted.success
      // fewer sequences than left is no shortfall yet (the call asks again for the rest); a cut is
      if (r.shrunk !== undefined) frame.env.exhausted.value = true
      const paid = yield* paidGeneration(frame, node, call, full, asked, r, index)
      if (paid === undefined) {
        out[i] = joinParts(parts)
        return
      }
      parts.push(paid)
      index += r.units
    }
    out[i] = joinParts(parts)
  }
})

/**
 * Runs a node's generation calls (the two phases above) and commits each. `undefined` marks a
 * call the budget refused; a call paid in part has fewer generations than it asked for.
 *
 * @example
 * const results = yield* generate(frame, "root.nodes.0", calls)
 */
export const generate = (
  frame: Frame,
  node: string,
  calls: ReadonlyArray<GenCall>
): Effect.Effect<ReadonlyArray<Generated | undefined>, BackendError> => {
  const only = calls.length === 1 ? calls[0] : undefined
  return only === undefined ? generateMany(frame, node, calls) : generateOne(frame, node, only)
}

/**
 * One call (a sample node, a one-parent expansion, each branch of a fan-out): the same two phases
 * as `generateMany`, chained without a generator, a loop or the arrays of many calls — a fan-out
 * runs this once per branch before the branch's call can start.
 */
const generateOne = (
  frame: Frame,
  node: string,
  call: GenCall
): Effect.Effect<ReadonlyArray<Generated | undefined>, BackendError> => {
  // built when the effect is made, not when it runs: the request and its reservation read only
  // what a frame never changes (the problem, the seed, the backend, the run's reserve)
  const full = requestOf(frame, node, call, call.n)
  const asked = generationReservation(frame, node, call, full)
  // phase 1: the whole call, if it fits (a tentative ask is no refusal)
  return Effect.scoped(
    Effect.matchEffect(frame.ledger.reserve({ ...asked, minUnits: asked.units, tentative: true }), {
      onSuccess: (r) => {
        const now = answersNow(frame)
        if (now === undefined || !wholeGrant(r, full))
          return paidGeneration(frame, node, call, full, asked, r, 0, listOf)
        const out: Array<Generated | undefined> = [undefined]
        return Effect.as(answerInTurn(frame, now, [full], [r], out), out)
      },
      // phase 2: what fits, sequence by sequence
      onFailure: () =>
        Effect.suspend(() => {
          const out: Array<Generated | undefined> = [undefined]
          return Effect.as(payOneByOne(frame, node, [call], [full], [asked], 0, out), out)
        })
    })
  )
}

/**
 * A fan-out's branches, made as they are needed: `frames[i]` and `calls[i]` exist for every i < end
 * once `prepare(end)` has run (in branch order: making a branch's call moves its sample counter
 * on). The fan-out tells what holds for every branch: the ledger they all pay from, if one (a
 * fan-out without a budget), and whether their calls run in one fiber (`inOneFiber`).
 */
export interface Branches {
  readonly count: number
  readonly frames: ReadonlyArray<Frame>
  readonly calls: ReadonlyArray<GenCall | undefined>
  readonly prepare: (end: number) => void
  readonly ledger: Frame["ledger"] | undefined
  readonly oneFiber: boolean
  /**
   * work the fan-out needs only once its calls answer, done once every call granted in one ledger
   * step has gone out (`launchReserved`), while the calls wait: off the path of the launch
   */
  readonly launched?: () => void
}

/**
 * One call in each of a fan-out's branches, launched together, each paying from its branch's
 * ledger (its share, or the one ledger they all pay from). Call i is made as
 * `generate(frames[i], node, [calls[i]])` makes it — the same request and seed, the same two phases
 * in frame i's ledger — but without a scope, a suspension and a generator per call: the calls'
 * reservations live in one scope (each frame's ledger pays only for its own call, so when one is
 * released changes no other's grant). A `calls[i]` of `undefined` makes no call (its result is
 * `undefined`, as is a refused call's). `settled(i, result)`, if given, runs as each call made
 * settles, in its fiber: what a caller does with an answer then overlaps the later calls' waits.
 * With one ledger for all, a chunk's calls are built just before it reserves and launches them
 * (`launchReserved`), so the first call does not wait for all 256 to be built.
 *
 * @example
 * const paid = yield* generateBranches(branches, "root.nodes.0.body", settled)
 */
export const generateBranches = (
  branches: Branches,
  node: string,
  settled?: (i: number, result: Generated | undefined) => void
): Effect.Effect<ReadonlyArray<Generated | undefined>, BackendError> =>
  Effect.scoped(
    Effect.suspend(() => {
      const { count, frames, calls } = branches
      const out: Array<Generated | undefined> = new Array(count).fill(undefined)
      const one = (call: GenCall | undefined, i: number): Effect.Effect<void, BackendError, Scope.Scope> => {
        const frame = frames[i]
        if (call === undefined || frame === undefined) return Effect.void
        const full = requestOf(frame, node, call, call.n)
        const asked = generationReservation(frame, node, call, full)
        // phase 1: the whole call, if it fits (a tentative ask is no refusal)
        return Effect.matchEffect(frame.ledger.reserve({ ...asked, minUnits: asked.units, tentative: true }), {
          onSuccess: (r) =>
            Effect.map(paidGeneration(frame, node, call, full, asked, r, 0), (g) => {
              out[i] = g
              settled?.(i, g)
            }),
          // phase 2: what fits, sequence by sequence (only this frame's ledger pays)
          onFailure: () =>
            Effect.suspend(() => {
              const mine: Array<Generated | undefined> = [undefined]
              return Effect.map(payOneByOne(frame, node, [call], [full], [asked], 0, mine), () => {
                out[i] = mine[0]
                settled?.(i, mine[0])
              })
            })
        })
      }
      const ledger = branches.ledger
      // a generator that answers at once: each call in turn in this fiber (no fiber each)
      if (branches.oneFiber || ledger === undefined) {
        branches.prepare(count)
        if (branches.oneFiber)
          return Effect.as(
            inTurn(count, (i) => one(calls[i], i)),
            out
          )
        return Effect.as(Effect.forEach(calls, one, { concurrency: "unbounded", discard: true }), out)
      }
      // one ledger pays for every call (a fan-out without a budget): phase 1 of every call in one
      // ledger step, in branch order, then a fiber per reserved call that only calls. A call whose
      // whole ask did not fit, and every call after it, go on as above, in order: the same grants
      // in the same order as reserving each in its own fiber
      return Effect.flatMap(launchReserved(ledger, branches, node, out, settled), (from) => {
        if (from >= count) return Effect.succeed(out)
        branches.prepare(count)
        return Effect.as(
          Effect.forEach(calls.slice(from), (call, k) => one(call, from + k), {
            concurrency: "unbounded",
            discard: true
          }),
          out
        )
      })
    })
  )

/**
 * Phase 1 of `generateBranches`' calls when one ledger pays for them all, chunk by chunk of
 * `LAUNCH_CHUNK` calls in order: a chunk's whole asks reserved in one step (`reserveAll`,
 * tentative: no refusal is published), and each call granted launched in a fiber of its own with
 * its reservation in hand — then the next chunk. The first call starts once its chunk is built and
 * reserved, not all 256 of a fan-out's: building a call (its seed, its request, its reservation)
 * costs about as much as launching it, and every call launched sooner is answered sooner. The
 * grants are those of one `reserveAll` of every call (the ledger is unlimited when one ledger pays
 * for every branch; a reservation stops short only where a wrapper refuses, and then no later chunk
 * reserves). Returns the index of the first call not granted (`calls.length` when all were), which
 * the caller runs as before. Every call launched runs to its end before the returned effect does;
 * a call that fails interrupts the others, as one `forEach` of them all would.
 */
const launchReserved = (
  ledger: Frame["ledger"],
  branches: Branches,
  node: string,
  out: Array<Generated | undefined>,
  settled: ((i: number, result: Generated | undefined) => void) | undefined
): Effect.Effect<number, BackendError, Scope.Scope> =>
  Effect.suspend(() => {
    const { count, frames, calls } = branches
    // the first call not granted: count until a chunk's reservation stops short
    let from = count
    const starts: Array<number> = []
    for (let s = 0; s < count; s += LAUNCH_CHUNK) starts.push(s)
    // each chunk's calls are built, reserved and forked in the chunk's fiber before the next
    // chunk's fiber starts (a fork runs at once, up to the first wait)
    const chunk = (start: number): Effect.Effect<void, BackendError, Scope.Scope> => {
      if (from < count) return Effect.void
      const end = Math.min(count, start + LAUNCH_CHUNK)
      branches.prepare(end)
      const index: Array<number> = []
      const fulls: Array<GenerateRequest> = []
      const tentative: Array<ReserveRequest> = []
      for (let i = start; i < end; i++) {
        const call = calls[i]
        if (call === undefined) continue
        const frame = frames[i] as Frame // prepare(end) made branches [0, end)
        const full = requestOf(frame, node, call, call.n)
        // the tentative whole ask is also what a retry's ask is made from (its fixed and per-unit
        // costs and its hold): one object serves both
        const asked = generationReservation(frame, node, call, full, true)
        index.push(i)
        fulls.push(full)
        tentative.push(asked)
      }
      if (index.length === 0) return Effect.void
      return Effect.flatMap(ledger.reserveAll(tentative), ({ reservations }) => {
        const granted = reservations.length
        if (granted < index.length) from = index[granted] as number
        if (granted === 0) return Effect.void
        const launch = (r: Reservation, k: number): Effect.Effect<void, BackendError, Scope.Scope> => {
          const i = index[k] as number
          return paidGeneration(
            frames[i] as Frame,
            node,
            calls[i] as GenCall,
            fulls[k] as GenerateRequest,
            tentative[k] as ReserveRequest,
            r,
            0,
            (g) => {
              out[i] = g
              settled?.(i, g)
            }
          )
        }
        return Effect.forEach(reservations, launch, { concurrency: "unbounded", discard: true })
      })
    }
    // each step's effect made as its turn comes: making a chunk's builds its calls
    const steps: Array<() => Effect.Effect<void, BackendError, Scope.Scope>> = starts.map((start) => () => chunk(start))
    // after the last chunk, the fan-out's work that can wait for the answers (a fork runs at once:
    // the chunks before it have launched their calls)
    const launched = branches.launched
    if (launched !== undefined) steps.push(() => Effect.sync(launched))
    return Effect.map(
      Effect.forEach(steps, (step) => step(), { concurrency: "unbounded", discard: true }),
      () => from
    )
  })

/**
 * Calls per chunk of `launchReserved`. A 256-branch fan-out at 5 ms a call (served answers, the
 * median of the last 150 of 300 runs in one process, idle): 6.17–6.21 ms in chunks of 16, 6.16–6.33
 * of 32, 6.18–6.26 of 48, 6.25–6.27 of 8, 6.26–6.29 of 64, 6.30–6.33 all at once (see
 * docs/performance.md, seventh pass).
 */
const LAUNCH_CHUNK = 16

const generateMany = (
  frame: Frame,
  node: string,
  calls: ReadonlyArray<GenCall>
): Effect.Effect<ReadonlyArray<Generated | undefined>, BackendError> => Effect.scoped(generateAll(frame, node, calls))

const generateAll = Effect.fnUntraced(function* (frame: Frame, node: string, calls: ReadonlyArray<GenCall>) {
  // each call's request and reservation are built once: the seed (a 64-bit hash) and the
  // prompt's token count serve the reservation, the call and any retry's reservation
  const requests = calls.map((c) => requestOf(frame, node, c, c.n))
  const wanted = calls.map((c, i) => generationReservation(frame, node, c, requests[i]))
  // phase 1: whole reservations in order, while they fit (a tentative ask is no refusal), in one
  // ledger step
  const { reservations: first } = yield* frame.ledger.reserveAll(
    wanted.map((w) => ({ ...w, minUnits: w.units, tentative: true }))
  )
  const out: Array<Generated | undefined> = calls.map(() => undefined)
  // a generator that answers in plain code: phase 1's whole grants answered without an effect each
  const now = answersNow(frame)
  const answered = now === undefined || first.length === 0 ? 0 : yield* answerInTurn(frame, now, requests, first, out)
  const one = (i: number) => {
    const r = first[i]
    const call = calls[i]
    const full = requests[i]
    const asked = wanted[i]
    if (r === undefined || call === undefined || full === undefined || asked === undefined) return Effect.void
    return paidGeneration(frame, node, call, full, asked, r, 0, (g) => {
      out[i] = g
    })
  }
  // a single call (a sample node, a one-parent expansion) runs in this fiber: no fork to join
  if (answered > 0) {
    if (answered < first.length) yield* inTurn(first.length - answered, (k) => one(answered + k))
  } else if (first.length === 1) yield* one(0)
  else if (first.length > 1)
    // a generator that answers at once: each call in turn in this fiber (no fiber each)
    yield* inOneFiber(frame)
      ? inTurn(first.length, one)
      : Effect.forEach(first, (_, i) => one(i), { concurrency: "unbounded", discard: true })
  // phase 2: the rest, one at a time, each after everything before it has settled
  if (first.length < calls.length) yield* payOneByOne(frame, node, calls, requests, wanted, first.length, out)
  return out
})

/**
 * The generator's answers in plain code (`GeneratorShape.answerNow`), when the run may use them: its
 * calls run one after another in the node's fiber (`inOneFiber`) and `answerNow` is still the
 * port's own `generate`'s.
 *
 * @example
 * answersNow(frame) // the simulator's, without latency, in a silent run
 */
export const answersNow = (frame: Frame): AnswerNow | undefined => {
  const now = frame.env.generator.answerNow
  return now !== undefined && now.of === frame.env.generator.generate && inOneFiber(frame) ? now : undefined
}

/** A grant of the whole request: all its sequences, at its cap. */
const wholeGrant = (r: Reservation, request: GenerateRequest): boolean =>
  r.units === request.n && (r.shrunk ?? request.maxTokens) === request.maxTokens

/**
 * Phase 1's calls answered in plain code, in order: each call whose grant is its whole request
 * (all its sequences at the cap) answered by `now`, checked and metered as `invokeGenerator` does,
 * its commit queued; the commits then run together (nobody reads the ledger between a node's calls
 * when nobody listens: `inOneFiber`). Stops at the first grant that is not whole (it and the rest go
 * the ordinary way) and returns how many calls it answered. A failed answer is charged as
 * `paidCallAs` charges a failed attempt, after the commits before it, and fails the node.
 */
const answerInTurn = (
  frame: Frame,
  now: AnswerNow,
  requests: ReadonlyArray<GenerateRequest>,
  granted: ReadonlyArray<Reservation>,
  out: Array<Generated | undefined>
): Effect.Effect<number, BackendError> =>
  Effect.clockWith((clock) => {
    const gen = frame.env.generator
    const commits: Array<Effect.Effect<void>> = []
    let i = 0
    for (; i < granted.length; i++) {
      const r = granted[i] as Reservation
      const request = requests[i] as GenerateRequest
      if (!wholeGrant(r, request)) break
      const t0 = clock.currentTimeMillisUnsafe()
      const reply = now(request)
      const wallMs = clock.currentTimeMillisUnsafe() - t0
      const metered = Result.flatMap(reply, (result) =>
        Result.map(meteredAnswer(gen, request, result, wallMs), (m) => ({ result, ...m }))
      )
      if (Result.isFailure(metered)) {
        commits.push(commit(frame, r, failureCharge(r, metered.failure, wallMs)))
        return Effect.andThen(Effect.all(commits, { discard: true }), Effect.fail(metered.failure))
      }
      const { result, usage, spent } = metered.success
      commits.push(commit(frame, r, usage, spent))
      // a whole grant: nothing was cut by the budget
      out[i] = generatedOf(result, false)
    }
    return Effect.as(Effect.all(commits, { discard: true }), i)
  })

/**
 * Runs a node's verifier calls: the candidates go in batches (of at most the verifier's `maxBatch`),
 * one call each. Each batch is reserved in order before any call starts — one call, and per
 * candidate one verifier call and the tokens the verifier will read (exact, or a bound) — and a
 * partial grant scores the batch's first candidates. With `finishing` (every candidate is
 * complete), the batches may draw on the run's reserve. Returns each candidate's step scores, or
 * `undefined` where the budget refused.
 *
 * @example
 * const scores = yield* score(frame, "root.nodes.1", "prm", candidates)
 */
export const score = (
  frame: Frame,
  node: string,
  verifierName: string,
  candidates: ReadonlyArray<Candidate>,
  finishing = false
): Effect.Effect<ReadonlyArray<ReadonlyArray<number> | undefined>, BackendError> =>
  Effect.scoped(scoreAll(frame, node, verifierName, candidates, finishing))

// a callback chain, not a generator: one reservation step, then the batch's call in this fiber
const scoreAll = (
  frame: Frame,
  node: string,
  verifierName: string,
  candidates: ReadonlyArray<Candidate>,
  finishing: boolean
): Effect.Effect<ReadonlyArray<ReadonlyArray<number> | undefined>, BackendError, Scope.Scope> => {
  const v = frame.env.verifier
  const size = Math.max(1, Math.floor(v.maxBatch ?? candidates.length))
  const batches: Array<ReadonlyArray<Candidate>> = []
  if (size >= candidates.length) batches.push(candidates)
  else for (let i = 0; i < candidates.length; i += size) batches.push(candidates.slice(i, i + size))
  const hold = finishing && frame.hold !== undefined ? frame.hold : undefined
  // each candidate's cost (the verifier's token count of it) is computed once, for the batch's
  // reservation and any retry's
  const requestOfBatch = (unitCosts: ReadonlyArray<Usage.Usage>, minUnits: number): ReserveRequest =>
    hold === undefined
      ? { node, fixed: CALL, perUnit: Usage.zero, units: unitCosts.length, minUnits, unitCosts }
      : { node, fixed: CALL, perUnit: Usage.zero, units: unitCosts.length, minUnits, unitCosts, hold }
  const costs = batches.map((batch) => batch.map((c) => verificationOf(v.inputTokens?.(frame.env.problem, c) ?? 0)))
  return Effect.flatMap(
    reserveInOrder(
      frame,
      costs.map((unitCosts) => requestOfBatch(unitCosts, 1))
    ),
    (reservations) => {
      const one = (
        batch: ReadonlyArray<Candidate>,
        i: number
      ): Effect.Effect<ReadonlyArray<ReadonlyArray<number> | undefined>, BackendError, Scope.Scope> => {
        const r = reservations[i]
        if (r === undefined) return Effect.succeed(batch.map(() => undefined))
        const paid = r.units === batch.length ? batch : batch.slice(0, r.units)
        const again = () => requestOfBatch((costs[i] ?? []).slice(0, r.units), paid.length)
        return paidCallAs(
          frame,
          v.retry,
          r,
          again,
          (_, sent) =>
            Spans.verification(frame, node, verifierName, paid, verifyBatch(frame, verifierName, paid, sent)),
          (p) => {
            const stepScores = p?.value
            return stepScores !== undefined && stepScores.length === batch.length
              ? stepScores
              : batch.map((_, j): ReadonlyArray<number> | undefined => stepScores?.[j])
          }
        )
      }
      // one batch (the usual case: the verifier takes them all) runs in this fiber: no fork to join
      const only = batches.length === 1 ? batches[0] : undefined
      if (only !== undefined) return one(only, 0)
      return Effect.map(Effect.forEach(batches, one, { concurrency: "unbounded" }), (scored) => scored.flat())
    }
  )
}

/** A batch's fixed cost: one call. */
const CALL: Usage.Usage = Usage.make({ calls: 1 })

/** One candidate's verification: one verifier call and the tokens it reads (`Usage.make`'s meters, one object). */
const verificationOf = (verifierTokens: number): Usage.Usage => ({
  calls: 0,
  sequences: 0,
  inputTokens: 0,
  outputTokens: 0,
  thinkingTokens: 0,
  verifierCalls: 1,
  verifierTokens,
  flops: 0,
  usd: 0,
  wallMs: 0
})

/**
 * One attempt of a verifier call (holding one of its permits), its reply checked: the step
 * scores and the logical and real usage. A chain of plain callbacks, not a generator: it runs once
 * per verifier call.
 */
const verifyBatch = (
  frame: Frame,
  verifierName: string,
  paid: ReadonlyArray<Candidate>,
  sent: Sent
): Effect.Effect<Paid<ReadonlyArray<ReadonlyArray<number>>>, BackendError> =>
  Effect.clockWith((clock) => {
    const v = frame.env.verifier
    const t0 = clock.currentTimeMillisUnsafe()
    return frame.env.verifierPermits.withPermits(1)(
      Effect.suspend(() => {
        sent.value = true
        return Effect.flatMap(
          v.score({ problem: frame.env.problem, candidates: paid, verifier: verifierName }),
          (result: ScoreResult) => {
            const wallMs = clock.currentTimeMillisUnsafe() - t0
            const ok =
              result.stepScores.length === paid.length &&
              result.stepScores.every((scores) => scores.length > 0 && scores.every((x) => x >= 0 && x <= 1))
            if (!ok)
              return Effect.fail(
                backendError(
                  { backend: v.backend, operation: "score" },
                  "BadResponse",
                  `expected ${paid.length} non-empty lists of step scores in [0, 1], got ${JSON.stringify(result.stepScores).slice(0, 200)}`
                )
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
            return Effect.succeed({ value: result.stepScores, usage, spent })
          }
        )
      })
    )
  })
