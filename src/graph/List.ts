/**
 * The graphs available by name, listed without decoding them: `mull graphs` prints each one's name
 * and description, so it reads the JSON and nothing more, and this module loads no Schema, plan or
 * node module (a cold `mull graphs` is mostly module loading). `Loader.ts` re-exports it;
 * `mull validate` checks a graph in full.
 *
 * @since 0.4.0
 */
import { readdir, readFile } from "node:fs/promises"
import * as NodePath from "node:path"
import { Effect } from "effect"
import { fromRoot } from "../paths.ts"

/** The folder of the built-in graphs shipped with mull. */
export const builtinDir: string = fromRoot("graphs")

/** A graph available by name. */
export interface Listed {
  readonly name: string
  readonly description: string
  readonly file: string
}

/** Names every locale orders as their UTF-16 code units: lowercase letters, digits, `-` and `.`. */
const PLAIN = /^[a-z0-9.-]*$/u

/**
 * The order of graph names: `localeCompare`'s, which for names made only of lowercase letters,
 * digits, `-` and `.` (every built-in graph's) is the order of their code units; those are
 * compared directly, because the first `localeCompare` of a process loads ICU's collation data
 * (~14 ms of a cold `mull graphs`).
 *
 * @example
 * ["best-of-n", "beam-search", "Beam"].sort(byName) // ["Beam", "beam-search", "best-of-n"]
 */
export const byName = (a: string, b: string): number =>
  PLAIN.test(a) && PLAIN.test(b) ? (a < b ? -1 : a > b ? 1 : 0) : a.localeCompare(b)

/**
 * The graphs available by name in the folders (the first folder wins on duplicates), sorted.
 *
 * @example
 * const graphs = yield* list([builtinDir])
 */
export const list = (folders: ReadonlyArray<string> = [builtinDir]): Effect.Effect<ReadonlyArray<Listed>> =>
  Effect.gen(function* () {
    const seen = new Map<string, Listed>()
    for (const folder of folders) {
      const files = yield* Effect.promise(() => readdir(folder).catch(() => [] as Array<string>))
      for (const f of files.filter((f) => f.endsWith(".json")).sort()) {
        const name = f.slice(0, -5)
        if (seen.has(name)) continue
        const file = NodePath.join(folder, f)
        const text = yield* Effect.promise(() => readFile(file, "utf8").catch(() => ""))
        let description = ""
        try {
          const j: unknown = JSON.parse(text)
          if (typeof j === "object" && j !== null && "description" in j && typeof j.description === "string")
            description = j.description
        } catch {
          description = "(not valid JSON)"
        }
        seen.set(name, { name, description, file })
      }
    }
    return [...seen.values()].sort((a, b) => byName(a.name, b.name))
  })
