/**
 * `npm pack` produces a package a fresh project can install and import: its compiled JS runs a
 * graph (Promise API and Effect API), its types check in a strict TypeScript project, and its
 * `mull` bin runs. The consumer gets mull's dependencies as links to ours (no network).
 */
import { execFileSync } from "node:child_process"
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import * as NodePath from "node:path"
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { packageRoot } from "../../src/paths.ts"

const run = (cmd: string, args: ReadonlyArray<string>, cwd: string) =>
  execFileSync(cmd, args, { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], timeout: 180_000 })

describe("the packed package", () => {
  let dir: string
  let consumer: string
  beforeAll(() => {
    dir = mkdtempSync(NodePath.join(tmpdir(), "mull-pack-"))
    // npm runs on the project's Node (npm scripts put node_modules/.bin first on the PATH)
    const out = run("npm", ["pack", "--json", "--pack-destination", dir], packageRoot)
    const [{ filename }] = JSON.parse(out.slice(out.indexOf("["))) as [{ filename: string }]
    consumer = NodePath.join(dir, "consumer")
    const modules = NodePath.join(consumer, "node_modules")
    mkdirSync(NodePath.join(modules, "mull"), { recursive: true })
    run(
      "tar",
      ["-xzf", NodePath.join(dir, filename), "-C", NodePath.join(modules, "mull"), "--strip-components=1"],
      dir
    )
    const manifest = JSON.parse(readFileSync(NodePath.join(packageRoot, "package.json"), "utf8")) as {
      dependencies: Record<string, string>
    }
    for (const dep of [...Object.keys(manifest.dependencies), "@types/node"]) {
      const target = NodePath.join(modules, dep)
      mkdirSync(NodePath.dirname(target), { recursive: true })
      symlinkSync(NodePath.join(packageRoot, "node_modules", dep), target, "dir")
    }
    writeFileSync(
      NodePath.join(consumer, "package.json"),
      JSON.stringify({ name: "consumer", type: "module", private: true })
    )
  }, 240_000)
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  it("ships compiled JS, declarations, graphs and docs, and no TypeScript sources", () => {
    const files = run("find", [".", "-type", "f"], NodePath.join(consumer, "node_modules", "mull")).split("\n")
    assert.include(files, "./dist/src/index.js")
    assert.include(files, "./dist/src/index.d.ts")
    assert.include(files, "./graphs/beam-search.json")
    assert.include(files, "./README.md")
    assert.isFalse(files.some((f) => f.startsWith("./src/") || f.startsWith("./test/")))
  })

  it("imports and runs a graph from plain JavaScript", () => {
    writeFileSync(
      NodePath.join(consumer, "main.mjs"),
      [
        'import { runGraph, makeRunner, solve, layer } from "mull"',
        'import { Effect } from "effect"',
        'const problem = { question: "What is $1+1$?", gold: "2", level: 1 }',
        'const a = await runGraph({ graph: "weighted-best-of-n", problem, params: { N: 4 }, budget: { sequences: 4 } })',
        "const runner = makeRunner()",
        'const b = await runner.run({ graph: "beam-search", problem, params: { N: 4 } })',
        "await runner.dispose()",
        'const c = await Effect.runPromise(solve("majority", problem, { params: { N: 3 } }).pipe(Effect.provide(layer())))',
        "console.log(JSON.stringify({ a: a.usage.sequences, b: b.usage.calls > 0, c: c.population.length }))"
      ].join("\n")
    )
    const out = run(process.execPath, ["main.mjs"], consumer)
    assert.deepStrictEqual(JSON.parse(out.trim()), { a: 4, b: true, c: 3 })
  })

  it("type-checks a strict TypeScript consumer", () => {
    writeFileSync(
      NodePath.join(consumer, "check.ts"),
      [
        'import { type RunResult, runGraph, Usage } from "mull"',
        'const result: Promise<RunResult> = runGraph({ graph: "best-of-n", problem: { question: "2+2?" }, params: { N: 2 } })',
        "export const calls = result.then((r) => Usage.make({ calls: r.usage.calls }).calls)",
        "// @ts-expect-error: a budget takes meters only",
        'runGraph({ graph: "best-of-n", problem: { question: "x" }, budget: { beams: 3 } })'
      ].join("\n")
    )
    writeFileSync(
      NodePath.join(consumer, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: {
          target: "ES2022",
          module: "NodeNext",
          moduleResolution: "NodeNext",
          strict: true,
          exactOptionalPropertyTypes: true,
          noEmit: true,
          skipLibCheck: true,
          types: ["node"]
        },
        files: ["check.ts"]
      })
    )
    run(process.execPath, [NodePath.join(packageRoot, "node_modules", "typescript", "bin", "tsc"), "-p", "."], consumer)
  })

  it("installs a working mull bin", () => {
    const out = run(
      process.execPath,
      [NodePath.join("node_modules", "mull", "dist", "src", "cli", "main.js"), "graphs"],
      consumer
    )
    assert.include(out, "beam-search")
    assert.include(out, "passthrough")
  })
})
