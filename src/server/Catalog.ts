/**
 * The graphs a server serves: every graph file of its folders (mull's built-ins first, unless
 * turned off, then the operator's), loaded once at start and served by the `name` its document
 * declares. A `use` resolves by name against the catalog itself, never a path. A graph is served
 * only when it loads and validates against the backend; the others are reported (and, with
 * `strict`, refuse the start). A folder that does not exist is an error.
 *
 * @since 0.1.0
 */
import { readdir, readFile } from "node:fs/promises"
import * as NodePath from "node:path"
import { Context, Effect, Schema } from "effect"
import { usesVerifier } from "../graph/Cost.ts"
import type { GraphError } from "../graph/GraphError.ts"
import * as Loader from "../graph/Loader.ts"
import * as Plan from "../graph/Plan.ts"
import { validate } from "../graph/Validate.ts"
import { Generator } from "../services/Generator.ts"
import type { AnswerKey } from "../services/Grader.ts"
import { Verifier } from "../services/Verifier.ts"
import { costDrivers } from "./Ceilings.ts"
import type { Alias, Policy } from "./Policy.ts"

/** What a served run needs from its backend. */
export type ServedServices = Generator | Verifier | AnswerKey

/** The backend services a server runs with, captured at start. */
export type ServedContext = Context.Context<ServedServices>

/** A served graph. */
export interface Served {
  readonly loaded: Loader.LoadedGraph
  readonly description: string
  /** the file it came from */
  readonly file: string
  /** its params that drive its cost (`Ceilings.costDrivers`) */
  readonly drivers: ReadonlyArray<string>
  /** how many plan nodes it compiles to, its `use`d graphs included */
  readonly planNodes: number
  /** whether it calls a verifier (`Cost.usesVerifier`; decides how a request's budget splits) */
  readonly scores: boolean
}

/** The graphs a server serves, loaded once at start. */
export interface Catalog {
  readonly graphs: ReadonlyMap<string, Served>
  /** every served graph by name, for `use` resolution (`Loader`'s `named`) */
  readonly named: ReadonlyMap<string, Loader.LoadedGraph>
  /** the aliases served: those whose graph is served and whose params it declares */
  readonly aliases: ReadonlyMap<string, Alias>
  /** what is not served, and why (`file: problem`), reported at start */
  readonly problems: ReadonlyArray<string>
}

/** The catalog cannot be built: a folder is missing, or (`strict`) a graph does not load or validate. */
export class CatalogError extends Schema.TaggedError<CatalogError>()("CatalogError", {
  problems: Schema.Array(Schema.String)
}) {
  override get message(): string {
    return `cannot serve these graphs:\n${this.problems.map((p) => `  ${p}`).join("\n")}`
  }
}

interface GraphFile {
  readonly file: string
  readonly name: string
  readonly description: string
  readonly json: unknown
}

const readFolder = (folder: string) =>
  Effect.tryPromise({
    try: () => readdir(folder),
    catch: (e) =>
      new CatalogError({
        problems: [
          `graphs: cannot read folder "${folder}" (${e instanceof Error ? e.message.replace(/^[A-Z]+: /u, "") : String(e)})`
        ]
      })
  })

/** The graph files of the folders, in order, with the names their documents declare. */
const graphFiles = Effect.fnUntraced(function* (folders: ReadonlyArray<string>) {
  const files: Array<GraphFile> = []
  const problems: Array<string> = []
  for (const folder of folders) {
    const names = (yield* readFolder(folder)).filter((f) => f.endsWith(".json")).sort()
    for (const f of names) {
      const file = NodePath.join(folder, f)
      const text = yield* Effect.promise(() => readFile(file, "utf8").catch((e: unknown) => e))
      if (typeof text !== "string") {
        problems.push(`${file}: cannot read (${text instanceof Error ? text.message : String(text)})`)
        continue
      }
      let json: unknown
      try {
        json = JSON.parse(text)
      } catch (e) {
        problems.push(`${file}: not valid JSON (${e instanceof Error ? e.message : String(e)})`)
        continue
      }
      const record = typeof json === "object" && json !== null ? (json as Record<string, unknown>) : {}
      const name = typeof record.name === "string" ? record.name : NodePath.basename(f, ".json")
      const description = typeof record.description === "string" ? record.description : ""
      files.push({ file, name, description, json })
    }
  }
  return { files, problems }
})

/**
 * Loads every graph of the policy's folders, by the names their documents declare, and validates
 * each against the backend in context; `use` targets resolve by name within the catalog.
 *
 * @example
 * const catalog = yield* loadCatalog(policy)
 */
export const loadCatalog = Effect.fn("mull.serve.catalog")(function* (policy: Policy) {
  const generator = yield* Generator
  const verifier = yield* Verifier
  const { files, problems } = yield* graphFiles(policy.graphs)
  const unique: Array<GraphFile> = []
  const firstFile = new Map<string, string>()
  for (const f of files) {
    const first = firstFile.get(f.name)
    if (first !== undefined) problems.push(`${f.file}: a graph named "${f.name}" is already served (${first})`)
    else {
      firstFile.set(f.name, f.file)
      unique.push(f)
    }
  }
  // load in passes: a graph that uses another loads once that one has
  const named = new Map<string, Loader.LoadedGraph>()
  let pending = unique
  const failures = new Map<string, GraphError>()
  for (let progress = true; progress && pending.length > 0; ) {
    progress = false
    const next: Array<GraphFile> = []
    for (const f of pending) {
      const r = yield* Effect.result(
        Loader.fromJson(f.json, { folders: [], namesOnly: true, named, cwd: NodePath.dirname(f.file) })
      )
      if (r._tag === "Success") {
        named.set(f.name, r.success)
        failures.delete(f.file)
        progress = true
      } else {
        failures.set(f.file, r.failure)
        next.push(f)
      }
    }
    pending = next
  }
  for (const f of pending) problems.push(...(failures.get(f.file)?.problems ?? []).map((p) => `${f.file}: ${p}`))
  const backend = { name: generator.backend, capabilities: generator.capabilities, verifiers: verifier.verifiers }
  const graphs = new Map<string, Served>()
  for (const f of unique) {
    const loaded = named.get(f.name)
    if (loaded === undefined) continue
    const invalid = validate(loaded, { backend })
    if (invalid.length > 0) {
      problems.push(...invalid.map((p) => `${f.file}: ${p}`))
      continue
    }
    graphs.set(f.name, {
      loaded,
      description: f.description,
      file: f.file,
      drivers: costDrivers(loaded, generator.maxTokens),
      planNodes: Plan.nodes(loaded.plan.root).length,
      scores: usesVerifier(loaded.plan.root)
    })
  }
  const aliases = new Map<string, Alias>()
  for (const [model, alias] of Object.entries(policy.aliases)) {
    const served = graphs.get(alias.graph)
    if (served === undefined) {
      problems.push(`aliases.${model}.graph: no graph named "${alias.graph}" is served`)
      continue
    }
    const invalid = validate(served.loaded, { params: alias.params ?? {}, backend })
    if (invalid.length > 0) problems.push(...invalid.map((p) => `aliases.${model}: ${p}`))
    else aliases.set(model, alias)
  }
  if (policy.strict && problems.length > 0) return yield* new CatalogError({ problems })
  // only served graphs resolve a `use` of a request's document
  const servedNamed = new Map([...graphs].map(([name, s]) => [name, s.loaded] as const))
  return { graphs, named: servedNamed, aliases, problems } satisfies Catalog
})

/**
 * The backend services in context, captured for the server's runs.
 *
 * @example
 * const context = yield* servedContext
 */
export const servedContext: Effect.Effect<ServedContext, never, ServedServices> = Effect.context<ServedServices>()

/** Reads the generator of a served context. */
export const generatorOf = (context: ServedContext) => Context.get(context, Generator)

/** Reads the verifier of a served context. */
export const verifierOf = (context: ServedContext) => Context.get(context, Verifier)
