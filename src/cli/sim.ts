/**
 * `mull sim calibrate`: runs the simulated backend through its ports over all of MATH-500 and
 * prints, per MATH level and per oracle bin (quintiles of the sampled pass@1), pass@1 (with the
 * model's expectation and the reference's figures) and the PRM's AUROC at separating right from
 * wrong final answers — the numbers that say the simulator behaves as calibrated. See
 * docs/simulator.md.
 *
 * @since 0.1.0
 */
import { readFile } from "node:fs/promises"
import { Console, Effect, Layer, Option, Schema } from "effect"
import { Command, Flag } from "effect/cli"
import {
  decodeConfig,
  isCorrect,
  layerConfig,
  type Model,
  makeWorld,
  type SimulatedConfig
} from "../../plugins/simulated/index.ts"
import { loadMath500, math500Path } from "../data/DatasetMath500.ts"
import * as Candidate from "../domain/Candidate.ts"
import { seedOf } from "../domain/Hash.ts"
import type { Problem } from "../domain/Problem.ts"
import * as Steps from "../domain/Steps.ts"
import { Generator } from "../services/Generator.ts"
import { Verifier } from "../services/Verifier.ts"
import { InvalidInput } from "./InvalidInput.ts"

/** Mean pass@1 per MATH level of sim.py (mean s over four seeds, SIMULATOR.md). */
export const SIM_PY_PASS_AT_1: ReadonlyArray<number> = [0.9, 0.65, 0.27, 0.074, 0.017]

/**
 * The reference figures of each world model, over its seeds 0–3 and all of MATH-500: mean
 * expected pass@1 per level (v2: s, or 0 beyond the ceiling; computed with sim2.py by
 * test/fixtures/simulated/make_fixture2.py), and per oracle bin the pass@1 and the mean
 * within-problem PRM AUROC (results2.txt; v1: results.txt, which has no AUROC).
 */
export const REFERENCE: Readonly<
  Record<
    Model,
    {
      readonly name: string
      readonly levels: ReadonlyArray<number>
      readonly bins: ReadonlyArray<number>
      readonly binAuroc: ReadonlyArray<number>
    }
  >
> = {
  v1: {
    name: "sim.py",
    levels: SIM_PY_PASS_AT_1,
    bins: [0.79, 0.399, 0.132, 0.043, 0.012],
    binAuroc: [Number.NaN, Number.NaN, Number.NaN, Number.NaN, Number.NaN]
  },
  v2: {
    name: "sim2.py",
    levels: [0.893, 0.645, 0.272, 0.063, 0.004],
    bins: [0.79, 0.398, 0.126, 0.022, 0],
    binAuroc: [0.908, 0.876, 0.838, 0.813, Number.NaN]
  }
}

/**
 * Area under the ROC curve of `scores` separating `labels` true from false (Mann–Whitney, ties
 * counted half); NaN when either class is empty.
 *
 * @example
 * auroc([0.9, 0.8, 0.1], [true, true, false]) // 1
 */
export const auroc = (scores: ReadonlyArray<number>, labels: ReadonlyArray<boolean>): number => {
  const order = scores.map((s, i) => [s, i] as const).sort((a, b) => a[0] - b[0])
  let positives = 0
  let rankSum = 0
  for (let i = 0; i < order.length; ) {
    let j = i
    while (j < order.length && order[j]?.[0] === order[i]?.[0]) j++
    const rank = (i + 1 + j) / 2 // average rank of the tie group (1-based)
    for (let k = i; k < j; k++) {
      if (labels[order[k]?.[1] ?? -1]) {
        positives++
        rankSum += rank
      }
    }
    i = j
  }
  const negatives = order.length - positives
  if (positives === 0 || negatives === 0) return Number.NaN
  return (rankSum - (positives * (positives + 1)) / 2) / (positives * negatives)
}

/** One row of the calibration table. */
export interface CalibrationRow {
  /** MATH level, or "all" */
  readonly level: number | "all"
  readonly problems: number
  readonly meanDelta: number
  /** the model's expected pass@1: mean s over the level's problems (0 beyond the ceiling) */
  readonly expected: number
  /** the reference's expected pass@1 for the level (`REFERENCE`), NaN for "all" */
  readonly reference: number
  /** fraction of the problems beyond the model's ceiling (never solved) */
  readonly beyond: number
  readonly passAt1: number
  /** pooled over the level's solutions */
  readonly auroc: number
  readonly meanOutputTokens: number
}

/** One oracle bin: quintiles of the sampled pass@1, bin 1 the easiest (ties by problem hash). */
export interface BinRow {
  readonly bin: number
  readonly problems: number
  readonly meanDelta: number
  readonly passAt1: number
  /** the reference's pass@1 of the bin (`REFERENCE`) */
  readonly reference: number
  /** mean within-problem AUROC over the bin's problems that have right and wrong answers (NaN if none) */
  readonly auroc: number
  readonly referenceAuroc: number
}

export interface Calibration {
  readonly model: Model
  readonly rows: ReadonlyArray<CalibrationRow>
  readonly bins: ReadonlyArray<BinRow>
  readonly samples: number
  readonly solutions: number
  readonly wallMs: number
}

interface ProblemStats {
  readonly level: number
  readonly ph: number
  readonly delta: number
  readonly s: number
  readonly solvable: boolean
  readonly right: number
  readonly outputTokens: number
  readonly scores: ReadonlyArray<number>
  readonly labels: ReadonlyArray<boolean>
}

/**
 * Samples `samples` whole solutions per problem through the `Generator`, scores them with the
 * `Verifier`'s PRM, and tabulates per level. Correct = the final answer is the gold (the latent
 * answer index is 0).
 *
 * @example
 * const table = yield* calibrate(problems, config, { samples: 64, runSeed: 0 }).pipe(Effect.provide(layerConfig(config)))
 */
export const calibrate = Effect.fn("sim.calibrate")(function* (
  problems: ReadonlyArray<Problem>,
  config: SimulatedConfig,
  options: { readonly samples: number; readonly runSeed: number }
) {
  const generator = yield* Generator
  const verifier = yield* Verifier
  const started = Date.now()
  const stats = yield* Effect.forEach(
    problems,
    Effect.fnUntraced(function* (problem) {
      const world = makeWorld(config, problem)
      const { generations } = yield* generator.generate({
        problem,
        prefix: undefined,
        n: options.samples,
        until: "end",
        temperature: 0.8,
        maxTokens: generator.maxTokens,
        seed: seedOf(options.runSeed, problem.id, "calibrate", "sim.calibrate")
      })
      const candidates = generations.map(
        (g, i): Candidate.Candidate => ({
          ...Candidate.make({ id: `s${i}`, origin: { node: "sim.calibrate", round: 0 } }),
          steps: Steps.appendAll(undefined, g.steps),
          done: g.done,
          ...(g.answer === undefined ? {} : { answer: g.answer })
        })
      )
      const { stepScores } = yield* verifier.score({ problem, candidates, verifier: "prm" })
      const labels = candidates.map(isCorrect)
      return {
        level: world.level,
        ph: world.ph,
        delta: world.delta,
        s: world.s,
        solvable: world.solvable,
        right: labels.filter(Boolean).length,
        outputTokens: generations.reduce((a, g) => a + g.outputTokens, 0),
        scores: stepScores.map((s) => s[s.length - 1] ?? Number.NaN),
        labels
      } satisfies ProblemStats
    }),
    { concurrency: 4 }
  )
  const mean = (xs: ReadonlyArray<number>) => xs.reduce((a, x) => a + x, 0) / xs.length
  const reference = REFERENCE[config.model]
  const row = (level: number | "all", group: ReadonlyArray<ProblemStats>): CalibrationRow => ({
    level,
    problems: group.length,
    meanDelta: mean(group.map((p) => p.delta)),
    expected: mean(group.map((p) => (p.solvable ? p.s : 0))),
    reference: level === "all" ? Number.NaN : (reference.levels[level - 1] ?? Number.NaN),
    beyond: mean(group.map((p) => (p.solvable ? 0 : 1))),
    passAt1: mean(group.map((p) => p.right / options.samples)),
    auroc: auroc(
      group.flatMap((p) => p.scores),
      group.flatMap((p) => p.labels)
    ),
    meanOutputTokens: mean(group.map((p) => p.outputTokens / options.samples))
  })
  const levels = [...new Set(stats.map((p) => p.level))].sort((a, b) => a - b)
  const rows = [
    ...levels.map((l) =>
      row(
        l,
        stats.filter((p) => p.level === l)
      )
    ),
    row("all", stats)
  ]
  const bin = binsOf(stats.map((p) => ({ pass1: p.right / options.samples, ph: p.ph })))
  const bins = [1, 2, 3, 4, 5].map((b): BinRow => {
    const group = stats.filter((_, i) => bin[i] === b)
    const within = group.map((p) => auroc(p.scores, p.labels)).filter((x) => !Number.isNaN(x))
    return {
      bin: b,
      problems: group.length,
      meanDelta: mean(group.map((p) => p.delta)),
      passAt1: mean(group.map((p) => p.right / options.samples)),
      reference: reference.bins[b - 1] ?? Number.NaN,
      auroc: within.length === 0 ? Number.NaN : mean(within),
      referenceAuroc: reference.binAuroc[b - 1] ?? Number.NaN
    }
  })
  return {
    model: config.model,
    rows,
    bins,
    samples: options.samples,
    solutions: stats.length * options.samples,
    wallMs: Date.now() - started
  }
})

/**
 * Oracle bins: quintiles of pass@1, bin 1 the easiest, ties broken by the problem hash (the
 * reference's rule).
 *
 * @example
 * binsOf([{ pass1: 0.1, ph: 3 }, { pass1: 0.9, ph: 7 }]) // [3, 1]
 */
export const binsOf = (problems: ReadonlyArray<{ readonly pass1: number; readonly ph: number }>): Array<number> => {
  const order = problems.map((p, i) => ({ ...p, i })).sort((a, b) => b.pass1 - a.pass1 || a.ph - b.ph)
  const bins = new Array<number>(problems.length).fill(0)
  for (const [r, p] of order.entries()) bins[p.i] = 1 + Math.floor((r * 5) / problems.length)
  return bins
}

const fmt = (x: number, digits: number) => (Number.isNaN(x) ? "n/a" : x.toFixed(digits))

/**
 * The calibration tables as text (per level, per oracle bin), with the acceptance checks.
 *
 * @example
 * formatCalibration(calibration).split("\n")[0] // "level  problems  mean δ  pass@1  expected  sim2.py ..."
 */
export const formatCalibration = (c: Calibration): string => {
  const ref = REFERENCE[c.model].name
  const header = `level  problems  mean δ  pass@1  expected  ${ref.padStart(7)}  beyond  PRM AUROC  out tokens`
  const lines = c.rows.map((r) =>
    [
      String(r.level).padStart(5),
      String(r.problems).padStart(9),
      fmt(r.meanDelta, 3).padStart(7),
      fmt(r.passAt1, 3).padStart(7),
      fmt(r.expected, 3).padStart(9),
      fmt(r.reference, 3).padStart(8),
      fmt(r.beyond, 3).padStart(7),
      fmt(r.auroc, 3).padStart(10),
      fmt(r.meanOutputTokens, 0).padStart(11)
    ].join(" ")
  )
  const binHeader = `  bin  problems  mean δ  pass@1  ${ref.padStart(7)}  AUROC (within problem)  ${ref}`
  const binLines = c.bins.map((b) =>
    [
      String(b.bin).padStart(5),
      String(b.problems).padStart(9),
      fmt(b.meanDelta, 3).padStart(7),
      fmt(b.passAt1, 3).padStart(7),
      fmt(b.reference, 3).padStart(8),
      fmt(b.auroc, 3).padStart(23),
      fmt(b.referenceAuroc, 3).padStart(ref.length + 1)
    ].join(" ")
  )
  const levels = c.rows.filter((r) => r.level !== "all")
  const falls = <A>(xs: ReadonlyArray<A>, f: (r: A) => number) =>
    xs.every((r, i) => i === 0 || f(r) < f(xs[i - 1] ?? r))
  const pass = falls(levels, (r) => r.passAt1)
  const aurocOk = levels.every((r) => r.auroc > 0.6) && falls(levels, (r) => r.auroc)
  const defined = c.bins.filter((b) => !Number.isNaN(b.auroc))
  const binAurocOk = defined.every((b) => b.auroc > 0.6) && falls(defined, (b) => b.auroc)
  return [
    `world model ${c.model} (reference: ${ref})`,
    "",
    header,
    ...lines,
    "",
    `oracle bins: quintiles of pass@1 over these ${c.samples} samples per problem`,
    binHeader,
    ...binLines,
    "",
    `pass@1 falls monotonically from level 1 to 5: ${pass ? "yes" : "NO"}`,
    `PRM AUROC well above 0.5 (> 0.6) and falling with level: ${aurocOk ? "yes" : "NO"}`,
    `within-problem PRM AUROC above 0.6 and falling with bin (where defined): ${binAurocOk ? "yes" : "NO"}`,
    `wall time ${(c.wallMs / 1000).toFixed(1)} s for ${c.solutions} solutions (generation + PRM scoring)`
  ].join("\n")
}

const readConfigFile = (path: string) =>
  Effect.tryPromise({
    try: async () => JSON.parse(await readFile(path, "utf8")) as unknown,
    catch: (e) =>
      new InvalidInput({ subject: "--config", problems: [`${path}: ${e instanceof Error ? e.message : String(e)}`] })
  })

const calibrateCommand = Command.make(
  "calibrate",
  {
    samples: Flag.Int("samples").pipe(
      Flag.withDescription("solutions sampled per problem"),
      Flag.withSchema(Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 100_000 }))),
      Flag.withDefault(256)
    ),
    worldSeed: Flag.Int("world-seed").pipe(
      Flag.withDescription("seed of the simulated world (default: the config's, else 0)"),
      Flag.withSchema(Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 0xffffffff }))),
      Flag.optional
    ),
    runSeed: Flag.Int("run-seed").pipe(Flag.withDescription("seed of the sampling calls"), Flag.withDefault(0)),
    config: Flag.String("config").pipe(
      Flag.withDescription("a JSON file with simulated-backend knobs (docs/simulator.md)"),
      Flag.optional
    ),
    data: Flag.String("data").pipe(Flag.withDescription("MATH-500 JSONL (default: shared data)"), Flag.optional)
  },
  Effect.fn("sim.calibrate.command")(function* ({ samples, worldSeed, runSeed, config, data }) {
    const raw = Option.isSome(config) ? yield* readConfigFile(config.value) : {}
    const withSeed =
      Option.isSome(worldSeed) && typeof raw === "object" && raw !== null && !Array.isArray(raw)
        ? { ...raw, worldSeed: worldSeed.value }
        : Option.isSome(worldSeed)
          ? { worldSeed: worldSeed.value }
          : raw
    const decoded = yield* decodeConfig(withSeed).pipe(
      Effect.mapError((e) => new InvalidInput({ subject: "--config", problems: [e.message] }))
    )
    const path = Option.getOrElse(data, math500Path)
    const problems = yield* loadMath500(path).pipe(
      Effect.mapError((e) => new InvalidInput({ subject: "MATH-500", problems: [e.message] }))
    )
    yield* Console.log(
      `Simulated backend calibration (a simulator, not a model): MATH-500, ${problems.length} problems × ${samples} samples, world model ${decoded.model}, world seed ${decoded.worldSeed}, run seed ${runSeed}\n`
    )
    const result = yield* calibrate(problems, decoded, { samples, runSeed }).pipe(
      Effect.provide(Layer.fresh(layerConfig(decoded))),
      Effect.mapError((e) => new InvalidInput({ subject: "simulated backend", problems: [e.message] }))
    )
    yield* Console.log(formatCalibration(result))
  })
).pipe(
  Command.withDescription(
    "Sample every MATH-500 problem through the simulated backend; print pass@1 and PRM AUROC per level and per oracle bin"
  )
)

/** The `sim` command: tools for the simulated backend. */
export const sim = Command.make("sim").pipe(
  Command.withDescription("The simulated backend (the embedded default): calibration"),
  Command.withSubcommands([calibrateCommand])
)
