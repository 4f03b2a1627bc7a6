/**
 * Figure 2, scheduling efficiency: with a simulated server that answers each call after a fixed
 * latency and runs at most `concurrency` calls at once, the wall time of a run against its
 * critical path — the number of phases of calls that depend on each other, times the latency. A
 * runtime that keeps the server busy has a ratio near 1; one that serialised calls a node could
 * make together would show more *waves* of calls than phases.
 *
 * @since 0.1.0
 */
import { Clock, Duration, Effect } from "effect"
import type { SimulatedConfigInput } from "../plugins/simulated/index.ts"
import type { Problem } from "../src/domain/Problem.ts"
import { fromJson, type LoadedGraph } from "../src/graph/Loader.ts"
import { run } from "../src/runtime/Run.ts"
import { RunEvents, silent } from "../src/runtime/RunEvents.ts"
import type { GeneratorShape } from "../src/services/Generator.ts"
import type { VerifierShape } from "../src/services/Verifier.ts"
import { preciseClock } from "./PreciseClock.ts"
import { recorded, served } from "./Recorded.ts"
import { makeServerSlots } from "./ServerSlots.ts"
import { now, type Summary, summarize } from "./Stats.ts"
import { backendOf, graph, LONG, problem, provide, withServer } from "./World.ts"

/** The MATH-500 problem of the scheduling figure (test/number_theory/156.json, answer 13). */
export const SCHEDULING_PROBLEM = 140

/** What one scheduling case measured. */
export interface SchedulingResult {
  readonly label: string
  /** wall ÷ critical path, per repetition */
  readonly ratio: Summary
  readonly wallMs: Summary
  readonly criticalMs: number
  /** dependent phases of calls (the critical path in latencies) */
  readonly phases: number
  /** waves of calls the server saw (calls starting within half a latency of a wave's first) */
  readonly waves: number
  readonly calls: number
  /** the same waits with no runtime: bare sleeps under a semaphore, phase by phase (see `floor`) */
  readonly floorMs: Summary
  /** wall ÷ floor, per repetition: what the runtime adds to the waits */
  readonly overFloor: Summary
  /** per repetition, the waves' launch times summed (first to last call start of each wave) */
  readonly launchMs: Summary
  /** per repetition, the gaps between waves summed (a wave's last answer to the next wave's first call) */
  readonly gapMs: Summary
}

/**
 * The floor of a case on this machine at this moment: its phases as bare `Effect.sleep`s until
 * each call's answer on the server model's slots (`ServerSlots.ts`: no runtime, no backend), on
 * the same deadline-accurate clock as the server model (`PreciseClock.ts`) — what the clock and
 * the event loop alone cost. Wall ÷ floor is what the runtime adds to the waits.
 *
 * @example
 * await floor([1, 16, 1], 64, 20) // ≈ 61 ms
 */
export const floor = async (phases: ReadonlyArray<number>, concurrency: number, latencyMs: number): Promise<number> => {
  const slots = makeServerSlots(concurrency)
  const call = Effect.suspend(() => Effect.sleep(Duration.millis(slots.answerIn(latencyMs))))
  const t0 = now()
  await Effect.runPromise(
    Effect.forEach(
      phases,
      (k) =>
        Effect.all(
          Array.from({ length: k }, () => call),
          { concurrency: "unbounded" }
        ),
      {
        discard: true
      }
    ).pipe(Effect.provideService(Clock.Clock, preciseClock))
  )
  return now() - t0
}

/**
 * Wraps ports so that every call's start time (and, in `ends`, its answer's time) is recorded —
 * in the steps the call takes anyway (the answer's time in a `map`, not a `tap` of an effect: the
 * instrument's own steps land in the wall time it measures).
 */
const timed = (
  ports: { readonly generator: GeneratorShape; readonly verifier: VerifierShape },
  starts: Array<number>,
  ends: Array<number> = []
) => {
  const ended = <A>(a: A): A => {
    ends.push(now())
    return a
  }
  return {
    generator: {
      ...ports.generator,
      generate: (r: Parameters<GeneratorShape["generate"]>[0]) =>
        Effect.suspend(() => {
          starts.push(now())
          return Effect.map(ports.generator.generate(r), ended)
        })
    },
    verifier: {
      ...ports.verifier,
      score: (r: Parameters<VerifierShape["score"]>[0]) =>
        Effect.suspend(() => {
          starts.push(now())
          return Effect.map(ports.verifier.score(r), ended)
        })
    }
  }
}

/**
 * Where a run's wall time goes beyond its waits, from its calls' start and answer times: per wave
 * (calls starting within `gap` ms of the wave's first), the time from its first to its last call
 * start (`launch`, the runtime launching the wave), and the time from the last answer before the
 * wave to its first call (`between`, the runtime's work between phases: pruning, scoring
 * bookkeeping, votes), each summed over the waves.
 *
 * @example
 * waveTimes([0, 0.1, 10.3], [10, 10.1, 20.3], 5) // { launch: 0.1, between: 0.2 }
 */
export const waveTimes = (
  starts: ReadonlyArray<number>,
  ends: ReadonlyArray<number>,
  gap: number
): { readonly launch: number; readonly between: number } => {
  const s = [...starts].sort((a, b) => a - b)
  const e = [...ends].sort((a, b) => a - b)
  let launch = 0
  let between = 0
  let first = Number.NEGATIVE_INFINITY
  let last = Number.NEGATIVE_INFINITY
  let k = 0
  for (const t of s) {
    if (t - first > gap) {
      if (Number.isFinite(first)) launch += last - first
      // the last answer that came before this wave's first call
      while (k < e.length && (e[k] ?? Number.POSITIVE_INFINITY) <= t) k++
      const before = e[k - 1]
      if (before !== undefined && Number.isFinite(first)) between += t - before
      first = t
    }
    last = t
  }
  if (Number.isFinite(first)) launch += last - first
  return { launch, between }
}

/**
 * Waves in a list of start times: a call starting more than `gap` ms after the first call of the
 * current wave starts a new one.
 *
 * @example
 * waves([0, 1, 2, 20, 21, 40], 10) // 3
 */
export const waves = (starts: ReadonlyArray<number>, gap: number): number => {
  const s = [...starts].sort((a, b) => a - b)
  let count = 0
  let first = Number.NEGATIVE_INFINITY
  for (const t of s) {
    if (t - first > gap) {
      count++
      first = t
    }
  }
  return count
}

/** A scheduling case: a graph, params, server, and its critical path in phases. */
export interface SchedulingCase {
  readonly label: string
  readonly graph: () => Promise<LoadedGraph>
  readonly params: Record<string, number>
  /** the simulator's model (its latency is set per mode) */
  readonly config: SimulatedConfigInput
  readonly server: { readonly latencyMs: number; readonly verifierLatencyMs: number; readonly concurrency: number }
  readonly phases: number
  /** calls per phase with latency (the floor's shape) */
  readonly shape: ReadonlyArray<number>
}

/**
 * Where the model's work happens: `simulated` — the simulated backend with its latency and
 * concurrency knobs, computing every answer in this process (its CPU time adds to the wall time,
 * as no real server's would); `served` — the same answers, computed once in a warm-up run and
 * served by a server model with the same latency and cap (`Recorded.ts`), so that the wall time
 * holds only the runtime's work and the waits.
 */
export type Mode = "simulated" | "served"

/**
 * Untimed runs before the timed ones: at least `WARMUP_RUNS`, and for at least `WARMUP_MS` — what
 * a server that has been answering for a few seconds runs. The 256-branch fan-out at 5 ms, run
 * after run in one process (the median of each 50 runs): 7.3 ms over the first 0.5 s, 6.05–6.12 at
 * 1.5 s, 5.97–6.05 from 2.5–3 s on (two processes, idle) — its per-call code reaches the optimising
 * tier only after a few hundred runs. The overhead figures warm up likewise, for 6 s of CPU.
 */
const WARMUP_RUNS = 2
const WARMUP_MS = 3000

/**
 * Runs a case `reps` times (after the warm-up, `WARMUP_RUNS` and `WARMUP_MS`) on one problem: each
 * repetition is one run timed bare (its wall time) and one with every call's start and answer
 * recorded (its waves, launch and gap times).
 *
 * @example
 * const r = await measureScheduling(beamScheduling(), "served", 3)
 */
export const measureScheduling = async (c: SchedulingCase, mode: Mode, reps: number): Promise<SchedulingResult> => {
  const backend =
    mode === "simulated"
      ? await backendOf(withServer(c.config, c.server))
      : served(recorded(await backendOf(c.config)), c.server)
  const loaded = await c.graph()
  const critical = c.phases * c.server.latencyMs
  // the same problem and seed every repetition: the warm-up records what the others replay. Its
  // answers are numbers, so the final vote is cheap; on symbolic answers (e.g. #17, "\pi + 5")
  // the vote's CAS comparisons take up to ~150 ms of CPU once per run, which is not scheduling
  const p: Problem = await problem(SCHEDULING_PROBLEM)
  const ratios: Array<number> = []
  const walls: Array<number> = []
  const floors: Array<number> = []
  const overFloor: Array<number> = []
  const launches: Array<number> = []
  const gaps: Array<number> = []
  let lastWaves = 0
  let calls = 0
  const once = (ports: { readonly generator: GeneratorShape; readonly verifier: VerifierShape }) =>
    Effect.runPromise(
      provide(ports, run(loaded, p, { params: c.params, seed: 0 }).pipe(Effect.provideService(RunEvents, silent))).pipe(
        // the server's latency ends at its deadline, as an answer arriving over a socket would
        // (PreciseClock.ts: a bare 1 ms timer takes about 1.26 ms here)
        Effect.provideService(Clock.Clock, preciseClock)
      )
    )
  // warm-up: records the answers, compiles the code
  const warmStart = now()
  for (let k = 0; k < WARMUP_RUNS || now() - warmStart < WARMUP_MS; k++) await once(backend)
  for (let rep = 0; rep < reps; rep++) {
    // the wall time of a run with nothing between the runtime and the server; the waves from a
    // second run with every call's start and answer time recorded (the recording's own steps
    // would land in the wall time it measures: about 0.3 µs a call at each end)
    const t0 = now()
    await once(backend)
    const wall = now() - t0
    const starts: Array<number> = []
    const ends: Array<number> = []
    const result = await once(timed(backend, starts, ends))
    walls.push(wall)
    const bare = await floor(c.shape, c.server.concurrency, c.server.latencyMs)
    floors.push(bare)
    overFloor.push(wall / bare)
    ratios.push(wall / critical)
    lastWaves = waves(starts, c.server.latencyMs / 2)
    const w = waveTimes(starts, ends, c.server.latencyMs / 2)
    launches.push(w.launch)
    gaps.push(w.between)
    calls = result.usage.calls
  }
  return {
    label: `${c.label} [${mode}]`,
    ratio: summarize(ratios),
    wallMs: summarize(walls),
    criticalMs: critical,
    phases: c.phases,
    waves: lastWaves,
    calls,
    floorMs: summarize(floors),
    overFloor: summarize(overFloor),
    launchMs: summarize(launches),
    gapMs: summarize(gaps)
  }
}

/**
 * Beam search (N, M, `rounds` rounds) on long solutions, so every round runs: the critical path
 * is the first sample, then per round a scoring call and the expansions, then the completion of
 * the beams and the last scoring — 2·rounds + 3 phases.
 *
 * @example
 * beamScheduling(64, 4, 40, 20, 64)
 */
export const beamScheduling = (N = 64, M = 4, rounds = 40, latencyMs = 20, concurrency = 64): SchedulingCase => ({
  label: `beam search N=${N} M=${M} ${rounds} rounds, ${latencyMs} ms/call, server concurrency ${concurrency}`,
  graph: () => graph("beam-search"),
  params: { N, M, rounds },
  config: LONG,
  server: { latencyMs, verifierLatencyMs: latencyMs, concurrency },
  // expansions of N/M survivors: ⌈(N/M)/concurrency⌉ waves each
  phases: 1 + rounds * (1 + Math.ceil(Math.max(1, Math.floor(N / M)) / concurrency)) + Math.ceil(N / concurrency) + 1,
  shape: [1, ...Array.from({ length: rounds }, () => [1, Math.max(1, Math.floor(N / M))]).flat(), N, 1]
})

/**
 * Best-of-N as N one-sample calls (what a server without n-sampling needs: a `parallel` of N
 * branches of `sample 1`), weighted vote; the verifier answers at once, so the critical path is
 * ⌈N / concurrency⌉ latencies. (The built-in `weighted-best-of-n` asks for the N samples in one
 * call, one latency.)
 *
 * @example
 * bestOfNScheduling(256, 20, 32)
 */
export const bestOfNScheduling = (N = 256, latencyMs = 20, concurrency = 32): SchedulingCase => ({
  label: `best-of-N N=${N} as ${N} calls, ${latencyMs} ms/call, concurrency cap ${concurrency}`,
  graph: () =>
    Effect.runPromise(
      fromJson({
        name: "best-of-n-calls",
        description: "best-of-N as N one-sample calls, weighted vote",
        params: { N: 16 },
        root: {
          type: "sequence",
          nodes: [
            { type: "parallel", branches: "N", body: { type: "sample", n: 1, until: "end" } },
            { type: "score", verifier: "prm", aggregate: "last" },
            { type: "select", method: "weighted" }
          ]
        }
      })
    ),
  params: { N },
  config: {},
  server: { latencyMs, verifierLatencyMs: 0, concurrency },
  phases: Math.ceil(N / concurrency),
  shape: [N]
})
