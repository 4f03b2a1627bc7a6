/**
 * Expected spend: a dry run of a graph under a budget on a set of problems, with whatever backend
 * is in context — `mull cost` and `/v1/graphs/cost` use the simulated one — giving the mean and
 * standard deviation of every meter, which meter refused first (binds), and how many runs answered.
 * It complements the static worst case: the worst case bounds what a run can spend, the expected
 * spend says what it usually does.
 *
 * The default problems are synthetic MATH-style questions in MATH-500's mix of levels (43, 90, 105,
 * 128 and 134 of 500 for levels 1–5) and of its mean question length (196 characters), so the
 * simulated step-length model sees the spread of difficulties a MATH-500 evaluation would.
 *
 * @since 0.2.0
 */
import { Effect, Stream } from "effect"
import * as Ledger from "../budget/Ledger.ts"
import type * as Limits from "../budget/Limits.ts"
import type { PriceKey } from "../budget/Pricing.ts"
import { makeProblem, type Problem } from "../domain/Problem.ts"
import * as Usage from "../domain/Usage.ts"
import type { GraphError } from "../graph/GraphError.ts"
import type { LoadedGraph } from "../graph/Loader.ts"
import type { Params } from "../graph/Scope.ts"
import { Generator } from "../services/Generator.ts"
import type { AnswerKey } from "../services/Grader.ts"
import { Verifier } from "../services/Verifier.ts"
import { execute, pricingOf, type RunPrices } from "./Run.ts"
import type { RunError } from "./RunError.ts"
import { RunEvents } from "./RunEvents.ts"

/** MATH-500's problems per level (1–5), out of 500. */
const LEVEL_MIX: ReadonlyArray<number> = [43, 90, 105, 128, 134]

const FILLER =
  "Let $f(x) = ax^2 + bx + c$ with integer coefficients, and suppose the graph passes through the given points; compute the requested value and simplify your answer completely."

/**
 * `count` synthetic problems in MATH-500's mix of levels and question length.
 *
 * @example
 * dryRunProblems(24).map((p) => p.meta.level) // [1, 1, 2, 2, 2, 2, 3, …]
 */
export const dryRunProblems = (count = 24): ReadonlyArray<Problem> => {
  const total = LEVEL_MIX.reduce((a, b) => a + b, 0)
  // largest-remainder apportionment of `count` over the levels
  const exact = LEVEL_MIX.map((n) => (n * count) / total)
  const per = exact.map(Math.floor)
  let left = count - per.reduce((a, b) => a + b, 0)
  for (const i of exact
    .map((x, i) => ({ i, r: x - Math.floor(x) }))
    .sort((a, b) => b.r - a.r || a.i - b.i)
    .map((x) => x.i)) {
    if (left <= 0) break
    per[i] = (per[i] ?? 0) + 1
    left--
  }
  const out: Array<Problem> = []
  per.forEach((n, l) => {
    for (let k = 0; k < n; k++) {
      const id = `dry-run/${l + 1}-${k}`
      const question = `Problem ${out.length + 1}. ${FILLER}`.slice(0, 196)
      out.push(makeProblem({ id, question, gold: undefined, meta: { level: l + 1 } }))
    }
  })
  return out
}

/** Spend of a graph under a budget, over a set of runs. */
export interface Expected {
  readonly runs: number
  /** mean per meter */
  readonly mean: Usage.Usage
  /** standard deviation per meter (population) */
  readonly sd: Usage.Usage
  /** the meter that refused first in each run, counted (`none`: the budget never refused) */
  readonly binds: ReadonlyArray<{ readonly meter: string; readonly runs: number }>
  /** runs that returned an answer */
  readonly answered: number
  /** runs the budget exhausted */
  readonly exhausted: number
  /** prices and parameter counts the dry run had none of (its USD or FLOPs are no estimate then) */
  readonly unset: ReadonlyArray<PriceKey>
}

export interface ExpectedOptions {
  readonly params?: Params
  readonly limits?: Limits.Limits
  readonly prices?: RunPrices | undefined
  /** default: `dryRunProblems()` */
  readonly problems?: ReadonlyArray<Problem>
  readonly seed?: number
}

/**
 * Runs a graph on each problem with a fresh ledger for the budget, on the backend in context, and
 * summarises what was spent.
 *
 * @example
 * const expected = yield* expectedSpend(loaded, { params: { N: 16 }, limits: { sequences: 200 } })
 * expected.mean.sequences // ≈ what a run spends
 */
export const expectedSpend = Effect.fn("mull.expectedSpend")(function* (
  loaded: LoadedGraph,
  options: ExpectedOptions
): Effect.fn.Return<Expected, RunError | GraphError, Generator | Verifier | AnswerKey> {
  const generator = yield* Generator
  const verifier = yield* Verifier
  const pricing = pricingOf(generator, verifier, options.prices)
  const problems = options.problems ?? dryRunProblems()
  const usages: Array<Usage.Usage> = []
  const binds = new Map<string, number>()
  let answered = 0
  let exhausted = 0
  for (const problem of problems) {
    let first: string | undefined
    const events = RunEvents.of({
      enabled: true,
      publish: (e) =>
        Effect.sync(() => {
          if (e._tag === "Refused" && first === undefined) first = e.meter
        }),
      subscribe: Effect.succeed(Stream.empty)
    })
    const ledger = yield* Ledger.make(options.limits ?? {}, pricing)
    const result = yield* execute(loaded, problem, {
      ...(options.params === undefined ? {} : { params: options.params }),
      seed: options.seed ?? 0
    }).pipe(Effect.provideService(Ledger.Ledger, ledger), Effect.provideService(RunEvents, events))
    usages.push(result.usage)
    binds.set(first ?? "none", (binds.get(first ?? "none") ?? 0) + 1)
    if (result.answer !== undefined) answered++
    if (result.exhausted) exhausted++
  }
  const n = Math.max(1, usages.length)
  const mean = Usage.scale(Usage.sum(usages), 1 / n)
  const sd = Usage.make(
    Object.fromEntries(
      Usage.METERS.map((m) => [m, Math.sqrt(usages.reduce((a, u) => a + (u[m] - mean[m]) ** 2, 0) / n)])
    )
  )
  return {
    runs: usages.length,
    mean,
    sd,
    binds: [...binds.entries()].map(([meter, runs]) => ({ meter, runs })).sort((a, b) => b.runs - a.runs),
    answered,
    exhausted,
    unset: pricing.unset ?? []
  }
})
