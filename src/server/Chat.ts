/**
 * `POST /v1/chat/completions`: a request becomes a plan (graph, params and budget capped by
 * policy, seed, choices), its runs share one ledger, and the reply is a chat completion with the
 * true usage and the ledger — or, streaming, progress chunks, the answer, usage and `[DONE]`.
 *
 * @since 0.1.0
 */
import { Cause, Context, Effect, Exit, Queue, Stream } from "effect"
import { HttpServerRequest, HttpServerResponse } from "effect/http"
import * as Ledger from "../budget/Ledger.ts"
import type * as Limits from "../budget/Limits.ts"
import type * as Pricing from "../budget/Pricing.ts"
import type { Candidate } from "../domain/Candidate.ts"
import { hash64 } from "../domain/Hash.ts"
import { makeProblem, type Problem, questionId } from "../domain/Problem.ts"
import type { RunResult } from "../domain/RunResult.ts"
import * as Steps from "../domain/Steps.ts"
import type { GraphError } from "../graph/GraphError.ts"
import type * as Loader from "../graph/Loader.ts"
import type { Params } from "../graph/Scope.ts"
import { execute, pricingOf, staticFacts } from "../runtime/Run.ts"
import type { RunError } from "../runtime/RunError.ts"
import { type RunEvent, RunEvents } from "../runtime/RunEvents.ts"
import { Generator } from "../services/Generator.ts"
import { Verifier } from "../services/Verifier.ts"
import type { Catalog, ServedContext } from "./Catalog.ts"
import { authorize, decode, fail, json, Reply, readJson } from "./Http.ts"
import * as Metrics from "./Metrics.ts"
import { capBudget, capParams, type Policy, resolveModel } from "./Policy.ts"
import { writeTrace } from "./Traces.ts"
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
  readonly budget: Limits.Limits
  readonly seed: number
  readonly choices: number
  readonly trace: boolean
  /** the server's prices (a usd budget needs them) */
  readonly prices: Pricing.Prices | undefined
}

const planOf = (policy: Policy, catalog: Catalog, request: Wire.ChatRequest, mull: Wire.MullOptions | undefined) =>
  Effect.gen(function* () {
    const resolved = resolveModel(policy, request.model, [...catalog.graphs.keys()])
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
    const declared = entry.loaded.doc.params ?? {}
    // OpenAI's sampling fields set the graph's params of the same meaning, when it declares them
    const fromOpenAi: Record<string, number> = {}
    if (request.temperature != null && "temperature" in declared) fromOpenAi.temperature = request.temperature
    const maxTokens = request.max_completion_tokens ?? request.max_tokens
    if (maxTokens != null && "maxTokens" in declared) fromOpenAi.maxTokens = maxTokens
    const { params } = capParams(policy.maxParams, resolved.params, { ...fromOpenAi, ...mull?.params })
    const budget = capBudget(policy.maxBudget, resolved.budget ?? policy.defaultBudget, mull?.budget)
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
      seed,
      choices,
      trace,
      prices: policy.prices
    } satisfies Plan
  })

/** The outcome of a plan's runs (they share one ledger: the budget is the request's). */
interface Outcome {
  readonly results: ReadonlyArray<RunResult>
  readonly snapshot: Ledger.LedgerSnapshot
  readonly delimiter: string
}

const runPlan = (metrics: Metrics.Metrics, plan: Plan, events: RunEvents["Service"]) =>
  Effect.gen(function* () {
    const generator = yield* Generator
    const verifier = yield* Verifier
    const inner = yield* Ledger.make(plan.budget, pricingOf(generator, verifier, plan.prices))
    const ledger = Ledger.tracked(inner, metrics.reservationsOutstanding)
    metrics.runsInFlight.value += 1
    // each choice pays from an equal share of the request's budget, as parallel branches do, so
    // what a choice can spend never depends on how fast the others run
    const share =
      Object.keys(plan.budget).length === 0
        ? undefined
        : Ledger.shareOf(plan.budget, yield* ledger.snapshot, plan.choices)
    const results = yield* Effect.forEach(
      Array.from({ length: plan.choices }, (_, i) => i),
      (i) =>
        Effect.flatMap(share === undefined ? Effect.succeed(ledger) : Ledger.makeShare(ledger, share), (paying) =>
          execute(plan.loaded, plan.problem, { params: plan.params, seed: plan.seed + i }).pipe(
            Effect.provideService(Ledger.Ledger, paying),
            Effect.provideService(RunEvents, events)
          )
        ),
      { concurrency: "unbounded" }
    ).pipe(
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
          })
        )
      )
    )
    const delimiter = plan.loaded.doc.stepDelimiter ?? generator.stepDelimiter
    return { results, snapshot: yield* inner.snapshot, delimiter } satisfies Outcome
  })

/** A run that failed: the status and message of its error. */
const runFailure = (e: RunError | GraphError): Reply => {
  switch (e._tag) {
    case "GraphError":
      return new Reply({ status: 400, body: Wire.errorBody(400, e.problems.join("; "), "invalid_graph_request") })
    case "InvalidValue":
    case "BudgetTooSmall":
      return new Reply({ status: 400, body: Wire.errorBody(400, e.message, "invalid_graph_request", "mull") })
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

const choicesOf = (outcome: Outcome): ReadonlyArray<Wire.Choice> =>
  outcome.results.map((r) => {
    const shown = shownOf(r)
    return {
      content: shown === undefined ? "" : Steps.text(shown.steps, outcome.delimiter),
      finishReason: shown === undefined || shown.done ? "stop" : "length"
    }
  })

const mullReply = (plan: Plan, outcome: Outcome): Wire.MullReply => {
  const s = outcome.snapshot
  return {
    strategy: plan.graph,
    params: plan.params,
    budget: plan.budget as { readonly [meter: string]: number },
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

/** Run events of one request: recorded for its trace and handed to `emit` (the SSE stream). */
const requestEvents = (record: boolean, lines: Array<string>, emit: ((e: RunEvent) => void) | undefined) =>
  RunEvents.of({
    enabled: record || emit !== undefined,
    publish: (e) =>
      Effect.sync(() => {
        if (record) lines.push(JSON.stringify(e))
        emit?.(e)
      }),
    subscribe: Effect.succeed(Stream.empty)
  })

const sse = (data: unknown): string => `data: ${typeof data === "string" ? data : JSON.stringify(data)}\n\n`

/** The streaming reply: progress chunks, then the answer, a usage chunk, and `[DONE]`. */
const streamReply = (policy: Policy, metrics: Metrics.Metrics, plan: Plan, context: ServedContext) => {
  const created = Math.floor(Date.now() / 1000)
  const body = Stream.callback<string>((queue) =>
    Effect.gen(function* () {
      const send = (data: unknown) => {
        Queue.offerUnsafe(queue, sse(data))
      }
      send(
        Wire.chunk(plan.id, plan.model, created, [
          { index: 0, delta: { role: "assistant", content: "" }, finish_reason: null }
        ])
      )
      const lines: Array<string> = []
      const events = requestEvents(plan.trace, lines, (e) =>
        send(Wire.chunk(plan.id, plan.model, created, [], { mull: { event: e } }))
      )
      const exit = yield* Effect.exit(Effect.provide(runPlan(metrics, plan, events), context))
      yield* plan.trace ? writeTrace(policy.traces, plan.id, lines) : Effect.void
      if (Exit.isSuccess(exit)) {
        const outcome = exit.value
        for (const [index, c] of choicesOf(outcome).entries()) {
          send(
            Wire.chunk(plan.id, plan.model, created, [{ index, delta: { content: c.content }, finish_reason: null }])
          )
          send(Wire.chunk(plan.id, plan.model, created, [{ index, delta: {}, finish_reason: c.finishReason }]))
        }
        send(
          Wire.chunk(plan.id, plan.model, created, [], {
            usage: Wire.wireUsage(outcome.snapshot.committed),
            mull: mullReply(plan, outcome)
          })
        )
      } else {
        const failure = Cause.findErrorOption(exit.cause)
        const reply =
          failure._tag === "Some"
            ? runFailure(failure.value)
            : new Reply({ status: 500, body: Wire.errorBody(500, "the run ended unexpectedly", "internal_error") })
        send(reply.body)
      }
      send("[DONE]")
      yield* Queue.end(queue)
    })
  )
  return HttpServerResponse.stream(Stream.encodeText(body), {
    contentType: "text/event-stream",
    headers: { "cache-control": "no-cache", connection: "keep-alive", "x-accel-buffering": "no" }
  })
}

/**
 * `POST /v1/chat/completions`: authorize, decode, plan, validate, then run — streaming or not.
 *
 * @example
 * yield* router.add("POST", "/v1/chat/completions", chatCompletions(policy, catalog, metrics, context))
 */
export const chatCompletions = (policy: Policy, catalog: Catalog, metrics: Metrics.Metrics, context: ServedContext) =>
  Effect.gen(function* () {
    const http = yield* HttpServerRequest.HttpServerRequest
    yield* authorize(policy, http)
    const request = yield* decode(Wire.ChatRequest, yield* readJson(policy, http))
    const mull =
      request.mull === undefined
        ? undefined
        : yield* decode(Wire.MullOptions, request.mull, { strict: true, prefix: "mull" })
    const plan = yield* planOf(policy, catalog, request, mull)
    // checked before a stream starts, so a bad param is a 400 whether or not the client streams
    const facts = staticFacts(
      plan.loaded,
      plan.params,
      plan.budget,
      Context.get(context, Generator),
      Context.get(context, Verifier),
      pricingOf(Context.get(context, Generator), Context.get(context, Verifier), plan.prices)
    )
    if (facts.problems.length > 0) return yield* fail(400, facts.problems.join("; "), "invalid_graph_request", "mull")
    if (request.stream === true) return streamReply(policy, metrics, plan, context)
    const lines: Array<string> = []
    const outcome = yield* Effect.provide(
      runPlan(metrics, plan, requestEvents(plan.trace, lines, undefined)),
      context
    ).pipe(
      Effect.ensuring(plan.trace ? writeTrace(policy.traces, plan.id, lines) : Effect.void),
      Effect.mapError(runFailure)
    )
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
