#!/usr/bin/env node
// The `mull` command as `npm run mull` starts it: the same as `node src/cli/main.ts`, but this
// entry is JavaScript, so Node turns the compile cache on before it reads any TypeScript and, with
// the cache filled, never loads its TypeScript stripper (about 90 ms of CPU per start).
import * as Module from "node:module"

try {
  Module.enableCompileCache?.()
} catch {
  // a start without the cache is only slower
}
const { start } = await import("./Start.ts")
await start(process.argv.slice(2))
