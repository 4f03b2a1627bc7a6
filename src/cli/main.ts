#!/usr/bin/env node
/**
 * The `mull` command. Run as a program it first turns on Node's module compile cache (in
 * `NODE_COMPILE_CACHE`, else the OS temporary directory; nothing happens if it is unwritable), so
 * later starts skip compiling the modules, and only then loads the CLI: a static import would load
 * every module before the cache is on.
 *
 * @since 0.1.0
 */
import * as Module from "node:module"

if (import.meta.main) {
  try {
    Module.enableCompileCache?.()
  } catch {
    // a start without the cache is only slower
  }
}

const Cli = await import("./Cli.ts")

export const VERSION = Cli.VERSION

/** Runs the CLI on explicit arguments (tests use this); bad input exits 2 with one line per problem. */
export const runCli = Cli.runCli

if (import.meta.main) {
  const [NodeRuntime, NodeServices, { Effect }] = await Promise.all([
    import("@effect/platform-node/NodeRuntime"),
    import("@effect/platform-node/NodeServices"),
    import("effect")
  ])
  runCli(process.argv.slice(2)).pipe(Effect.provide(NodeServices.layer), NodeRuntime.runMain)
}
