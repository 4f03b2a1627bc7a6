/**
 * The import graph of `src/` and `plugins/` by layer, and the allowed edges as docs/architecture.md
 * states them (the Layers table). Pure functions over file texts, so the layer test can also check
 * that a forbidden import is caught.
 */
import { readdirSync, readFileSync } from "node:fs"
import { dirname, join, normalize, relative } from "node:path"

/** Every `.ts` file under the given folders of `root`, as paths relative to `root` with `/`. */
export const sourceFiles = (root: string, folders: ReadonlyArray<string>): ReadonlyArray<string> =>
  folders.flatMap((folder) =>
    (readdirSync(join(root, folder), { recursive: true, encoding: "utf8" }) as ReadonlyArray<string>)
      .filter((f) => f.endsWith(".ts"))
      .map((f) =>
        relative(root, join(root, folder, f))
          .split("\\")
          .join("/")
      )
      .sort()
  )

// import/export statements at the start of a line (never a doc comment's ` * import …`), a bare
// `import "x"`, and `import("x")` with a literal specifier (a computed one is not an edge)
const FROM = /^(?:import|export)\s[^"'`=;()]*?\sfrom\s*["']([^"']+)["']/gmu
const BARE = /^import\s*["']([^"']+)["']/gmu
const DYNAMIC = /\bimport\(\s*["']([^"']+)["']\s*\)/gu

/**
 * The module specifiers a source text imports (static, re-exports, type-only, literal dynamic).
 *
 * @example
 * specifiers('import { a } from "./a.ts"\nexport * from "../b.ts"') // ["./a.ts", "../b.ts"]
 */
export const specifiers = (text: string): ReadonlyArray<string> =>
  [FROM, BARE, DYNAMIC].flatMap((re) => [...text.matchAll(re)].map((m) => m[1] ?? ""))

/**
 * The layer of a file: its folder under `src/` or `plugins/` (`src/cli/`, `plugins/openai/`), or
 * the file itself at the top of `src/` (`src/Mull.ts`).
 *
 * @example
 * layerOf("src/cli/run.ts") // "src/cli/"
 * layerOf("src/Mull.ts") // "src/Mull.ts"
 */
export const layerOf = (file: string): string => {
  const parts = file.split("/")
  return parts.length <= 2 ? file : `${parts[0]}/${parts[1]}/`
}

/** One import from a layer into another. */
export interface Edge {
  readonly from: string
  readonly to: string
  /** the importing file and what it imports */
  readonly file: string
  readonly specifier: string
}

/**
 * The edges between layers of a set of files (relative imports only; packages are not layers).
 *
 * @example
 * edgesOf([{ file: "src/cli/run.ts", text: 'import { x } from "../eval/Runner.ts"' }])
 * // [{ from: "src/cli/", to: "src/eval/", file: "src/cli/run.ts", specifier: "../eval/Runner.ts" }]
 */
export const edgesOf = (files: ReadonlyArray<{ readonly file: string; readonly text: string }>): ReadonlyArray<Edge> =>
  files.flatMap(({ file, text }) =>
    specifiers(text)
      .filter((s) => s.startsWith("."))
      .map((specifier) => ({
        from: layerOf(file),
        to: layerOf(
          normalize(join(dirname(file), specifier))
            .split("\\")
            .join("/")
        ),
        file,
        specifier
      }))
      .filter((e) => e.from !== e.to)
  )

/** The allowed imports of each layer. */
export type Allowed = ReadonlyMap<string, ReadonlySet<string>>

const CODE = /`([^`]+)`/gu

/**
 * The Layers table of docs/architecture.md: the rows of the first table after `## Layers`, whose
 * first cell names a layer and whose last cell lists (in code spans) the layers it imports.
 *
 * @example
 * allowedOf("## Layers\n\n| layer | what | imports |\n|---|---|---|\n| `src/budget/` | the ledger | `src/domain/` |\n")
 * // Map { "src/budget/" => Set { "src/domain/" } }
 */
export const allowedOf = (markdown: string): Allowed => {
  const lines = markdown.split("\n")
  const start = lines.findIndex((l) => /^## Layers\s*$/u.test(l))
  const allowed = new Map<string, Set<string>>()
  if (start < 0) return allowed
  let inTable = false
  for (const line of lines.slice(start + 1)) {
    if (/^#{1,2} /u.test(line)) break
    if (!line.startsWith("|")) {
      if (inTable) break
      continue
    }
    inTable = true
    const cells = line.split("|").slice(1, -1)
    const layer = [...(cells[0] ?? "").matchAll(CODE)][0]?.[1]
    if (layer === undefined) continue // the header and its rule
    allowed.set(layer, new Set([...(cells.at(-1) ?? "").matchAll(CODE)].map((m) => m[1] ?? "")))
  }
  return allowed
}

/**
 * The problems of a graph against the table: an edge it does not allow (with the file and the
 * import), a layer it does not list, and an allowed edge nothing uses (the table would describe
 * code that is not there).
 *
 * @example
 * check(edges, allowedOf(readFileSync("docs/architecture.md", "utf8")), layers) // [] when in sync
 */
export const check = (
  edges: ReadonlyArray<Edge>,
  allowed: Allowed,
  layers: ReadonlyArray<string>
): ReadonlyArray<string> => {
  const problems: Array<string> = []
  for (const layer of new Set(layers))
    if (!allowed.has(layer)) problems.push(`${layer}: not in the Layers table of docs/architecture.md`)
  for (const e of edges)
    if (allowed.has(e.from) && !allowed.get(e.from)?.has(e.to))
      problems.push(`${e.file} imports ${e.specifier}: ${e.from} → ${e.to} is not allowed by docs/architecture.md`)
  const used = new Set(edges.map((e) => `${e.from} ${e.to}`))
  for (const [from, tos] of allowed)
    for (const to of tos)
      if (!used.has(`${from} ${to}`))
        problems.push(`docs/architecture.md allows ${from} → ${to}, but nothing in ${from} imports ${to}`)
  return problems
}

/** The source files of the repository with their texts. */
export const readSources = (root: string): ReadonlyArray<{ readonly file: string; readonly text: string }> =>
  sourceFiles(root, ["src", "plugins"]).map((file) => ({ file, text: readFileSync(join(root, file), "utf8") }))
