/**
 * Running a graph on a problem: validation against params, budget and backend; the ledger; the
 * interpreter; the result. `run` is the entry point for library users (see also `src/index.ts`).
 *
 * @since 0.1.0
 */
import { Clock, Context, Effect, type Fiber, References, Tracer, type Types } from "effect"
import * as Ledger from "../budget/Ledger.ts"
import * as Limits from "../budget/Limits.ts"
import * as Pricing from "../budget/Pricing.ts"
import { kindOf } from "../domain/AnswerKind.ts"
import type { Problem } from "../domain/Problem.ts"
import type { RunResult } from "../domain/RunResult.ts"
import * as Usage from "../domain/Usage.ts"
import { type FirstCall, firstCall as firstCallOf, staticCost, usesVerifier } from "../graph/Cost.ts"
import { GraphError } from "../graph/GraphError.ts"
import type { LoadedGraph } from "../graph/Loader.ts"
import { effectiveParams, type Params } from "../graph/Scope.ts"
import { validate } from "../graph/Validate.ts"
import { Generator, type GeneratorShape } from "../services/Generator.ts"
import { AnswerKey } from "../services/Grader.ts"
import { Verifier, type VerifierShape } from "../services/Verifier.ts"
import { type Frame, permitsFor, type RunEnv } from "./Env.ts"
import { questionTokens, reserveFor } from "./Finish.ts"
import { runNode } from "./Interpreter.ts"
import { BudgetTooSmall, type RunError } from "./RunError.ts"
import { RunEvents } from "./RunEvents.ts"
import * as Spans from "./Spans.ts"

/** How `execute` runs a graph; the budget (limits, prices) is the `Ledger`'s in context. */
export interface ExecuteOptions {
  /** param overrides */
  readonly params?: Params
  /** the run seed (default 0) */
  readonly seed?: number | bigint
  /** concurrent backend calls (defaults to each backend's own limit) */
  readonly concurrency?: number
}

/**
 * Prices of a run: USD per million tokens and parameter counts (`Pricing.Prices`), or the older
 * spelling with `usdPerMillionInput`, `usdPerMillionOutput` and `usdPerMillionVerifier`.
 */
export type RunPrices =
  | Pricing.Prices
  | {
      readonly usdPerMillionInput?: number
      readonly usdPerMillionOutput?: number
      readonly usdPerMillionVerifier?: number
    }

/** How `run` runs a graph: as `execute`, with a fresh ledger for these limits and prices. */
export interface RunOptions extends ExecuteOptions {
  /** budget limits */
  readonly limits?: Limits.Limits
  /**
   * prices and parameter counts (they win over the backend configuration's and mull's price
   * table; FLOPs use the backends' parameter counts unless set here)
   */
  readonly prices?: RunPrices | undefined
}

/** `RunPrices` as `Pricing.Prices`. */
const asPrices = (p: RunPrices | undefined): Pricing.Prices | undefined => {
  if (p === undefined) return undefined
  if (!("usdPerMillionInput" in p || "usdPerMillionOutput" in p || "usdPerMillionVerifier" in p))
    return p as Pricing.Prices
  return {
    ...(p.usdPerMillionInput === undefined ? {} : { input: p.usdPerMillionInput }),
    ...(p.usdPerMillionOutput === undefined ? {} : { output: p.usdPerMillionOutput }),
    ...(p.usdPerMillionVerifier === undefined ? {} : { verifier: p.usdPerMillionVerifier })
  }
}

/**
 * The pricing of a run: the given prices (flags, a sweep's or the server's), then the backend
 * configuration's, then mull's price table for the generator's model; parameter counts the same
 * way, ending with the backends' own (`params`). What none sets is `unset`.
 *
 * @example
 * pricingOf(generator, verifier, { input: 0.5, output: 1.5 }).usdPerMillionOutput // 1.5
 */
export const pricingOf = (
  generator: Pick<GeneratorShape, "params" | "backend" | "model" | "prices">,
  verifier: { readonly params: number },
  prices: RunPrices | undefined
): Pricing.Pricing => {
  // memoised by the objects (ports and a prices object are never changed once made): a request
  // to the server resolves the same pricing several times (its limits check, its ledger, its cost)
  let byVerifier = priced.get(generator)
  if (byVerifier === undefined) {
    byVerifier = new WeakMap()
    priced.set(generator, byVerifier)
  }
  let byPrices = byVerifier.get(verifier)
  if (byPrices === undefined) {
    byPrices = new WeakMap()
    byVerifier.set(verifier, byPrices)
  }
  const key = prices ?? NO_PRICES
  let pricing = byPrices.get(key)
  if (pricing === undefined) {
    pricing = Pricing.resolve([
      asPrices(prices),
      generator.prices,
      Pricing.tablePrices(generator.backend, generator.model),
      { generatorParams: generator.params, verifierParams: verifier.params }
    ])
    byPrices.set(key, pricing)
  }
  return pricing
}

/** Pricing by generator, verifier and prices objects (`NO_PRICES` when none are given). */
const priced = new WeakMap<object, WeakMap<object, WeakMap<object, Pricing.Pricing>>>()
const NO_PRICES = {}

/**
 * What a run knows before it starts that depends only on the graph, the param overrides, the
 * limits and the backend's declared facts: the validation problems, the effective params, and
 * the graph's first call without its prompt (the minimum-cost check adds the problem's prompt).
 */
interface StaticFacts {
  readonly problems: ReadonlyArray<string>
  readonly params: Params
  /** the first call's cost without its prompt tokens (zero usage when the graph is invalid) */
  readonly firstCall: Usage.Usage
  /** the first call's kind (a step or a whole solution, in a branch or not), for the reserve to finish */
  readonly first: FirstCall | undefined
  /** whether the graph calls a verifier */
  readonly scores: boolean
  /**
   * an upper bound on the backend calls of a run, of both backends together (the static bound's
   * calls and verifier calls, a consistency judge's included): a run that can never make more
   * calls than a backend's concurrency limit takes no permits (`Env.permitsFor`)
   */
  readonly calls: number
  /**
   * an upper bound on the generator's calls of a run on a problem whose answers are not free text
   * (the verifier's calls left out; a generative verifier's are the generator's): what its permits
   * are decided by — a fan-out of as many calls as the cap, scored after, takes none
   */
  readonly generatorCalls: number
  /** the same on a free-text problem, whose vote may also ask the consistency judge */
  readonly generatorCallsFree: number
}

/**
 * Static facts by loaded graph, then by backend facts (`backendKey`: the same string object for
 * the same ports, so the lookup does not hash it again), then by params and limits.
 */
const factsMemo = new WeakMap<LoadedGraph, Map<string, Map<string, StaticFacts>>>()

/** Distinct backends kept per graph. */
const BACKENDS_PER_GRAPH = 16

/** Distinct keys kept per graph: a sweep uses a handful; a server fed arbitrary params stays bounded. */
const FACTS_PER_GRAPH = 256

/** A number's exact spelling in a key (`-0`, `NaN` and `Infinity` included). */
const numberKey = (v: number): string => (Object.is(v, -0) ? "-0" : String(v))

/**
 * A record of numbers as a key (each name length-prefixed, so no name can forge a separator), or
 * undefined if a value is not a number (such a run is not memoised).
 */
const recordKey = (r: Readonly<Record<string, unknown>>): string | undefined => {
  let key = ""
  for (const k of Object.keys(r)) {
    const v = r[k]
    if (v === undefined) continue
    if (typeof v !== "number") return undefined
    key += `${k.length}:${k}=${numberKey(v)};`
  }
  return key
}

/** What validation and the minimum cost read of the backends, as a key (kept per port objects). */
const backendKeys = new WeakMap<GeneratorShape, WeakMap<VerifierShape, string>>()
const backendKey = (generator: GeneratorShape, verifier: VerifierShape): string => {
  let byVerifier = backendKeys.get(generator)
  if (byVerifier === undefined) {
    byVerifier = new WeakMap()
    backendKeys.set(generator, byVerifier)
  }
  let key = byVerifier.get(verifier)
  if (key === undefined) {
    key = JSON.stringify([
      generator.backend,
      [...generator.capabilities].sort(),
      verifier.verifiers,
      numberKey(generator.maxTokens),
      String(generator.stepTokens),
      String(generator.maxSteps),
      String(verifier.maxBatch),
      generator.promptTokens !== undefined,
      verifier.inputTokens !== undefined,
      // a generator that may think bounds a call's thinking tokens by its output (`costOptionsOf`)
      generator.thinks === true
    ])
    byVerifier.set(verifier, key)
  }
  return key
}

/**
 * The static cost options of a backend: its solution and step caps, its step-length model and its
 * verifier's batch size.
 *
 * @example
 * costOptionsOf(generator, verifier) // { maxTokens: 4096, stepTokens: 512, maxSteps: 11 }
 */
export const costOptionsOf = (
  generator: Pick<GeneratorShape, "maxTokens" | "stepTokens" | "maxSteps" | "thinks">,
  verifier: Pick<VerifierShape, "maxBatch">
) => ({
  maxTokens: generator.maxTokens,
  ...(generator.thinks === true ? { thinks: true } : {}),
  ...(generator.stepTokens === undefined ? {} : { stepTokens: generator.stepTokens }),
  ...(generator.maxSteps === undefined ? {} : { maxSteps: generator.maxSteps }),
  ...(verifier.maxBatch === undefined ? {} : { maxBatch: verifier.maxBatch })
})

/**
 * The problems of limits for a graph on a backend with a pricing: what cannot be bounded or
 * priced is refused, naming how to set it.
 *
 * @example
 * limitProblems(loaded, { usd: 1 }, generator, verifier, Pricing.free) // ["limits.usd: cannot be enforced: no USD price …"]
 */
export const limitProblems = (
  loaded: LoadedGraph,
  limits: Limits.Limits,
  generator: Pick<GeneratorShape, "promptTokens">,
  verifier: Pick<VerifierShape, "inputTokens">,
  pricing: Pricing.Pricing
): ReadonlyArray<string> =>
  Limits.check(limits, {
    generatorInput: generator.promptTokens !== undefined,
    verifierInput: verifier.inputTokens !== undefined,
    scores: usesVerifier(loaded.plan.root),
    unset: pricing.unset ?? []
  })

const computeFacts = (
  loaded: LoadedGraph,
  overrides: Params,
  limits: Limits.Limits,
  generator: GeneratorShape,
  verifier: VerifierShape,
  pricing: Pricing.Pricing
): StaticFacts => {
  const problems = [
    ...validate(loaded, {
      params: overrides,
      limits,
      backend: { name: generator.backend, capabilities: generator.capabilities, verifiers: verifier.verifiers }
    }),
    ...limitProblems(loaded, limits, generator, verifier, pricing)
  ]
  const { params } = effectiveParams(loaded.plan, overrides)
  const scores = usesVerifier(loaded.plan.root)
  if (problems.length > 0)
    return {
      problems,
      params,
      firstCall: Usage.zero,
      first: undefined,
      scores,
      calls: Number.POSITIVE_INFINITY,
      generatorCalls: Number.POSITIVE_INFINITY,
      generatorCallsFree: Number.POSITIVE_INFINITY
    }
  const options = { params, limits, ...costOptionsOf(generator, verifier) }
  const first = firstCallOf(loaded, options)
  // a free-text problem's vote may ask a judge (one more call): bounded as if every problem were one
  const bound = staticCost(loaded, { ...options, answerKind: "free" }).usage
  const calls = bound.calls + bound.verifierCalls
  const callsOfGenerator = (answerKind: "math" | "free"): number => {
    const c = staticCost(loaded, { ...options, answerKind, callsOf: "generator" }).usage.calls
    return Number.isNaN(c) ? Number.POSITIVE_INFINITY : c
  }
  return {
    problems,
    params,
    firstCall: first?.usage ?? Usage.zero,
    first,
    scores,
    calls: Number.isNaN(calls) ? Number.POSITIVE_INFINITY : calls,
    generatorCalls: callsOfGenerator("math"),
    generatorCallsFree: callsOfGenerator("free")
  }
}

/**
 * The static facts of a run, computed once per (graph, params, limits, backend facts): a sweep or
 * a server runs the same graph many times, and validating it and bounding its first call cost
 * more than a small run's own bookkeeping. A loaded graph is never mutated after loading, so the
 * graph object itself keys the memo.
 *
 * @example
 * const { problems, params, firstCall } = staticFacts(loaded, { N: 16 }, {}, generator, verifier)
 */
export const staticFacts = (
  loaded: LoadedGraph,
  overrides: Params,
  limits: Limits.Limits,
  generator: GeneratorShape,
  verifier: VerifierShape,
  pricing: Pricing.Pricing = Pricing.free
): StaticFacts => {
  // the same graph run again with the same objects and values (a sweep's or a bench's runs): the
  // last answer, checked value by value, without building and hashing the key strings
  const last = lastFacts.get(loaded)
  if (
    last !== undefined &&
    last.generator === generator &&
    last.verifier === verifier &&
    last.pricing === pricing &&
    sameNumbers(last.overrides, overrides) &&
    sameNumbers(last.limits, limits)
  )
    return last.facts
  const facts = staticFactsKeyed(loaded, overrides, limits, generator, verifier, pricing)
  if (recordKey(overrides) !== undefined && recordKey(limits) !== undefined)
    lastFacts.set(loaded, { overrides: { ...overrides }, limits: { ...limits }, generator, verifier, pricing, facts })
  return facts
}

/** The last static facts answered per graph, with copies of the records they were asked with. */
const lastFacts = new WeakMap<
  LoadedGraph,
  {
    readonly overrides: Readonly<Record<string, unknown>>
    readonly limits: Readonly<Record<string, unknown>>
    readonly generator: GeneratorShape
    readonly verifier: VerifierShape
    readonly pricing: Pricing.Pricing
    readonly facts: StaticFacts
  }
>()

/** Whether two records of numbers hold the same keys (undefined values ignored) with the same numbers (`Object.is`). */
const sameNumbers = (a: Readonly<Record<string, unknown>>, b: Readonly<Record<string, unknown>>): boolean => {
  let n = 0
  for (const k in b) {
    const v = b[k]
    if (v === undefined) continue
    if (typeof v !== "number" || !Object.is(a[k], v)) return false
    n++
  }
  for (const k in a) if (a[k] !== undefined) n--
  return n === 0
}

const staticFactsKeyed = (
  loaded: LoadedGraph,
  overrides: Params,
  limits: Limits.Limits,
  generator: GeneratorShape,
  verifier: VerifierShape,
  pricing: Pricing.Pricing
): StaticFacts => {
  const paramsKey = recordKey(overrides)
  const limitsKey = recordKey(limits)
  if (paramsKey === undefined || limitsKey === undefined)
    return computeFacts(loaded, overrides, limits, generator, verifier, pricing)
  const key = `${paramsKey}|${limitsKey}|${(pricing.unset ?? []).join(",")}`
  let byBackend = factsMemo.get(loaded)
  if (byBackend === undefined) {
    byBackend = new Map()
    factsMemo.set(loaded, byBackend)
  }
  const backend = backendKey(generator, verifier)
  let byKey = byBackend.get(backend)
  if (byKey === undefined) {
    if (byBackend.size >= BACKENDS_PER_GRAPH) byBackend.clear()
    byKey = new Map()
    byBackend.set(backend, byKey)
  }
  const hit = byKey.get(key)
  if (hit !== undefined) return hit
  const facts = computeFacts(loaded, overrides, limits, generator, verifier, pricing)
  // forget the oldest entry (Map keeps insertion order)
  if (byKey.size >= FACTS_PER_GRAPH) {
    const oldest = byKey.keys().next()
    if (oldest.done !== true) byKey.delete(oldest.value)
  }
  byKey.set(key, facts)
  return facts
}

/**
 * The answer minimum of a graph on a problem with these backends: the first call with its prompt
 * (unless a parallel branch makes it) and the run's reserve to finish one candidate. A budget that
 * pays it on every limited meter gets an answer (docs/concepts.md#anytime-behaviour).
 *
 * @example
 * const least = answerMinimumOf(loaded, { N: 16 }, generator, verifier, problem) // then Pricing.derive for usd
 */
export const answerMinimumOf = (
  loaded: LoadedGraph,
  params: Params,
  generator: GeneratorShape,
  verifier: VerifierShape,
  problem: Problem
): Usage.Usage => {
  const facts = staticFacts(loaded, params, {}, generator, verifier)
  const prompt = questionTokens(generator, problem)
  const first = facts.first
  const own =
    first === undefined || first.shared ? Usage.zero : Usage.add(first.usage, Usage.make({ inputTokens: prompt }))
  return Usage.add(own, reserveFor(first, facts.scores, generator, verifier, problem))
}

/**
 * Runs a graph on a problem, paying from the `Ledger` in context (its limits and prices are the
 * budget). The ledger may be shared by several runs (one budget for a batch); `run` makes a fresh one.
 *
 * @example
 * const result = yield* execute(loaded, problem, { params: { N: 16 } })
 */
export const execute = (
  loaded: LoadedGraph,
  problem: Problem,
  options: ExecuteOptions = {}
): Effect.Effect<RunResult, RunError | GraphError, Generator | Verifier | AnswerKey | RunEvents | Ledger.Ledger> =>
  // not `Effect.fn`: it captures a stack trace on every call, and opens its span under the
  // default tracer too; a sweep runs thousands of small runs. The services, the tracer and the
  // setup are read in one step from the fiber, not yielded one by one from a generator: a
  // small run's setup is plain work, and each yield is an effect to step through
  Effect.withFiber((fiber) => {
    const context = fiber.context as Context.Context<Services>
    return executeIn(fiber, loaded, problem, options, context, Context.get(context, Ledger.Ledger))
  })

/**
 * A run's body, read from the fiber that runs it: the span around it when a tracer exports spans.
 * `run` calls it with its fresh ledger, in its own step (no `provideService` of the ledger: a
 * step, a context copy and a step to restore it, for a service only `execute` reads).
 */
const executeIn = (
  fiber: Fiber.Fiber<unknown, unknown>,
  loaded: LoadedGraph,
  problem: Problem,
  options: ExecuteOptions,
  context: Context.Context<Exclude<Services, Ledger.Ledger>>,
  ledger: Ledger.LedgerShape
): Effect.Effect<RunResult, RunError | GraphError> => {
  // a tracer that exports spans: the native tracer (Effect's default) keeps them for nobody,
  // and Effect's docs advise comparing with it to skip work only a tracer could observe
  const traced = fiber.getRef(References.TracerEnabled) && fiber.getRef(Tracer.Tracer) !== Tracer.nativeTracer
  const body = executeWith(loaded, problem, options, traced, fiber.getRef(Clock.Clock), context, ledger)
  return traced ? Spans.run(body, loaded.plan.name, problem, options.seed ?? 0) : body
}

/** What a run reads from its context. */
type Services = Generator | Verifier | AnswerKey | RunEvents | Ledger.Ledger

const executeWith = (
  loaded: LoadedGraph,
  problem: Problem,
  options: ExecuteOptions,
  traced: boolean,
  clock: Clock.Clock,
  context: Context.Context<Exclude<Services, Ledger.Ledger>>,
  ledger: Ledger.LedgerShape
): Effect.Effect<RunResult, RunError | GraphError> => {
  const generator = Context.get(context, Generator)
  const verifier = Context.get(context, Verifier)
  const key = Context.get(context, AnswerKey)
  // the problem's answer kind decides how votes group (a letter, a number, normalised words)
  const answers = key.forProblem?.(problem) ?? key
  const events = Context.get(context, RunEvents)
  const limits = ledger.limits
  const facts = staticFacts(loaded, options.params ?? {}, limits, generator, verifier, ledger.pricing)
  if (facts.problems.length > 0) return Effect.fail(new GraphError({ graph: loaded.source, problems: facts.problems }))
  const { params, firstCall } = facts
  // a call's max_tokens shrinks to what remains: the least the first call can be made with is one
  // output token, so only a budget that cannot pay even that refuses the run up front (its
  // thinking tokens, part of them, shrink with them); without a limit nothing can fall short, and
  // the first call's prompt (counted per problem) is not needed at all
  const unlimited = Object.keys(limits).length === 0
  let minimum = firstCall
  if (!unlimited) {
    const prompt = questionTokens(generator, problem)
    // the first call's prompt, when the graph makes a call at all
    if (firstCall.calls > 0) minimum = Usage.add(firstCall, Usage.make({ inputTokens: prompt }))
    const least = {
      ...minimum,
      outputTokens: Math.min(1, minimum.outputTokens),
      thinkingTokens: Math.min(1, minimum.thinkingTokens)
    }
    const short = ledger.shortfall(least)
    if (short.length > 0)
      return Effect.fail(
        new BudgetTooSmall({
          problems: short.map((s) => `budget.${s.meter}: the first call needs ${s.needs}, the limit is ${s.limit}`)
        })
      )
  }
  const concurrency = Math.max(1, options.concurrency ?? generator.concurrency)
  const env: RunEnv = {
    problem,
    runSeed: BigInt(options.seed ?? 0),
    generator,
    verifier,
    answers,
    events,
    delimiter: loaded.plan.stepDelimiter ?? generator.stepDelimiter,
    generatorPermits: permitsFor(
      concurrency,
      kindOf(problem) === "free" ? facts.generatorCallsFree : facts.generatorCalls
    ),
    verifierPermits: permitsFor(Math.max(1, options.concurrency ?? verifier.concurrency), facts.calls),
    exhausted: { value: false },
    counters: new Map(),
    lastScore: undefined,
    traced,
    clock
  }
  // the reserve to finish one candidate (Finish.ts), kept back from the graph's ordinary work when
  // the budget can pay for it besides the first call; without a limit there is nothing to keep
  // (computed only under a limit: it counts the prompt and a candidate's tokens, per run)
  const reserve =
    unlimited || !loaded.plan.root.answers
      ? undefined
      : reserveFor(facts.first, facts.scores, generator, verifier, problem)
  // a first call made in a parallel branch is paid from a share of what the reserve leaves; the
  // run's own first call must still fit beside the reserve (a reserve is kept only under a limit,
  // where `minimum` has its prompt)
  const own = facts.first === undefined || facts.first.shared ? Usage.zero : minimum
  const start = (hold: Ledger.Hold | undefined): Effect.Effect<RunResult, RunError | GraphError> => {
    const frame: Frame = {
      env,
      params,
      ledger,
      hold,
      prefix: "",
      group: undefined,
      counter: { next: 0 },
      round: 0,
      selection: { ranking: [] }
    }
    const ran = runNode(frame, loaded.plan.root, [])
    // a run that fails or is interrupted gives its reserve back too
    const held = hold === undefined ? ran : Effect.ensuring(ran, ledger.releaseHold(hold))
    const resultOf = (population: RunResult["population"], snap: Ledger.LedgerSnapshot): RunResult => {
      const sel = frame.selection
      // fields assigned in order, not conditional spreads (each builds and copies an object):
      // the same keys in the same order
      const result: Types.Mutable<RunResult> = {} as Types.Mutable<RunResult>
      if (sel.answer !== undefined) result.answer = sel.answer
      if (sel.chosen !== undefined) result.chosen = sel.chosen
      result.ranking = sel.ranking
      result.population = population
      result.usage = snap.committed
      result.backendUsage = snap.backend
      result.ledger = snap.byNode
      result.exhausted = env.exhausted.value || snap.refusals > 0
      return result
    }
    // `map`, not `flatMap` to a `succeed`: the result goes on to the caller in the snapshot's step
    const body = Effect.flatMap(held, (population) =>
      events.enabled
        ? Effect.flatMap(ledger.snapshot, (snap) => {
            const result = resultOf(population, snap)
            return Effect.as(
              events.publish({
                _tag: "RunFinished",
                ...(result.answer === undefined ? {} : { answer: result.answer }),
                exhausted: result.exhausted,
                usage: result.usage
              }),
              result
            )
          })
        : Effect.map(ledger.snapshot, (snap) => resultOf(population, snap))
    )
    if (!events.enabled) return body
    return Effect.andThen(
      Effect.flatMap(Clock.currentTimeMillis, (at) =>
        events.publish({
          _tag: "RunStarted",
          problemId: problem.id,
          question: problem.question,
          ...(problem.gold === undefined ? {} : { gold: problem.gold }),
          graph: loaded.plan.name,
          backend: generator.backend,
          model: generator.model,
          params,
          limits: { ...limits },
          seed: String(options.seed ?? 0),
          at
        })
      ),
      body
    )
  }
  return reserve === undefined || ledger.shortfall(Usage.add(own, reserve)).length > 0
    ? start(undefined)
    : Effect.flatMap(ledger.hold(`${loaded.plan.root.path}#reserve`, reserve), start)
}

/** The pricing of ports with no prices given, by port objects (a port's facts never change). */
const pricings = new WeakMap<GeneratorShape, WeakMap<VerifierShape, Pricing.Pricing>>()
const backendPricing = (generator: GeneratorShape, verifier: VerifierShape): Pricing.Pricing => {
  let byVerifier = pricings.get(generator)
  if (byVerifier === undefined) {
    byVerifier = new WeakMap()
    pricings.set(generator, byVerifier)
  }
  let pricing = byVerifier.get(verifier)
  if (pricing === undefined) {
    pricing = pricingOf(generator, verifier, undefined)
    byVerifier.set(verifier, pricing)
  }
  return pricing
}

/**
 * Runs a graph on a problem with a fresh ledger for `options.limits`.
 *
 * @example
 * const result = yield* run(loaded, problem, { params: { N: 16 }, limits: { sequences: 10 }, seed: 1 })
 */
export const run = (
  loaded: LoadedGraph,
  problem: Problem,
  options: RunOptions = {}
): Effect.Effect<RunResult, RunError | GraphError, Generator | Verifier | AnswerKey | RunEvents> =>
  // services read, the ledger made as plain state and the run set up in one step: no generator,
  // and no `provideService` of the ledger (only `executeWith` reads it, and it is handed over)
  Effect.withFiber((fiber) => {
    const context = fiber.context as Context.Context<Exclude<Services, Ledger.Ledger>>
    const generator = Context.get(context, Generator)
    const verifier = Context.get(context, Verifier)
    const ledger = Ledger.makeUnsafe(
      options.limits ?? {},
      options.prices === undefined
        ? backendPricing(generator, verifier)
        : pricingOf(generator, verifier, options.prices)
    )
    return executeIn(fiber, loaded, problem, options, context, ledger)
  })
