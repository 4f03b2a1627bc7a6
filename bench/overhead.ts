/**
 * Figure 1, orchestration overhead: the same strategy run through the graph runtime and through
 * the plain loop of `PlainLoop.ts` — hand-written TypeScript without Effect that makes exactly the
 * runtime's backend calls (same seeds, caps, prefixes and verifier batches) on the backend's plain
 * functions. Every repetition checks the two sides answer for answer (answer, chosen candidate,
 * calls, sequences, tokens and the final population); the first, untimed warm-up repetitions also
 * check them call for call (the requests each side sent — every repetition makes the same ones, with the
 * same seeds); a mismatch aborts the bench. Times are CPU time of this process, the two sides alternating which goes first.
 *
 * Two backends: `simulated` — the runtime calls the simulated backend's ports (its pure model
 * behind a permit, as a user's run does), the plain loop the pure model itself; `recorded` — each
 * answer computed once, then served from a map (`Recorded.ts`, `recordedPlain`), which the runtime
 * reaches through `Effect.sync` (`portsOf`, the cheapest bridge): the backend's work is then all
 * but gone, and (runtime − plain loop) ÷ calls is what the runtime adds per call.
 *
 * @since 0.1.0
 */
import { Effect } from "effect"
import type { SimulatedConfigInput } from "../plugins/simulated/index.ts"
import { mathAnswerKey } from "../src/answer/MathGrader.ts"
import type { Problem } from "../src/domain/Problem.ts"
import type { RunResult } from "../src/domain/RunResult.ts"
import { run } from "../src/runtime/Run.ts"
import { RunEvents, silent } from "../src/runtime/RunEvents.ts"
import type { GeneratorShape } from "../src/services/Generator.ts"
import type { AnswerKeyShape } from "../src/services/Grader.ts"
import type { VerifierShape } from "../src/services/Verifier.ts"
import {
  callDifference,
  type LoggedCall,
  type PlainBackend,
  type PlainResult,
  plainBeamSearch,
  plainBestOfN,
  plainSimulated
} from "./PlainLoop.ts"
import { portsOf, recordedPlain } from "./Recorded.ts"
import { cpuMs, type Summary, summarize } from "./Stats.ts"
import { backendOf, graph, LONG, problem, provide } from "./World.ts"

/** One side-by-side case: a graph with params, and the plain loop that makes the same calls. */
export interface OverheadCase {
  readonly label: string
  readonly graph: string
  readonly params: Record<string, number>
  readonly config: SimulatedConfigInput
  readonly plain: (backend: PlainBackend, key: AnswerKeyShape, p: Problem, seed: number) => PlainResult
}

/** What one case measured. */
export interface OverheadResult {
  readonly label: string
  /** runtime time ÷ plain-loop time, per repetition */
  readonly ratio: Summary
  /** (runtime − plain loop) ÷ backend calls, in µs, per repetition */
  readonly perCallUs: Summary
  /** (runtime − plain loop) ÷ runs, in µs, per repetition */
  readonly perRunUs: Summary
  /** backend calls of one repetition (all problems) */
  readonly calls: number
  /** runs of one repetition */
  readonly runs: number
  /** plain-loop CPU milliseconds of one repetition */
  readonly plainMs: Summary
  readonly runtimeMs: Summary
  /** warm-up repetitions run before the timed ones (at least `warmup`, more under `warmupMs`) */
  readonly warmupReps: number
  /** (runtime − plain loop) ÷ calls in µs of every repetition in order, warm-up included */
  readonly perCallSeries: ReadonlyArray<number>
  /** (runtime − plain loop) ÷ runs in µs of every repetition in order, warm-up included */
  readonly perRunSeries: ReadonlyArray<number>
}

/**
 * Throws unless the runtime and the plain loop gave the same result and, when both call logs are
 * given, made the same calls.
 */
export const checkSame = (
  label: string,
  g: RunResult,
  p: PlainResult,
  runtimeCalls: ReadonlyArray<LoggedCall> | undefined,
  plainCalls: ReadonlyArray<LoggedCall> | undefined
): void => {
  const u = g.usage
  const pairs: ReadonlyArray<readonly [string, unknown, unknown]> = [
    ["answer", g.answer, p.answer],
    ["chosen", g.chosen?.id, p.chosen],
    ["calls", u.calls, p.calls],
    ["sequences", u.sequences, p.sequences],
    ["inputTokens", u.inputTokens, p.inputTokens],
    ["outputTokens", u.outputTokens, p.outputTokens],
    ["verifierCalls", u.verifierCalls, p.verifierCalls],
    ["verifierTokens", u.verifierTokens, p.verifierTokens],
    [
      "population",
      g.population.map((c) => `${c.id}:${c.score}`).join(","),
      p.population.map((c) => `${c.id}:${c.score}`).join(",")
    ]
  ]
  for (const [what, a, b] of pairs)
    if (a !== b)
      throw new Error(
        `${label}: runtime and plain loop differ in ${what}: ${String(a).slice(0, 200)} vs ${String(b).slice(0, 200)}`
      )
  if (runtimeCalls === undefined || plainCalls === undefined) return
  const calls = callDifference(runtimeCalls, plainCalls)
  if (calls !== undefined) throw new Error(`${label}: runtime and plain loop made different calls: ${calls}`)
  if (runtimeCalls.length !== u.calls)
    throw new Error(`${label}: ${runtimeCalls.length} calls logged, ${u.calls} metered`)
}

/**
 * Where a side's requests go: a log on the repetitions that check calls, none on the timed ones.
 * A log holds every request of a run, and through their prefixes every candidate, until the check:
 * kept alive that long, they are copied out of V8's young generation and later marked, work a
 * user's run never does — measured, it cost the runtime's side about 10 ms of a 45 ms repetition
 * and the plain loop's 1–2 ms.
 */
interface Sink {
  log: Array<LoggedCall> | undefined
}

/**
 * Ports that push every request onto `sink.log` when there is one (one port object for every run,
 * logging or not: the runtime's per-backend memos hit and V8 sees one function).
 */
const loggedPorts = (
  ports: { readonly generator: GeneratorShape; readonly verifier: VerifierShape },
  sink: Sink
): { readonly generator: GeneratorShape; readonly verifier: VerifierShape } => {
  const inner = ports.generator
  const generate: GeneratorShape["generate"] = (r) =>
    Effect.suspend(() => {
      sink.log?.push({ generate: r })
      return inner.generate(r)
    })
  // logging adds no wait: a port that answers at once still does (`GeneratorShape.atOnce`)
  const atOnce = inner.atOnce !== undefined && inner.atOnce === inner.generate
  return {
    generator: atOnce ? { ...inner, generate, atOnce: generate } : { ...inner, generate },
    verifier: {
      ...ports.verifier,
      score: (r) =>
        Effect.suspend(() => {
          sink.log?.push({ score: r })
          return ports.verifier.score(r)
        })
    }
  }
}

/**
 * Runs a case `reps` times (after `warmup` untimed repetitions) on `problems` problems,
 * alternating which side goes first, checking both sides against each other every time.
 *
 * @example
 * const r = await measureOverhead(beamCase(64, 4), { reps: 7, warmup: 1, problems: 2 })
 */
export const measureOverhead = async (
  c: OverheadCase,
  options: {
    readonly reps: number
    /** untimed repetitions first (at least this many) */
    readonly warmup: number
    /**
     * and go on warming up until both sides together have used this much CPU (ms) after the first
     * repetition: V8 optimises a function only after many calls, and the runtime's code is larger
     * than the plain loop's
     */
    readonly warmupMs?: number
    readonly problems: number
    /** serve the simulator's answers from memory after the first repetition (see Recorded.ts) */
    readonly recorded?: boolean
  }
): Promise<OverheadResult> => {
  const simulated = await backendOf(c.config)
  const pure = plainSimulated(simulated)
  const plainBackend = options.recorded === true ? recordedPlain(pure) : pure
  const runtimePorts = options.recorded === true ? portsOf(plainBackend, simulated) : simulated
  const runtimeSink: Sink = { log: undefined }
  const plainSink: Sink = { log: undefined }
  const ports = loggedPorts(runtimePorts, runtimeSink)
  const plainLogged: PlainBackend = {
    ...plainBackend,
    generate: (r) => {
      plainSink.log?.push({ generate: r })
      return plainBackend.generate(r)
    },
    score: (r) => {
      plainSink.log?.push({ score: r })
      return plainBackend.score(r)
    }
  }
  const loaded = await graph(c.graph)
  const problems: Array<Problem> = []
  for (let i = 0; i < options.problems; i++) problems.push(await problem(17 + 41 * i))
  const runtimeOnce = (p: Problem, seed: number) =>
    Effect.runPromise(
      provide(ports, run(loaded, p, { params: c.params, seed }).pipe(Effect.provideService(RunEvents, silent)))
    )
  const ratios: Array<number> = []
  const perCall: Array<number> = []
  const perRun: Array<number> = []
  const plainMs: Array<number> = []
  const rtMs: Array<number> = []
  const perCallSeries: Array<number> = []
  const perRunSeries: Array<number> = []
  let calls = 0
  let warmupReps = 0
  let warmupCpu = 0
  for (let rep = 0; ; rep++) {
    const warming = warmupReps === rep && (rep < options.warmup || warmupCpu < (options.warmupMs ?? 0))
    if (warming) warmupReps++
    else if (rep - warmupReps >= options.reps) break
    let tRuntime = 0
    let tPlain = 0
    calls = 0
    for (const [i, p] of problems.entries()) {
      // the same seeds every repetition: the same work, and a recorded backend hits
      const seed = i
      // calls are checked on the first (untimed) repetitions: every repetition makes the same
      // calls (the same seeds); the rest run as a user's would, without a log, and long enough
      // after them that the logs' old objects are collected before the timed ones
      const checking = rep < options.warmup
      runtimeSink.log = checking ? [] : undefined
      plainSink.log = checking ? [] : undefined
      const runtimeSide = async () => {
        const t0 = cpuMs()
        const g = await runtimeOnce(p, seed)
        tRuntime += cpuMs() - t0
        return g
      }
      const plainSide = () => {
        const t0 = cpuMs()
        const r = c.plain(plainLogged, mathAnswerKey, p, seed)
        tPlain += cpuMs() - t0
        return r
      }
      // alternate the order, so neither side always runs on a warmer heap
      let g: RunResult
      let r: PlainResult
      if ((rep + i) % 2 === 0) {
        g = await runtimeSide()
        r = plainSide()
      } else {
        r = plainSide()
        g = await runtimeSide()
      }
      checkSame(c.label, g, r, runtimeSink.log, plainSink.log)
      calls += g.usage.calls
    }
    perCallSeries.push(((tRuntime - tPlain) * 1000) / calls)
    perRunSeries.push(((tRuntime - tPlain) * 1000) / problems.length)
    if (warming) {
      // the first repetition also loads, and records the answers: it says nothing about warmth
      if (rep > 0) warmupCpu += tRuntime + tPlain
      continue
    }
    ratios.push(tRuntime / tPlain)
    perCall.push(((tRuntime - tPlain) * 1000) / calls)
    perRun.push(((tRuntime - tPlain) * 1000) / problems.length)
    plainMs.push(tPlain)
    rtMs.push(tRuntime)
  }
  return {
    label: c.label,
    ratio: summarize(ratios),
    perCallUs: summarize(perCall),
    perRunUs: summarize(perRun),
    calls,
    runs: problems.length,
    plainMs: summarize(plainMs),
    runtimeMs: summarize(rtMs),
    warmupReps,
    perCallSeries,
    perRunSeries
  }
}

/**
 * Beam search with N beams of width M over up to `rounds` rounds, on long simulated solutions.
 *
 * @example
 * beamCase(64, 4, 40)
 */
export const beamCase = (N: number, M: number, rounds = 40, config: SimulatedConfigInput = LONG): OverheadCase => ({
  label: `beam search N=${N} M=${M} ${rounds} rounds`,
  graph: "beam-search",
  params: { N, M, rounds },
  config,
  plain: (backend, key, p, seed) => plainBeamSearch(backend, key, p, seed, { N, M, rounds })
})

/**
 * Weighted best-of-N.
 *
 * @example
 * bestOfNCase(256)
 */
export const bestOfNCase = (N: number, config: SimulatedConfigInput = {}): OverheadCase => ({
  label: `best-of-N weighted N=${N}`,
  graph: "weighted-best-of-n",
  params: { N },
  config,
  plain: (backend, key, p, seed) => plainBestOfN(backend, key, p, seed, { N })
})
