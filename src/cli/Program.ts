/**
 * What `src/cli/main.ts` starts: the CLI (`runCli`, `VERSION`) and `main`, which runs it on the
 * process's arguments with the Node services. It is also the entry point of the CLI's bundle
 * (`src/cli/BuildBundle.ts`), so the bundle holds its own copy of everything `main` needs and
 * never mixes with modules loaded from the sources.
 *
 * @since 0.4.0
 */
import { runCli, VERSION } from "./Cli.ts"
import { runMain } from "./Root.ts"

export { runCli, VERSION }

/**
 * Runs the CLI on `argv` as the program: Node services provided, exit code and interrupts handled
 * by `NodeRuntime.runMain`.
 *
 * @example
 * main(process.argv.slice(2))
 */
export const main = (argv: ReadonlyArray<string>): void => runMain(runCli(argv))
