/**
 * Every knob of the simulated backend, in one Schema with documented defaults.
 *
 * The model knobs are those of the calibrated reference (`shared/simulator-reference/sim.py`,
 * dict `P`); docs/simulator.md maps each one to its sim.py name. The rest shape the text, the
 * token lengths and the simulated server (latency, concurrency, parameter counts for FLOPs).
 *
 * @since 0.1.0
 */
import { Effect, Schema } from "effect"
import type { BackendConfigError } from "../../src/services/Backend.ts"
import { decodeStrict, intField, nonNegativeField, PricesConfig } from "../../src/services/ConfigSchema.ts"

const num = (value: number, description: string) =>
  Schema.Finite.annotate({ description }).pipe(Schema.withDecodingDefaultKey(Effect.succeed(value)))
const nonNegative = nonNegativeField
const positive = (value: number, description: string) =>
  Schema.Finite.check(Schema.isGreaterThan(0))
    .annotate({ description })
    .pipe(Schema.withDecodingDefaultKey(Effect.succeed(value)))
const probability = (value: number, description: string) =>
  Schema.Finite.check(Schema.isBetween({ minimum: 0, maximum: 1 }))
    .annotate({ description })
    .pipe(Schema.withDecodingDefaultKey(Effect.succeed(value)))
const int = intField
const text = (value: string, description: string) =>
  Schema.NonEmptyString.annotate({ description }).pipe(Schema.withDecodingDefaultKey(Effect.succeed(value)))

/** Latency of a simulated server: `fixedMs + perTokenMs · tokens` per call (0 by default). */
export const Latency = Schema.Struct({
  fixedMs: nonNegative(0, "milliseconds added to every call"),
  perTokenMs: nonNegative(0, "milliseconds per token (output tokens for the generator, input for the verifier)")
})

const orderedPair = (low: string, high: string) =>
  Schema.makeFilter<Record<string, unknown>>((o) => {
    const a = o[low]
    const b = o[high]
    return typeof a === "number" && typeof b === "number" && a > b
      ? { path: [high], issue: `must be ≥ ${low} (${a})` }
      : undefined
  })

export const SimulatedConfig = Schema.Struct({
  worldSeed: int(0, 0, 0xffffffff, "seed of the per-problem world (difficulty, length, distractors…)"),
  prices: PricesConfig,
  defaultLevel: int(3, 1, 5, "MATH level assumed for a problem without meta.level"),
  difficulty: Schema.Struct({
    base: num(0, "δ = base + perLevel·(level − 1) + jitter·U (sim.py delta_base)"),
    perLevel: num(0.2, "sim.py delta_per_level"),
    jitter: nonNegative(0.2, "sim.py delta_jitter"),
    min: probability(0.01, "δ is clipped to [min, max] (sim.py delta_min)"),
    max: probability(0.99, "sim.py delta_max")
  })
    .annotate({ description: "latent difficulty δ of a problem" })
    .check(orderedPair("min", "max"))
    .pipe(Schema.withDecodingDefaultKey(Effect.succeed({}))),
  length: Schema.Struct({
    base: int(2, 0, 1000, "L = base + level + ⌊span·U⌋ steps (sim.py L_base)"),
    span: int(3, 1, 1000, "sim.py L_span"),
    jitter: int(1, 0, 100, "each solution lineage has L + j steps, j uniform in [−jitter, jitter] (min 2); 0 = sim.py")
  })
    .annotate({ description: "number of steps of a solution" })
    .pipe(Schema.withDecodingDefaultKey(Effect.succeed({}))),
  accuracy: Schema.Struct({
    a: num(3, "pass@1 target s = σ(a − c·δ) (sim.py a)"),
    c: num(8, "sim.py c"),
    omega: probability(
      0.35,
      "share of the failure log-probability on the first step: q0 = s^ω, q = s^((1−ω)/(L−1)) (sim.py omega)"
    )
  })
    .annotate({ description: "step correctness" })
    .pipe(Schema.withDecodingDefaultKey(Effect.succeed({}))),
  answers: Schema.Struct({
    distractors: int(16, 1, 64, "number of per-problem wrong answers (sim.py K)"),
    zipf: nonNegative(0.7, "distractor j is drawn with weight j^−zipf (sim.py zipf)")
  })
    .annotate({ description: "wrong answers" })
    .pipe(Schema.withDecodingDefaultKey(Effect.succeed({}))),
  prm: Schema.Struct({
    muRight: num(1.5, "logit mean of a right prefix (sim.py mu_c)"),
    muWrong: num(-1.5, "logit mean of a wrong prefix (sim.py mu_w)"),
    persuasiveBonus: num(2, "a persuasive wrong prefix has mean muRight + bonus·(1−δ)^power (sim.py pers_bonus)"),
    bonusPower: nonNegative(4, "sim.py pb_pow"),
    sd0: nonNegative(0.6, "noise sd = sd0 + sd1·δ^sdPower, in logit units (sim.py sd0)"),
    sd1: nonNegative(2.4, "sim.py sd1"),
    sdPower: nonNegative(1, "sim.py sd_pow"),
    psi: probability(1, "probability a persuasive lineage stays persuasive at each later step (sim.py psi)"),
    rho0: probability(0.15, "a wrong step is persuasive with probability rho0 + rho1·δ (sim.py rho0)"),
    rho1: num(0, "sim.py rho1")
  })
    .annotate({ description: "the simulated process reward model" })
    .pipe(Schema.withDecodingDefaultKey(Effect.succeed({}))),
  revisions: Schema.Struct({
    breakBase: num(0.3, "a right attempt breaks with b(δ) = clip(breakBase + breakSlope·(δ − 0.5)) (sim.py b)"),
    breakSlope: num(0.8, "sim.py b1"),
    kappa0: num(0, "a revision keeps the approach (step 1) with κ = clip(kappa0 + kappa1·δ) (sim.py kappa)"),
    kappa1: num(1, "sim.py kappa1"),
    lambda0: num(0.9, "it localises the first error with λ = clip(lambda0 + lambda1·δ) (sim.py lam)"),
    lambda1: num(-0.9, "sim.py lam1"),
    eta: probability(0.5, "stuck on a wrong approach: probability the answer stays the same (sim.py eta)")
  })
    .annotate({ description: "sequential revisions" })
    .pipe(Schema.withDecodingDefaultKey(Effect.succeed({}))),
  text: Schema.Struct({
    stepTokensBase: positive(50, "mean tokens of a step = base + perDifficulty·δ"),
    stepTokensPerDifficulty: nonNegative(70, "see stepTokensBase"),
    stepTokensSpread: nonNegative(0.35, "log-normal spread of a step's length"),
    minStepTokens: int(16, 8, 100_000, "shortest step"),
    maxStepTokens: int(200, 8, 100_000, "longest step (the final step may add its answer sentence)")
  })
    .annotate({ description: "step text" })
    .check(orderedPair("minStepTokens", "maxStepTokens"))
    .pipe(Schema.withDecodingDefaultKey(Effect.succeed({}))),
  generator: Schema.Struct({
    model: text("mull-sim-reasoner", "model name reported by the Generator"),
    params: positive(1.5e9, "parameters, for FLOPs = 2·params·tokens"),
    maxTokens: int(4096, 1, 10_000_000, "default and largest maxTokens of one call: the solution cap"),
    stepTokens: int(512, 1, 10_000_000, "default maxTokens of a step-wise call (one step)"),
    concurrency: int(64, 1, 1_000_000, "concurrent calls the simulated server runs"),
    latency: Latency.pipe(Schema.withDecodingDefaultKey(Effect.succeed({})))
  })
    .annotate({ description: "the simulated generator server" })
    .pipe(Schema.withDecodingDefaultKey(Effect.succeed({}))),
  verifier: Schema.Struct({
    model: text("mull-sim-prm", "model name reported by the Verifier"),
    params: positive(7e9, "parameters, for FLOPs = 2·params·tokens"),
    concurrency: int(64, 1, 1_000_000, "concurrent calls the simulated server runs"),
    latency: Latency.pipe(Schema.withDecodingDefaultKey(Effect.succeed({})))
  })
    .annotate({ description: "the simulated verifier server" })
    .pipe(Schema.withDecodingDefaultKey(Effect.succeed({})))
}).annotate({ identifier: "SimulatedConfig", description: "Configuration of the simulated backend" })

/** A decoded configuration: every knob present. */
export type SimulatedConfig = typeof SimulatedConfig.Type
/** What a user writes: any subset of the knobs (missing ones take their defaults). */
export type SimulatedConfigInput = typeof SimulatedConfig.Encoded

/**
 * Decodes a configuration (a partial object; missing knobs take their defaults). Unknown keys are
 * rejected, so a typo names itself; a bad one fails with a `BackendConfigError` naming the field.
 *
 * @example
 * import { Effect } from "effect"
 * const config = Effect.runSync(decodeConfig({ worldSeed: 3, prm: { rho0: 0.1 } }))
 * config.answers.distractors // 16
 */
export const decodeConfig: (input: unknown) => Effect.Effect<SimulatedConfig, BackendConfigError> = decodeStrict(
  "simulated",
  SimulatedConfig
)

/**
 * Decodes a configuration synchronously, throwing on a malformed one. For tests and constants.
 *
 * @example
 * decodeConfigUnsafe({}).worldSeed // 0
 */
export const decodeConfigUnsafe = (input: unknown): SimulatedConfig => Effect.runSync(decodeConfig(input))

/** The default configuration. */
export const defaultConfig: SimulatedConfig = decodeConfigUnsafe({})
