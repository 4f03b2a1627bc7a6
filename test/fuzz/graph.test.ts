/**
 * Fuzzing graph documents as text and as JSON values (issue 9), beyond what
 * `test/graph/bad-graphs.test.ts` already covers (mutated built-ins, random JSON values):
 *
 * - nesting deeper than `Loader.MAX_DEPTH` (arrays and objects, up to 100,000 levels, anywhere in a
 *   document, as text and as a value) is a `GraphError` naming the path, never a stack overflow;
 * - huge and odd numbers (1e308, 1e999 which parses to Infinity, -0, 2^53 + 1, 400-digit
 *   literals, expressions that overflow) load, validate, cost without NaN and — when valid — run
 *   under a small budget within a time bound;
 * - `__proto__`, `constructor` and `prototype` keys written into the text at every object level
 *   are refused naming `<path>.<key>` (or accepted where any key is allowed), and never reach a
 *   prototype;
 * - very long strings and unicode/control characters in every string field give short problem
 *   lines;
 * - `use` targets that are paths (`../../etc/passwd`, absolute, Windows) are refused in the
 *   service's names-only mode naming `….graph`;
 * - randomly edited document text is either a document or a `(document): not valid JSON` line.
 *
 * Every outcome is a success or a `GraphError` of `path: message` lines: never a defect, a thrown
 * exception or a hang.
 */
import { readFile } from "node:fs/promises"
import { assert, describe, it } from "@effect/vitest"
import { Cause, Effect, Exit, Layer, ManagedRuntime } from "effect"
import fc from "fast-check"
import * as Simulated from "../../plugins/simulated/index.ts"
import * as MathGrader from "../../src/answer/MathGrader.ts"
import type { Problem } from "../../src/domain/Problem.ts"
import * as Usage from "../../src/domain/Usage.ts"
import { minimumCost, staticCost } from "../../src/graph/Cost.ts"
import { GraphError } from "../../src/graph/GraphError.ts"
import * as Loader from "../../src/graph/Loader.ts"
import { type BackendInfo, validate } from "../../src/graph/Validate.ts"
import { run } from "../../src/runtime/Run.ts"
import * as RunEvents from "../../src/runtime/RunEvents.ts"
import {
  allPaths,
  assertNotPolluted,
  getAt,
  objectPaths,
  type Path,
  PROTO_KEYS,
  pollutingText,
  prototypeSnapshot,
  runs,
  SCALE,
  stringifyWith,
  within
} from "./helpers.ts"

const SIMULATED: BackendInfo = { name: "simulated", capabilities: Simulated.CAPABILITIES, verifiers: ["prm", "orm"] }

const BUILTINS: ReadonlyArray<unknown> = await Promise.all(
  (await Effect.runPromise(Loader.list())).map(async (g) => JSON.parse(await readFile(g.file, "utf8")) as unknown)
)

const runtime = ManagedRuntime.make(
  Layer.mergeAll(Simulated.layer({ generator: { maxTokens: 256 } }), MathGrader.layer, RunEvents.layerSilent)
)

const problem: Problem = { id: "fuzz/graph", question: "Find $x$.", gold: "3", meta: { level: 2 } }

/** Longest problem line we call clear: a path, a message, and at most a short quote of the input. */
const MAX_LINE = 1500

/**
 * How much longer than `MAX_LINE` a line may be because it names a long string of the input (a
 * verifier or graph name is quoted whole); expression problems quote at most 100 characters.
 */
let slack = 0

/** A `path: message` line: non-empty on both sides, short, no stack trace. */
const assertProblemLine = (line: string, what: string) => {
  // the path may itself start with a space: it is the document's own key (" $schema")
  assert.match(line, /^.+?: \S/su, `${what}: not a \`path: message\` line: ${line.slice(0, 200)}`)
  assert.notMatch(line, /\n\s+at /u, `${what}: a stack trace`)
  const limit = /invalid expression/u.test(line) ? MAX_LINE : MAX_LINE + slack
  assert.isAtMost(line.length, limit, `${what}: a ${line.length}-character problem line`)
}

/**
 * The outcome of an effect that may fail only with a `GraphError`: the error's problems (each
 * checked to be a `path: message` line), or the success. A defect or another error fails the case.
 */
const outcome = <A>(self: Effect.Effect<A, GraphError>, what: string) =>
  Effect.gen(function* () {
    const exit = yield* Effect.exit(self)
    if (Exit.isSuccess(exit)) return { ok: true as const, value: exit.value }
    assert.isFalse(Cause.hasDies(exit.cause), `${what} died: ${Cause.pretty(exit.cause)}`)
    const e = Cause.squash(exit.cause)
    assert.instanceOf(e, GraphError, `${what} failed with something else than a GraphError`)
    const problems = e instanceof GraphError ? e.problems : []
    assert.isAbove(problems.length, 0, `${what}: a GraphError without problems`)
    for (const p of problems) assertProblemLine(p, what)
    return { ok: false as const, problems }
  })

/** Validates, costs and (when valid, under a small budget) runs a loaded graph. */
const downstream = (g: Loader.LoadedGraph, what: string, runIt: boolean) =>
  Effect.gen(function* () {
    const problems = validate(g, { backend: SIMULATED })
    for (const p of problems) assertProblemLine(p, `${what}: validate`)
    const limits = { calls: 6, sequences: 24 }
    const bound = staticCost(g, { limits, maxTokens: 256 })
    const first = minimumCost(g, { limits, maxTokens: 256 })
    for (const m of Usage.METERS) {
      assert.isFalse(Number.isNaN(bound.usage[m]), `${what}: static bound of ${m} is NaN`)
      assert.isFalse(Number.isNaN(first[m]), `${what}: first call's ${m} is NaN`)
    }
    if (problems.length > 0 || !runIt) return
    const exit = yield* Effect.exit(run(g, problem, { limits, seed: 1 }))
    if (Exit.isFailure(exit))
      assert.isFalse(Cause.hasDies(exit.cause), `${what}: running died: ${Cause.pretty(exit.cause)}`)
  })

const pathText = (p: Path) => p.join(".")

const builtinArb = fc.constantFrom(...BUILTINS)

// ---------------------------------------------------------------------------------------------

describe("graph documents: deep nesting", () => {
  const nested = (kind: "array" | "object", depth: number) =>
    kind === "array" ? `${"[".repeat(depth)}1${"]".repeat(depth)}` : `${'{"a":'.repeat(depth)}1${"}".repeat(depth)}`

  it(
    "beyond MAX_DEPTH, anywhere, as text and as a value: one problem naming the path",
    async () => {
      const before = prototypeSnapshot()
      await fc.assert(
        fc.asyncProperty(
          builtinArb,
          fc.nat(),
          fc.constantFrom("array" as const, "object" as const),
          fc.oneof(
            { arbitrary: fc.integer({ min: Loader.MAX_DEPTH + 1, max: 2_000 }), weight: 6 },
            fc.constantFrom(Loader.MAX_DEPTH, 10_000, 100_000)
          ),
          async (doc, pick, kind, depth) => {
            const paths = allPaths(doc)
            const at = paths[pick % paths.length] ?? []
            const text = stringifyWith(doc, at, undefined, nested(kind, depth))
            const fromText = await within(
              5_000,
              "parseDocument",
              Effect.runPromise(outcome(Loader.parseDocument(text, "deep.json"), "parseDocument"))
            )
            const fromValue = await within(
              5_000,
              "fromJson",
              Effect.runPromise(outcome(Loader.fromJson(JSON.parse(text)), "fromJson"))
            )
            for (const r of [fromText, fromValue]) {
              // exactly MAX_DEPTH levels of the nested value may still fit, depending on where it sits
              if (r.ok) {
                assert.isAtMost(depth + at.length, Loader.MAX_DEPTH + 1)
                continue
              }
              const deep = r.problems.find((p) => p.includes("nests deeper than"))
              if (depth + at.length > Loader.MAX_DEPTH + 1) assert.isDefined(deep, r.problems.join("\n"))
              if (deep !== undefined) assert.isTrue(deep.startsWith(pathText(at.slice(0, 6))), deep)
            }
          }
        ),
        { numRuns: runs(60) }
      )
      assertNotPolluted(before, "deep nesting")
    },
    120_000 * SCALE
  )
})

describe("graph documents: huge and odd numbers", () => {
  const NUMBER_TEXTS = [
    "1e308",
    "-1e308",
    "1e999",
    "-1e999",
    "-0",
    "9007199254740993",
    "5e-324",
    "4294967297",
    `1${"0".repeat(400)}`,
    `0.${"0".repeat(400)}1`,
    `-${"9".repeat(400)}`,
    "1.7976931348623157e308",
    '"1e999"',
    '"1e308 * 10"',
    '"N * 1e308"',
    '"-0"',
    '"0 / 0"',
    '"N / 0"',
    '"sqrt(0 - 1)"',
    `"${"9".repeat(900)}"`,
    '"min(N, 1e308) * max(N, 1e308)"',
    '"floor(1e308 / 1e-308)"',
    '"round(0.5) - ceil(-0.5)"',
    '"budget.sequences * 1e308"',
    '"budget.calls / budget.sequences"'
  ]
  it(
    "load, validate and cost without NaN; a valid graph runs under a small budget",
    async () => {
      let ran = 0
      await fc.assert(
        fc.asyncProperty(
          builtinArb,
          fc.array(fc.tuple(fc.nat(), fc.constantFrom(...NUMBER_TEXTS)), { minLength: 1, maxLength: 3 }),
          async (doc, edits) => {
            // each edit replaces one leaf (a number or a string, never a node's type) with the text
            let text = JSON.stringify(doc)
            for (const [pick, number] of edits) {
              const current: unknown = JSON.parse(text)
              const leaves = allPaths(current).filter((p) => {
                const v = getAt(current, p)
                return (typeof v === "number" || typeof v === "string") && p[p.length - 1] !== "type"
              })
              const at = leaves[pick % Math.max(1, leaves.length)]
              if (at !== undefined) text = stringifyWith(current, at, undefined, number)
            }
            const what = `numbers ${edits.map(([, n]) => n.slice(0, 30)).join(", ")}`
            await within(
              20_000,
              what,
              runtime.runPromise(
                Effect.gen(function* () {
                  const loaded = yield* outcome(Loader.parseDocument(text, "numbers.json"), what)
                  if (!loaded.ok) return
                  const g = yield* outcome(Loader.fromJson(loaded.value), what)
                  if (!g.ok) return
                  if (validate(g.value, { backend: SIMULATED }).length === 0) ran++
                  yield* downstream(g.value, what, true)
                })
              )
            )
          }
        ),
        { numRuns: runs(150) }
      )
      assert.isAbove(ran, 0, "no mutant was valid enough to run")
    },
    180_000 * SCALE
  )
})

describe("graph documents: prototype-pollution keys", () => {
  it(
    "__proto__, constructor, prototype at every object level: refused naming the key, or harmless",
    async () => {
      const before = prototypeSnapshot()
      let refused = 0
      await fc.assert(
        fc.asyncProperty(
          builtinArb,
          fc.nat(),
          fc.constantFrom(...PROTO_KEYS),
          pollutingText,
          async (doc, pick, key, value) => {
            const objects = objectPaths(doc)
            const at = objects[pick % objects.length] ?? []
            const text = stringifyWith(doc, at, key, value)
            const where = pathText([...at, key])
            const r = await runtime.runPromise(
              Effect.gen(function* () {
                const parsed = yield* outcome(Loader.parseDocument(text, "proto.json"), where)
                const loaded = yield* outcome(Loader.fromJson(JSON.parse(text)), where)
                if (loaded.ok) yield* downstream(loaded.value, where, false)
                return [parsed, loaded] as const
              })
            )
            for (const o of r) {
              if (o.ok) continue
              refused++
              assert.isTrue(
                o.problems.some((p) => p.startsWith(`${where}:`) || p.startsWith(`${where}.`)),
                `${where} is not named in:\n${o.problems.join("\n")}`
              )
            }
            assertNotPolluted(before, where)
          }
        ),
        { numRuns: runs(300) }
      )
      assert.isAbove(refused, 0)
    },
    120_000 * SCALE
  )

  it("regression examples: __proto__ as a document key, a node key and a param name", async () => {
    const before = prototypeSnapshot()
    const select = '{"type":"select","method":"best"}'
    const problemsOf = (text: string) =>
      Effect.runPromise(outcome(Loader.parseDocument(text, "proto.json"), text)).then((o) => (o.ok ? [] : o.problems))
    assert.deepStrictEqual(
      await problemsOf(`{"__proto__":{"polluted":true},"name":"x","description":"","root":${select}}`),
      ["__proto__: Expected no excess property"]
    )
    assert.deepStrictEqual(
      await problemsOf(
        `{"name":"x","description":"","root":{"__proto__":{"polluted":true},"type":"select","method":"best"}}`
      ),
      ["root.__proto__: Expected no excess property"]
    )
    assertNotPolluted(before, "regression examples")
  })
})

describe("graph documents: long strings, unicode and control characters", () => {
  const weird = fc.oneof(
    fc.string({ unit: "binary", maxLength: 40 }),
    fc.string({
      unit: fc.constantFrom(
        "\u0000",
        "\u0007",
        "\u001b",
        "\u2028",
        "\u202e",
        "\ud800",
        "\udfff",
        "\ufeff",
        "é",
        "𝑥",
        "\\",
        '"'
      ),
      maxLength: 40
    }),
    fc
      .tuple(
        fc.constantFrom("N", "a", "(", "1", " ", "é", "\u0000", "min(", "-"),
        fc.integer({ min: 1_000, max: 200_000 })
      )
      .map(([c, n]) => c.repeat(Math.ceil(n / c.length))),
    fc.constantFrom("", " ", "N\u0000", "N\u2028+ 1", "ℕ", "Ｎ", "N\u200b", "budget.\u0441alls")
  )
  it(
    "in every string field: short problem lines, no defect",
    async () => {
      await fc.assert(
        fc.asyncProperty(builtinArb, fc.nat(), weird, async (doc, pick, s) => {
          const strings = allPaths(doc).filter((p) => typeof getAt(doc, p) === "string")
          const at = strings[pick % Math.max(1, strings.length)] ?? []
          const text = stringifyWith(doc, at, undefined, JSON.stringify(s))
          const what = `${pathText(at)} = ${JSON.stringify(s.slice(0, 40))}… (${s.length} chars)`
          slack = s.length
          await within(
            10_000,
            what,
            runtime.runPromise(
              Effect.gen(function* () {
                const loaded = yield* outcome(Loader.parseDocument(text, "strings.json"), what)
                if (!loaded.ok) return
                const g = yield* outcome(Loader.fromJson(loaded.value), what)
                if (g.ok) yield* downstream(g.value, what, false)
              })
            )
          )
        }),
        { numRuns: runs(200) }
      )
    },
    120_000 * SCALE
  )
})

describe("graph documents: `use` paths in names-only mode (the service's)", () => {
  const PATHS = [
    "../../etc/passwd",
    "/etc/passwd",
    "/etc/passwd.json",
    "..\\..\\windows\\win.ini",
    "C:\\graphs\\x.json",
    "./best-of-n.json",
    "best-of-n.json",
    "graphs/beam-search",
    "file:///etc/passwd",
    "%2e%2e/%2e%2e/etc/passwd",
    "~/.ssh/id_rsa",
    "\\\\server\\share\\g.json",
    "beam-search/../../../etc/passwd"
  ]
  const ref = fc.oneof(
    fc.constantFrom(...PATHS),
    fc
      .tuple(fc.string({ maxLength: 8 }), fc.constantFrom("/", "\\", ".json"), fc.string({ maxLength: 8 }))
      .map(([a, sep, b]) => `${a}${sep}${b}`)
  )
  it("is refused with a message naming `….graph`, without reading any file", async () => {
    await fc.assert(
      fc.asyncProperty(builtinArb, fc.nat(), ref, async (doc, pick, target) => {
        // replace a node (or the root) with a use of the path
        const nodes = allPaths(doc).filter((p) => {
          const v = getAt(doc, p)
          return p[0] === "root" && typeof v === "object" && v !== null && !Array.isArray(v) && "type" in v
        })
        const at = nodes[pick % Math.max(1, nodes.length)] ?? ["root"]
        const text = stringifyWith(doc, at, undefined, JSON.stringify({ type: "use", graph: target }))
        const r = await Effect.runPromise(
          outcome(Loader.fromJson(JSON.parse(text), { namesOnly: true }), `use ${JSON.stringify(target)}`)
        )
        assert.isFalse(r.ok, `use ${JSON.stringify(target)} loaded`)
        if (r.ok) return
        const line = r.problems.find((p) => p.startsWith(`${pathText(at)}.graph: `))
        assert.isDefined(line, `${pathText(at)}.graph is not named in:\n${r.problems.join("\n")}`)
        // a path is refused as a path; what only looks like one (".json ", "a.jsonl") is a bad or
        // unknown name — a slug, which cannot leave the graph folders
        const named = PATHS.includes(target) || /[/\\]/u.test(target)
        assert.match(
          line ?? "",
          named
            ? /only graph names are accepted here, not paths/u
            : /only graph names are accepted here|is neither a graph name nor a path|no graph named/u
        )
      }),
      { numRuns: runs(200) }
    )
  })

  it("a random name: loads a served graph or names `….graph`", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.string({ maxLength: 16 }),
          fc.constantFrom("best-of-n", "__proto__", "constructor", "toString", ".", "..")
        ),
        async (target) => {
          const doc = { name: "x", description: "", root: { type: "use", graph: target } }
          const r = await Effect.runPromise(outcome(Loader.fromJson(doc, { namesOnly: true }), `use ${target}`))
          if (!r.ok)
            assert.isTrue(
              r.problems.every((p) => p.startsWith("root.graph: ")),
              r.problems.join("\n")
            )
        }
      ),
      { numRuns: runs(200) }
    )
  })
})

describe("graph documents: edited text", () => {
  type Edit = { readonly at: number; readonly remove: number; readonly insert: string }
  const edit: fc.Arbitrary<Edit> = fc.record({
    at: fc.nat(),
    remove: fc.integer({ min: 0, max: 8 }),
    insert: fc.oneof(
      fc.constantFrom("", "{", "}", "[", "]", ",", ":", '"', "\\", "__proto__", "1e999", "\u0000", "\ud800"),
      fc.string({ maxLength: 6 })
    )
  })
  it("is a document or a GraphError; bad JSON says so", async () => {
    await fc.assert(
      fc.asyncProperty(builtinArb, fc.array(edit, { minLength: 1, maxLength: 4 }), async (doc, edits) => {
        let text = JSON.stringify(doc, null, 2)
        for (const e of edits) {
          const i = e.at % (text.length + 1)
          text = text.slice(0, i) + e.insert + text.slice(i + e.remove)
        }
        const r = await Effect.runPromise(outcome(Loader.parseDocument(text, "edited.json"), "edited text"))
        let isJson = true
        try {
          JSON.parse(text)
        } catch {
          isJson = false
        }
        if (!isJson) {
          assert.isFalse(r.ok)
          if (!r.ok) assert.match(r.problems[0] ?? "", /^\(document\): not valid JSON: \S/u)
        }
      }),
      { numRuns: runs(500) }
    )
  })
})

describe("graph documents: regressions found by these properties", () => {
  const sample = { type: "sample", n: 2, until: "end" }
  const select = { type: "select", method: "best" }
  const doc = (nodes: ReadonlyArray<unknown>) => ({ name: "x", description: "", root: { type: "sequence", nodes } })
  const runDoc = (d: unknown) =>
    runtime.runPromise(
      Effect.gen(function* () {
        const g = yield* Loader.fromJson(d)
        return { problems: validate(g, { backend: SIMULATED }), exit: yield* Effect.exit(run(g, problem, { seed: 1 })) }
      })
    )

  it("parallel.branches of 1e308 is refused (was a RangeError defect: Array.from of that length)", async () => {
    const fixed = await runDoc(doc([{ type: "parallel", branches: 1e308, body: sample }, select]))
    assert.deepStrictEqual(fixed.problems, ["root.nodes.0.branches: expected an integer in 1..10000, got 1e+308"])
    // known only when the node runs: an InvalidValue naming the path, not a defect
    const late = await runDoc(
      doc([sample, { type: "parallel", branches: "population.size * 1e308", body: sample }, select])
    )
    assert.isTrue(Exit.isFailure(late.exit))
    if (Exit.isFailure(late.exit)) {
      assert.isFalse(Cause.hasDies(late.exit.cause), Cause.pretty(late.exit.cause))
      assert.match(String(Cause.squash(late.exit.cause)), /root\.nodes\.1\.branches/u)
    }
  })

  it("a sampling prune's keep of 1e308 is refused (it looped until the array length overflowed)", async () => {
    const prune = { type: "prune", keep: 1e308, mode: "sample" }
    const fixed = await runDoc(doc([sample, { type: "score" }, prune, select]))
    assert.deepStrictEqual(fixed.problems, ["root.nodes.2.keep: expected an integer in 0..1000000, got 1e+308"])
    const late = await runDoc(doc([sample, { type: "score" }, { ...prune, keep: "population.size * 1e308" }, select]))
    assert.isTrue(Exit.isFailure(late.exit))
    if (Exit.isFailure(late.exit)) assert.isFalse(Cause.hasDies(late.exit.cause), Cause.pretty(late.exit.cause))
  })

  it("an expression naming __proto__ costs as an unknown name, not NaN (it read Object.prototype)", async () => {
    const g = await Effect.runPromise(
      Loader.fromJson(doc([{ type: "sample", n: 1, until: "end", maxTokens: "__proto__" }, select]))
    )
    assert.deepStrictEqual(validate(g, { backend: SIMULATED }), [
      'root.nodes.0.maxTokens: unknown param "__proto__" (this graph has no params)'
    ])
    const first = minimumCost(g, { maxTokens: 256 })
    for (const m of Usage.METERS) assert.isFalse(Number.isNaN(first[m]), m)
  })

  it("a repeat of 1e9 rounds whose body changes nothing ends at once (it used to spin)", async () => {
    const t0 = performance.now()
    const r = await within(
      10_000,
      "idle repeat",
      runDoc(
        doc([sample, { type: "repeat", max: 1e9, until: "none", body: { type: "sequence", nodes: [select] } }, select])
      )
    )
    assert.deepStrictEqual(r.problems, [])
    assert.isTrue(Exit.isSuccess(r.exit))
    assert.isBelow(performance.now() - t0, 5_000)
  })
})
