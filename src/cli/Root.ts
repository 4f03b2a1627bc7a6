/**
 * The `mull` root command and how one run of it is set up: the version, bad input printed as one
 * line per problem (exit status 2), the Node services. `Cli.ts` picks the subcommands to load;
 * the CLI's bundle (`BuildBundle.ts`) also builds `mull graphs` and `mull run` on their own from
 * this module, so that a cold start of either evaluates only what that one command uses.
 *
 * @since 0.4.0
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as NodeServices from "@effect/platform-node/NodeServices"
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
 *
 * @example
 * reportInvalidInput(Effect.fail(new InvalidInput({ subject: "--param", problems: ["--param: x"] })))
 */
export const reportInvalidInput = <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A | undefined, E, R> =>
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
 * The run of `argv` under the root over `subcommands`, bad input reported.
 *
 * @example
 * runUnder([graphs], ["graphs"])
 */
export const runUnder = <const Subs extends ReadonlyArray<Command.Command.SubcommandEntry>>(
  subcommands: Subs,
  argv: ReadonlyArray<string>
) => reportInvalidInput(Command.runWith(root(subcommands), { version: VERSION })(argv))

/**
 * Runs a CLI program as the process: Node services provided, exit code and interrupts handled by
 * `NodeRuntime.runMain`.
 *
 * @example
 * runMain(runUnder([graphs], process.argv.slice(2)))
 */
export const runMain = <A, E>(program: Effect.Effect<A, E, NodeServices.NodeServices>): void =>
  program.pipe(Effect.provide(NodeServices.layer), NodeRuntime.runMain)
