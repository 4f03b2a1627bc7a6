/**
 * The `mull` command tree, loaded one subcommand at a time: `mull graphs` loads the modules of
 * `graphs` and nothing of `eval`, `serve` or `report` (module loading was 83–88% of a cold
 * command's CPU). Help, version and anything that names no known subcommand load the whole tree
 * from `Commands.ts`, so their output is unchanged.
 *
 * @since 0.1.0
 */
import { Console, Effect } from "effect"
import { Command } from "effect/cli"

export const VERSION = "0.1.0"

/**
 * The root command over the given subcommands.
 *
 * @example
 * import { Command } from "effect/cli"
 * const mull = root([Command.make("hello")])
 */
export const root = <const Subs extends ReadonlyArray<Command.Command.SubcommandEntry>>(subcommands: Subs) =>
  Command.make("mull").pipe(
    Command.withDescription("Spend LLM test-time compute well: strategies as budgeted graph documents"),
    Command.withSubcommands(subcommands)
  )

/**
 * Prints an `InvalidInput` as one line per problem on stderr and sets exit status 2. Its module is
 * imported only when the command fails: it builds a Schema class, which `mull graphs` and every
 * command that succeeds would otherwise load for nothing (and whoever made the error has loaded it).
 */
const reportInvalidInput = <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A | undefined, E, R> =>
  Effect.catch(self, (e) =>
    Effect.flatMap(
      Effect.promise(() => import("./InvalidInput.ts")),
      ({ InvalidInput }) =>
        e instanceof InvalidInput
          ? Effect.andThen(
              Console.error(e.problems.join("\n")),
              Effect.sync(() => {
                process.exitCode = 2
                return undefined
              })
            )
          : Effect.fail(e)
    )
  )

/**
 * The run of `argv` under a root holding only the subcommand `argv[0]` names (its module is
 * imported here), or under the whole tree when `argv[0]` names none.
 */
const load = async (argv: ReadonlyArray<string>) => {
  const runWith = <const Subs extends ReadonlyArray<Command.Command.SubcommandEntry>>(subcommands: Subs) =>
    Command.runWith(root(subcommands), { version: VERSION })(argv)
  switch (argv[0]) {
    case "run":
      return runWith([(await import("./run.ts")).run])
    case "graphs":
      // alone: the listing needs none of what validate and cost load
      return runWith([(await import("./graphsList.ts")).graphs])
    case "validate":
    case "cost":
    case "schema": {
      const m = await import("./graphs.ts")
      return runWith([m.graphs, m.validate, m.cost, m.schema])
    }
    case "backends":
      return runWith([(await import("./backends.ts")).backendsCommand])
    case "eval":
      return runWith([(await import("./eval.ts")).evalCommand])
    case "runner":
      return runWith([(await import("./runner.ts")).runnerCommand])
    case "optimize":
    case "exchange":
    case "report": {
      const m = await import("./analysis.ts")
      return runWith([m.optimize, m.exchange, m.report])
    }
    case "paper":
      return runWith([(await import("./paper.ts")).paper])
    case "grade":
      return runWith([(await import("./grade.ts")).gradeCommand])
    case "sim":
      return runWith([(await import("./sim.ts")).sim])
    case "trace":
      return runWith([(await import("./trace.ts")).traceCommand])
    case "serve":
      return runWith([(await import("./serve.ts")).serve])
    case "tenant":
      return runWith([(await import("./tenant.ts")).tenantCommand])
    default:
      return Command.runWith((await import("./Commands.ts")).mull, { version: VERSION })(argv)
  }
}

/**
 * Runs the CLI on explicit arguments (tests use this); bad input exits 2 with one line per problem.
 *
 * @example
 * import * as NodeServices from "@effect/platform-node/NodeServices"
 * import { Effect } from "effect"
 * await Effect.runPromise(runCli(["graphs"]).pipe(Effect.provide(NodeServices.layer)))
 */
export const runCli = (argv: ReadonlyArray<string>) =>
  reportInvalidInput(Effect.flatten(Effect.promise(() => load(argv))))
