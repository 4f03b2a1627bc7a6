/**
 * Where mull's own files are: the package root (the folder with mull's package.json), found from
 * this module's location, so it works from `src/` (Node running TypeScript) and from `dist/src/`
 * (the published build) alike.
 *
 * @since 0.1.0
 */
import { existsSync, readFileSync } from "node:fs"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"

const findRoot = (): string => {
  let dir = dirname(fileURLToPath(import.meta.url))
  for (;;) {
    const manifest = join(dir, "package.json")
    if (existsSync(manifest)) {
      try {
        const json: unknown = JSON.parse(readFileSync(manifest, "utf8"))
        if (typeof json === "object" && json !== null && "name" in json && json.name === "mull") return dir
      } catch {
        // not ours; keep climbing
      }
    }
    const up = dirname(dir)
    if (up === dir) return dirname(dirname(fileURLToPath(import.meta.url)))
    dir = up
  }
}

/** The package root. */
export const packageRoot: string = findRoot()

/**
 * A path inside the package.
 *
 * @example
 * fromRoot("graphs") // "<mull>/graphs"
 */
export const fromRoot = (...parts: ReadonlyArray<string>): string => join(packageRoot, ...parts)
