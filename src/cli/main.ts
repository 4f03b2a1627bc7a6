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

// a dynamic import, so that a start compiles nothing before the compile cache is on
const Program: typeof ProgramModule = import.meta.main
  ? await (await import("./Start.ts")).start(process.argv.slice(2))
  : await import("./Program.ts")

export const VERSION = Program.VERSION

/** Runs the CLI on explicit arguments (tests use this); bad input exits 2 with one line per problem. */
export const runCli = Program.runCli
