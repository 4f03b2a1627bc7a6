/**
 * The report and the analysis commands, end to end over a temporary SQLite store: every section,
 * the SVG charts (parsed minimally), valid Markdown tables, the simulator label; `mull optimize`,
 * `mull exchange`, `mull report` output and their errors for a missing store or sweep.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as NodeServices from "@effect/platform-node/NodeServices"
import { beforeAll, describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { Command } from "effect/cli"
import { TestConsole } from "effect/testing"
import { registry } from "../../src/backends/Registry.ts"
import * as Vega from "../../src/charts/Vega.ts"
import { mull, VERSION } from "../../src/cli/Commands.ts"
import { InvalidInput } from "../../src/cli/InvalidInput.ts"
import { analyze, backendName, load, parameterCount, strategyGraphs } from "../../src/eval/Analysis.ts"
import * as Report from "../../src/eval/Report.ts"
import * as Store from "../../src/eval/Store.ts"
import * as Loader from "../../src/graph/Loader.ts"
import { validate } from "../../src/graph/Validate.ts"
import { sweep } from "./synthetic.ts"

const dir = mkdtempSync(join(tmpdir(), "mull-report-"))
const storePath = join(dir, "mull.db")
const data = sweep({ problems: 60, seeds: 2 })

const fill = Effect.scoped(
  Effect.gen(function* () {
    const store = yield* Store.make(storePath)
    for (const r of data.runs) yield* store.putRun(r)
    for (const d of [...data.difficulties, ...data.large]) yield* store.putDifficulty(d)
    // the runner stores the backend name as a bare string, the rest as JSON
    yield* store.putMeta("sweep:main:backend", "simulated")
    yield* store.putMeta("sweep:main:backendConfig", JSON.stringify({ worldSeed: 3 }))
    yield* store.putMeta("sweep:main:generatorParams", "1500000000")
    yield* store.putMeta(
      "sweep:main:spec",
      JSON.stringify({ name: "main", strategies: [{ label: "beam-search M=4", graph: "beam-search" }], seeds: [0, 1] })
    )
    // a second sweep with no metadata
    const first = data.runs[0]
    if (first !== undefined) yield* store.putRun({ ...first, key: "other-1", sweep: "other" })
  })
)

beforeAll(() => Effect.runPromise(fill))

const cli = (argv: ReadonlyArray<string>) => Command.runWith(mull, { version: VERSION })(argv)

/** The `<svg …>…</svg>` elements of a text. */
const svgsIn = (text: string) => [...text.matchAll(/<svg\b[^>]*>[\s\S]*?<\/svg>/gu)].map((m) => m[0])

/** Minimal SVG check: root element with positive size, drawing elements, balanced groups. */
const checkSvg = (svg: string) => {
  expect(svg.startsWith("<svg")).toBe(true)
  expect(svg.trimEnd().endsWith("</svg>")).toBe(true)
  const width = Number(/width="([\d.]+)"/u.exec(svg)?.[1])
  const height = Number(/height="([\d.]+)"/u.exec(svg)?.[1])
  expect(width).toBeGreaterThan(100)
  expect(height).toBeGreaterThan(100)
  expect(svg).toMatch(/<path\b/u)
  expect(svg).toMatch(/<text\b/u)
  expect((svg.match(/<g\b/gu) ?? []).length).toBe((svg.match(/<\/g>/gu) ?? []).length)
}

describe("report", () => {
  it.effect("holds every section, 7 charts, valid Markdown tables and the simulator label", () =>
    Effect.gen(function* () {
      const loaded = yield* Effect.scoped(
        Effect.gen(function* () {
          const store = yield* Store.make(storePath)
          return yield* load(store, "main")
        })
      )
      expect(loaded.large.length).toBe(60)
      expect(loaded.meta.backend).toBe("simulated")
      const report = yield* Report.build(analyze(loaded), { generatedAt: "2026-01-01T00:00:00Z", registry })
      const out = join(dir, "report")
      const files = yield* Report.write(report, out)
      expect(files.length).toBe(2 + 7)
      for (const f of files) expect(existsSync(f)).toBe(true)
      const html = readFileSync(join(out, "report.html"), "utf8")
      const md = readFileSync(join(out, "report.md"), "utf8")

      // sections
      for (const id of ["setup", "bins", "accuracy", "per-bin", "compute-optimal", "exchange", "method"]) {
        expect(html).toContain(`<h2 id="${id}">`)
        expect(md).toContain(`](#${id})`)
      }
      for (const heading of [
        "## Setup",
        "## Difficulty bins",
        "## Accuracy versus budget",
        "## Accuracy per difficulty bin",
        "## The paper's findings on this sweep",
        "## The compute-optimal router as it would run (headline)",
        "## Compute-optimal policy per bin (bins from the difficulty samples: oracle = upper bound)",
        "## Exchange rate with the verifier counted",
        "## Exchange rate, verifier not counted (the paper's formula, for comparison)"
      ])
        expect(md).toContain(heading)
      // the findings come first, then the router as it would run; the oracle bound is labelled
      expect(md.indexOf("## The paper's findings")).toBeLessThan(md.indexOf("## Setup"))
      expect(md).toContain("Upper bound: oracle bins")
      expect(md).not.toMatch(/> \d+(\.\d+)?×/u)
      // the voting options used and the verdict rule are stated
      expect(md).toContain("Majority voting breaks a tie by the answer seen first")
      expect(md).toContain("Revisions vote hierarchically")
      expect(md).toContain("One rule for every finding")
      expect(html).toContain("describe a calibrated simulator")
      expect(md).toContain("not a real language model")
      expect(md).toContain("| backend | simulated |")
      expect(md).toContain('"worldSeed": 3')
      expect(md).toContain("| seeds | 0, 1 |")
      expect(md).toContain("| problems with runs | 60 |")
      expect(md).toMatch(/\| 257\.75 \|/u)
      expect(md).toMatch(/efficiency/u)

      // charts: inline in the HTML, files next to the Markdown
      const inline = svgsIn(html)
      expect(inline.length).toBe(7)
      for (const svg of inline) checkSvg(svg)
      const ids = [...html.matchAll(/\bid="([^"]+)"/gu)].map((m) => m[1])
      expect(new Set(ids).size).toBe(ids.length) // unique across the page
      const svgFiles = readdirSync(out).filter((f) => f.endsWith(".svg"))
      expect(svgFiles.sort()).toEqual(
        [
          "accuracy-vs-n.svg",
          "accuracy-vs-tokens.svg",
          "bins-vs-n.svg",
          "bins-vs-tokens.svg",
          "exchange.svg",
          "policy-oracle.svg",
          "policy-predicted.svg"
        ].sort()
      )
      for (const f of svgFiles) {
        checkSvg(readFileSync(join(out, f), "utf8"))
        expect(md).toContain(`](${f})`)
      }
      // the accuracy chart has one legend entry per strategy and a log2 axis with the budgets
      const acc = readFileSync(join(out, "accuracy-vs-n.svg"), "utf8")
      for (const s of ["weighted-best-of-n", "beam-search M=4", "sequential-revisions"]) expect(acc).toContain(s)
      expect(acc).toContain("generation budget N (log2)")
      expect(readFileSync(join(out, "accuracy-vs-tokens.svg"), "utf8")).toContain("mean output tokens per question")

      // Markdown tables: header, separator, rows with the same number of cells
      const lines = md.split("\n")
      let tables = 0
      for (let i = 0; i < lines.length; i++) {
        const line = lines[i] ?? ""
        if (!line.startsWith("| ") || (lines[i - 1] ?? "").startsWith("|")) continue
        tables++
        const cells = (l: string) => l.replaceAll("\\|", "").split("|").length
        expect(lines[i + 1]).toMatch(/^\| (---:? \| )*---:? \|$/u)
        for (let j = i + 1; j < lines.length && (lines[j] ?? "").startsWith("|"); j++)
          expect(cells(lines[j] ?? "")).toBe(cells(line))
      }
      expect(tables).toBeGreaterThanOrEqual(10)
    })
  )

  it.effect("a sweep without metadata or difficulty records still reports, and says what is missing", () =>
    Effect.gen(function* () {
      const loaded = yield* Effect.scoped(
        Effect.gen(function* () {
          const store = yield* Store.make(storePath)
          return yield* load(store, "other")
        })
      )
      const report = yield* Report.build(analyze(loaded))
      expect(report.markdown).toContain("The sweep's backend is not recorded")
      expect(report.markdown).toContain("No difficulty records for this sweep")
      expect(report.markdown).toContain("no larger-model records")
      // no router without bins: a warning, never an empty table with a -Infinity ceiling
      expect(report.markdown).toContain("so there is no router to measure")
      expect(report.markdown).not.toContain("Infinity")
      expect(svgsIn(report.html).length).toBe(7)
    })
  )

  it("reads the sweep metadata leniently", () => {
    expect(backendName("simulated")).toBe("simulated") // the runner's bare string
    expect(backendName('"replay"')).toBe("replay")
    expect(backendName('{"name":"openai"}')).toBe("openai")
    expect(backendName(undefined)).toBeUndefined()
    expect(parameterCount("21000000000")).toBe(21e9)
    expect(parameterCount('{"params": 1.5e9}')).toBe(1.5e9)
    expect(parameterCount('"big"')).toBeUndefined()
    expect(strategyGraphs('{"strategies":[{"label":"mine","graph":"./g.json"},{"label":"x"}]}')).toEqual(
      new Map([["mine", "./g.json"]])
    )
    expect(strategyGraphs("not json").size).toBe(0)
  })

  it("scopes SVG ids per chart", () => {
    expect(Vega.scopeIds('<clipPath id="c1"/><g clip-path="url(#c1)"/><use href="#c1"/>', "x")).toBe(
      '<clipPath id="x-c1"/><g clip-path="url(#x-c1)"/><use href="#x-c1"/>'
    )
  })
})

describe("mull optimize / exchange / report", () => {
  it.effect("optimize prints the per-budget table and writes route graphs that validate", () =>
    Effect.gen(function* () {
      const out = join(dir, "policies")
      yield* cli(["optimize", "--store", storePath, "--sweep", "main", "--out", out])
      const text = (yield* TestConsole.logLines).join("\n")
      expect(text).toContain("Compute-optimal policy — sweep main, oracle bins")
      expect(text).toContain("simulated — these numbers describe a simulator, not a real LLM")
      expect(text).toMatch(
        /N\s+policy \(CV\)\s+in-sample\s+best-of-N\s+best-of-N budget to match\s+efficiency\s+bin 1/u
      )
      expect(text).not.toContain("warning:")
      const files = readdirSync(out).sort()
      expect(files).toEqual(
        ["compute-optimal-n16.json", "compute-optimal-n32.json", "compute-optimal-n4.json"]
          .concat(["compute-optimal-n64.json", "compute-optimal-n8.json"])
          .sort()
      )
      const loaded = yield* Loader.load(join(out, "compute-optimal-n16.json"))
      expect(validate(loaded)).toEqual([])
      expect(loaded.doc.root.type).toBe("route")
    }).pipe(Effect.provide(NodeServices.layer))
  )

  it.effect("optimize --budget with a .json file writes one graph; predicted bins and a candidate set", () =>
    Effect.gen(function* () {
      const file = join(dir, "one", "policy.json")
      yield* cli([
        "optimize",
        "--store",
        storePath,
        "--sweep",
        "main",
        "--budget",
        "16",
        "--bins",
        "predicted",
        "--candidates",
        "search",
        "--out",
        file
      ])
      expect(readdirSync(join(dir, "one"))).toEqual(["policy.json"])
      const doc = JSON.parse(readFileSync(file, "utf8"))
      expect(doc.name).toBe("compute-optimal-n16")
      expect(JSON.stringify(doc)).not.toContain("sequential-revisions")
    }).pipe(Effect.provide(NodeServices.layer))
  )

  it.effect("exchange prints the multipliers, the readings and the winners", () =>
    Effect.gen(function* () {
      yield* cli(["exchange", "--store", storePath, "--sweep", "main", "--r", "0.16,22"])
      const text = (yield* TestConsole.logLines).join("\n")
      expect(text).toContain("M = ratio·(1 + 3/R) − 3/R")
      expect(text).toMatch(/0\.16\s+257\.75\s+64 \(clipped\)/u)
      expect(text).toMatch(/22\s+15\.77\s+15\.77/u)
      expect(text).toContain("per bin:")
      expect(text).toMatch(/test-time compute|larger model/u)
    }).pipe(Effect.provide(NodeServices.layer))
  )

  it.effect("report writes report.html, report.md and the charts", () =>
    Effect.gen(function* () {
      const out = join(dir, "cli-report")
      yield* cli(["report", "--store", storePath, "--sweep", "main", "--out", out])
      expect(existsSync(join(out, "report.html"))).toBe(true)
      expect(existsSync(join(out, "report.md"))).toBe(true)
      expect(readdirSync(out).filter((f) => f.endsWith(".svg")).length).toBe(7)
      expect((yield* TestConsole.logLines).join("\n")).toContain("7 charts")
    }).pipe(Effect.provide(NodeServices.layer))
  )

  it.effect("a missing store, an unknown or ambiguous sweep, bad flags are InvalidInput (exit 2)", () =>
    Effect.gen(function* () {
      const problems = (argv: ReadonlyArray<string>) =>
        Effect.flip(cli(argv)).pipe(
          Effect.map((e) => {
            expect(e).toBeInstanceOf(InvalidInput)
            return e instanceof InvalidInput ? e.problems.join("\n") : ""
          })
        )
      expect(yield* problems(["report", "--store", join(dir, "nope.db")])).toContain("no results store there")
      expect(existsSync(join(dir, "nope.db"))).toBe(false)
      expect(yield* problems(["optimize", "--store", storePath, "--sweep", "x"])).toContain("no runs of that sweep in")
      expect(yield* problems(["optimize", "--store", storePath])).toContain(
        "several sweeps, name one (sweeps: main, other)"
      )
      expect(yield* problems(["optimize", "--store", storePath, "--sweep", "main", "--budget", "5"])).toContain(
        "not a measured budget (budgets: 4, 8, 16, 32, 64)"
      )
      expect(yield* problems(["optimize", "--store", storePath, "--sweep", "main", "--out", "x.json"])).toContain(
        "one file holds one budget"
      )
      expect(yield* problems(["exchange", "--store", storePath, "--sweep", "main", "--r", "0,a"])).toContain(
        "expected positive numbers"
      )
      expect(yield* problems(["exchange", "--store", storePath, "--sweep", "main", "--baseline", "zzz"])).toContain(
        "no such strategy"
      )
    }).pipe(Effect.provide(NodeServices.layer))
  )
})
