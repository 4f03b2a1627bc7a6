/**
 * The `@example` blocks of doc comments in src/ and plugins/ are type-checked, so a wrong example
 * (a function called with the wrong arguments, a field that does not exist) fails `npm test`.
 *
 * Examples are fragments: they use names defined elsewhere (`loaded`, `frame`, `problem`). Each
 * one is compiled in a function body (an `async function*`, so `yield*` and `await` are allowed) in
 * a file that has the imports of the module it documents and imports every export of that module;
 * `tsc` then checks it. A name the example does not define is reported as unknown and typed as
 * anything — those diagnostics are the only ones allowed — so every call of a module's own
 * function, every use of its types, is checked. An example with `import` lines gets a file of
 * its own with those imports (`mull` is src/index.ts).
 */
import { spawn } from "node:child_process"
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { dirname, join, relative, resolve } from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { fromRoot } from "../../src/paths.ts"

/** Diagnostics a fragment may give: a name it does not define, and what follows from that alone. */
const ALLOWED = new Set([
  2304, // Cannot find name 'x'
  2552, // Cannot find name 'x'. Did you mean 'y'?
  18004, // No value exists in scope for the shorthand property 'x'
  // the example means a module (`Usage.make`) where the documented module imports only its type
  2693, // 'x' only refers to a type, but is being used as a value here
  1361, // 'x' cannot be used as a value because it was imported using 'import type'
  7006 // Parameter 'x' implicitly has an 'any' type (a callback given to a name defined elsewhere)
])

interface Example {
  readonly file: string
  /** the line of the example's first code line */
  readonly line: number
  readonly lines: ReadonlyArray<string>
}

const sources = (dir: string): ReadonlyArray<string> =>
  readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith(".ts") && !e.name.endsWith(".d.ts"))
    .map((e) => join(e.parentPath, e.name))
    .sort()

/** The `@example` blocks of a file's doc comments. */
const examplesOf = (file: string, text: string): ReadonlyArray<Example> => {
  const lines = text.split("\n")
  const out: Array<Example> = []
  for (let i = 0; i < lines.length; i++) {
    if (!/^\s*\*\s*@example\s*$/u.test(lines[i] ?? "")) continue
    const body: Array<string> = []
    let j = i + 1
    for (; j < lines.length; j++) {
      const l = lines[j] ?? ""
      if (/^\s*\*\//u.test(l) || /^\s*\*\s*@\w+/u.test(l)) break
      body.push(l.replace(/^\s*\* ?/u, ""))
    }
    if (body.some((l) => l.trim() !== "")) out.push({ file, line: i + 2, lines: body })
    i = j
  }
  return out
}

/** The import declarations at the top of a module, with relative specifiers made absolute. */
const importsOf = (file: string, text: string): ReadonlyArray<string> =>
  [...text.matchAll(/^import\s[\s\S]*?\sfrom\s+"([^"]+)"/gmu)].map((m) => {
    const spec = m[1] ?? ""
    return spec.startsWith(".") ? m[0].replace(`"${spec}"`, `"${resolve(dirname(file), spec)}"`) : m[0]
  })

/** The local names a module's imports bind. */
const importedNames = (imports: ReadonlyArray<string>): Set<string> => {
  const out = new Set<string>()
  for (const i of imports) {
    const clause = /^import\s+(?:type\s+)?([\s\S]*?)\s+from\s/u.exec(i)?.[1] ?? ""
    const star = /\*\s+as\s+(\w+)/u.exec(clause)
    if (star?.[1] !== undefined) out.add(star[1])
    const braces = /\{([^}]*)\}/u.exec(clause)?.[1]
    for (const part of braces?.split(",") ?? []) {
      const name =
        part
          .trim()
          .replace(/^type\s+/u, "")
          .split(/\s+as\s+/u)
          .pop() ?? ""
      if (name !== "") out.add(name)
    }
    const first = /^(\w+)\s*(?:,|$)/u.exec(clause.trim())?.[1]
    if (first !== undefined && first !== "type") out.add(first)
  }
  return out
}

/** The names a module exports, values and types apart. */
const exportsOf = (text: string): { readonly values: Set<string>; readonly types: Set<string> } => {
  const values = new Set<string>()
  const types = new Set<string>()
  for (const m of text.matchAll(/^export\s+(?:declare\s+)?(?:const|let|function\*?|class|async\s+function)\s+(\w+)/gmu))
    values.add(m[1] ?? "")
  for (const m of text.matchAll(/^export\s+(?:type|interface)\s+(\w+)/gmu)) types.add(m[1] ?? "")
  for (const m of text.matchAll(/^export\s+\*\s+as\s+(\w+)\s+from/gmu)) values.add(m[1] ?? "")
  for (const m of text.matchAll(/^export\s+(type\s+)?\{([^}]*)\}/gmu))
    for (const part of (m[2] ?? "").split(",")) {
      const p = part.trim()
      if (p === "") continue
      const typeOnly = m[1] !== undefined || p.startsWith("type ")
      const name =
        p
          .replace(/^type\s+/u, "")
          .split(/\s+as\s+/u)
          .pop() ?? ""
      ;(typeOnly ? types : values).add(name)
    }
  for (const v of values) types.delete(v)
  return { values, types }
}

interface Generated {
  readonly name: string
  readonly text: string
  /** generated line (1-based) → the example's file and line */
  readonly origin: ReadonlyMap<number, string>
}

const generate = (root: string): ReadonlyArray<Generated> => {
  const out: Array<Generated> = []
  for (const file of [...sources(join(root, "src")), ...sources(join(root, "plugins"))]) {
    const text = readFileSync(file, "utf8")
    const examples = examplesOf(file, text)
    if (examples.length === 0) continue
    const rel = relative(root, file)
    const imports = importsOf(file, text)
    const imported = importedNames(imports)
    const exported = exportsOf(text)
    // a re-export of an imported name is in scope already
    const values = [...exported.values].filter((n) => !imported.has(n))
    const types = [...exported.types].filter((n) => !imported.has(n))
    const own = [
      ...imports,
      ...(values.length + types.length === 0
        ? []
        : [`import { ${[...values, ...types.map((t) => `type ${t}`)].join(", ")} } from "${file}"`])
    ]
    const withImports = examples.filter((e) => e.lines.some((l) => /^import\s/u.test(l)))
    const plain = examples.filter((e) => !withImports.includes(e))
    const emit = (name: string, header: ReadonlyArray<string>, group: ReadonlyArray<Example>) => {
      const lines = [...header, "export {}"]
      const origin = new Map<number, string>()
      group.forEach((e, k) => {
        lines.push(`export async function* example${k}() {`)
        e.lines.forEach((l, i) => {
          if (/^import\s/u.test(l)) return
          lines.push(`  ${l}`)
          origin.set(lines.length, `${rel}:${e.line + i}`)
        })
        lines.push("}")
      })
      out.push({ name, text: `${lines.join("\n")}\n`, origin })
    }
    if (plain.length > 0) emit(`${rel.replace(/[/.]/gu, "_")}.ts`, own, plain)
    withImports.forEach((e, k) => {
      // its own imports, and the module's exports it does not import itself
      const mine = e.lines.filter((l) => /^import\s/u.test(l))
      const bound = importedNames(mine)
      const rest = [
        ...values.filter((n) => !bound.has(n)),
        ...types.filter((n) => !bound.has(n)).map((t) => `type ${t}`)
      ]
      emit(
        `${rel.replace(/[/.]/gu, "_")}_imports${k}.ts`,
        [...mine, ...(rest.length === 0 ? [] : [`import { ${rest.join(", ")} } from "${file}"`])],
        [e]
      )
    })
  }
  return out
}

const tsc = (project: string) =>
  new Promise<{ readonly code: number | null; readonly output: string }>((done) => {
    const child = spawn(fromRoot("node_modules", ".bin", "tsc"), ["-p", project], {
      cwd: fromRoot(),
      stdio: ["ignore", "pipe", "pipe"]
    })
    let output = ""
    child.stdout.on("data", (c: Buffer) => {
      output += c.toString("utf8")
    })
    child.stderr.on("data", (c: Buffer) => {
      output += c.toString("utf8")
    })
    child.on("close", (code) => done({ code, output }))
  })

describe("doc-comment examples", () => {
  it("are found", () => {
    const generated = generate(fromRoot())
    expect(generated.reduce((n, g) => n + g.origin.size, 0)).toBeGreaterThan(300)
  })

  it("type-check (a fragment may only use names it does not define)", async () => {
    const dir = fromRoot("out", `doc-examples-${process.pid}`)
    rmSync(dir, { recursive: true, force: true })
    mkdirSync(dir, { recursive: true })
    try {
      const generated = generate(fromRoot())
      for (const g of generated) writeFileSync(join(dir, g.name), g.text)
      writeFileSync(
        join(dir, "tsconfig.json"),
        JSON.stringify({
          extends: "../../tsconfig.json",
          compilerOptions: { paths: { mull: ["../../src/index.ts"] }, noUnusedLocals: false },
          include: ["*.ts"]
        })
      )
      const { output } = await tsc(join(dir, "tsconfig.json"))
      const byName = new Map(generated.map((g) => [g.name, g]))
      const problems: Array<string> = []
      for (const line of output.split("\n")) {
        const m = /^(?:.*\/)?([^/()]+\.ts)\((\d+),\d+\): error TS(\d+): (.*)$/u.exec(line.trim())
        if (m === null) {
          if (line.trim() !== "" && !/^\s/u.test(line)) problems.push(line.trim())
          continue
        }
        if (ALLOWED.has(Number(m[3]))) continue
        const where = byName.get(m[1] ?? "")?.origin.get(Number(m[2])) ?? `${m[1]}:${m[2]}`
        problems.push(`${where}: TS${m[3]} ${m[4]}`)
      }
      expect(problems).toEqual([])
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  }, 300_000)
})
