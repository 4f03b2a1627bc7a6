/**
 * The whole `mull` command tree, every subcommand module loaded: what `mull --help` lists. The
 * CLI itself loads only the subcommand it runs (`Cli.ts`).
 *
 * @since 0.1.0
 */
import { exchange, optimize, report } from "./analysis.ts"
import { backendsCommand } from "./backends.ts"
import { root } from "./Cli.ts"
import { evalCommand } from "./eval.ts"
import { gradeCommand } from "./grade.ts"
import { cost, graphs, schema, validate } from "./graphs.ts"
import { paper } from "./paper.ts"
import { run } from "./run.ts"
import { runnerCommand } from "./runner.ts"
import { serve } from "./serve.ts"
import { sim } from "./sim.ts"
import { tenantCommand } from "./tenant.ts"
import { traceCommand } from "./trace.ts"

export { VERSION } from "./Cli.ts"

/** The `mull` command with every subcommand, in the order `mull --help` lists them. */
export const mull = root([
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
