/**
 * Figure 1, orchestration overhead: the same strategy run through the graph runtime and through
 * the plain loop of `PlainLoop.ts` — hand-written TypeScript without Effect that makes exactly the
 * runtime's backend calls (same seeds, caps, prefixes and verifier batches) on the backend's plain
 * functions. Every repetition checks the two sides answer for answer (answer, chosen candidate,
 * calls, sequences, tokens and the final population); an untimed repetition after the timed ones
 * also checks them call for call (the requests each side sent — every repetition makes the same
 * ones, with the same seeds); a mismatch aborts the bench. Times are CPU time of this process, the two sides alternating which goes first.
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
import type { Candidate } from "../src/domain/Candidate.ts"
import type { Problem } from "../src/domain/Problem.ts"
import type { RunResult } from "../src/domain/RunResult.ts"
import { run } from "../src/runtime/Run.ts"
import { RunEvents, silent } from "../src/runtime/RunEvents.ts"
import type { GenerateRequest, GeneratorShape } from "../src/services/Generator.ts"
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
 * What the check compares of a run's result: its answer, chosen candidate, meters and final
 * population (ids and scores) — small, so that a side's result need not stay alive while the other
 * side runs (kept, it outlived V8's young generation: work a user's run does not do).
 */
export interface Digest extends Omit<PlainResult, "population"> {
  /** the final population's `id:score`s, in order */
  readonly population: string
}

/** The digest of a run's answer, chosen candidate, meters (the runtime's usage, or the plain loop's own) and population. */
const digest = (
  answer: string | undefined,
  chosen: string | undefined,
  m: Omit<Digest, "answer" | "chosen" | "population">,
  population: ReadonlyArray<Candidate>
): Digest => ({
  answer,
  chosen,
  calls: m.calls,
  sequences: m.sequences,
  inputTokens: m.inputTokens,
  outputTokens: m.outputTokens,
  verifierCalls: m.verifierCalls,
  verifierTokens: m.verifierTokens,
  population: population.map((c) => `${c.id}:${c.score}`).join(",")
})

/** The digest of a runtime run. */
export const runtimeDigest = (g: RunResult): Digest => digest(g.answer, g.chosen?.id, g.usage, g.population)

/** The digest of a plain run. */
export const plainDigest = (p: PlainResult): Digest => digest(p.answer, p.chosen, p, p.population)

/**
 * Throws unless the runtime and the plain loop gave the same result (their digests) and, when both
 * call logs are given, made the same calls.
 *
 * @example
 * checkSame("beam", runtimeDigest(g), plainDigest(r), runtimeLog, plainLog)
 */
export const checkSame = (
  label: string,
  runtime: Digest,
  plain: Digest,
  runtimeCalls: ReadonlyArray<LoggedCall> | undefined,
  plainCalls: ReadonlyArray<LoggedCall> | undefined
): void => {
  for (const what of Object.keys(runtime) as Array<keyof Digest>) {
    const x = runtime[what]
    const y = plain[what]
    if (x !== y)
      throw new Error(
        `${label}: runtime and plain loop differ in ${what}: ${String(x).slice(0, 200)} vs ${String(y).slice(0, 200)}`
      )
  }
  if (runtimeCalls === undefined || plainCalls === undefined) return
  const calls = callDifference(runtimeCalls, plainCalls)
  if (calls !== undefined) throw new Error(`${label}: runtime and plain loop made different calls: ${calls}`)
  if (runtimeCalls.length !== runtime.calls)
    throw new Error(`${label}: ${runtimeCalls.length} calls logged, ${runtime.calls} metered`)
}

/** Untimed repetitions after the timed ones that also check the two sides call for call. */
const CHECKED_REPS = 1

/**
 * Where a side's requests go: a log on the repetitions that check calls, none on the others.
 * A log holds every request of a run, and through their prefixes every candidate, until the check:
 * kept alive that long, they are copied out of V8's young generation and later marked, work a
 * user's run never does — measured on the simulated beam, the runtime's side took 52–55 ms a
 * repetition with logs and 42–44 without, the plain loop's 34–35 either way.
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
  // logging adds no wait: a port that answers at once still does (`GeneratorShape.atOnce`), and
  // one that answers in plain code still does (`answerNow`), logged alike
  const atOnce = inner.atOnce !== undefined && inner.atOnce === inner.generate
  const now = inner.answerNow !== undefined && inner.answerNow.of === inner.generate ? inner.answerNow : undefined
  const answerNow =
    now === undefined
      ? {}
      : {
          answerNow: Object.assign(
            (r: GenerateRequest) => {
              sink.log?.push({ generate: r })
              return now(r)
            },
            { of: generate }
          )
        }
  return {
    generator: atOnce ? { ...inner, generate, atOnce: generate, ...answerNow } : { ...inner, generate },
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
    else if (rep - warmupReps >= options.reps + CHECKED_REPS) break
    // the calls are checked on the last repetitions, after the timed ones: every repetition makes
    // the same calls (the same seeds). Not on the first: a log keeps every request of a run, and
    // through them every candidate, alive until the check, and V8, seeing a literal's objects
    // outlive its young generation, allocates that literal's objects in the old one from then on
    // — for the rest of the process, logged or not (docs/performance.md, "Measuring, sixth pass")
    const checking = rep - warmupReps >= options.reps
    let tRuntime = 0
    let tPlain = 0
    calls = 0
    for (const [i, p] of problems.entries()) {
      // the same seeds every repetition: the same work, and a recorded backend hits
      const seed = i
      runtimeSink.log = checking ? [] : undefined
      plainSink.log = checking ? [] : undefined
      // each side's result is reduced to its digest as soon as it ends (untimed): kept whole
      // through the other side's run, it would outlive the young generation there
      const runtimeSide = async () => {
        const t0 = cpuMs()
        const g = await runtimeOnce(p, seed)
        tRuntime += cpuMs() - t0
        return runtimeDigest(g)
      }
      const plainSide = () => {
        const t0 = cpuMs()
        const r = c.plain(plainLogged, mathAnswerKey, p, seed)
        tPlain += cpuMs() - t0
        return plainDigest(r)
      }
      // alternate the order, so neither side always runs on a warmer heap
      let g: Digest
      let r: Digest
      if ((rep + i) % 2 === 0) {
        g = await runtimeSide()
        r = plainSide()
      } else {
        r = plainSide()
        g = await runtimeSide()
      }
      checkSame(c.label, g, r, runtimeSink.log, plainSink.log)
      calls += g.calls
    }
    perCallSeries.push(((tRuntime - tPlain) * 1000) / calls)
    perRunSeries.push(((tRuntime - tPlain) * 1000) / problems.length)
    if (warming) {
      // the first repetition also loads, and records the answers: it says nothing about warmth
      if (rep > 0) warmupCpu += tRuntime + tPlain
      continue
    }
    if (checking) continue
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
