/**
 * Graph loading per run (issue 20): `makeRunner` runs of the `passthrough` graph by name, through
 * the graph cache (`GraphCache.shared`), next to the same runs through `solve`, which loads and
 * decodes the graph on every run. Wall µs per run, alternating blocks in one process.
 *
 * @since 0.4.0
 */
import { Effect, ManagedRuntime } from "effect"
import { layer, makeRunner, solve } from "../src/Mull.ts"
import * as RunEvents from "../src/runtime/RunEvents.ts"

export interface GraphLoadResult {
  /** µs per run, graph from the cache */
  readonly cachedUs: number
  /** µs per run, graph loaded every run */
  readonly loadedUs: number
}

const problem = { question: "What is $1+1$?", gold: "2" }

/**
 * Median over `blocks` blocks of `runs` runs each, cached and loaded alternately.
 *
 * @example
 * const r = await measureGraphLoad(); r.cachedUs < r.loadedUs // true
 */
export const measureGraphLoad = async (blocks = 5, runs = 400): Promise<GraphLoadResult> => {
  const runner = makeRunner({ backend: "simulated" })
  const runtime = ManagedRuntime.make(layer({ backend: "simulated" }))
  const cached = () => runner.run({ graph: "passthrough", problem })
  const loaded = () => runtime.runPromise(solve("passthrough", problem).pipe(Effect.provide(RunEvents.layerSilent)))
  const time = async (f: () => Promise<unknown>) => {
    const t = performance.now()
    for (let i = 0; i < runs; i++) await f()
    return ((performance.now() - t) * 1000) / runs
  }
  await time(cached)
  await time(loaded)
  const a: Array<number> = []
  const b: Array<number> = []
  for (let k = 0; k < blocks; k++) {
    a.push(await time(cached))
    b.push(await time(loaded))
  }
  await runner.dispose()
  await runtime.dispose()
  const median = (xs: Array<number>) => xs.sort((x, y) => x - y)[Math.floor(xs.length / 2)] ?? Number.NaN
  return { cachedUs: median(a), loadedUs: median(b) }
}

if (import.meta.main) console.log(JSON.stringify(await measureGraphLoad()))
