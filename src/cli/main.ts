#!/usr/bin/env node
/**
 * The `mull` command. Run as a program it starts the CLI through `Start.ts` (compile cache, then
 * the bundle when fresh, else the sources); `src/cli/mull.mjs` does the same without Node first
 * loading its TypeScript stripper for this file, and is what `npm run mull` runs. Imported (tests
 * do), it exports the CLI from the sources and runs nothing.
 *
 * @since 0.1.0
 */
import type * as ProgramModule from "./Program.ts"

/** The CLI's version (unset while this file runs as the program: nothing imports it then). */
export let VERSION: string

/**
 * Runs the CLI on explicit arguments (tests use this); bad input exits 2 with one line per problem.
 * Unset while this file runs as the program.
 */
export let runCli: typeof ProgramModule.runCli

// dynamic imports, so that a start compiles nothing before the compile cache is on
if (import.meta.main) await (await import("./Start.ts")).start(process.argv.slice(2))
else ({ VERSION, runCli } = await import("./Program.ts"))
