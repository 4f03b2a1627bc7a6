/**
 * `mull sim calibrate`: runs the simulated backend through its ports over all of MATH-500 and
 * prints, per MATH level, pass@1 (with the model's expectation and sim.py's reference) and the
 * PRM's AUROC at separating right from wrong final answers — the numbers that say the simulator
 * behaves as calibrated. See docs/simulator.md.
 *
 * @since 0.1.0
 */
import { readFile } from "node:fs/promises"
import { Console, Effect, Layer, Option, Schema } from "effect"
import { Command, Flag } from "effect/cli"
import { decodeConfig, isCorrect, layerConfig, makeWorld, type SimulatedConfig } from "../../plugins/simulated/index.ts"
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
  /** the model's expected pass@1: mean s over the level's problems */
  readonly expected: number
  /** sim.py's reference pass@1 for the level (SIMULATOR.md), NaN for "all" */
  readonly simPy: number
  readonly passAt1: number
  readonly auroc: number
  readonly meanOutputTokens: number
}

export interface Calibration {
  readonly rows: ReadonlyArray<CalibrationRow>
  readonly samples: number
  readonly solutions: number
  readonly wallMs: number
}

interface ProblemStats {
  readonly level: number
  readonly delta: number
  readonly s: number
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
        delta: world.delta,
        s: world.s,
        right: labels.filter(Boolean).length,
        outputTokens: generations.reduce((a, g) => a + g.outputTokens, 0),
        scores: stepScores.map((s) => s[s.length - 1] ?? Number.NaN),
        labels
      } satisfies ProblemStats
    }),
    { concurrency: 4 }
  )
  const mean = (xs: ReadonlyArray<number>) => xs.reduce((a, x) => a + x, 0) / xs.length
  const row = (level: number | "all", group: ReadonlyArray<ProblemStats>): CalibrationRow => ({
    level,
    problems: group.length,
    meanDelta: mean(group.map((p) => p.delta)),
    expected: mean(group.map((p) => p.s)),
    simPy: level === "all" ? Number.NaN : (SIM_PY_PASS_AT_1[level - 1] ?? Number.NaN),
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
  return { rows, samples: options.samples, solutions: stats.length * options.samples, wallMs: Date.now() - started }
})

const fmt = (x: number, digits: number) => (Number.isNaN(x) ? "n/a" : x.toFixed(digits))

/**
 * The calibration table as text, with the two acceptance checks.
 *
 * @example
 * formatCalibration(calibration).split("\n")[0] // "level  problems  mean δ ..."
 */
export const formatCalibration = (c: Calibration): string => {
  const header = "level  problems  mean δ  pass@1  expected  sim.py  PRM AUROC  out tokens"
  const lines = c.rows.map((r) =>
    [
      String(r.level).padStart(5),
      String(r.problems).padStart(9),
      fmt(r.meanDelta, 3).padStart(7),
      fmt(r.passAt1, 3).padStart(7),
      fmt(r.expected, 3).padStart(9),
      fmt(r.simPy, 3).padStart(7),
      fmt(r.auroc, 3).padStart(10),
      fmt(r.meanOutputTokens, 0).padStart(11)
    ].join(" ")
  )
  const levels = c.rows.filter((r) => r.level !== "all")
  const falls = (f: (r: CalibrationRow) => number) => levels.every((r, i) => i === 0 || f(r) < f(levels[i - 1] ?? r))
  const pass = falls((r) => r.passAt1)
  const aurocOk = levels.every((r) => r.auroc > 0.6) && falls((r) => r.auroc)
  return [
    header,
    ...lines,
    "",
    `pass@1 falls monotonically from level 1 to 5: ${pass ? "yes" : "NO"}`,
    `PRM AUROC well above 0.5 (> 0.6) and falling with level: ${aurocOk ? "yes" : "NO"}`,
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
      Flag.withDefault(64)
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
      `Simulated backend calibration (a simulator, not a model): MATH-500, ${problems.length} problems × ${samples} samples, world seed ${decoded.worldSeed}, run seed ${runSeed}\n`
    )
    const result = yield* calibrate(problems, decoded, { samples, runSeed }).pipe(
      Effect.provide(Layer.fresh(layerConfig(decoded))),
      Effect.mapError((e) => new InvalidInput({ subject: "simulated backend", problems: [e.message] }))
    )
    yield* Console.log(formatCalibration(result))
  })
).pipe(
  Command.withDescription(
    "Sample every MATH-500 problem through the simulated backend; print pass@1 and PRM AUROC per level"
  )
)

/** The `sim` command: tools for the simulated backend. */
export const sim = Command.make("sim").pipe(
  Command.withDescription("The simulated backend (the embedded default): calibration"),
  Command.withSubcommands([calibrateCommand])
)
