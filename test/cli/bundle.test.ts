/**
 * The CLI's bundle (issue 20 item 4, `src/cli/BuildBundle.ts`, `src/cli/Bundle.ts`): built into a
 * temporary folder, it prints what the sources print, byte for byte, and exits with the same status,
 * for listing, help, validation, cost, bad input, a run (`--json`, wall times aside), an `eval` with
 * two worker threads (whose module URL the bundle must keep pointing at the sources) and a report;
 * the freshness check refuses a manifest of another checkout or format, a changed input, a missing
 * entry or a malformed file; `graphs` and `run` start from their own builds (`SINGLE_COMMANDS`), and
 * print what the sources print, help, completion scripts and bad input included; `import.meta` in
 * our sources becomes the source file's own location.
 */
import { type SpawnSyncReturns, spawnSync } from "node:child_process"
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { pathToFileURL } from "node:url"
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { type Built, buildBundle, ownImportMeta, SINGLE_COMMANDS } from "../../src/cli/BuildBundle.ts"
import { bundleAllowed, defaultRoot, freshBundle, type Manifest } from "../../src/cli/Bundle.ts"

const root = defaultRoot()
let dir = ""
let entry = ""
let built: Built | undefined
let scratch = ""

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "mull-bundle-"))
  scratch = mkdtempSync(join(tmpdir(), "mull-bundle-scratch-"))
  built = await buildBundle({ root, dir })
  entry = built.entry
}, 240_000)

afterAll(() => {
  rmSync(dir, { recursive: true, force: true })
  rmSync(scratch, { recursive: true, force: true })
})

const env = { ...process.env, NO_COLOR: "1", MULL_SERVE_TOKEN: "" }

/**
 * `main(argv)` of the entry of the test's bundle that `src/cli/Start.ts` picks for `argv` (a
 * command's own build, or the whole CLI's), run from a file (workers inherit flags).
 */
const fromBundle = (argv: ReadonlyArray<string>): SpawnSyncReturns<string> => {
  const start = join(scratch, "start.mjs")
  const picked = freshBundle(root, dir, argv)
  assert.isDefined(picked, "the bundle is fresh")
  writeFileSync(
    start,
    `const m = await import(${JSON.stringify(pathToFileURL(picked ?? entry).href)})\nm.main(process.argv.slice(2))\n`
  )
  return spawnSync(process.execPath, [start, ...argv], { cwd: root, encoding: "utf8", env, timeout: 180_000 })
}

const fromSources = (argv: ReadonlyArray<string>): SpawnSyncReturns<string> =>
  spawnSync(process.execPath, ["src/cli/main.ts", ...argv], {
    cwd: root,
    encoding: "utf8",
    env: { ...env, MULL_CLI_BUNDLE: "0" },
    timeout: 180_000
  })

const same = (argv: ReadonlyArray<string>, normalise: (s: string) => string = (s) => s) => {
  const b = fromBundle(argv)
  const s = fromSources(argv)
  assert.strictEqual(b.status, s.status, `${argv.join(" ")}: exit status\n${b.stderr}`)
  assert.strictEqual(normalise(b.stdout), normalise(s.stdout), `${argv.join(" ")}: stdout`)
  return { b, s }
}

describe("the CLI's bundle", () => {
  it("prints what the sources print", () => {
    for (const argv of [
      ["graphs"],
      ["--version"],
      ["--help"],
      ["run", "--help"],
      ["backends"],
      ["validate", "docs/examples/revise-the-best.json"],
      ["cost", "lookahead", "--param", "N=16", "--param", "k=2"],
      ["run", "no-such-graph", "--question", "x"],
      ["run", "beam-search", "--param", "N=0", "--question", "x"],
      ["run", "beam-search", "--param", "N", "--question", "x"],
      ["graphs", "--help"],
      ["graphs", "--bogus"],
      ["graphs", "--completions", "bash"],
      ["run", "--completions=zsh"]
    ]) {
      const { b, s } = same(argv)
      assert.strictEqual(b.stderr, s.stderr, `${argv.join(" ")}: stderr`)
    }
    assert.strictEqual(fromBundle(["run", "no-such-graph", "--question", "x"]).status, 2)
  }, 300_000)

  it("starts graphs and run from their own builds, anything else from the whole CLI's", () => {
    assert.deepStrictEqual(
      Object.keys(built?.commands ?? {}),
      SINGLE_COMMANDS.map((c) => c.name)
    )
    assert.strictEqual(freshBundle(root, dir, ["graphs"]), built?.commands.graphs)
    assert.strictEqual(freshBundle(root, dir, ["run", "beam-search"]), built?.commands.run)
    assert.notStrictEqual(built?.commands.run, entry)
    for (const argv of [[], ["validate", "x"], ["--help"], ["graphs", "--completions", "bash"], ["constructor"]])
      assert.strictEqual(freshBundle(root, dir, argv), entry, argv.join(" "))
  })

  it("runs a graph to the same result (wall times aside)", () => {
    const argv = ["run", "beam-search", "--param", "N=16", "--question", "What is $6 \\cdot 7$?", "--json"]
    const { b } = same(argv, (s) => s.replace(/"wallMs": ?\d+/g, '"wallMs": 0'))
    assert.include(b.stdout, '"answer"')
  }, 120_000)

  it("runs a sweep on two worker threads and reports it as the sources do", () => {
    const sweep = join(scratch, "sweep.json")
    writeFileSync(
      sweep,
      JSON.stringify({
        name: "tiny",
        dataset: { name: "math500", every: 50, limit: 2 },
        backend: { name: "simulated" },
        strategies: [{ label: "weighted", graph: "weighted-best-of-n", params: { N: "B" } }],
        budgets: [4],
        seeds: [0]
      })
    )
    const run = (from: typeof fromBundle, name: string) => {
      const store = join(scratch, `${name}.db`)
      const r = from(["eval", "--sweep", sweep, "--store", store, "--workers", "2"])
      assert.strictEqual(r.status, 0, r.stderr)
      return { r, store }
    }
    const b = run(fromBundle, "b")
    const s = run(fromSources, "s")
    const timeless = (out: string) => out.replace(/· [\d.]+ s ·/g, "· s ·")
    assert.strictEqual(timeless(b.r.stdout), timeless(s.r.stdout))
    assert.include(b.r.stdout, "2 runs now")
    const report = (from: typeof fromBundle, store: string, out: string) => {
      const r = from(["report", "--store", store, "--out", join(scratch, out)])
      assert.strictEqual(r.status, 0, r.stderr)
      return readFileSync(join(scratch, out, "report.md"), "utf8").replace(/ at \d{4}-[\dT:.-]+Z\./, " at T.")
    }
    assert.strictEqual(report(fromBundle, b.store, "rb"), report(fromSources, s.store, "rs"))
  }, 300_000)

  it("is fresh as built, and stale for another checkout, format, changed input, missing entry or bad file", () => {
    assert.strictEqual(freshBundle(root, dir), entry)
    const path = join(dir, "manifest.json")
    const original = readFileSync(path, "utf8")
    const manifest = JSON.parse(original) as Manifest
    const write = (m: unknown) => writeFileSync(path, typeof m === "string" ? m : JSON.stringify(m))
    try {
      const first = manifest.inputs.find(([p]) => p.startsWith("src/"))
      assert.isDefined(first)
      if (first === undefined) return
      const changed = manifest.inputs.map((i) => (i === first ? ([i[0], i[1], i[2] + 1] as const) : i))
      write({ ...manifest, inputs: changed })
      assert.isUndefined(freshBundle(root, dir), "an input's mtime changed")
      write({ ...manifest, inputs: [...manifest.inputs, ["src/no-such-file.ts", 1, 1]] })
      assert.isUndefined(freshBundle(root, dir), "an input is gone")
      write({ ...manifest, root: join(root, "elsewhere") })
      assert.isUndefined(freshBundle(root, dir), "another checkout")
      write({ ...manifest, format: manifest.format + 1 })
      assert.isUndefined(freshBundle(root, dir), "another format")
      write({ ...manifest, entry: "b-none/Program.mjs" })
      assert.isUndefined(freshBundle(root, dir), "no entry file")
      const graphs = manifest.commands.graphs
      assert.isDefined(graphs)
      if (graphs === undefined) return
      write({
        ...manifest,
        commands: { ...manifest.commands, graphs: { ...graphs, entry: "b-none/graphs/graphs.mjs" } }
      })
      assert.isUndefined(freshBundle(root, dir, ["graphs"]), "no entry file for the command")
      write({ ...manifest, commands: { graphs: graphs.entry } })
      assert.isUndefined(freshBundle(root, dir), "a malformed command entry")
      write({ ...manifest, commands: { graphs: { ...graphs, inputs: ["x"] } } })
      assert.isUndefined(freshBundle(root, dir), "a malformed command input")
      write({ ...manifest, commands: { graphs: { ...graphs, inputs: [manifest.inputs.length] } } })
      assert.isUndefined(freshBundle(root, dir, ["graphs"]), "a command input that is not there")
      // a command's own build is fresh while what it was built from is, whatever else changed
      const mine = new Set(graphs.inputs)
      assert.isBelow(mine.size, manifest.inputs.length / 2, "graphs is built from under half the inputs")
      const notMine = manifest.inputs.findIndex((i, k) => !mine.has(k) && i[0].startsWith("src/"))
      const onlyMine = [...mine].find((k) => manifest.inputs[k]?.[0].startsWith("src/graph/List.ts"))
      assert.isAbove(notMine, -1)
      assert.isDefined(onlyMine)
      const touch = (k: number | undefined) =>
        write({ ...manifest, inputs: manifest.inputs.map((i, j) => (j === k ? ([i[0], i[1], i[2] + 1] as const) : i)) })
      touch(notMine)
      assert.isUndefined(freshBundle(root, dir, ["validate"]), "the whole CLI is stale")
      assert.strictEqual(freshBundle(root, dir, ["graphs"]), built?.commands.graphs, "graphs' own build is not")
      touch(onlyMine)
      assert.isUndefined(freshBundle(root, dir, ["graphs"]), "graphs' own input changed")
      touch(manifest.inputs.findIndex((i) => i[0] === "src/cli/Cli.ts"))
      assert.isUndefined(freshBundle(root, dir, ["graphs"]), "Cli.ts, whose case it repeats, changed")
      write({ ...manifest, inputs: [42] })
      assert.isUndefined(freshBundle(root, dir), "a malformed input")
      write("{ not json")
      assert.isUndefined(freshBundle(root, dir), "not JSON")
      assert.isUndefined(freshBundle(root, join(scratch, "none")), "no manifest")
    } finally {
      write(original)
    }
    assert.strictEqual(freshBundle(root, dir), entry)
    assert.isFalse(bundleAllowed({ MULL_CLI_BUNDLE: "0" }))
    assert.isTrue(bundleAllowed({}))
  })

  it("the JavaScript entry runs the CLI as main.ts does", () => {
    const viaMjs = spawnSync(process.execPath, ["src/cli/mull.mjs", "graphs"], {
      cwd: root,
      encoding: "utf8",
      env: { ...env, MULL_CLI_BUNDLE: "0" }
    })
    assert.strictEqual(viaMjs.status, 0, viaMjs.stderr)
    assert.strictEqual(viaMjs.stdout, fromSources(["graphs"]).stdout)
  })

  it("keeps our modules' import.meta pointing at the source file", () => {
    const path = join(root, "src", "x.ts")
    const out = ownImportMeta(
      path,
      "a(import.meta.url); b(import.meta.dirname, import.meta.filename); c(import.meta.main)"
    )
    assert.strictEqual(
      out,
      `a(${JSON.stringify(pathToFileURL(path).href)}); b(${JSON.stringify(join(root, "src"))}, ${JSON.stringify(path)}); c(false)`
    )
    assert.throws(() => ownImportMeta(path, "import.meta.resolve('x')"), /cannot be bundled/)
  })
})
