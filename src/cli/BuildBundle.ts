/**
 * Builds the CLI's bundle (`src/cli/Bundle.ts` says when it is used): esbuild bundles
 * `src/cli/Program.ts` with our sources and the `effect` / `@effect/*` modules into ES module files,
 * one chunk per lazily imported part (a subcommand, the PostgreSQL store…), so a command still loads
 * only what it uses. Every other package (undici, ws, pg, vega, node-llama-cpp, the algebra engine)
 * stays external and is imported from `node_modules` by its resolved path, exactly as the sources
 * import it.
 *
 * The bundle must behave as the sources do, so in our own files `import.meta.url` (and `filename`,
 * `dirname`) become the source file's own location, not the bundle's: the package root, the graphs
 * folder, the sweep worker's URL and the backend registry's URL are then the same in both.
 * `import.meta.main` becomes `false` (no bundled module is the program), and any other
 * `import.meta` use fails the build. Names are kept (`keepNames`), so classes and functions print as
 * in the sources.
 *
 * Run as a program (`npm run build:cli`; `npm ci` runs it as `prepare` with `--if-possible`, which
 * warns and exits 0 when esbuild is missing or the build fails: the CLI then runs from the sources).
 *
 * @since 0.4.0
 */
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs"
import { dirname, isAbsolute, join, relative, sep } from "node:path"
import { pathToFileURL } from "node:url"
import type { Plugin } from "esbuild"
import { bundleDir, defaultRoot, MANIFEST_FORMAT, type Manifest } from "./Bundle.ts"

/** Builds kept besides the newest, for processes that started from them and still load chunks lazily. */
const KEEP_OLD_BUILDS = 2

/** Files that shape the bundle without being bundled: a change to any of them makes it stale. */
const RECIPE = ["package.json", "tsconfig.json", "src/cli/BuildBundle.ts", "node_modules/esbuild/package.json"]

/**
 * The module whose cases the single commands' builds repeat: a change to it makes them stale too,
 * though they do not contain it.
 */
const CLI = "src/cli/Cli.ts"

/** Packages bundled in (Effect, whose modules must not load twice); the rest load from `node_modules`. */
const bundled = (specifier: string): boolean =>
  specifier === "effect" || specifier.startsWith("effect/") || specifier.startsWith("@effect/")

/**
 * Subcommands also built on their own, each from a generated entry that runs the root over that
 * one subcommand (`Root.ts` `runUnder`), exactly as `Cli.ts` runs it: a build that holds one
 * command keeps only the parts of Effect's modules that command uses (esbuild splits chunks by
 * module, and keeps in each module the parts any command of the build uses), so a cold
 * `mull graphs` or `mull run` evaluates less. Keep in step with `Cli.ts`'s cases.
 */
export const SINGLE_COMMANDS: ReadonlyArray<{
  /** the subcommand, as `argv[0]` names it */
  readonly name: string
  /** the module of its `Command`, from the package root, and the export */
  readonly module: string
  readonly export: string
}> = [
  { name: "graphs", module: "src/cli/graphsList.ts", export: "graphs" },
  { name: "run", module: "src/cli/run.ts", export: "run" }
]

/** The generated entry of a command's own build: `main(argv)`, as `Program.ts` exports it. */
const singleEntry = (root: string, command: (typeof SINGLE_COMMANDS)[number]): string =>
  [
    `import { runMain, runUnder } from ${JSON.stringify(join(root, "src/cli/Root.ts"))}`,
    `import { ${command.export} as command } from ${JSON.stringify(join(root, command.module))}`,
    "export const main = (argv: ReadonlyArray<string>): void => runMain(runUnder([command], argv))"
  ].join("\n")

/**
 * Our own source text with `import.meta` replaced by this file's own location (see the module
 * comment); throws on any other `import.meta` use.
 *
 * @example
 * ownImportMeta("/r/src/a.ts", "new URL('x', import.meta.url)") // "new URL('x', \"file:///r/src/a.ts\")"
 */
export const ownImportMeta = (path: string, text: string): string => {
  const out = text
    .replaceAll("import.meta.url", JSON.stringify(pathToFileURL(path).href))
    .replaceAll("import.meta.filename", JSON.stringify(path))
    .replaceAll("import.meta.dirname", JSON.stringify(dirname(path)))
    .replaceAll("import.meta.main", "false")
  const other = /import\.meta\b.{0,20}/.exec(out)
  if (other !== null) throw new Error(`${path}: "${other[0]}" cannot be bundled (only url, filename, dirname, main)`)
  return out
}

/** What a build made. */
export interface Built {
  /** absolute path of the entry file */
  readonly entry: string
  /** absolute path of each command's own entry (`SINGLE_COMMANDS`), by name */
  readonly commands: Readonly<Record<string, string>>
  /** files bundled in (ours and effect's) */
  readonly inputs: number
  /** bytes written, all chunks */
  readonly bytes: number
  readonly ms: number
}

/**
 * Bundles the CLI of the checkout at `root` into `dir` (default `bundleDir(root)`): a new build
 * folder, then `manifest.json` replaced atomically, so a CLI starting meanwhile sees the old build
 * or the new one, never half of one. Older builds beyond the last few are removed.
 *
 * @example
 * const built = await buildBundle({ root: defaultRoot() })
 * built.entry // ".../node_modules/.cache/mull-cli/b-…/Program.mjs"
 */
export const buildBundle = async (options: { readonly root?: string; readonly dir?: string } = {}): Promise<Built> => {
  const started = performance.now()
  const root = options.root ?? defaultRoot()
  const dir = options.dir ?? bundleDir(root)
  const esbuild = await import("esbuild")
  const build = `b-${Date.now().toString(36)}-${process.pid}`
  const outdir = join(dir, build)
  mkdirSync(dir, { recursive: true })
  const rel = (p: string) =>
    relative(root, isAbsolute(p) ? p : join(root, p))
      .split(sep)
      .join("/")
  // stat before reading, so an edit during the build leaves the bundle stale, never wrongly fresh
  const ownStats = new Map<string, readonly [number, number]>()
  const ours = (p: string) => !rel(p).startsWith("..") && !rel(p).startsWith("node_modules/")
  const plugin: Plugin = {
    name: "mull-cli",
    setup(b) {
      b.onResolve({ filter: /^mull-single:/ }, (args) => ({
        path: args.path.slice("mull-single:".length),
        namespace: "mull-single"
      }))
      b.onLoad({ filter: /.*/, namespace: "mull-single" }, (args) => {
        const command = SINGLE_COMMANDS.find((c) => c.name === args.path)
        if (command === undefined) throw new Error(`no single command "${args.path}"`)
        return { loader: "ts", resolveDir: root, contents: singleEntry(root, command) }
      })
      b.onResolve({ filter: /^[^./]/ }, async (args) => {
        if (args.pluginData === "inner" || bundled(args.path)) return undefined
        const r = await b.resolve(args.path, { kind: args.kind, resolveDir: args.resolveDir, pluginData: "inner" })
        // a builtin, or a package that is not installed (an optional peer): left as written, so it
        // fails at run time exactly where the sources would
        if (r.errors.length > 0 || r.external || !isAbsolute(r.path)) return { path: args.path, external: true }
        return { path: pathToFileURL(r.path).href, external: true }
      })
      b.onLoad({ filter: /\.ts$/ }, (args) => {
        if (!ours(args.path)) return undefined
        const stat = statSync(args.path)
        ownStats.set(rel(args.path), [stat.size, stat.mtimeMs])
        return { loader: "ts", contents: ownImportMeta(args.path, readFileSync(args.path, "utf8")) }
      })
    }
  }
  const recipe = RECIPE.map((p) => {
    const stat = statSync(join(root, p))
    return [p, stat.size, stat.mtimeMs] as const
  })
  const bundle = (name: string, entry: string, into: string) =>
    esbuild.build({
      absWorkingDir: root,
      entryPoints: { [name]: entry },
      bundle: true,
      splitting: true,
      format: "esm",
      platform: "node",
      target: "node22",
      keepNames: true,
      outdir: into,
      outExtension: { ".js": ".mjs" },
      metafile: true,
      logLevel: "silent",
      plugins: [plugin]
    })
  // the whole CLI, and each single command in a folder of its own (its chunks are its own)
  const [whole, singles] = await Promise.all([
    bundle("Program", join(root, "src/cli/Program.ts"), outdir),
    Promise.all(
      SINGLE_COMMANDS.map(async (c) => ({
        command: c,
        result: await bundle(c.name, `mull-single:${c.name}`, join(outdir, c.name))
      }))
    )
  ])
  const results = [whole, ...singles.map((s) => s.result)]
  const inputs: Array<readonly [string, number, number]> = [...recipe]
  // each input's index in `inputs`, by esbuild's name for it
  const index = new Map<string, number>()
  for (const input of results.flatMap((r) => Object.keys(r.metafile.inputs))) {
    if (input.startsWith("mull-single:") || index.has(input)) continue
    const p = rel(input)
    if (p.startsWith("..")) throw new Error(`${input}: bundled from outside the checkout`)
    index.set(input, inputs.length)
    const own = ownStats.get(p)
    if (own !== undefined) inputs.push([p, own[0], own[1]])
    else {
      const stat = statSync(join(root, p))
      inputs.push([p, stat.size, stat.mtimeMs])
    }
  }
  const bytes = results.flatMap((r) => Object.values(r.metafile.outputs)).reduce((n, o) => n + o.bytes, 0)
  const commands = Object.fromEntries(
    singles.map(({ command: c, result }) => [
      c.name,
      {
        entry: `${build}/${c.name}/${c.name}.mjs`,
        // the recipe, Cli.ts (what the command's build must do as), then what its own build read
        inputs: [
          ...recipe.keys(),
          ...[CLI, ...Object.keys(result.metafile.inputs)].flatMap((input) => index.get(input) ?? [])
        ]
      }
    ])
  )
  const manifest: Manifest = { format: MANIFEST_FORMAT, root, entry: `${build}/Program.mjs`, commands, inputs }
  const tmp = join(dir, `manifest.json.${process.pid}.tmp`)
  writeFileSync(tmp, JSON.stringify(manifest))
  renameSync(tmp, join(dir, "manifest.json"))
  const old = readdirSync(dir)
    .filter((n) => n.startsWith("b-") && n !== build)
    .map((n) => ({ n, t: statSync(join(dir, n)).mtimeMs }))
    .sort((a, b) => b.t - a.t)
  for (const { n } of old.slice(KEEP_OLD_BUILDS)) rmSync(join(dir, n), { recursive: true, force: true })
  return {
    entry: join(dir, manifest.entry),
    commands: Object.fromEntries(Object.entries(commands).map(([name, c]) => [name, join(dir, c.entry)])),
    inputs: inputs.length,
    bytes,
    ms: performance.now() - started
  }
}

if (import.meta.main) {
  const ifPossible = process.argv.includes("--if-possible")
  try {
    const built = await buildBundle()
    console.log(
      `mull: CLI bundle built (${built.inputs} inputs, ${(built.bytes / 1e6).toFixed(1)} MB, ${(built.ms / 1000).toFixed(1)} s): ${relative(process.cwd(), built.entry)}`
    )
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e)
    if (!ifPossible) throw e
    console.warn(`mull: CLI bundle not built, the CLI runs from the sources (${why.split("\n")[0]})`)
  }
}
