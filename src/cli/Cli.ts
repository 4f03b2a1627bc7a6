/**
 * The `mull` command tree, loaded one subcommand at a time: `mull graphs` loads the modules of
 * `graphs` and nothing of `eval`, `serve` or `report` (module loading was 83–88% of a cold
 * command's CPU). Help, version, completion scripts and anything that names no known subcommand
 * load the whole tree from `Commands.ts`, so their output is unchanged. The CLI's bundle builds
 * `graphs` and `run` on their own as well (`BuildBundle.ts` `SINGLE_COMMANDS`), each as its case
 * here: keep the two in step.
 *
 * @since 0.1.0
 */
import { Effect } from "effect"
import { Command } from "effect/cli"
import { completionsAsked } from "./Bundle.ts"
import { reportInvalidInput, root, VERSION } from "./Root.ts"

export { root, VERSION }

/**
 * The run of `argv` under a root holding only the subcommand `argv[0]` names (its module is
 * imported here), or under the whole tree when `argv[0]` names none or a completion script is asked for.
 */
const load = async (argv: ReadonlyArray<string>) => {
  const runWith = <const Subs extends ReadonlyArray<Command.Command.SubcommandEntry>>(subcommands: Subs) =>
    Command.runWith(root(subcommands), { version: VERSION })(argv)
  // a completion script covers the whole tree, whichever subcommand is named with the flag
  if (completionsAsked(argv)) return Command.runWith((await import("./Commands.ts")).mull, { version: VERSION })(argv)
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
