/**
 * Budget utilisation (issue 15): how much of a binding token budget a run spends. For each
 * built-in graph at 16 samples' worth of compute, on MATH-500 problems, the run is made once
 * without a budget and once with `outputTokens` at half of what it used; utilisation is output
 * tokens used ÷ the limit. A run that reserved each call's whole cap and refused what did not fit
 * would leave most of the budget unspent; one that shrinks `max_tokens` to what remains and
 * finishes from its reserve spends nearly all of it.
 *
 * Also: best-of-16 under 1.2 × the output tokens its 16 samples use unconstrained — how many of
 * the 16 it pays for.
 *
 * @since 0.2.0
 */
import { Effect, Layer } from "effect"
import * as Simulated from "../plugins/simulated/index.ts"
import * as MathGrader from "../src/answer/MathGrader.ts"
import * as Loader from "../src/graph/Loader.ts"
import { run } from "../src/runtime/Run.ts"
import * as RunEvents from "../src/runtime/RunEvents.ts"
import { math500 } from "./World.ts"

/**
 * Params giving a built-in graph 16 samples' worth of compute, by the params it declares (so a new
 * built-in needs no entry here): N = 16; P = S = 4 for the revision grids; none otherwise.
 */
const sixteen = (params: ReadonlyArray<string>): Record<string, number> =>
  params.includes("N") ? { N: 16 } : params.includes("P") && params.includes("S") ? { P: 4, S: 4 } : {}

const median = (xs: ReadonlyArray<number>): number => {
  const s = [...xs].sort((a, b) => a - b)
  const m = Math.floor(s.length / 2)
  return s.length % 2 === 1 ? (s[m] ?? 0) : ((s[m - 1] ?? 0) + (s[m] ?? 0)) / 2
}

export interface Utilisation {
  /** per graph: the median over problems of output tokens used ÷ limit */
  readonly byGraph: ReadonlyArray<{ readonly graph: string; readonly utilisation: number; readonly answered: number }>
  /** the median over graphs */
  readonly median: number
  readonly problems: number
  /** best-of-16 under 1.2 × its unconstrained output tokens: samples paid for, per problem (min) */
  readonly bestOf16Paid: number
}

/**
 * Measures utilisation on the first `problems` MATH-500 problems.
 *
 * @example
 * const u = await measureUtilisation(8)
 */
export const measureUtilisation = async (problems: number): Promise<Utilisation> => {
  const all = (await math500()).slice(0, problems)
  const names = (await Effect.runPromise(Loader.list())).map((g) => g.name)
  const program = Effect.gen(function* () {
    const byGraph: Array<{ graph: string; utilisation: number; answered: number }> = []
    for (const name of names) {
      const loaded = yield* Loader.load(name)
      const declared = Object.keys(loaded.doc.params ?? {})
      const ratios: Array<number> = []
      let answered = 0
      for (const p of all) {
        const free = yield* run(loaded, p, { params: sixteen(declared) })
        const limit = Math.max(1, Math.floor(free.usage.outputTokens / 2))
        const bound = yield* run(loaded, p, { params: sixteen(declared), limits: { outputTokens: limit } })
        ratios.push(bound.usage.outputTokens / limit)
        if (bound.answer !== undefined) answered++
      }
      byGraph.push({ graph: name, utilisation: median(ratios), answered })
    }
    const bon = yield* Loader.load("best-of-n")
    let paid = 16
    for (const p of all) {
      const free = yield* run(bon, p, { params: { N: 16 } })
      const r = yield* run(bon, p, {
        params: { N: 16 },
        limits: { outputTokens: Math.floor(1.2 * free.usage.outputTokens) }
      })
      paid = Math.min(paid, r.population.filter((c) => c.done && c.cut !== true).length)
    }
    return { byGraph, median: median(byGraph.map((g) => g.utilisation)), problems: all.length, bestOf16Paid: paid }
  })
  return Effect.runPromise(
    program.pipe(Effect.provide(Layer.mergeAll(Simulated.layer(), MathGrader.layer, RunEvents.layerSilent)))
  )
}
