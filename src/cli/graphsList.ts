/**
 * `mull graphs`: the built-in graphs by name and description. Apart from `graphs.ts` (validate,
 * cost, schema), so that a cold `mull graphs` loads the listing (`src/graph/List.ts`) and the table,
 * not the backends, the runtime or the graph Schema.
 *
 * @since 0.4.0
 */
import { Console, Effect } from "effect"
import { Command } from "effect/cli"
import { list } from "../graph/List.ts"
import { table } from "./Table.ts"

export const graphs = Command.make(
  "graphs",
  {},
  Effect.fn(function* () {
    const listed = yield* list()
    yield* Console.log(
      table(
        ["graph", "description"],
        listed.map((g) => [g.name, g.description])
      )
    )
  })
).pipe(Command.withDescription("List the built-in graphs"))
