/**
 * `mull graphs`, `mull validate <graph>`, `mull cost <graph>`, `mull schema`: listing, checking and
 * costing graph documents before running them.
 *
 * @since 0.1.0
 */
import { Console, Effect, Option } from "effect"
import { Argument, Command, Flag } from "effect/cli"
import * as Limits from "../budget/Limits.ts"
import * as Usage from "../domain/Usage.ts"
import { minimumCost, staticCost } from "../graph/Cost.ts"
import { GraphError } from "../graph/GraphError.ts"
import { graphJsonSchema } from "../graph/JsonSchema.ts"
import * as Loader from "../graph/Loader.ts"
import { effectiveParams, validate as validateGraph } from "../graph/Validate.ts"
import { Generator } from "../services/Generator.ts"
import { Verifier } from "../services/Verifier.ts"
import { backendFlags, backendOf, parseBudget, parseParams } from "./Inputs.ts"
import { asInvalidInput } from "./run.ts"
import { fmt, table } from "./Table.ts"

const graphArg = Argument.String("graph").pipe(Argument.withDescription("A built-in graph name or a path"))
const paramFlag = Flag.String("param").pipe(
  Flag.withDescription("Override a graph param: NAME=VALUE (repeatable)"),
  Flag.atLeast(0)
)
const budgetFlag = Flag.String("budget").pipe(Flag.withDescription("Limits: meter=limit,…"), Flag.optional)

export const graphs = Command.make(
  "graphs",
  {},
  Effect.fn(function* () {
    const listed = yield* Loader.list()
    yield* Console.log(
      table(
        ["graph", "description"],
        listed.map((g) => [g.name, g.description])
      )
    )
  })
).pipe(Command.withDescription("List the built-in graphs"))

export const validate = Command.make(
  "validate",
  {
    graph: graphArg,
    param: paramFlag,
    budget: budgetFlag,
    ...backendFlags()
  },
  Effect.fn(function* (flags) {
    const params = yield* parseParams(flags.param)
    const limits = yield* parseBudget(Option.getOrUndefined(flags.budget))
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
        ...Limits.check(limits, {
          generatorTokenizer: generator.promptTokens !== undefined,
          verifierTokenizer: verifier.inputTokens !== undefined
        })
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

export const cost = Command.make(
  "cost",
  {
    graph: graphArg,
    param: paramFlag,
    budget: budgetFlag,
    ...backendFlags()
  },
  Effect.fn(function* (flags) {
    const params = yield* parseParams(flags.param)
    const limits = yield* parseBudget(Option.getOrUndefined(flags.budget))
    const loaded = yield* asInvalidInput(Loader.load(flags.graph), `graph ${flags.graph}`)
    const problems = validateGraph(loaded, { params, limits })
    if (problems.length > 0)
      return yield* asInvalidInput(
        Effect.fail(new GraphError({ graph: loaded.source, problems })),
        `graph ${flags.graph}`
      )
    const backend = yield* backendOf(flags)
    yield* Effect.gen(function* () {
      const generator = yield* Generator
      const { params: effective } = effectiveParams(loaded.doc, params)
      const bound = staticCost(loaded, { params, limits, maxTokens: generator.maxTokens })
      const minimum = minimumCost(loaded, { params, limits, maxTokens: generator.maxTokens })
      const bounded = Usage.METERS.filter((m) => m !== "flops" && m !== "usd" && m !== "wallMs")
      yield* Console.log(
        [
          `${loaded.doc.name} with ${JSON.stringify(effective)}, backend ${generator.backend} (maxTokens ${generator.maxTokens} per call)`,
          "",
          table(
            ["meter", "upper bound", "first call", "limit"],
            bounded.map((m) => [
              m,
              fmt(bound.usage[m]),
              fmt(minimum[m]),
              limits[m] === undefined ? "—" : fmt(limits[m] ?? 0)
            ])
          ),
          "",
          `population ≤ ${fmt(bound.population.size)} candidates`,
          "input and verifier tokens depend on prompt lengths: ∞ means the graph alone does not bound them",
          "a run never exceeds a limit: it stops early and answers from what it could pay for"
        ].join("\n")
      )
    }).pipe(Effect.provide(backend))
  })
).pipe(Command.withDescription("Print the static upper bound of each meter before running"))

export const schema = Command.make(
  "schema",
  {},
  Effect.fn(function* () {
    yield* Console.log(JSON.stringify(graphJsonSchema(), null, 2))
  })
).pipe(Command.withDescription("Print the JSON Schema of graph documents (for editors)"))
