/**
 * Running a graph on a problem: validation against params, budget and backend; the ledger; the
 * interpreter; the result. `run` is the entry point for library users (see also `src/index.ts`).
 *
 * @since 0.1.0
 */
import { Clock, Effect, Semaphore } from "effect"
import * as Ledger from "../budget/Ledger.ts"
import * as Limits from "../budget/Limits.ts"
import * as Pricing from "../budget/Pricing.ts"
import type { Problem } from "../domain/Problem.ts"
import type { RunResult } from "../domain/RunResult.ts"
import * as Usage from "../domain/Usage.ts"
import { minimumCost } from "../graph/Cost.ts"
import { GraphError } from "../graph/GraphError.ts"
import type { LoadedGraph } from "../graph/Loader.ts"
import type { Params } from "../graph/Scope.ts"
import { effectiveParams, validate } from "../graph/Validate.ts"
import { Generator } from "../services/Generator.ts"
import { AnswerKey } from "../services/Grader.ts"
import { Verifier } from "../services/Verifier.ts"
import type { Frame, RunEnv } from "./Env.ts"
import { runNode } from "./Interpreter.ts"
import { BudgetTooSmall, type RunError } from "./RunError.ts"
import { RunEvents } from "./RunEvents.ts"

export interface RunOptions {
  /** param overrides */
  readonly params?: Params
  /** budget limits */
  readonly limits?: Limits.Limits
  /** the run seed (default 0) */
  readonly seed?: number | bigint
  /** concurrent backend calls (defaults to each backend's own limit) */
  readonly concurrency?: number
  /** USD prices per million tokens (FLOPs use the backends' parameter counts) */
  readonly prices?: Pick<Pricing.Pricing, "usdPerMillionInput" | "usdPerMillionOutput" | "usdPerMillionVerifier">
}

/**
 * The pricing of a run: the backends' parameter counts, and the given prices.
 *
 * @example
 * pricingOf(generator, verifier, undefined).generatorParams
 */
export const pricingOf = (
  generator: { readonly params: number },
  verifier: { readonly params: number },
  prices: RunOptions["prices"]
): Pricing.Pricing => ({
  ...Pricing.free,
  ...prices,
  generatorParams: generator.params,
  verifierParams: verifier.params
})

/**
 * Runs a graph on a problem, paying from the `Ledger` in context. The ledger may be shared by
 * several runs (one budget for a batch); `run` makes a fresh one.
 *
 * @example
 * const result = yield* execute(loaded, problem, { params: { N: 16 } })
 */
export const execute = Effect.fn("mull.execute")(function* (
  loaded: LoadedGraph,
  problem: Problem,
  options: RunOptions = {}
): Effect.fn.Return<RunResult, RunError | GraphError, Generator | Verifier | AnswerKey | RunEvents | Ledger.Ledger> {
  const generator = yield* Generator
  const verifier = yield* Verifier
  const answers = yield* AnswerKey
  const events = yield* RunEvents
  const ledger = yield* Ledger.Ledger
  const limits = ledger.limits
  const problems = [
    ...validate(loaded, {
      params: options.params ?? {},
      limits,
      backend: { name: generator.backend, capabilities: generator.capabilities, verifiers: verifier.verifiers }
    }),
    ...Limits.check(limits, {
      generatorTokenizer: generator.promptTokens !== undefined,
      verifierTokenizer: verifier.inputTokens !== undefined
    })
  ]
  if (problems.length > 0) return yield* new GraphError({ graph: loaded.source, problems })
  const { params } = effectiveParams(loaded.doc, options.params ?? {})
  const prompt =
    generator.promptTokens?.({
      problem,
      prefix: undefined,
      n: 1,
      until: "end",
      temperature: 0,
      maxTokens: generator.maxTokens,
      seed: 0n
    }) ?? 0
  const firstCall = minimumCost(loaded, { params, limits, maxTokens: generator.maxTokens })
  // the first call's prompt, when the graph makes a call at all
  const minimum = firstCall.calls > 0 ? Usage.add(firstCall, Usage.make({ inputTokens: prompt })) : firstCall
  const first = Pricing.derive(ledger.pricing, minimum)
  const short = Usage.METERS.filter((m) => {
    const limit = limits[m]
    return limit !== undefined && first[m] > limit + Limits.tolerance(limit)
  })
  if (short.length > 0)
    return yield* new BudgetTooSmall({
      problems: short.map((m) => `budget.${m}: the first call needs ${first[m]}, the limit is ${limits[m]}`)
    })
  const concurrency = Math.max(1, options.concurrency ?? generator.concurrency)
  const env: RunEnv = {
    problem,
    runSeed: BigInt(options.seed ?? 0),
    limits,
    generator,
    verifier,
    answers,
    events,
    delimiter: loaded.doc.stepDelimiter ?? generator.stepDelimiter,
    generatorPermits: yield* Semaphore.make(concurrency),
    verifierPermits: yield* Semaphore.make(Math.max(1, options.concurrency ?? verifier.concurrency)),
    exhausted: { value: false },
    counters: new Map()
  }
  const frame: Frame = {
    env,
    graph: loaded,
    params,
    ledger,
    prefix: "",
    group: undefined,
    counter: { next: 0 },
    round: 0,
    pathPrefix: "",
    selection: { ranking: [] }
  }
  if (events.enabled)
    yield* events.publish({
      _tag: "RunStarted",
      problemId: problem.id,
      question: problem.question,
      ...(problem.gold === undefined ? {} : { gold: problem.gold }),
      graph: loaded.doc.name,
      params,
      limits: { ...limits },
      seed: String(options.seed ?? 0),
      at: yield* Clock.currentTimeMillis
    })
  const population = yield* runNode(frame, loaded.doc.root, "root", [])
  const snap = yield* ledger.snapshot
  const sel = frame.selection
  const result: RunResult = {
    ...(sel.answer === undefined ? {} : { answer: sel.answer }),
    ...(sel.chosen === undefined ? {} : { chosen: sel.chosen }),
    ranking: sel.ranking,
    population,
    usage: snap.committed,
    backendUsage: snap.backend,
    ledger: snap.byNode,
    exhausted: env.exhausted.value || snap.refusals > 0
  }
  if (events.enabled)
    yield* events.publish({
      _tag: "RunFinished",
      ...(result.answer === undefined ? {} : { answer: result.answer }),
      exhausted: result.exhausted,
      usage: result.usage
    })
  return result
})

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
  Effect.gen(function* () {
    const generator = yield* Generator
    const verifier = yield* Verifier
    const ledger = yield* Ledger.make(options.limits ?? {}, pricingOf(generator, verifier, options.prices))
    return yield* execute(loaded, problem, options).pipe(Effect.provideService(Ledger.Ledger, ledger))
  })
