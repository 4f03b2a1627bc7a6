/**
 * Where the CLI's bundle is and whether it may be used. `npm ci` (the `prepare` script) and
 * `npm run build:cli` bundle the CLI into a few files (`src/cli/BuildBundle.ts`); `src/cli/main.ts`
 * starts from the bundle when it is fresh and from the sources otherwise. Loading ~540 modules one
 * by one (resolving, reading, linking each) was most of a cold command's CPU; the bundle is a few
 * files. This module checks freshness only, with `node:` modules, so that the check costs little.
 *
 * Fresh means: the manifest was written for this checkout, and every file the bundle was built from
 * (our sources, the `effect` modules it contains, package.json, tsconfig.json, the build script)
 * still has the size and modification time it had when it was read. Any edit, checkout or install
 * makes it stale, and the CLI then runs from the sources until the next build.
 *
 * @since 0.4.0
 */
import { readFileSync, statSync } from "node:fs"
import { join, resolve } from "node:path"
import { fileURLToPath } from "node:url"

/** The manifest's format; a manifest of another format is stale. */
export const MANIFEST_FORMAT = 2

/**
 * What a build leaves next to the bundle: the checkout it belongs to, its entry file (relative to
 * the bundle directory), the commands built on their own (by subcommand name: the entry, which
 * exports the same `main` but holds only that command, and the indices in `inputs` of what it was
 * built from), and each input as [path relative to `root`, size, mtimeMs].
 */
export interface Manifest {
  readonly format: number
  readonly root: string
  readonly entry: string
  readonly commands: Readonly<Record<string, { readonly entry: string; readonly inputs: ReadonlyArray<number> }>>
  readonly inputs: ReadonlyArray<readonly [string, number, number]>
}

/**
 * Whether `argv` asks for a completion script, which covers the whole command tree whatever
 * subcommand it names (so neither `Cli.ts` nor the bundle may run one subcommand alone).
 *
 * @example
 * completionsAsked(["graphs", "--completions", "bash"]) // true
 */
export const completionsAsked = (argv: ReadonlyArray<string>): boolean =>
  argv.some((a) => a === "--completions" || a.startsWith("--completions="))

/**
 * The package root this module belongs to (two folders up: `src/cli/` → root). In the published
 * build (`dist/src/cli/`) this is `dist/`, where no bundle is ever built, so the CLI runs from
 * `dist/` as before.
 */
export const defaultRoot = (): string => resolve(fileURLToPath(new URL("../../", import.meta.url)))

/**
 * The folder that holds the bundle builds and `manifest.json`; inside `node_modules`, so a fresh
 * `npm ci` always starts without one and then builds it.
 *
 * @example
 * bundleDir("/work/mull") // "/work/mull/node_modules/.cache/mull-cli"
 */
export const bundleDir = (root: string): string => join(root, "node_modules", ".cache", "mull-cli")

/**
 * Whether the environment allows the bundle: `MULL_CLI_BUNDLE=0` runs the CLI from the sources
 * (for debugging with source paths in stack traces, or to compare the two).
 *
 * @example
 * bundleAllowed({ MULL_CLI_BUNDLE: "0" }) // false
 */
export const bundleAllowed = (env: NodeJS.ProcessEnv): boolean => env.MULL_CLI_BUNDLE !== "0"

const isManifest = (u: unknown): u is Manifest =>
  typeof u === "object" &&
  u !== null &&
  "format" in u &&
  u.format === MANIFEST_FORMAT &&
  "root" in u &&
  typeof u.root === "string" &&
  "entry" in u &&
  typeof u.entry === "string" &&
  "commands" in u &&
  typeof u.commands === "object" &&
  u.commands !== null &&
  Object.values(u.commands).every(
    (c: unknown) =>
      typeof c === "object" &&
      c !== null &&
      "entry" in c &&
      typeof c.entry === "string" &&
      "inputs" in c &&
      Array.isArray(c.inputs) &&
      c.inputs.every((i) => Number.isInteger(i))
  ) &&
  "inputs" in u &&
  Array.isArray(u.inputs)

/**
 * The absolute path of the bundle's entry when the bundle in `dir` is fresh for `root`, else
 * `undefined` (no manifest, another checkout's, or any input changed, moved or gone). Given the
 * arguments, the entry is the one built for the subcommand `argv[0]` names, when it has one and no
 * completion script is asked for; that one is fresh when its own inputs are (a third as many for
 * `graphs`, and each costs a `stat`). Never throws.
 *
 * @example
 * const entry = freshBundle(defaultRoot(), undefined, ["graphs"])
 * if (entry !== undefined) (await import(pathToFileURL(entry).href)).main(["graphs"])
 */
export const freshBundle = (
  root: string,
  dir: string = bundleDir(root),
  argv: ReadonlyArray<string> = []
): string | undefined => {
  try {
    const manifest: unknown = JSON.parse(readFileSync(join(dir, "manifest.json"), "utf8"))
    if (!isManifest(manifest) || manifest.root !== root) return undefined
    const command = argv[0]
    const own =
      command !== undefined && Object.hasOwn(manifest.commands, command) && !completionsAsked(argv)
        ? manifest.commands[command]
        : undefined
    const prefix = `${root}/`
    const check = (input: Manifest["inputs"][number] | undefined): boolean => {
      if (input === undefined) return false
      const [path, size, mtimeMs] = input
      // plain concatenation: \`join\` on every input was half of this check's CPU
      const stat = statSync(prefix + path, { throwIfNoEntry: false })
      return stat !== undefined && stat.size === size && stat.mtimeMs === mtimeMs
    }
    if (own === undefined ? !manifest.inputs.every(check) : !own.inputs.every((i) => check(manifest.inputs[i])))
      return undefined
    const entry = join(dir, own?.entry ?? manifest.entry)
    return statSync(entry, { throwIfNoEntry: false })?.isFile() === true ? entry : undefined
  } catch {
    // unreadable or malformed: as if there were no bundle
    return undefined
  }
}
