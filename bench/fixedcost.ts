/**
 * The fixed cost of a run, alone: weighted best-of-1 on recorded answers (the case of figure 1's
 * "overhead per run"), run back to back through the runtime only — the Effect steps one run takes,
 * and the CPU time per run once V8 has compiled the code (`warmup` runs first, then `runs` timed).
 * Figure 1 times 40-run repetitions after 2 warm-ups, much of it in V8's lower tiers; this shows
 * the code once it is compiled. Usage:
 *
 *     npm exec -- node bench/fixedcost.ts [runs=20000] [warmup=2000]
 *
 * @since 0.1.0
 */
import { Effect } from "effect"
import type { Problem } from "../src/domain/Problem.ts"
import type { RunResult } from "../src/domain/RunResult.ts"
import { run } from "../src/runtime/Run.ts"
import { RunEvents, silent } from "../src/runtime/RunEvents.ts"
import { plainSimulated } from "./PlainLoop.ts"
import { portsOf, recordedPlain } from "./Recorded.ts"
import { backendOf, graph, problem, provide } from "./World.ts"

/** What `measure` found. */
export interface FixedCost {
  /** Effect steps of one warm run (every fiber's run loop, summed) */
  readonly steps: number
  /** fibers that ran during it */
  readonly fibers: number
  /** CPU µs per run over the timed runs */
  readonly cpuUs: number
}

/**
 * Times `runs` runs after `warmup`, then counts the steps of one more by wrapping the fiber's run
 * loop (each pass of it counts its steps in `currentOpCount`).
 *
 * @example
 * const { steps, cpuUs } = await measure(20000, 2000)
 */
export const measure = async (runs: number, warmup: number): Promise<FixedCost> => {
  const simulated = await backendOf({})
  const ports = portsOf(recordedPlain(plainSimulated(simulated)), simulated)
  const loaded = await graph("weighted-best-of-n")
  const problems: Array<Problem> = []
  for (let i = 0; i < 40; i++) problems.push(await problem(17 + 41 * i))
  const once = (i: number): Promise<RunResult> =>
    Effect.runPromise(
      provide(
        ports,
        run(loaded, problems[i % 40] as Problem, { params: { N: 1 }, seed: i % 40 }).pipe(
          Effect.provideService(RunEvents, silent)
        )
      )
    )
  for (let i = 0; i < warmup; i++) await once(i)
  // timed before the steps are counted: patching the fiber's prototype throws its compiled code away
  const t0 = process.cpuUsage()
  for (let i = 0; i < runs; i++) await once(i)
  const t = process.cpuUsage(t0)
  // the fiber class's prototype, from any fiber
  const proto = Object.getPrototypeOf(Effect.runFork(Effect.void)) as {
    runLoop: (this: { currentOpCount: number }, effect: unknown) => unknown
  }
  const runLoop = proto.runLoop
  let steps = 0
  const fibers = new Set<object>()
  proto.runLoop = function (effect) {
    const exit = runLoop.call(this, effect)
    steps += this.currentOpCount
    fibers.add(this)
    return exit
  }
  await once(0)
  proto.runLoop = runLoop
  return { steps, fibers: fibers.size, cpuUs: (t.user + t.system) / runs }
}

if (import.meta.main) {
  const runs = Number(process.argv[2] ?? 20000)
  const warmup = Number(process.argv[3] ?? 2000)
  const r = await measure(runs, warmup)
  console.log(
    `best-of-1, recorded answers: ${r.steps} Effect steps, ${r.fibers} fiber(s) a run; ${r.cpuUs.toFixed(2)} µs CPU a run (${runs} runs after ${warmup})`
  )
}
