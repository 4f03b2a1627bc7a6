/**
 * `POST /v1/chat/completions`: a request becomes a plan (graph, params and budget under the
 * policy's ceilings, seed, choices), waits for an admission slot, and its runs share one ledger;
 * the reply is a chat completion with the true usage and the ledger — or, streaming, progress
 * chunks, the answer, usage and `[DONE]`, through a bounded buffer: a client that stops reading is
 * dropped and its run interrupted.
 *
 * @since 0.1.0
 */
import * as NodeHttpServerRequest from "@effect/platform-node/NodeHttpServerRequest"
import { Cause, Deferred, Effect, Exit, Option, Queue, Stream } from "effect"
import { HttpServerRequest, HttpServerResponse } from "effect/http"
import * as Ledger from "../budget/Ledger.ts"
import type * as Limits from "../budget/Limits.ts"
import type { Candidate } from "../domain/Candidate.ts"
import { hash64 } from "../domain/Hash.ts"
import { makeProblem, type Problem, questionId } from "../domain/Problem.ts"
import type { RunResult } from "../domain/RunResult.ts"
import * as Steps from "../domain/Steps.ts"
import * as Usage from "../domain/Usage.ts"
import type { GraphError } from "../graph/GraphError.ts"
import type * as Loader from "../graph/Loader.ts"
import type { Params } from "../graph/Scope.ts"
import { execute, staticFacts } from "../runtime/Run.ts"
import type { RunError } from "../runtime/RunError.ts"
import { type RunEvent, RunEvents } from "../runtime/RunEvents.ts"
import type { Overloaded, Permit } from "./Admission.ts"
import { generatorOf, verifierOf } from "./Catalog.ts"
import { capBudget, capParams, paramCeilings, type SplitBudget, splitBudget } from "./Ceilings.ts"
import { isAdmitted } from "./FleetGate.ts"
import { guarded } from "./Guard.ts"
import { authorize, decode, fail, json, Reply, readJson } from "./Http.ts"
import * as Metrics from "./Metrics.ts"
import type { ServerParts } from "./Parts.ts"
import { resolveModel } from "./Policy.ts"
import { makeRecorder, type Recorder, writeTrace } from "./Traces.ts"
import * as Wire from "./Wire.ts"

/** The question of a chat: the last user message's text. */
const questionOf = (request: Wire.ChatRequest) => {
  for (let i = request.messages.length - 1; i >= 0; i--) {
    const m = request.messages[i]
    if (m?.role === "user") {
      const text = Wire.contentText(m).trim()
      if (text !== "") return Effect.succeed(text)
    }
  }
  return fail(400, "messages: no user message with text (the last one is the question)", "invalid_body", "messages")
}

/** What a chat request runs: the graph, its params, budget and seed, and how many choices. */
interface Plan {
  readonly id: string
  readonly model: string
  readonly graph: string
  readonly loaded: Loader.LoadedGraph
  readonly problem: Problem
  readonly params: Params
  /** the request's budget, every meter (`wallMs` included) */
  readonly budget: Limits.Limits
  /** the same, split by how each meter is enforced */
  readonly split: SplitBudget
  /** params lowered to their ceilings */
  readonly capped: ReadonlyArray<string>
  readonly seed: number
  readonly choices: number
  readonly trace: boolean
}

/** Distinct budgets whose split a server keeps (most requests use the default or an alias's). */
const SPLITS_KEPT = 256

/** Splits of budgets already seen, per server: by whether the graph scores, then by the budget. */
const splits = new WeakMap<ServerParts, Map<string, SplitBudget>>()

/**
 * How a request's budget splits on this server (`splitBudget`): it depends only on the budget,
 * whether the graph calls a verifier, and the server's backend and pricing, so it is computed once
 * per distinct budget rather than on every request.
 */
const splitOf = (parts: ServerParts, budget: Limits.Limits, scores: boolean): SplitBudget => {
  let byKey = splits.get(parts)
  if (byKey === undefined) {
    byKey = new Map()
    splits.set(parts, byKey)
  }
  const key = `${scores}${JSON.stringify(budget)}`
  const known = byKey.get(key)
  if (known !== undefined) return known
  const generator = generatorOf(parts.context)
  const split = splitBudget(budget, {
    generatorInput: generator.promptTokens !== undefined,
    verifierInput: verifierOf(parts.context).inputTokens !== undefined,
    scores,
    unset: parts.pricing.unset ?? []
  })
  if (byKey.size >= SPLITS_KEPT) byKey.clear()
  byKey.set(key, split)
  return split
}

const planOf = (parts: ServerParts, request: Wire.ChatRequest, mull: Wire.MullOptions | undefined) =>
  Effect.gen(function* () {
    const { policy, catalog } = parts
    const resolved = resolveModel(catalog.aliases, request.model, [...catalog.graphs.keys()])
    if (resolved._tag === "Unknown") return yield* fail(404, resolved.why, "model_not_found", "model")
    const entry = catalog.graphs.get(resolved.graph)
    if (entry === undefined)
      return yield* fail(404, `graph "${resolved.graph}" is not served`, "model_not_found", "model")
    const choices = request.n ?? 1
    if (choices > policy.maxChoices)
      return yield* fail(
        400,
        `n: at most ${policy.maxChoices} choices per request, got ${choices}`,
        "invalid_body",
        "n"
      )
    const declared = entry.loaded.plan.params
    // OpenAI's sampling fields set the graph's params of the same meaning, when it declares them
    const fromOpenAi: Record<string, number> = {}
    if (request.temperature != null && Object.hasOwn(declared, "temperature"))
      fromOpenAi.temperature = request.temperature
    const maxTokens = request.max_completion_tokens ?? request.max_tokens
    if (maxTokens != null && Object.hasOwn(declared, "maxTokens")) fromOpenAi.maxTokens = maxTokens
    const ceilings = paramCeilings(entry.loaded, entry.drivers, {
      maxParams: policy.maxParams,
      paramHeadroom: policy.paramHeadroom,
      alias: resolved.params
    })
    const { params, capped } = capParams(ceilings, resolved.params, { ...fromOpenAi, ...mull?.params })
    const budget = capBudget(policy.maxBudget, policy.defaultBudget, resolved.budget, mull?.budget)
    const split = splitOf(parts, budget, entry.scores)
    const trace = mull?.trace === true
    if (trace && policy.traces === undefined)
      return yield* fail(
        400,
        "mull.trace: this server keeps no traces (start it with --traces DIR)",
        "invalid_body",
        "mull.trace"
      )
    const question = yield* questionOf(request)
    const seed = mull?.seed ?? request.seed ?? 0
    const key = hash64([
      question,
      request.model,
      JSON.stringify(params),
      JSON.stringify(budget),
      seed,
      choices,
      Date.now(),
      Math.random()
    ])
    return {
      id: `chatcmpl-mull-${key.toString(16).padStart(16, "0")}`,
      model: request.model,
      graph: resolved.graph,
      loaded: entry.loaded,
      problem: makeProblem({
        id: questionId(question, "chat"),
        question,
        gold: undefined,
        answer: mull?.answer,
        meta: {}
      }),
      params,
      budget,
      split,
      capped,
      seed,
      choices,
      trace
    } satisfies Plan
  })

/** The outcome of a plan's runs (they share one ledger: the budget is the request's). */
interface Outcome {
  readonly results: ReadonlyArray<RunResult>
  readonly snapshot: Ledger.LedgerSnapshot
  readonly delimiter: string
}

/** The run did not finish by twice its deadline (it stops taking calls at the deadline itself). */
class RunTimedOut {
  readonly _tag = "RunTimedOut"
  readonly ms: number
  constructor(ms: number) {
    this.ms = ms
  }
}

/** A fleet budget's commit of what a request's runs used (FleetGate): the first call counts. */
type Settle = (used: Usage.Usage) => Effect.Effect<void>

/**
 * Runs a plan's choices on one ledger, each with its own run events (choice `i`); with a fleet
 * budget, `settle` commits what they used however they end.
 */
const runPlan = (parts: ServerParts, plan: Plan, eventsOf: (choice: number) => RunEvents["Service"], settle?: Settle) =>
  Effect.gen(function* () {
    const { metrics, context } = parts
    const generator = generatorOf(context)
    const inner = yield* Ledger.make(plan.split.ledger, parts.pricing)
    const wallMs = plan.split.wallMs
    const ledger = Ledger.tracked(
      guarded(inner, {
        soft: plan.split.soft,
        deadline: wallMs === undefined ? undefined : Date.now() + wallMs,
        now: Date.now
      }),
      metrics.reservationsOutstanding
    )
    metrics.runsInFlight.value += 1
    // each choice pays from an equal share of the request's budget, as parallel branches do, so
    // what a choice can spend never depends on how fast the others run; the shares pay through
    // the guarded ledger, so its deadline and soft ceilings hold for every choice
    const share =
      Object.keys(plan.split.ledger).length === 0
        ? undefined
        : Ledger.shareOf(plan.split.ledger, yield* ledger.snapshot, plan.choices)
    const runs = Effect.forEach(
      Array.from({ length: plan.choices }, (_, i) => i),
      (i) =>
        Effect.flatMap(share === undefined ? Effect.succeed(ledger) : Ledger.makeShare(ledger, share), (paying) =>
          execute(plan.loaded, plan.problem, { params: plan.params, seed: plan.seed + i }).pipe(
            Effect.provideService(Ledger.Ledger, paying),
            Effect.provideService(RunEvents, eventsOf(i))
          )
        ),
      { concurrency: "unbounded" }
    )
    // past its deadline a run takes no new calls and answers; twice the deadline, it is stopped
    const bounded =
      wallMs === undefined
        ? runs
        : runs.pipe(Effect.timeoutOrElse({ duration: 2 * wallMs, orElse: () => Effect.fail(new RunTimedOut(wallMs)) }))
    const results = yield* Effect.provide(bounded, context).pipe(
      Effect.onExit((exit) =>
        Effect.andThen(inner.snapshot, (s) =>
          Effect.sync(() => {
            metrics.runsInFlight.value -= 1
            const outcome = Exit.isSuccess(exit)
              ? exit.value.some((r) => r.exhausted)
                ? "exhausted"
                : "ok"
              : Cause.hasInterruptsOnly(exit.cause)
                ? "interrupted"
                : "failed"
            Metrics.observeRun(metrics, outcome, s.backend)
          }).pipe(Effect.andThen(settle === undefined ? Effect.void : settle(s.committed)))
        )
      )
    )
    const delimiter = plan.loaded.plan.stepDelimiter ?? generator.stepDelimiter
    return { results, snapshot: yield* inner.snapshot, delimiter } satisfies Outcome
  })

/** A run that failed: the status and message of its error. */
const runFailure = (e: RunError | GraphError | RunTimedOut): Reply => {
  switch (e._tag) {
    case "GraphError":
      return new Reply({ status: 400, body: Wire.errorBody(400, e.problems.join("; "), "invalid_graph_request") })
    case "InvalidValue":
    case "BudgetTooSmall":
      return new Reply({ status: 400, body: Wire.errorBody(400, e.message, "invalid_graph_request", "mull") })
    case "RunTimedOut":
      return new Reply({
        status: 504,
        body: Wire.errorBody(
          504,
          `the run did not finish within twice its deadline (mull.budget.wallMs = ${e.ms} ms)`,
          "run_timeout"
        )
      })
    default:
      return new Reply({
        status: 502,
        body: Wire.errorBody(
          502,
          `the ${e.backend} backend failed (${e.reason._tag}) during ${e.operation}: ${e.message}`,
          "backend_error"
        )
      })
  }
}

/** A request cut short by the server shutting down. */
const shutdownReply = (drainMs: number) =>
  new Reply({
    status: 503,
    body: Wire.errorBody(
      503,
      `the server is shutting down and could not finish this request within ${drainMs} ms; retry`,
      "shutting_down"
    ),
    headers: { "retry-after": "1", connection: "close" }
  })

/** A request the admission control refused: 429 or 503, with `Retry-After`. */
const overloadReply = (parts: ServerParts, e: Overloaded): Reply => {
  Metrics.count(parts.metrics, { _tag: "AdmissionRejected", reason: e.reason })
  return new Reply({
    status: e.status,
    body: Wire.errorBody(e.status, e.message, e.reason === "TenantBusy" ? "rate_limited" : "overloaded"),
    headers: { "retry-after": String(e.retryAfterSeconds) }
  })
}

/**
 * The candidate a reply shows: the chosen one, or — when no candidate has an answer (a model that
 * does not write `\boxed{}`) — the best-scored complete one, else the first.
 */
const shownOf = (r: RunResult): Candidate | undefined => {
  if (r.chosen !== undefined) return r.chosen
  const done = r.population.filter((c) => c.done)
  const pool = done.length > 0 ? done : r.population
  return pool.reduce<Candidate | undefined>(
    (best, c) => (best === undefined || (c.score ?? 0) > (best.score ?? 0) ? c : best),
    undefined
  )
}

/**
 * The choices of a reply. A choice whose shown candidate did not finish — or that has none, the
 * budget having paid for nothing of it — ends with `length`: the run stopped short, not by itself.
 */
const choicesOf = (outcome: Outcome): ReadonlyArray<Wire.Choice> =>
  outcome.results.map((r) => {
    const shown = shownOf(r)
    return {
      content: shown === undefined ? "" : Steps.text(shown.steps, outcome.delimiter),
      finishReason: shown === undefined ? (r.exhausted ? "length" : "stop") : shown.done ? "stop" : "length"
    }
  })

const mullReply = (plan: Plan, outcome: Outcome): Wire.MullReply => {
  const s = outcome.snapshot
  return {
    strategy: plan.graph,
    params: plan.params,
    budget: plan.budget as { readonly [meter: string]: number },
    ...(plan.capped.length > 0 ? { capped: plan.capped } : {}),
    seed: plan.seed,
    answers: outcome.results.map((r) => r.answer ?? null),
    exhausted: outcome.results.some((r) => r.exhausted),
    usage: s.committed,
    backendUsage: s.backend,
    ledger: s.byNode,
    ranking: outcome.results[0]?.ranking ?? [],
    ...(plan.trace ? { trace: plan.id } : {})
  }
}

/** Run events of choice `choice`: recorded for the trace and handed to `emit` (the SSE stream). */
const choiceEvents = (
  choice: number,
  recorder: Recorder | undefined,
  emit: ((choice: number, e: RunEvent) => Effect.Effect<void>) | undefined
): RunEvents["Service"] =>
  RunEvents.of({
    enabled: recorder !== undefined || emit !== undefined,
    publish: (e) =>
      Effect.suspend(() => {
        recorder?.record(choice, e)
        return emit === undefined ? Effect.void : emit(choice, e)
      }),
    subscribe: Effect.succeed(Stream.empty)
  })

const sse = (data: unknown): string => `data: ${typeof data === "string" ? data : JSON.stringify(data)}\n\n`

/** Drops a client: closes its connection (its request's fiber, stream and run are interrupted). */
const dropClient = (http: HttpServerRequest.HttpServerRequest): boolean => {
  const source = NodeHttpServerRequest.toIncomingMessage(http) as { readonly socket?: { destroy: () => void } }
  if (typeof source !== "object" || source === null || source.socket === undefined) return false
  source.socket.destroy()
  return true
}

/**
 * The streaming reply: progress chunks, then the answer, a usage chunk, and `[DONE]`. Chunks go
 * through a buffer of `streamBuffer` chunks; while it is full the run waits, and a client that
 * leaves it full for `streamStallMs` is dropped — its connection closed, its run interrupted and
 * its reservations released.
 */
const streamReply = (
  parts: ServerParts,
  plan: Plan,
  http: HttpServerRequest.HttpServerRequest,
  permit: Permit,
  settle?: Settle
) => {
  const { policy, metrics } = parts
  const created = Math.floor(Date.now() / 1000)
  const stall = policy.timeouts.streamStallMs
  const body = Stream.callback<string>(
    (queue) =>
      Effect.gen(function* () {
        const send = (data: unknown): Effect.Effect<void> =>
          Queue.offer(queue, sse(data)).pipe(
            Effect.timeoutOption(stall),
            Effect.flatMap((sent) => {
              if (Option.isSome(sent)) return Effect.void
              Metrics.count(metrics, { _tag: "StreamDropped" })
              if (!dropClient(http)) Queue.failCauseUnsafe(queue, Cause.interrupt())
              return Effect.interrupt
            })
          )
        yield* send(
          Wire.chunk(plan.id, plan.model, created, [
            { index: 0, delta: { role: "assistant", content: "" }, finish_reason: null }
          ])
        )
        const recorder = plan.trace ? makeRecorder(policy.traceLimits.maxBytes, plan.choices) : undefined
        const emit = (choice: number, e: RunEvent) =>
          send(
            Wire.chunk(plan.id, plan.model, created, [], {
              mull: { event: e, ...(plan.choices > 1 ? { choice } : {}) }
            })
          )
        const run = runPlan(parts, plan, (i) => choiceEvents(i, recorder, emit), settle)
        const exit = yield* Effect.exit(raceShutdown(parts, run))
        if (recorder !== undefined) yield* writeTrace(policy, metrics, plan.id, recorder)
        if (Exit.isSuccess(exit)) {
          const outcome = exit.value
          for (const [index, c] of choicesOf(outcome).entries()) {
            yield* send(
              Wire.chunk(plan.id, plan.model, created, [{ index, delta: { content: c.content }, finish_reason: null }])
            )
            yield* send(Wire.chunk(plan.id, plan.model, created, [{ index, delta: {}, finish_reason: c.finishReason }]))
          }
          yield* send(
            Wire.chunk(plan.id, plan.model, created, [], {
              usage: Wire.wireUsage(outcome.snapshot.committed),
              mull: mullReply(plan, outcome)
            })
          )
          yield* permit.charge(outcome.snapshot.committed)
        } else {
          const failure = Cause.findErrorOption(exit.cause)
          const reply =
            failure._tag === "Some"
              ? failure.value instanceof Reply
                ? failure.value
                : runFailure(failure.value)
              : new Reply({ status: 500, body: Wire.errorBody(500, "the run ended unexpectedly", "internal_error") })
          yield* send(reply.body)
        }
        yield* send("[DONE]")
        yield* Queue.end(queue)
        // a stream cut before its run started still gives its fleet reservation back
      }).pipe(Effect.onExit(() => (settle === undefined ? Effect.void : settle(Usage.zero)))),
    { bufferSize: policy.timeouts.streamBuffer, strategy: "suspend" }
  )
  return HttpServerResponse.stream(Stream.encodeText(body), {
    contentType: "text/event-stream",
    headers: { "cache-control": "no-cache", connection: "keep-alive", "x-accel-buffering": "no" }
  })
}

/**
 * Runs `work` unless the server starts shutting down and it does not finish within `drainMs`
 * after that: then it is interrupted (its reservations released) and fails with a JSON 503.
 */
const raceShutdown = <A, E, R>(parts: ServerParts, work: Effect.Effect<A, E, R>): Effect.Effect<A, E | Reply, R> =>
  Effect.raceFirst(
    work,
    Deferred.await(parts.draining).pipe(
      Effect.andThen(Effect.sleep(parts.policy.drainMs)),
      // built only when the drain ends: a `Reply` is an Error (a stack trace, its fields checked),
      // and building it for every request cost about 4% of a passthrough request's CPU
      Effect.andThen(Effect.suspend(() => Effect.fail(shutdownReply(parts.policy.drainMs))))
    )
  )

/**
 * `POST /v1/chat/completions`: authorize, decode, plan, validate, wait for a slot, then run —
 * streaming or not.
 *
 * @example
 * yield* router.add("POST", "/v1/chat/completions", chatCompletions(parts))
 */
export const chatCompletions = (parts: ServerParts) =>
  Effect.gen(function* () {
    const { policy, metrics, context } = parts
    const http = yield* HttpServerRequest.HttpServerRequest
    // with a fleet budget, the bearer token is a tenant's API key
    const tenant = parts.fleet === undefined ? yield* authorize(policy, http) : yield* parts.fleet.tenantOf(http)
    const request = yield* decode(Wire.ChatRequest, yield* readJson(policy, http))
    const mull =
      request.mull === undefined
        ? undefined
        : yield* decode(Wire.MullOptions, request.mull, { strict: true, prefix: "mull" })
    const plan = yield* planOf(parts, request, mull)
    // checked before a stream starts, so a bad param is a 400 whether or not the client streams
    const facts = staticFacts(
      plan.loaded,
      plan.params,
      plan.split.ledger,
      generatorOf(context),
      verifierOf(context),
      parts.pricing
    )
    if (facts.problems.length > 0) return yield* fail(400, facts.problems.join("; "), "invalid_graph_request", "mull")
    // the slot is the request's: held until its reply is sent (a stream's last chunk), released
    // with the request's scope however the request ends
    const admitted = yield* parts.admission
      .admit({ tenant, route: "/v1/chat/completions" })
      .pipe(Effect.mapError((e) => overloadReply(parts, e)))
    // with a fleet budget, the tenant's reservation (taken once a slot is held, so a queued request
    // holds none): the run's ledger shrinks to it, or the request is refused (429)
    const reserved =
      parts.fleet === undefined
        ? undefined
        : yield* parts.fleet.admit({
            tenant,
            loaded: plan.loaded,
            params: plan.params,
            budget: plan.split.ledger,
            maxTokens: generatorOf(context).maxTokens,
            firstCall: facts.firstCall
          })
    if (reserved !== undefined && !isAdmitted(reserved)) return reserved
    const settle = reserved?.settle
    const run: Plan = reserved === undefined ? plan : { ...plan, split: { ...plan.split, ledger: reserved.budget } }
    if (request.stream === true) return streamReply(parts, run, http, admitted, settle)
    const recorder = plan.trace ? makeRecorder(policy.traceLimits.maxBytes, plan.choices) : undefined
    const outcome = yield* raceShutdown(
      parts,
      runPlan(parts, run, (i) => choiceEvents(i, recorder, undefined), settle)
    ).pipe(
      Effect.ensuring(settle === undefined ? Effect.void : settle(Usage.zero)),
      Effect.ensuring(recorder === undefined ? Effect.void : writeTrace(policy, metrics, plan.id, recorder)),
      Effect.mapError((e) => (e instanceof Reply ? e : runFailure(e)))
    )
    yield* admitted.charge(outcome.snapshot.committed)
    return json(
      200,
      Wire.completion(
        plan.id,
        plan.model,
        Math.floor(Date.now() / 1000),
        choicesOf(outcome),
        Wire.wireUsage(outcome.snapshot.committed),
        mullReply(plan, outcome)
      )
    )
  })
