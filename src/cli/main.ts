#!/usr/bin/env node
/**
 * The `mull` command.
 *
 * @since 0.1.0
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as NodeServices from "@effect/platform-node/NodeServices"
import { Console, Effect } from "effect"
import { Command } from "effect/cli"
import { exchange, optimize, report } from "./analysis.ts"
import { backendsCommand } from "./backends.ts"
import { evalCommand } from "./eval.ts"
import { gradeCommand } from "./grade.ts"
import { cost, graphs, schema, validate } from "./graphs.ts"
import { InvalidInput } from "./InvalidInput.ts"
import { paper } from "./paper.ts"
import { run } from "./run.ts"
import { runnerCommand } from "./runner.ts"
import { serve } from "./serve.ts"
import { sim } from "./sim.ts"
import { tenantCommand } from "./tenant.ts"
import { traceCommand } from "./trace.ts"

export const VERSION = "0.1.0"

export const mull = Command.make("mull").pipe(
  Command.withDescription("Spend LLM test-time compute well: strategies as budgeted graph documents"),
  Command.withSubcommands([
    run,
    graphs,
    backendsCommand,
    validate,
    cost,
    schema,
    evalCommand,
    runnerCommand,
    optimize,
    exchange,
    report,
    paper,
    gradeCommand,
    sim,
    traceCommand,
    serve,
    tenantCommand
  ])
)

/** Prints an `InvalidInput` as one line per problem on stderr and sets exit status 2. */
const reportInvalidInput = <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A | undefined, E, R> =>
  Effect.catch(self, (e) =>
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

/** Runs the CLI on explicit arguments (tests use this); bad input exits 2 with one line per problem. */
export const runCli = (argv: ReadonlyArray<string>) =>
  reportInvalidInput(Command.runWith(mull, { version: VERSION })(argv))

if (import.meta.main) {
  runCli(process.argv.slice(2)).pipe(Effect.provide(NodeServices.layer), NodeRuntime.runMain)
}
