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

/** What `start` runs: the bundle's entry, a command's own build or `Program.ts`, all with this `main`. */
interface Entry {
  readonly main: (argv: ReadonlyArray<string>) => void
}

const load = async (argv: ReadonlyArray<string>): Promise<Entry> => {
  const entry = bundleAllowed(process.env) ? freshBundle(defaultRoot(), undefined, argv) : undefined
  if (entry !== undefined) {
    try {
      // every entry of the bundle exports Program.ts's `main` (BuildBundle.ts)
      return (await import(pathToFileURL(entry).href)) as Entry
    } catch {
      // a bundle that cannot load (a chunk removed under us): the sources do the same work
    }
  }
  return import("./Program.ts")
}

/**
 * Runs the CLI on `argv` as the program, from the bundle (the subcommand's own build when it has
 * one) or from the sources.
 *
 * @example
 * await start(process.argv.slice(2))
 */
export const start = async (argv: ReadonlyArray<string>): Promise<void> => {
  try {
    Module.enableCompileCache?.()
  } catch {
    // a start without the cache is only slower
  }
  ;(await load(argv)).main(argv)
}
