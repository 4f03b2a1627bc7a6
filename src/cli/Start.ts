/**
 * Starting the CLI as a program: Node's module compile cache first (in `NODE_COMPILE_CACHE`, else
 * the OS temporary directory; nothing happens if it is unwritable), so later starts skip compiling
 * the modules; then the CLI from its bundle when the bundle is fresh (`src/cli/Bundle.ts`; built by
 * `npm ci` and `npm run build:cli`), else from the sources. Either way the commands behave the same;
 * `MULL_CLI_BUNDLE=0` always uses the sources.
 *
 * @since 0.4.0
 */
import * as Module from "node:module"
import { pathToFileURL } from "node:url"
import { bundleAllowed, defaultRoot, freshBundle } from "./Bundle.ts"

type Program = typeof import("./Program.ts")

const load = async (): Promise<Program> => {
  const entry = bundleAllowed(process.env) ? freshBundle(defaultRoot()) : undefined
  if (entry !== undefined) {
    try {
      // the bundle is built from Program.ts, so it has Program's exports
      return (await import(pathToFileURL(entry).href)) as Program
    } catch {
      // a bundle that cannot load (a chunk removed under us): the sources do the same work
    }
  }
  return import("./Program.ts")
}

/**
 * Runs the CLI on `argv` as the program and returns the module it ran (the bundle's or the
 * sources'), whose `runCli` is then the one in use.
 *
 * @example
 * await start(process.argv.slice(2))
 */
export const start = async (argv: ReadonlyArray<string>): Promise<Program> => {
  try {
    Module.enableCompileCache?.()
  } catch {
    // a start without the cache is only slower
  }
  const program = await load()
  program.main(argv)
  return program
}
