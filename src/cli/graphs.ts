/**
 * `mull graphs`, `mull validate <graph>`, `mull cost <graph>`, `mull schema`: listing, checking and
 * costing graph documents before running them.
 *
 * @since 0.1.0
 */
import { Console, Effect, Option } from "effect"
import { Argument, Command, Flag } from "effect/cli"
import { registry } from "../backends/Registry.ts"
import * as Usage from "../domain/Usage.ts"
import { GraphError } from "../graph/GraphError.ts"
import { graphJsonSchema } from "../graph/JsonSchema.ts"
import * as Loader from "../graph/Loader.ts"
import { effectiveParams, validate as validateGraph } from "../graph/Validate.ts"
import { dryRunProblems, expectedSpend } from "../runtime/Expected.ts"
import { planJson, planOf } from "../runtime/Planning.ts"
import { costOptionsOf, limitProblems, pricingOf } from "../runtime/Run.ts"
import { Generator } from "../services/Generator.ts"
import { Verifier } from "../services/Verifier.ts"
import { backendFlags, backendOf, cliBackend, parseBudget, parseParams, priceFlags, pricesOf } from "./Inputs.ts"
import { asInvalidInput } from "./run.ts"
import { fmt, table } from "./Table.ts"

const graphArg = Argument.String("graph").pipe(Argument.withDescription("A built-in graph name or a path"))
const paramFlag = Flag.String("param").pipe(
  Flag.withDescription("Override a graph param: NAME=VALUE (repeatable)"),
  Flag.atLeast(0)
)
const budgetFlag = Flag.String("budget").pipe(Flag.withDescription("Limits: meter=limit,…"), Flag.optional)

// in its own module, which `mull graphs` loads alone (Cli.ts)
export { graphs } from "./graphsList.ts"

export const validate = Command.make(
  "validate",
  {
    graph: graphArg,
    param: paramFlag,
    budget: budgetFlag,
    ...priceFlags,
    ...backendFlags()
  },
  Effect.fn(function* (flags) {
    const params = yield* parseParams(flags.param)
    const limits = yield* parseBudget(Option.getOrUndefined(flags.budget))
    const prices = yield* pricesOf(flags)
    const loaded = yield* asInvalidInput(Loader.load(flags.graph), `graph ${flags.graph}`)
    const backend = yield* backendOf(flags)
    yield* Effect.gen(function* () {
      const generator = yield* Generator
      const verifier = yield* Verifier
      const problems = [
        ...validateGraph(loaded, {
          params,
          limits,
          backend: { name: generator.backend, capabilities: generator.capabilities, verifiers: verifier.verifiers }
        }),
        ...limitProblems(loaded, limits, generator, verifier, pricingOf(generator, verifier, prices))
      ]
      if (problems.length > 0)
        return yield* asInvalidInput(
          Effect.fail(new GraphError({ graph: loaded.source, problems })),
          `graph ${flags.graph}`
        )
      const { params: effective } = effectiveParams(loaded.doc, params)
      yield* Console.log(
        `${loaded.doc.name}: valid for backend ${generator.backend} (params ${JSON.stringify(effective)})`
      )
    }).pipe(Effect.provide(backend))
  })
).pipe(Command.withDescription("Check a graph: schema, expressions, params, reachability, backend capabilities"))

/** How many synthetic problems `mull cost` dry-runs the graph on. */
const DRY_RUNS = 24

const plusMinus = (mean: number, sd: number): string => `${fmt(mean)} ± ${fmt(sd)}`

export const cost = Command.make(
  "cost",
  {
    graph: graphArg,
    param: paramFlag,
    budget: budgetFlag,
    ...priceFlags,
    json: Flag.Boolean("json").pipe(Flag.withDescription("Print the plan as JSON"), Flag.withDefault(false)),
    ...backendFlags()
  },
  Effect.fn(function* (flags) {
    const params = yield* parseParams(flags.param)
    const limits = yield* parseBudget(Option.getOrUndefined(flags.budget))
    const prices = yield* pricesOf(flags)
    const loaded = yield* asInvalidInput(Loader.load(flags.graph), `graph ${flags.graph}`)
    const problems = validateGraph(loaded, { params, limits })
    if (problems.length > 0)
      return yield* asInvalidInput(
        Effect.fail(new GraphError({ graph: loaded.source, problems })),
        `graph ${flags.graph}`
      )
    const backend = yield* backendOf(flags)
    const descriptor = registry.find(flags.backend)
    // the expected spend comes from a dry run on a simulator: the chosen backend if it is one,
    // else the registry's simulator with its defaults
    const simulator = registry.backends.find((b) => b.simulator)
    const dryBackend =
      descriptor?.simulator === true
        ? backend
        : simulator === undefined
          ? undefined
          : cliBackend(simulator.name, undefined, registry)
    const plan = yield* Effect.gen(function* () {
      const generator = yield* Generator
      const verifier = yield* Verifier
      const limitIssues = limitProblems(loaded, limits, generator, verifier, pricingOf(generator, verifier, prices))
      if (limitIssues.length > 0)
        return yield* asInvalidInput(
          Effect.fail(new GraphError({ graph: loaded.source, problems: limitIssues })),
          `graph ${flags.graph}`
        )
      return planOf(
        loaded,
        { params, limits, ...costOptionsOf(generator, verifier) },
        generator.backend,
        pricingOf(generator, verifier, prices)
      )
    }).pipe(Effect.provide(backend))
    const expected =
      dryBackend === undefined
        ? undefined
        : yield* asInvalidInput(
            expectedSpend(loaded, { params, limits, prices, problems: dryRunProblems(DRY_RUNS) }),
            `graph ${flags.graph}`
          ).pipe(Effect.provide(dryBackend))
    const { params: effective } = effectiveParams(loaded.doc, params)
    if (flags.json) {
      yield* Console.log(JSON.stringify(planJson(loaded.doc.name, effective, limits, plan, expected), null, 2))
      return
    }
    const meters = Usage.METERS.filter((m) => m !== "wallMs")
    // a dry run's USD or FLOPs without prices or parameter counts is no estimate
    const unset = new Set(expected?.unset ?? [])
    const unpriced = (m: Usage.Meter) =>
      (m === "usd" && (unset.has("input") || unset.has("output"))) || (m === "flops" && unset.has("generatorParams"))
    const binds = expected?.binds[0]
    const budgeted = meters.some((m) => limits[m] !== undefined)
    const expectedHeader = `expected (${expected?.runs ?? 0} dry runs)`
    const expectedCell = (m: Usage.Meter) =>
      expected === undefined || unpriced(m) ? "—" : plusMinus(expected.mean[m], expected.sd[m])
    yield* Console.log(
      [
        `${loaded.doc.name} with ${JSON.stringify(effective)}, backend ${plan.backend} (solution cap ${plan.maxTokens} tokens${plan.stepTokens === undefined ? "" : `, step cap ${plan.stepTokens}`})`,
        "",
        // With limits, the one bound that holds is the one under them: the graph's own worst case
        // (above a limit) is what `mull cost` without --budget prints.
        budgeted
          ? table(
              ["meter", "bound", "limit", "answer minimum", expectedHeader],
              meters.map((m) => [
                m,
                fmt(plan.underBudget[m]),
                limits[m] === undefined ? "—" : fmt(limits[m] ?? 0),
                fmt(plan.answerMinimum[m]),
                expectedCell(m)
              ])
            )
          : table(
              ["meter", "worst case", "answer minimum", expectedHeader],
              meters.map((m) => [m, fmt(plan.worst[m]), fmt(plan.answerMinimum[m]), expectedCell(m)])
            ),
        "",
        `binds first: ${
          binds === undefined
            ? "—"
            : binds.meter === "none"
              ? `none (the budget refused nothing in ${binds.runs} of ${expected?.runs ?? 0} dry runs)`
              : `${binds.meter} (first to refuse in ${binds.runs} of ${expected?.runs ?? 0} dry runs)`
        }`,
        ...(expected === undefined
          ? []
          : [
              `dry runs: ${expected.answered} of ${expected.runs} answered, ${expected.exhausted} exhausted (simulated backend, synthetic problems in MATH-500's mix of levels)`
            ]),
        `population ≤ ${fmt(plan.population)} candidates`,
        budgeted
          ? "bound: an upper bound no run under these limits exceeds (never above a limit); ∞: the graph alone does not bound it (prompt lengths, prices)"
          : "worst case: an upper bound no run exceeds; ∞: the graph alone does not bound it (prompt lengths, prices)",
        "answer minimum: a budget that pays this always gets an answer (the run keeps a reserve to finish one candidate)"
      ].join("\n")
    )
  })
).pipe(
  Command.withDescription(
    "Plan a run: per meter the worst case (under the budget when one is given), the answer minimum, and the expected spend from a dry run"
  )
)

export const schema = Command.make(
  "schema",
  {},
  Effect.fn(function* () {
    yield* Console.log(JSON.stringify(graphJsonSchema(), null, 2))
  })
).pipe(Command.withDescription("Print the JSON Schema of graph documents (for editors)"))
