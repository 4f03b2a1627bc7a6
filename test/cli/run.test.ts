/**
 * CLI acceptance (issue 3), through `runCli`: every built-in graph runs on a MATH-500 problem and
 * prints its answer, correctness and usage; a sequences budget on best-of-N with N = 64 spends at
 * most 10 sequences and still answers (text and `--json`); bad input of every kind exits with
 * status 2 and one `path: message` line per problem on stderr, never a stack trace; `validate`,
 * `cost`, `graphs` and `schema` print what they should.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import * as NodePath from "node:path"
import * as NodeServices from "@effect/platform-node/NodeServices"
import { afterAll, afterEach, assert, beforeAll, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { TestConsole } from "effect/testing"
import { runCli } from "../../src/cli/main.ts"
import { loadMath500 } from "../../src/data/DatasetMath500.ts"
import * as Loader from "../../src/graph/Loader.ts"

const BUILTINS = await Effect.runPromise(Loader.list())
const MATH500 = await Effect.runPromise(loadMath500())

/** Runs the CLI; returns what it printed on stdout and stderr (lines) and the exit code it set. */
const cli = (argv: ReadonlyArray<string>) =>
  Effect.gen(function* () {
    process.exitCode = undefined
    const outBefore = (yield* TestConsole.logLines).length
    const errBefore = (yield* TestConsole.errorLines).length
    yield* runCli(argv).pipe(Effect.provide(NodeServices.layer))
    const out = (yield* TestConsole.logLines).slice(outBefore).map(String)
    const err = (yield* TestConsole.errorLines).slice(errBefore).map(String)
    return {
      out: out.join("\n"),
      err: err
        .join("\n")
        .split("\n")
        .filter((l) => l !== ""),
      code: process.exitCode
    }
  })

afterEach(() => {
  process.exitCode = undefined
})

/** The row of a meter in the usage table: used, limit, static bound, backend spent. */
const usageRow = (text: string, meter: string) => {
  const line = text.split("\n").find((l) => l.startsWith(`${meter} `))
  if (line === undefined) return assert.fail(`no ${meter} row in:\n${text}`)
  const [, used, limit, bound] = line.trim().split(/\s{2,}/u)
  const num = (s: string | undefined) => (s === "∞" ? Number.POSITIVE_INFINITY : Number((s ?? "").replaceAll(",", "")))
  return { used: num(used), limit, bound: num(bound) }
}

/** Lines that look like a stack trace. */
const stackTrace = (lines: ReadonlyArray<string>) => lines.filter((l) => /^\s+at |Error:|\bdefect\b/u.test(l))

/** The param overrides that give a built-in graph 16 samples' worth of compute. */
const sixteen = (graph: string): ReadonlyArray<string> =>
  graph === "hybrid-revisions" || graph === "hybrid-revisions-flat"
    ? ["--param", "P=4", "--param", "S=4"]
    : graph === "compute-optimal" || graph === "passthrough"
      ? []
      : ["--param", "N=16"]

describe("mull run: every built-in graph", () => {
  it.effect("there are built-in graphs to run", () =>
    Effect.sync(() => {
      assert.includeMembers(
        BUILTINS.map((g) => g.name),
        ["best-of-n", "majority", "beam-search", "dvts", "particle-filter", "hybrid-revisions"]
      )
    })
  )

  BUILTINS.forEach((graph, i) => {
    // a different problem per graph, alternating the unique-id and the #index forms
    const problem = MATH500[(i * 37 + 11) % MATH500.length]
    if (problem === undefined) throw new Error("MATH-500 is empty")
    const ref = i % 2 === 0 ? `math500:${problem.id}` : `math500:#${problem.meta.index ?? 0}`
    it.effect(`${graph.name} ${ref} prints the answer, correctness and usage`, () =>
      Effect.gen(function* () {
        const { out, err, code } = yield* cli(["run", graph.name, "--problem", ref, ...sixteen(graph.name)])
        assert.notStrictEqual(code, 2, err.join("\n"))
        assert.deepStrictEqual(err, [])
        assert.include(out, `graph     ${graph.name} (simulated backend, seed 0)`)
        assert.include(out, `problem   ${problem.id}`)
        assert.match(out, /^answer {4}\S/mu, "an answer")
        assert.notInclude(out, "answer    (none)")
        assert.match(out, /^gold {6}\S/mu)
        assert.match(out, /^correct {3}(yes|no)$/mu)
        assert.match(out, /^exhausted no$/mu)
        assert.match(out, /^meter +used +limit +static bound +backend spent$/mu)
        for (const meter of ["calls", "sequences", "outputTokens", "verifierCalls"]) {
          const row = usageRow(out, meter)
          assert.isAtMost(row.used, row.bound, `${meter} within its static bound`)
        }
        assert.isAbove(usageRow(out, "sequences").used, 0)
        assert.match(out, /^node +calls +sequences +output tokens +verifier calls$/mu)
      })
    )
  })

  it.effect("best-of-n with N = 64 and --budget sequences=10 spends at most 10 sequences and still answers", () =>
    Effect.gen(function* () {
      const argv = ["run", "best-of-n", "--problem", "math500:test/precalculus/807.json", "--param", "N=64"]
      const { out, err, code } = yield* cli([...argv, "--budget", "sequences=10"])
      assert.notStrictEqual(code, 2, err.join("\n"))
      const row = usageRow(out, "sequences")
      assert.isAtMost(row.used, 10)
      assert.isAbove(row.used, 0)
      assert.strictEqual(row.limit, "10")
      assert.match(out, /^exhausted yes/mu)
      assert.match(out, /^answer {4}\S/mu)
      assert.notInclude(out, "answer    (none)")
      assert.match(out, /^correct {3}(yes|no)$/mu)
    })
  )

  it.effect("--json: the whole result, with usage.sequences ≤ 10 and an answer", () =>
    Effect.gen(function* () {
      const { out, err, code } = yield* cli([
        "run",
        "best-of-n",
        "--problem",
        "math500:#7",
        "--param",
        "N=64",
        "--budget",
        "sequences=10",
        "--json"
      ])
      assert.notStrictEqual(code, 2, err.join("\n"))
      const json: unknown = JSON.parse(out)
      assert.isObject(json)
      const r = json as {
        answer?: unknown
        correct?: unknown
        exhausted?: unknown
        usage?: { sequences?: unknown }
        population?: ReadonlyArray<unknown>
        ledger?: ReadonlyArray<{ usage: { sequences: number } }>
      }
      assert.isString(r.answer)
      assert.isBoolean(r.correct)
      assert.strictEqual(r.exhausted, true)
      assert.isNumber(r.usage?.sequences)
      assert.isAtMost(Number(r.usage?.sequences), 10)
      assert.isAtMost(r.population?.length ?? 0, 10)
      assert.strictEqual(
        (r.ledger ?? []).reduce((s, e) => s + e.usage.sequences, 0),
        r.usage?.sequences,
        "the per-node ledger sums to the usage"
      )
    })
  )
})

describe("mull: bad input exits 2 with one `path: message` line per problem", () => {
  let dir = ""
  beforeAll(async () => {
    dir = await mkdtemp(NodePath.join(tmpdir(), "mull-cli-"))
    await writeFile(
      NodePath.join(dir, "broken.json"),
      JSON.stringify({
        name: "broken",
        description: "three mistakes",
        params: { N: 4 },
        root: {
          type: "sequence",
          nodes: [
            { type: "sampel", n: 1, until: "end" },
            { type: "prune", keep: "K" },
            { type: "sample", n: "N /", until: "end" },
            { type: "select", method: "best" }
          ]
        }
      })
    )
    await writeFile(NodePath.join(dir, "not-json.json"), "{ this is not json")
    await writeFile(NodePath.join(dir, "backend.json"), JSON.stringify({ worldSeed: -1, temperatur: 1 }))
    await writeFile(
      NodePath.join(dir, "invalid.json"),
      JSON.stringify({
        name: "invalid",
        description: "decodes, but does not validate",
        params: { N: 4 },
        root: {
          type: "sequence",
          nodes: [{ type: "sample", n: "N", until: "end" }, { type: "prune", keep: "K" }, { type: "score" }]
        }
      })
    )
  })
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true })
  })

  const expectInvalid = (argv: ReadonlyArray<string>, expected: ReadonlyArray<string | RegExp>) =>
    Effect.gen(function* () {
      const { out, err, code } = yield* cli(argv)
      assert.strictEqual(code, 2, `exit code of mull ${argv.join(" ")}`)
      assert.strictEqual(out, "", "nothing on stdout")
      assert.deepStrictEqual(stackTrace(err), [], "no stack trace")
      assert.strictEqual(err.length, expected.length, `one line per problem:\n${err.join("\n")}`)
      expected.forEach((e, i) => {
        const line = err[i] ?? ""
        if (typeof e === "string") assert.strictEqual(line, e)
        else assert.match(line, e)
      })
    })

  it.effect("an unknown graph", () =>
    expectInvalid(
      ["run", "beam-serch", "--problem", "math500:#1"],
      [/^\(graph\): no graph named "beam-serch" \(known: .*beam-search.*\)$/u]
    )
  )

  it.effect("a bad --param: not a number, not NAME=VALUE, an undeclared param", () =>
    Effect.gen(function* () {
      yield* expectInvalid(
        ["run", "best-of-n", "--problem", "math500:#1", "--param", "N=lots"],
        ['params.N: expected a number, got "lots"']
      )
      yield* expectInvalid(
        ["run", "best-of-n", "--problem", "math500:#1", "--param", "N"],
        ["--param N: expected NAME=VALUE"]
      )
      yield* expectInvalid(
        ["run", "best-of-n", "--problem", "math500:#1", "--param", "beams=4"],
        ['params.beams: unknown param "beams" (params: N, temperature)']
      )
    })
  )

  it.effect("a bad --budget: an unknown meter, a bad value, a meter that cannot be enforced", () =>
    Effect.gen(function* () {
      yield* expectInvalid(
        ["run", "best-of-n", "--problem", "math500:#1", "--budget", "tokens=10"],
        [/^budget\.tokens: unknown meter \(meters: calls, sequences, .*\)$/u]
      )
      yield* expectInvalid(
        ["run", "best-of-n", "--problem", "math500:#1", "--budget", "sequences=-1,calls=x"],
        [
          'budget.sequences: expected a finite number ≥ 0, got "-1"',
          'budget.calls: expected a finite number ≥ 0, got "x"'
        ]
      )
      yield* expectInvalid(
        ["run", "best-of-n", "--problem", "math500:#1", "--budget", "wallMs=1000"],
        [/^limits\.wallMs: cannot be enforced: /u]
      )
    })
  )

  it.effect("an unknown problem id, an unknown dataset, no problem at all", () =>
    Effect.gen(function* () {
      yield* expectInvalid(
        ["run", "best-of-n", "--problem", "math500:test/nowhere/1.json"],
        [/^--problem math500:test\/nowhere\/1\.json: no math500 problem with id or index "test\/nowhere\/1\.json"/u]
      )
      yield* expectInvalid(
        ["run", "best-of-n", "--problem", "aime:1"],
        [/^--problem aime:1: expected <dataset>:<id> with dataset one of math500, gsm8k\b/u]
      )
      yield* expectInvalid(["run", "best-of-n"], ["run: give exactly one of --question TEXT or --problem DATASET:ID"])
    })
  )

  it.effect("a bad --backend-config file", () =>
    expectInvalid(
      ["run", "best-of-n", "--problem", "math500:#1", "--backend-config", NodePath.join(dir, "backend.json")],
      [
        "backend-config.temperatur: Expected no excess property",
        /^backend-config\.worldSeed: Expected a value between 0 and /u
      ]
    )
  )

  it.effect("a broken graph file: every problem, with its JSON path", () =>
    Effect.gen(function* () {
      const file = NodePath.join(dir, "broken.json")
      const lines = [
        'root.nodes.0: Expected a node with "type": "sample" | "expand" | "score" | "prune" | "revise" | "select" | "sequence" | "repeat" | "parallel" | "route" | "use" | "waves" | "confidence" | "rebase" | "mcts" | "deepconf" | "budget-forcing"',
        'root.nodes.2.n: invalid expression "N /": expected a number, a name or ( at column 4'
      ]
      yield* expectInvalid(["run", file, "--problem", "math500:#1"], lines)
      yield* expectInvalid(["validate", file], lines)
      yield* expectInvalid(["cost", file], lines)
      yield* expectInvalid(["validate", NodePath.join(dir, "not-json.json")], [/^\(document\): not valid JSON: /u])
      const invalid = [
        'root.nodes.1.keep: unknown param "K" (params: N)',
        "root: the graph must end with a select node (the last node run must choose the answer)"
      ]
      yield* expectInvalid(["run", NodePath.join(dir, "invalid.json"), "--problem", "math500:#1"], invalid)
      yield* expectInvalid(["validate", NodePath.join(dir, "invalid.json")], invalid)
      yield* expectInvalid(["validate", NodePath.join(dir, "missing.json")], [/^\(file\): cannot read: /u])
    })
  )
})

describe("mull validate, cost, graphs, schema", () => {
  it.effect("validate: a built-in graph is valid for the simulated backend, with its effective params", () =>
    Effect.gen(function* () {
      const { out, err, code } = yield* cli(["validate", "beam-search", "--param", "N=64"])
      assert.notStrictEqual(code, 2)
      assert.deepStrictEqual(err, [])
      assert.strictEqual(
        out,
        'beam-search: valid for backend simulated (params {"N":64,"M":4,"rounds":40,"temperature":0.8})'
      )
    })
  )

  it.effect("cost: the bound under the budget, limit, answer minimum and expected spend per meter", () =>
    Effect.gen(function* () {
      const { out, err, code } = yield* cli(["cost", "best-of-n", "--param", "N=64", "--budget", "sequences=10"])
      assert.notStrictEqual(code, 2)
      assert.deepStrictEqual(err, [])
      assert.match(
        out,
        /^best-of-n with \{"N":64,"temperature":0\.8\}, backend simulated \(solution cap \d+ tokens, step cap \d+\)$/mu
      )
      assert.match(out, /^meter +bound +limit +answer minimum +expected \(24 dry runs\)$/mu)
      // with a budget, no bound above its limit is printed (the graph alone: 129 sequences)
      assert.match(out, /^sequences +10 +10 +1 +10 ± 0$/mu)
      assert.notMatch(out, /129 +10 +10/u)
      assert.match(out, /^verifierCalls +129 +— +1 /mu)
      assert.match(out, /^inputTokens +∞ /mu)
      assert.match(out, /^binds first: sequences \(first to refuse in 24 of 24 dry runs\)$/mu)
      assert.match(out, /^population ≤ 65 candidates$/mu)
      // beam-search-sqrt reuses beam-search: its bound is finite (M = round(√N) ≥ 1)
      const sqrt = yield* cli(["cost", "beam-search-sqrt"])
      assert.match(sqrt.out, /^meter +worst case +answer minimum +expected \(24 dry runs\)$/mu)
      assert.match(sqrt.out, /^calls +[\d,]+ +3 +/mu)
    })
  )

  it.effect("graphs: every built-in graph with its description", () =>
    Effect.gen(function* () {
      const { out, code } = yield* cli(["graphs"])
      assert.notStrictEqual(code, 2)
      assert.match(out, /^graph +description$/mu)
      for (const g of BUILTINS) assert.include(out, `${g.name}`)
      assert.include(out, "Best-of-N: N complete samples scored by the verifier")
    })
  )

  it.effect("schema: a JSON Schema with $defs for every node type", () =>
    Effect.gen(function* () {
      const { out, code } = yield* cli(["schema"])
      assert.notStrictEqual(code, 2)
      const schema: unknown = JSON.parse(out)
      assert.isObject(schema)
      const defs = (schema as { $defs?: Record<string, unknown> }).$defs
      assert.isObject(defs)
      for (const node of ["SampleNode", "ExpandNode", "ScoreNode", "PruneNode", "SelectNode", "RouteNode", "UseNode"])
        assert.property(defs, node)
    })
  )
})

describe("mull run --question", () => {
  it.effect("two different questions get different problem ids (a hash of the whole question)", () =>
    Effect.gen(function* () {
      const idOf = (question: string) =>
        Effect.map(
          cli(["run", "majority", "--question", question, "--param", "N=2", "--json"]),
          ({ out }) => (JSON.parse(out) as { problem: { id: string } }).problem.id
        )
      const a = yield* idOf("What is the value of 2+2 in base ten?")
      const b = yield* idOf("What is the value of 7*6 in base sixteen?")
      assert.match(a, /^question\/[0-9a-f]+$/u)
      assert.notStrictEqual(a, b)
      assert.strictEqual(yield* idOf("What is the value of 2+2 in base ten?"), a)
    })
  )
})
