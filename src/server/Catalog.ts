/**
 * The graphs a server serves (loaded once, by name, from its folders) and the backend services
 * its runs use.
 *
 * @since 0.1.0
 */
import { type Context, Effect } from "effect"
import * as Loader from "../graph/Loader.ts"
import type { Generator } from "../services/Generator.ts"
import type { AnswerKey } from "../services/Grader.ts"
import type { Verifier } from "../services/Verifier.ts"
import type { Policy } from "./Policy.ts"

/** What a served run needs from its backend. */
export type ServedServices = Generator | Verifier | AnswerKey

/** The graphs a server serves, loaded once at start. */
export interface Catalog {
  readonly graphs: ReadonlyMap<string, { readonly loaded: Loader.LoadedGraph; readonly description: string }>
  /** graph files that did not load, with why (reported at start, never served) */
  readonly broken: ReadonlyArray<string>
}

/**
 * Loads every graph of the policy's folders, by name; `use` targets resolve by name only.
 *
 * @example
 * const catalog = yield* loadCatalog(policy)
 */
export const loadCatalog = Effect.fn("mull.serve.catalog")(function* (policy: Policy) {
  const listed = yield* Loader.list(policy.graphs)
  const graphs = new Map<string, { loaded: Loader.LoadedGraph; description: string }>()
  const broken: Array<string> = []
  for (const g of listed) {
    const r = yield* Effect.result(Loader.load(g.name, { folders: policy.graphs, namesOnly: true }))
    if (r._tag === "Success") graphs.set(g.name, { loaded: r.success, description: g.description })
    else broken.push(`${g.file}: ${r.failure.problems.join("; ")}`)
  }
  for (const [model, alias] of Object.entries(policy.aliases))
    if (!graphs.has(alias.graph)) broken.push(`aliases.${model}.graph: no graph named "${alias.graph}" is served`)
  return { graphs, broken } satisfies Catalog
})

/** The backend services a server runs with, captured at start. */
export type ServedContext = Context.Context<ServedServices>
