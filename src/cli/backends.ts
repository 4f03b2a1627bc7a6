/**
 * `mull backends`: the backends of the registry and what each can do — the capabilities a graph's
 * nodes need (docs/backends.md § Capabilities) and the verifiers a `score` node can name.
 *
 * @since 0.1.0
 */
import { Console, Effect } from "effect"
import { Command } from "effect/cli"
import { registry } from "../backends/Registry.ts"
import { CAPABILITIES, CAPABILITY_DESCRIPTIONS } from "../services/Capability.ts"
import { table } from "./Table.ts"

export const backendsCommand = Command.make(
  "backends",
  {},
  Effect.fn(function* () {
    const rows = registry.backends.flatMap((b) =>
      b.variants.map((v) => [
        v.label === "" ? b.name : `${b.name} (${v.label})`,
        ...CAPABILITIES.map((c) => (v.capabilities.has(c) ? "yes" : "no")),
        v.verifiers
      ])
    )
    yield* Console.log(table(["backend", ...CAPABILITIES, "verifiers"], rows))
    yield* Console.log("")
    yield* Console.log(CAPABILITIES.map((c) => `${c}: ${CAPABILITY_DESCRIPTIONS[c]}`).join("\n"))
    yield* Console.log("")
    yield* Console.log(registry.backends.map((b) => `${b.name}: ${b.description}`).join("\n"))
  })
).pipe(Command.withDescription("List the backends and their capabilities"))
