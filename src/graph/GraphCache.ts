/**
 * Loaded graphs kept between runs (issue 20): `runGraph` and `makeRunner` ran `Loader.load` on
 * every call — a file read, a decode and a compile per run (527 µs per passthrough run against
 * 191 µs preloaded). A cache entry is keyed by the resolved file (or, for a document in memory,
 * by its JSON text and the working directory its `use` targets resolve against) and holds the
 * text of every file the graph was built from, its `use` targets included: a hit re-reads those
 * files and serves the loaded graph only if every text is unchanged, so an edited graph is
 * reloaded on its next run. Bounded: the least recently used entry goes first.
 *
 * A `use` target edited while its user is being loaded may be cached at its new text with the
 * old graph; the next edit of any of its files reloads it.
 *
 * @since 0.4.0
 */
import { readFileSync } from "node:fs"
import * as NodePath from "node:path"
import { Effect } from "effect"
import type { GraphError } from "./GraphError.ts"
import * as Loader from "./Loader.ts"

interface Entry {
  readonly loaded: Loader.LoadedGraph
  /** the text of every file the graph was built from, by absolute path */
  readonly files: ReadonlyMap<string, string>
}

/** A cache of loaded graphs, and what it did (for tests and the bench). */
export interface GraphCache {
  /** the graph a reference (a built-in name or a path) or a document stands for, loaded at most once per content */
  readonly get: (graph: string | object) => Effect.Effect<Loader.LoadedGraph, GraphError>
  /** loads (decodes and compiles) done, and runs served from the cache */
  readonly stats: () => { readonly loads: number; readonly hits: number }
}

/** The file a loaded graph was read from, when it was read from one. */
const fileOf = (g: Loader.LoadedGraph): string | undefined =>
  NodePath.isAbsolute(g.source)
    ? g.source
    : Loader.isPath(g.source)
      ? undefined
      : NodePath.join(g.dir, `${g.source}.json`)

/** Every file a graph was built from: its own (if any) and its `use` targets', recursively. */
const filesOf = (g: Loader.LoadedGraph, own: boolean, out = new Set<string>()): Set<string> => {
  const file = own ? fileOf(g) : undefined
  if (file !== undefined) out.add(file)
  for (const u of g.uses.values()) filesOf(u, true, out)
  return out
}

/**
 * A file's text, `undefined` when it cannot be read. Synchronous: graph files are small and a hit
 * reads each of them, where an asynchronous read costs more than the decode it saves.
 */
const readNow = (file: string): string | undefined => {
  try {
    return readFileSync(file, "utf8")
  } catch {
    return undefined
  }
}

/** whether every file still has its text (`known`: texts just read) */
const unchanged = (files: ReadonlyMap<string, string>, known: ReadonlyMap<string, string>): boolean => {
  for (const [file, text] of files) {
    const now = known.has(file) ? known.get(file) : readNow(file)
    if (now !== text) return false
  }
  return true
}

/** The file `Loader.resolve` finds for a reference with the default options, without its async reads. */
const fileFor = (ref: string): string | undefined => {
  if (Loader.isPath(ref)) return NodePath.resolve(process.cwd(), ref)
  return /^[a-z0-9][a-z0-9._-]*$/u.test(ref) ? NodePath.join(Loader.builtinDir, `${ref}.json`) : undefined
}

/**
 * A cache of at most `capacity` loaded graphs.
 *
 * @example
 * const cache = make(64)
 * const g = yield* cache.get("beam-search") // loaded; the next get reads the file and reuses it
 */
export const make = (capacity = 64): GraphCache => {
  const entries = new Map<string, Entry>()
  let loads = 0
  let hits = 0
  const remember = (key: string, entry: Entry) => {
    entries.delete(key)
    entries.set(key, entry)
    while (entries.size > capacity) {
      const oldest = entries.keys().next()
      if (oldest.done === true) break
      entries.delete(oldest.value)
    }
  }
  const cached = (
    key: string,
    before: ReadonlyMap<string, string>,
    load: Effect.Effect<Loader.LoadedGraph, GraphError>,
    own: boolean
  ) =>
    Effect.gen(function* () {
      const entry = entries.get(key)
      if (entry !== undefined && unchanged(entry.files, before)) {
        hits++
        remember(key, entry)
        return entry.loaded
      }
      const loaded = yield* load
      loads++
      const files = new Map(before)
      for (const file of filesOf(loaded, own))
        if (!files.has(file)) {
          const text = readNow(file)
          // a file that cannot be read now is not cached on
          if (text === undefined) return loaded
          files.set(file, text)
        }
      remember(key, { loaded, files })
      return loaded
    })
  const get = (graph: string | object): Effect.Effect<Loader.LoadedGraph, GraphError> =>
    Effect.gen(function* () {
      if (typeof graph === "string") {
        const file = fileFor(graph)
        // the text read before loading, so an edit during the load is seen by the next run
        const text = file === undefined ? undefined : readNow(file)
        // no such file (or not a name): the loader says why
        if (file === undefined || text === undefined) return yield* Loader.load(graph)
        const key = `${Loader.isPath(graph) ? "path" : "name"}\u0000${file}`
        return yield* cached(key, new Map([[file, text]]), Loader.load(graph), true)
      }
      let json: string
      try {
        json = JSON.stringify(graph)
      } catch {
        // not JSON (a cycle, a BigInt): the loader reports it, uncached
        return yield* Loader.fromJson(graph)
      }
      return yield* cached(`doc\u0000${process.cwd()}\u0000${json}`, new Map(), Loader.fromJson(graph), false)
    })
  return { get, stats: () => ({ loads, hits }) }
}

/** The cache `runGraph` and `makeRunner` share (64 graphs). */
export const shared: GraphCache = make(64)
