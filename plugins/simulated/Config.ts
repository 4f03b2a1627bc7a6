/**
 * Every knob of the simulated backend, in one Schema with documented defaults.
 *
 * The model knobs are those of the calibrated references: `model: "v2"` (the default) is
 * `shared/simulator-reference-v2/sim2.py`, `model: "v1"` is `shared/simulator-reference/sim.py`
 * (dict `P` of each); docs/simulator.md maps each knob to its name there. The Schema's defaults
 * are v2's; `decodeConfig` lays the v1 preset under a config that says `model: "v1"`, so a knob
 * the config does not set takes the value of the model it names. The rest shape the text, the
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

/** The world models: "v2" (sim2.py, the default) and "v1" (sim.py, the first calibration). */
export const MODELS = ["v1", "v2"] as const
export type Model = (typeof MODELS)[number]

export const SimulatedConfig = Schema.Struct({
  model: Schema.Literals(MODELS)
    .annotate({
      description: 'world model whose defaults apply to every knob not set: "v2" (sim2.py, default) or "v1" (sim.py)'
    })
    .pipe(Schema.withDecodingDefaultKey(Effect.succeed<Model>("v2"))),
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
    distractors: int(64, 1, 64, "number of per-problem wrong answers (sim2 K; v1: 16)"),
    zipf: nonNegative(0.7, "distractor j is drawn with weight j^−z, z = max(0, zipf + zipfSlope·δ) (sim2 zipf)"),
    zipfSlope: num(-0.85, "wrong answers spread out as δ grows (sim2 zipf1; v1: 0)"),
    shared: probability(
      0.3,
      "a persuasive wrong step answers distractor 1, the shared misconception (sim2 attr; v1: 0)"
    )
  })
    .annotate({ description: "wrong answers" })
    .pipe(Schema.withDecodingDefaultKey(Effect.succeed({}))),
  ceiling: Schema.Struct({
    enabled: Schema.Boolean.annotate({
      description: "some problems are beyond the model: never solved (sim2's ceiling; v1: false)"
    }).pipe(Schema.withDecodingDefaultKey(Effect.succeed(true))),
    tau: num(-3.25, "a problem is beyond the model iff U < σ((tau − (a − c·δ))/width) (sim2 ceil_tau)"),
    width: positive(0.5, "sim2 ceil_w")
  })
    .annotate({ description: "the model's ceiling (the same draw for every a, so a larger model's set is a subset)" })
    .pipe(Schema.withDecodingDefaultKey(Effect.succeed({}))),
  prm: Schema.Struct({
    muRight: num(1.5, "logit mean of a right prefix (sim.py mu_c)"),
    muWrong: num(-1.5, "logit mean of a wrong prefix (sim.py mu_w)"),
    persuasiveBonus: num(2, "a persuasive wrong prefix has mean muRight + bonus·(1−δ)^power (sim.py pers_bonus)"),
    bonusPower: nonNegative(4, "sim.py pb_pow"),
    sd0: nonNegative(0.6, "noise sd = sd0 + sd1·δ^sdPower, in logit units (sim.py sd0)"),
    sd1: nonNegative(2.4, "sim.py sd1"),
    sdPower: nonNegative(1, "sim.py sd_pow"),
    psi: probability(0.75, "probability a persuasive lineage stays persuasive at each later step (sim2 psi; v1: 1)"),
    rho0: probability(0.15, "a wrong step is persuasive with probability rho0 + rho1·δ (sim.py rho0)"),
    rho1: num(0, "sim.py rho1")
  })
    .annotate({ description: "the simulated process reward model" })
    .pipe(Schema.withDecodingDefaultKey(Effect.succeed({}))),
  revisions: Schema.Struct({
    breakBase: num(0.2, "a right attempt breaks with b(δ) = clip(breakBase + breakSlope·(δ − 0.5)) (sim2 b; v1: 0.3)"),
    breakSlope: num(2.5, "sim2 b1 (v1: 0.8)"),
    kappa0: num(
      -0.6,
      "a revision keeps a wrong approach (step 1) with κ = clip(kappa0 + kappa1·δ) (sim2 kappa; v1: 0)"
    ),
    kappa1: num(1.6, "sim2 kappa1 (v1: 1)"),
    keepRight: Schema.Union([
      Schema.Finite.check(Schema.isBetween({ minimum: 0, maximum: 1 })),
      Schema.Literal("kappa")
    ])
      .annotate({
        description:
          'probability a revision keeps a right approach, or "kappa": κ as for a wrong one (sim2 kappa_r; v1: "kappa")'
      })
      .pipe(Schema.withDecodingDefaultKey(Effect.succeed<number | "kappa">(1))),
    stick: probability(
      0.9,
      "a chain that kept a wrong approach keeps it again with this probability, on top of κ (sim2 stick; v1: 0)"
    ),
    lambda0: num(1, "it localises the first error with λ = clip(lambda0 + lambda1·δ) (sim2 lam; v1: 0.9)"),
    lambda1: num(-0.45, "sim2 lam1 (v1: −0.9)"),
    eta: probability(0.5, "stuck on a wrong approach: probability the answer stays the same (sim2 eta)")
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
 * The knobs whose v1 value (sim.py) differs from v2's (sim2.py, the Schema's defaults). Every
 * other knob has the same default in both models.
 */
export const V1_PRESET = {
  answers: { distractors: 16, zipfSlope: 0, shared: 0 },
  ceiling: { enabled: false },
  prm: { psi: 1 },
  revisions: {
    breakBase: 0.3,
    breakSlope: 0.8,
    kappa0: 0,
    kappa1: 1,
    keepRight: "kappa",
    stick: 0,
    lambda0: 0.9,
    lambda1: -0.9
  }
} as const

const isRecord = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null && !Array.isArray(u)

/** `over` on top of `under`, object by object (a non-object in `over` wins, so the decoder reports it). */
const layered = (under: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> => {
  const out: Record<string, unknown> = { ...under }
  for (const [k, v] of Object.entries(over)) {
    const u = out[k]
    out[k] = isRecord(u) && isRecord(v) ? layered(u, v) : v
  }
  return out
}

/**
 * A config input with its model's defaults laid under it: the v1 preset under a config that says
 * `model: "v1"`; any other input unchanged (v2's defaults are the Schema's).
 *
 * @example
 * withModelDefaults({ model: "v1", prm: { rho0: 0.1 } }) // { model: "v1", prm: { psi: 1, rho0: 0.1 }, answers: {…}, … }
 */
export const withModelDefaults = (input: unknown): unknown =>
  isRecord(input) && input.model === "v1" ? layered(V1_PRESET, input) : input

/**
 * Decodes a configuration (a partial object; missing knobs take the defaults of its `model`,
 * v2 unless it says `"v1"`). Unknown keys are rejected, so a typo names itself; a bad one fails
 * with a `BackendConfigError` naming the field.
 *
 * @example
 * import { Effect } from "effect"
 * const config = Effect.runSync(decodeConfig({ worldSeed: 3, prm: { rho0: 0.1 } }))
 * config.answers.distractors // 64
 * Effect.runSync(decodeConfig({ model: "v1" })).answers.distractors // 16
 */
export const decodeConfig = (input: unknown): Effect.Effect<SimulatedConfig, BackendConfigError> =>
  decodeStrict("simulated", SimulatedConfig)(withModelDefaults(input))

/**
 * Decodes a configuration synchronously, throwing on a malformed one. For tests and constants.
 *
 * @example
 * decodeConfigUnsafe({}).worldSeed // 0
 */
export const decodeConfigUnsafe = (input: unknown): SimulatedConfig => Effect.runSync(decodeConfig(input))

/** The default configuration. */
export const defaultConfig: SimulatedConfig = decodeConfigUnsafe({})
