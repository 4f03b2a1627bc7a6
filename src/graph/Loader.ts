/**
 * Loading graph documents: by built-in name (from `graphs/`, or other configured folders) or by
 * path; JSON parse and Schema decode (expressions parsed) with every problem reported; `use`
 * targets resolved recursively with cycle detection; the compiled plan (`Plan.ts`). Validation
 * against params, budget and backend is in `Validate.ts`.
 *
 * @since 0.1.0
 */
import { readFile } from "node:fs/promises"
import * as NodePath from "node:path"
import { Effect, Result } from "effect"
import * as Graph from "./Graph.ts"
import { GraphError } from "./GraphError.ts"
import { builtinDir, list } from "./List.ts"
import * as Plan from "./Plan.ts"

// listing reads no Schema, so it lives apart and `mull graphs` loads only it
export { builtinDir, type Listed, list } from "./List.ts"

/** A loaded graph: its document as written, its `use` targets, and its compiled plan. */
export interface LoadedGraph {
  /** a built-in name (`beam-search`) or the absolute file path */
  readonly source: string
  /** folder that relative `use` paths are resolved against */
  readonly dir: string
  /** the document as written (for printing and errors) */
  readonly doc: Graph.GraphDocument
  /** the document as decoded: its expressions parsed */
  readonly parsed: Graph.ParsedDocument
  /** resolved `use` targets, by the JSON path of the `use` node */
  readonly uses: ReadonlyMap<string, LoadedGraph>
  /** the compiled plan: what validation, the static cost and the interpreter read */
  readonly plan: Plan.Plan
}

export interface LoadOptions {
  /** folders searched for graph names, in order; defaults to the built-in folder */
  readonly folders?: ReadonlyArray<string>
  /** folder that a relative path is resolved against; defaults to the working directory */
  readonly cwd?: string
  /** refuse file paths, accept names only (the HTTP service sets this) */
  readonly namesOnly?: boolean
  /**
   * graphs already loaded, by name, that a `use` of that name resolves to before any folder is
   * searched (a server's catalog: a `use` then costs no file read and no decode)
   */
  readonly named?: ReadonlyMap<string, LoadedGraph>
}

/** Whether a graph reference is a path (has a slash or ends in `.json`) rather than a name. */
export const isPath = (ref: string): boolean => ref.includes("/") || ref.includes("\\") || ref.endsWith(".json")

const readText = (file: string) =>
  Effect.tryPromise({
    try: () => readFile(file, "utf8"),
    catch: (e) =>
      new GraphError({
        graph: file,
        problems: [`(file): cannot read: ${e instanceof Error ? e.message.replace(/^[A-Z]+: /u, "") : String(e)}`]
      })
  })

const exists = (file: string) =>
  Effect.promise(() =>
    readFile(file, "utf8").then(
      () => true,
      () => false
    )
  )

/**
 * Finds the file of a graph reference.
 *
 * @example
 * resolve("beam-search", {}) // Effect of "<mull>/graphs/beam-search.json"
 */
export const resolve = Effect.fnUntraced(function* (ref: string, options: LoadOptions) {
  const folders = options.folders ?? [builtinDir]
  if (isPath(ref)) {
    if (options.namesOnly === true)
      return yield* new GraphError({ graph: ref, problems: [`(graph): only graph names are accepted here, not paths`] })
    return NodePath.resolve(options.cwd ?? process.cwd(), ref)
  }
  if (!/^[a-z0-9][a-z0-9._-]*$/u.test(ref))
    return yield* new GraphError({ graph: ref, problems: [`(graph): "${ref}" is neither a graph name nor a path`] })
  for (const folder of folders) {
    const file = NodePath.join(folder, `${ref}.json`)
    if (yield* exists(file)) return file
  }
  const known = [...(options.named?.keys() ?? []), ...(yield* list(folders)).map((k) => k.name)]
  return yield* new GraphError({
    graph: ref,
    problems: [`(graph): no graph named "${ref}" (known: ${[...new Set(known)].sort().join(", ")})`]
  })
})

/** A decoded document: as written, and with its expressions parsed. */
export interface Decoded {
  readonly doc: Graph.GraphDocument
  readonly parsed: Graph.ParsedDocument
}

/**
 * Parses and decodes a document from text, reporting every problem with its JSON path; returns the
 * document as written (`load` and `fromJson` also compile it).
 *
 * @example
 * parseDocument('{"name":"x","description":"","root":{"type":"select","method":"best"}}', "x.json")
 */
export const parseDocument = (text: string, source: string): Effect.Effect<Graph.GraphDocument, GraphError> =>
  Effect.map(parseDecoded(text, source), (d) => d.doc)

const parseDecoded = (text: string, source: string): Effect.Effect<Decoded, GraphError> => {
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (e) {
    return Effect.fail(
      new GraphError({
        graph: source,
        problems: [`(document): not valid JSON: ${e instanceof Error ? e.message : String(e)}`]
      })
    )
  }
  return decodeParsed(json, source)
}

/** How deeply a document may nest objects and arrays; deeper ones are refused before decoding. */
export const MAX_DEPTH = 128

/**
 * The path of the first value nested deeper than `MAX_DEPTH` (found without recursion), or
 * `undefined`. Decoding recurses, so a document nested thousands deep would overflow the stack.
 */
const tooDeep = (json: unknown): string | undefined => {
  const stack: Array<readonly [unknown, number, ReadonlyArray<string>]> = [[json, 0, []]]
  for (let top = stack.pop(); top !== undefined; top = stack.pop()) {
    const [value, depth, path] = top
    if (typeof value !== "object" || value === null) continue
    if (depth >= MAX_DEPTH)
      return path.length > 8 ? `${path.slice(0, 6).join(".")}.….${path.slice(-2).join(".")}` : path.join(".")
    for (const [k, v] of Object.entries(value)) stack.push([v, depth + 1, [...path, k]])
  }
  return undefined
}

/**
 * Decodes a document from JSON values, reporting every problem with its JSON path; returns the
 * document as written.
 *
 * @example
 * decodeDocument({ name: "x", description: "", root: { type: "select", method: "best" } }, "x")
 */
export const decodeDocument = (json: unknown, source: string): Effect.Effect<Graph.GraphDocument, GraphError> =>
  Effect.map(decodeParsed(json, source), (d) => d.doc)

/**
 * Decodes a document from JSON values: as written, and with its expressions parsed (what the plan
 * compiles).
 *
 * @example
 * const { doc, parsed } = yield* decodeParsed(json, "x.json")
 */
export const decodeParsed = (json: unknown, source: string): Effect.Effect<Decoded, GraphError> => {
  const deep = tooDeep(json)
  if (deep !== undefined)
    return Effect.fail(
      new GraphError({
        graph: source,
        problems: [`${deep}: the document nests deeper than ${MAX_DEPTH} levels of objects and arrays`]
      })
    )
  return Graph.decode(json, { errors: "all", onExcessProperty: "error" }).pipe(
    Effect.mapError((e) => new GraphError({ graph: source, problems: Graph.formatIssues(e) })),
    Effect.map((parsed) => ({ doc: Graph.encode(parsed), parsed }))
  )
}

const loadFrom = (
  file: string,
  source: string,
  decoded: Decoded,
  options: LoadOptions,
  stack: ReadonlyArray<string>
): Effect.Effect<LoadedGraph, GraphError> =>
  Effect.gen(function* () {
    const dir = NodePath.dirname(file)
    const uses = new Map<string, LoadedGraph>()
    const problems: Array<string> = []
    for (const { path, ref } of Plan.references(decoded.parsed)) {
      const r = yield* Effect.result(loadRef(ref, { ...options, cwd: dir }, [...stack, file], path))
      if (Result.isSuccess(r)) uses.set(path, r.success)
      else problems.push(...r.failure.problems.map((p) => (p.startsWith(`${path}.graph`) ? p : `${path}.graph: ${p}`)))
    }
    if (problems.length > 0) return yield* new GraphError({ graph: source, problems })
    const plan = Plan.compile({ parsed: decoded.parsed, uses })
    return { source, dir, doc: decoded.doc, parsed: decoded.parsed, uses, plan }
  })

const loadRef = (
  ref: string,
  options: LoadOptions,
  stack: ReadonlyArray<string>,
  usePath: string
): Effect.Effect<LoadedGraph, GraphError> =>
  Effect.gen(function* () {
    const preloaded = isPath(ref) ? undefined : options.named?.get(ref)
    if (preloaded !== undefined) return preloaded
    const file = yield* resolve(ref, options)
    if (stack.includes(file)) {
      const names = [...stack.slice(stack.indexOf(file)), file].map((f) => NodePath.basename(f, ".json"))
      return yield* new GraphError({ graph: ref, problems: [`${usePath}.graph: use cycle: ${names.join(" → ")}`] })
    }
    const text = yield* readText(file)
    const source = isPath(ref) ? file : ref
    const decoded = yield* parseDecoded(text, source)
    return yield* loadFrom(file, source, decoded, options, stack)
  })

/**
 * Loads a graph by name or path, resolving its `use` targets.
 *
 * @example
 * const g = yield* load("beam-search")
 */
export const load = (ref: string, options: LoadOptions = {}): Effect.Effect<LoadedGraph, GraphError> =>
  Effect.gen(function* () {
    const file = yield* resolve(ref, options)
    const text = yield* readText(file)
    const source = isPath(ref) ? file : ref
    const decoded = yield* parseDecoded(text, source)
    return yield* loadFrom(file, source, decoded, options, [])
  })

/**
 * Loads a graph from a document already in memory (an HTTP body, a test); `use` targets are
 * resolved by name from the folders (or relative to `cwd`).
 *
 * @example
 * const g = yield* fromJson({ name: "x", description: "", root: { type: "select", method: "best" } })
 */
export const fromJson = (json: unknown, options: LoadOptions = {}): Effect.Effect<LoadedGraph, GraphError> =>
  Effect.gen(function* () {
    const source =
      typeof json === "object" && json !== null && "name" in json && typeof json.name === "string"
        ? json.name
        : "(document)"
    const decoded = yield* decodeParsed(json, source)
    const dir = options.cwd ?? process.cwd()
    return yield* loadFrom(NodePath.join(dir, "(inline).json"), source, decoded, options, [])
  })
