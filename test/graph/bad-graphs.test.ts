/**
 * Bad graphs (issue 3): every kind of mistake in a graph document gives a `GraphError` whose
 * problems are `path: message` lines naming the exact JSON path; and a property test feeds
 * mutated built-in graphs and random JSON to loading, validation, the static cost and (for graphs
 * that validate) a run on the simulated backend — none of them may ever end in a defect.
 */
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import * as NodePath from "node:path"
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { Cause, Effect, Exit, Layer, ManagedRuntime } from "effect"
import fc from "fast-check"
import * as Simulated from "../../plugins/simulated/index.ts"
import * as MathGrader from "../../src/answer/MathGrader.ts"
import type { Problem } from "../../src/domain/Problem.ts"
import * as Usage from "../../src/domain/Usage.ts"
import { minimumCost, staticCost } from "../../src/graph/Cost.ts"
import { NODE_TYPES } from "../../src/graph/Graph.ts"
import { GraphError } from "../../src/graph/GraphError.ts"
import * as Loader from "../../src/graph/Loader.ts"
import { type BackendInfo, validate } from "../../src/graph/Validate.ts"
import { run } from "../../src/runtime/Run.ts"
import * as RunEvents from "../../src/runtime/RunEvents.ts"

type Json = { readonly [k: string]: unknown }

const SIMULATED: BackendInfo = { name: "simulated", capabilities: Simulated.CAPABILITIES, verifiers: ["prm", "orm"] }
/** A backend that can only sample whole solutions (like a replay of recorded samples). */
const REPLAY: BackendInfo = { name: "replay", capabilities: new Set(["seeded"]), verifiers: ["prm"] }

/** The problems of a document: its load failure's, or else its validation's. */
const problemsOf = (
  doc: unknown,
  options: { readonly params?: Record<string, number>; readonly backend?: BackendInfo; readonly cwd?: string } = {}
) =>
  Effect.gen(function* () {
    const loaded = yield* Effect.result(Loader.fromJson(doc, options.cwd === undefined ? {} : { cwd: options.cwd }))
    if (loaded._tag === "Failure") {
      assert.instanceOf(loaded.failure, GraphError)
      return loaded.failure.problems
    }
    return validate(loaded.success, { params: options.params ?? {}, backend: options.backend ?? SIMULATED })
  })

const doc = (nodes: ReadonlyArray<unknown>, extra: Json = {}): Json => ({
  name: "bad",
  description: "a graph with a mistake",
  params: { N: 4, M: 2 },
  ...extra,
  root: { type: "sequence", nodes }
})

const select = { type: "select", method: "best" }
const sample = { type: "sample", n: "N", until: "end" }

/** Asserts the problems are exactly `expected` (order included). */
const expectProblems = (d: unknown, expected: ReadonlyArray<string>, options: Parameters<typeof problemsOf>[1] = {}) =>
  Effect.gen(function* () {
    assert.deepStrictEqual(yield* problemsOf(d, options), expected)
  })

describe("bad graphs: one `path: message` line per problem", () => {
  it.effect("an unknown node type", () =>
    expectProblems(doc([{ type: "sampel", n: 1, until: "end" }, select]), [
      'root.nodes.0: Expected a node with "type": "sample" | "expand" | "score" | "prune" | "revise" | "select" | "sequence" | "repeat" | "parallel" | "route" | "use" | "waves" | "confidence" | "rebase" | "mcts" | "deepconf" | "budget-forcing"'
    ])
  )

  it.effect("a missing field, and a field of the wrong type", () =>
    Effect.gen(function* () {
      yield* expectProblems(doc([{ type: "sample", until: "end" }, select]), ["root.nodes.0.n: Missing key"])
      yield* expectProblems(doc([{ type: "sample", n: true, until: "end" }, select]), [
        "root.nodes.0.n: Expected a number or an expression string"
      ])
      yield* expectProblems(doc([sample, { type: "select", method: "vote" }]), [
        'root.nodes.1.method: Expected "majority" | "best" | "weighted"'
      ])
    })
  )

  it.effect("an excess field (a typo names itself), at any depth", () =>
    Effect.gen(function* () {
      yield* expectProblems(doc([{ ...sample, tempurature: 1 }, select]), [
        "root.nodes.0.tempurature: Expected no excess property"
      ])
      yield* expectProblems(
        doc([
          sample,
          { type: "repeat", max: 2, body: { type: "score", lookahead: { steps: 1, greedy: true } } },
          select
        ]),
        ["root.nodes.1.body.lookahead.greedy: Expected no excess property"]
      )
      yield* expectProblems({ ...doc([sample, select]), author: "me" }, ["author: Expected no excess property"])
    })
  )

  it.effect("every problem of a document is reported, not only the first", () =>
    expectProblems(doc([{ type: "sample", until: "end" }, { ...sample, extra: 1 }, { type: "select" }]), [
      "root.nodes.0.n: Missing key",
      "root.nodes.1.extra: Expected no excess property",
      "root.nodes.2.method: Missing key"
    ])
  )

  it.effect("bad expression syntax", () =>
    Effect.gen(function* () {
      yield* expectProblems(doc([{ ...sample, n: "N /" }, select]), [
        'root.nodes.0.n: invalid expression "N /": expected a number, a name or ( at column 4'
      ])
      const problems = yield* problemsOf(doc([{ ...sample, n: "foo(N)" }, select]))
      assert.strictEqual(problems.length, 1)
      assert.match(problems[0] ?? "", /^root\.nodes\.0\.n: invalid expression "foo\(N\)": /u)
      const until = yield* problemsOf(doc([sample, { type: "repeat", max: 2, until: "done >= N +", body: select }]))
      assert.strictEqual(until.length, 1)
      assert.match(until[0] ?? "", /^root\.nodes\.1\.until: invalid expression in until "done >= N \+": /u)
      const garbage = yield* problemsOf(doc([sample, { type: "repeat", max: 2, until: "forever", body: select }]))
      assert.deepStrictEqual(garbage, [
        'root.nodes.1.until: expected "no-active", "none" or "done >= <expression>", got "forever"'
      ])
    })
  )

  it.effect("an unknown name in an expression", () =>
    Effect.gen(function* () {
      yield* expectProblems(doc([sample, { type: "score" }, { type: "prune", keep: "K" }, select]), [
        'root.nodes.2.keep: unknown param "K" (params: N, M)'
      ])
      const meter = yield* problemsOf(doc([{ ...sample, n: "min(N, budget.tokens)" }, select]))
      assert.strictEqual(meter.length, 1)
      assert.match(meter[0] ?? "", /^root\.nodes\.0\.n: unknown name "budget\.tokens" \(budget meters: calls, /u)
      yield* expectProblems(doc([sample, { type: "prune", keep: "population.alive" }, select]), [
        'root.nodes.1.keep: unknown name "population.alive" (population counts: population.size, population.active, population.done)'
      ])
      yield* expectProblems(
        { name: "bad", description: "", root: { type: "sequence", nodes: [{ ...sample, n: "N" }, select] } },
        ['root.nodes.0.n: unknown param "N" (this graph has no params)']
      )
    })
  )

  it.effect("an unknown param as an override, and in a `use`", () =>
    Effect.gen(function* () {
      yield* expectProblems(doc([sample, select]), ['params.K: unknown param "K" (params: N, M)'], {
        params: { K: 3 }
      })
      yield* expectProblems(doc([{ type: "use", graph: "best-of-n", params: { N: 2, beams: 4 } }]), [
        'root.nodes.0.params.beams: unknown param "beams" (params: N, temperature)'
      ])
      yield* expectProblems(doc([{ type: "use", graph: "best-of-n", params: { N: "population.size" } }]), [
        'root.nodes.0.params.N: "population.size" cannot be used here (the population is not known where this is evaluated)'
      ])
    })
  )

  it.effect("a non-integer (or out-of-range) value where an integer is needed", () =>
    Effect.gen(function* () {
      yield* expectProblems(doc([{ ...sample, n: "N / 3" }, select]), [
        'root.nodes.0.n: expected an integer ≥ 0, got 1.3333333333333333 (from "N / 3")'
      ])
      yield* expectProblems(doc([sample, select]), ['root.nodes.0.n: expected an integer ≥ 0, got 2.5 (from "N")'], {
        params: { N: 2.5 }
      })
      yield* expectProblems(doc([sample, { type: "expand", n: 0, until: "step" }, select]), [
        "root.nodes.1.n: expected an integer ≥ 1, got 0"
      ])
      yield* expectProblems(doc([sample, { type: "prune", keep: 2, mode: "sample", temperature: 0 }, select]), [
        "root.nodes.1.temperature: expected a number > 0, got 0"
      ])
      yield* expectProblems(doc([{ ...sample, temperature: "0 - M" }, select]), [
        'root.nodes.0.temperature: expected a number ≥ 0, got -2 (from "0 - M")'
      ])
    })
  )

  describe("`use` cycles and unresolvable targets", () => {
    let dir = ""
    beforeAll(async () => {
      dir = await mkdtemp(NodePath.join(tmpdir(), "mull-bad-graphs-"))
      const using = (name: string, target: string, at: "root" | "nested") => ({
        name,
        description: `${name} uses ${target}`,
        root:
          at === "root"
            ? { type: "use", graph: target }
            : { type: "sequence", nodes: [sample, { type: "use", graph: target }, select] }
      })
      await writeFile(NodePath.join(dir, "a.json"), JSON.stringify(using("a", "./b.json", "nested")))
      await writeFile(NodePath.join(dir, "b.json"), JSON.stringify(using("b", "./a.json", "root")))
      await writeFile(NodePath.join(dir, "self.json"), JSON.stringify(using("self", "./self.json", "root")))
      await writeFile(NodePath.join(dir, "broken.json"), '{ "name": "broken", ')
    })
    afterAll(async () => {
      await rm(dir, { recursive: true, force: true })
    })

    const loadFailure = (file: string) =>
      Effect.gen(function* () {
        const r = yield* Effect.result(Loader.load(NodePath.join(dir, file)))
        if (r._tag === "Success") return assert.fail(`${file} loaded`)
        return r.failure.problems
      })

    it.effect("a → b → a is refused at load time, naming the path of the use", () =>
      Effect.gen(function* () {
        assert.deepStrictEqual(yield* loadFailure("a.json"), ["root.nodes.1.graph: root.graph: use cycle: a → b → a"])
        assert.deepStrictEqual(yield* loadFailure("b.json"), ["root.graph: root.nodes.1.graph: use cycle: b → a → b"])
        assert.deepStrictEqual(yield* loadFailure("self.json"), ["root.graph: use cycle: self → self"])
      })
    )

    it.effect("an unknown graph name, a missing file, a file that is not JSON", () =>
      Effect.gen(function* () {
        const unknown = yield* problemsOf(doc([{ type: "use", graph: "beam-serch" }]))
        assert.strictEqual(unknown.length, 1)
        assert.match(unknown[0] ?? "", /^root\.nodes\.0\.graph: \(graph\): no graph named "beam-serch" \(known: /u)
        const missing = yield* problemsOf(doc([{ type: "use", graph: "./nowhere.json" }]), { cwd: dir })
        assert.strictEqual(missing.length, 1)
        assert.match(missing[0] ?? "", /^root\.nodes\.0\.graph: \(file\): cannot read: /u)
        const broken = yield* problemsOf(doc([{ type: "use", graph: "./broken.json" }]), { cwd: dir })
        assert.strictEqual(broken.length, 1)
        assert.match(broken[0] ?? "", /^root\.nodes\.0\.graph: \(document\): not valid JSON: /u)
        const notName = yield* problemsOf(doc([{ type: "use", graph: "Beam Search!" }]))
        assert.deepStrictEqual(notName, [
          'root.nodes.0.graph: (graph): "Beam Search!" is neither a graph name nor a path'
        ])
      })
    )
  })

  it.effect("a capability the backend lacks, named with the node that needs it", () =>
    Effect.gen(function* () {
      yield* expectProblems(
        doc([{ type: "sample", n: 2, until: "step" }, { type: "expand", n: 2, until: "end" }, select]),
        [
          'root.nodes.0.until: needs capability "stepwise" (continue a partial solution one step at a time), which backend "replay" lacks'
        ],
        { backend: REPLAY }
      )
      yield* expectProblems(
        doc([sample, { type: "revise" }, select]),
        [
          'root.nodes.1: needs capability "revise" (write a new attempt conditioned on previous attempts), which backend "replay" lacks'
        ],
        { backend: REPLAY }
      )
      // through `use`: the path names the used graph's node
      yield* expectProblems(
        doc([{ type: "use", graph: "beam-search", params: { N: 4 } }]),
        [
          'root.nodes.0[beam-search].requires: needs capability "stepwise" (continue a partial solution one step at a time), which backend "replay" lacks'
        ],
        { backend: REPLAY }
      )
      const loaded = yield* Loader.load("dvts")
      assert.deepStrictEqual(validate(loaded, { backend: REPLAY }), [
        'requires: needs capability "stepwise" (continue a partial solution one step at a time), which backend "replay" lacks'
      ])
      assert.deepStrictEqual(validate(loaded, { backend: SIMULATED }), [])
    })
  )

  it.effect("a route with the wrong number of cases, or thresholds out of order", () =>
    Effect.gen(function* () {
      const route = (bins: ReadonlyArray<number>, cases: number) => ({
        type: "route",
        estimate: { samples: 2 },
        bins,
        cases: Array.from({ length: cases }, () => select)
      })
      yield* expectProblems(doc([route([0.8, 0.6, 0.4, 0.2], 4)]), [
        "root.nodes.0.cases: expected 5 cases for 4 bin thresholds, got 4"
      ])
      yield* expectProblems(doc([route([0.2, 0.6], 3)]), [
        "root.nodes.0.bins.1: thresholds must be strictly decreasing (bin 0 is the easiest), got 0.6 after 0.2"
      ])
      yield* expectProblems(doc([route([0.5], 2)]), [])
    })
  )

  it.effect("a graph that does not end with a select (also through a route case)", () =>
    Effect.gen(function* () {
      const last = "root: the graph must end with a select node (the last node run must choose the answer)"
      yield* expectProblems(doc([sample, { type: "score" }]), [last])
      yield* expectProblems(doc([sample, select, { type: "score" }]), [last])
      yield* expectProblems(doc([]), [last])
      yield* expectProblems(
        doc([{ type: "route", estimate: { samples: 1 }, bins: [0.5], cases: [select, { type: "score" }] }]),
        [last]
      )
      yield* expectProblems(doc([{ type: "use", graph: "majority" }]), [])
    })
  )

  it.effect("an unknown verifier name", () =>
    Effect.gen(function* () {
      yield* expectProblems(doc([sample, { type: "score", verifier: "oracle" }, select]), [
        'root.nodes.1.verifier: backend "simulated" has no verifier "oracle" (it has: prm, orm)'
      ])
      yield* expectProblems(
        doc([{ type: "route", estimate: { samples: 2, verifier: "orm" }, bins: [], cases: [select] }]),
        ['root.nodes.0.estimate.verifier: backend "replay" has no verifier "orm" (it has: prm)'],
        { backend: REPLAY }
      )
    })
  )

  it.effect("the default verifier is checked like a named one (score and route's estimate)", () =>
    Effect.gen(function* () {
      const none: BackendInfo = { name: "openai", capabilities: new Set(["seeded"]), verifiers: [] }
      const help = "(it has none: give it a reward model, see docs/backends.md)"
      yield* expectProblems(
        doc([sample, { type: "score" }, select]),
        [`root.nodes.1.verifier: backend "openai" has no verifier "prm", the default ${help}`],
        { backend: none }
      )
      yield* expectProblems(
        doc([{ type: "route", estimate: { samples: 2 }, bins: [], cases: [select] }]),
        [`root.nodes.0.estimate.verifier: backend "openai" has no verifier "prm", the default ${help}`],
        { backend: none }
      )
      // a backend with only an outcome reward model has no default verifier either
      yield* expectProblems(
        doc([sample, { type: "score", aggregate: "min" }, select]),
        ['root.nodes.1.verifier: backend "orm-only" has no verifier "prm", the default (it has: orm)'],
        { backend: { ...none, name: "orm-only", verifiers: ["orm"] } }
      )
      yield* expectProblems(doc([sample, { type: "score" }, select]), [])
    })
  )

  it.effect("the document itself: not an object, not JSON, a bad name or param name, nested too deeply", () =>
    Effect.gen(function* () {
      yield* expectProblems(42, ["(document): Expected GraphDocument"])
      const text = yield* Effect.result(Loader.parseDocument('{"name": "x",', "x.json"))
      assert.isTrue(text._tag === "Failure" && /^\(document\): not valid JSON: /u.test(text.failure.problems[0] ?? ""))
      yield* expectProblems({ ...doc([sample, select]), name: "Best Of N" }, [
        "name: graph names are lowercase slugs (a-z, 0-9, . _ -)"
      ])
      // a param name that is not an identifier is reported as an excess key of `params`
      yield* expectProblems({ ...doc([sample, select]), params: { N: 4, "2x": 1 } }, [
        "params.2x: Expected no excess property"
      ])
      yield* expectProblems({ ...doc([sample, select]), params: { N: "4" } }, ["params.N: Expected number"])
      // decoding recurses: a document nested thousands deep is refused, not a stack overflow
      let node: unknown = select
      for (let i = 0; i < 5000; i++) node = { type: "sequence", nodes: [node] }
      const deep = yield* problemsOf({ name: "deep", description: "", root: node })
      assert.strictEqual(deep.length, 1)
      assert.match(deep[0] ?? "", /^root\.nodes\.0\.nodes\.0\..*: the document nests deeper than 128 levels/u)
    })
  )

  it.effect("a run refuses an invalid graph with the same problems (a GraphError, not a defect)", () =>
    Effect.gen(function* () {
      const loaded = yield* Loader.fromJson(doc([sample, { type: "prune", keep: "K" }, select]))
      const problem: Problem = { id: "bad/1", question: "What is $1+1$?", gold: "2", meta: { level: 1 } }
      const exit = yield* Effect.exit(
        run(loaded, problem, { params: { N: 2.5 } }).pipe(
          Effect.provide(Layer.mergeAll(Simulated.layer(), MathGrader.layer, RunEvents.layerSilent))
        )
      )
      assert.isTrue(Exit.isFailure(exit))
      if (Exit.isSuccess(exit)) return
      assert.isFalse(Cause.hasDies(exit.cause))
      const e = Cause.squash(exit.cause)
      assert.instanceOf(e, GraphError)
      if (e instanceof GraphError)
        assert.deepStrictEqual(e.problems, [
          'root.nodes.0.n: expected an integer ≥ 0, got 2.5 (from "N")',
          'root.nodes.1.keep: unknown param "K" (params: N, M)'
        ])
    })
  )
})

// ---------------------------------------------------------------------------------------------
// Property: mutated built-in graphs and random JSON never end in a defect

const BUILTINS: ReadonlyArray<Json> = await Promise.all(
  (await Effect.runPromise(Loader.list())).map(async (g) => JSON.parse(await readFile(g.file, "utf8")) as Json)
)

/** Small params, so that the mutants that still validate run fast. */
const SMALL: Json = { N: 4, M: 2, rounds: 2, k: 1, P: 2, S: 2 }
const shrinkParams = (d: Json): Json => {
  const params = d.params
  if (typeof params !== "object" || params === null) return d
  return {
    ...d,
    params: Object.fromEntries(Object.entries(params).map(([k, v]) => [k, Object.hasOwn(SMALL, k) ? SMALL[k] : v]))
  }
}

type Path = ReadonlyArray<string | number>

/** Every path of a JSON value (objects and arrays included), in document order. */
const pathsOf = (value: unknown, at: Path = []): Array<Path> => {
  const out: Array<Path> = [at]
  if (Array.isArray(value))
    value.forEach((v, i) => {
      out.push(...pathsOf(v, [...at, i]))
    })
  else if (typeof value === "object" && value !== null)
    for (const [k, v] of Object.entries(value)) out.push(...pathsOf(v, [...at, k]))
  return out
}

/** A copy of `value` with the value at `path` replaced (`undefined` deletes it). */
const setAt = (value: unknown, path: Path, f: (old: unknown) => unknown): unknown => {
  const [head, ...rest] = path
  if (head === undefined) return f(value)
  if (Array.isArray(value) && typeof head === "number") {
    const copy: Array<unknown> = [...value]
    const next = setAt(copy[head], rest, f)
    if (next === undefined && rest.length === 0) copy.splice(head, 1)
    else copy[head] = next
    return copy
  }
  if (typeof value === "object" && value !== null) {
    const copy: Record<string, unknown> = { ...value }
    const next = setAt(copy[String(head)], rest, f)
    if (next === undefined && rest.length === 0) delete copy[String(head)]
    else copy[String(head)] = next
    return copy
  }
  return value
}

const GARBAGE_EXPRESSIONS = [
  "",
  "N /",
  "((N)",
  "N ** 2",
  "1e999",
  "-1",
  "0.5",
  "N / 0",
  "sqrt(-1)",
  "max()",
  "min(N)",
  "floor(N / M) - 3",
  "budget.sequences",
  "budget.calls - 1",
  "population.active",
  "population.size * 1e9",
  "undefined_name",
  "1e308 * 10",
  "N N",
  "__proto__",
  "constructor"
]

/** Values that keep a document decodable but change what it means (some invalid for the field). */
const NUMBERS: ReadonlyArray<unknown> = [
  0,
  1,
  2,
  3,
  -1,
  0.5,
  1e6,
  "N",
  "N / 2",
  "max(1, N - 1)",
  "min(3, budget.sequences)",
  "budget.calls",
  "population.active",
  "population.size",
  "max(1, floor(population.active / 2))"
]
const ENUMS: Readonly<Record<string, ReadonlyArray<unknown>>> = {
  until: ["step", "end", "none", "no-active", "done >= 2", "done >= population.size"],
  among: ["active", "all", "done"],
  mode: ["top", "sample"],
  method: ["majority", "best", "weighted"],
  aggregate: ["last", "min", "prod", "mean"],
  verifier: ["prm", "orm", "oracle"],
  hierarchical: ["chain"],
  dedupe: [true, false],
  dropUnanswered: [true, false]
}

type Mutation =
  | { readonly _tag: "plausible"; readonly at: number; readonly choice: number }
  | { readonly _tag: "delete"; readonly at: number }
  | { readonly _tag: "type"; readonly at: number; readonly type: string }
  | { readonly _tag: "replace"; readonly at: number; readonly value: unknown }
  | { readonly _tag: "expression"; readonly at: number; readonly text: string }
  | { readonly _tag: "nest"; readonly at: number; readonly depth: number; readonly wrapper: "sequence" | "repeat" }
  | { readonly _tag: "duplicate"; readonly at: number }

const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  {
    arbitrary: fc.record({ _tag: fc.constant("plausible" as const), at: fc.nat(), choice: fc.nat() }),
    weight: 4
  },
  fc.record({ _tag: fc.constant("delete" as const), at: fc.nat() }),
  fc.record({
    _tag: fc.constant("type" as const),
    at: fc.nat(),
    type: fc.oneof(fc.constantFrom(...NODE_TYPES), fc.string({ maxLength: 8 }))
  }),
  fc.record({ _tag: fc.constant("replace" as const), at: fc.nat(), value: fc.jsonValue({ maxDepth: 3 }) }),
  fc.record({
    _tag: fc.constant("expression" as const),
    at: fc.nat(),
    text: fc.oneof(fc.constantFrom(...GARBAGE_EXPRESSIONS), fc.string({ maxLength: 12 }))
  }),
  fc.record({
    _tag: fc.constant("nest" as const),
    at: fc.nat(),
    depth: fc.oneof(fc.integer({ min: 1, max: 8 }), fc.integer({ min: 50, max: 400 })),
    wrapper: fc.constantFrom("sequence" as const, "repeat" as const)
  }),
  fc.record({ _tag: fc.constant("duplicate" as const), at: fc.nat() })
)

const isNode = (v: unknown): boolean => typeof v === "object" && v !== null && !Array.isArray(v) && "type" in v

const mutate = (d: unknown, m: Mutation): unknown => {
  const all = pathsOf(d)
  const pick = (paths: ReadonlyArray<Path>) => paths[m.at % Math.max(1, paths.length)]
  switch (m._tag) {
    case "plausible": {
      // a leaf that is not a node's type
      const at = pick(
        all.filter((p) => {
          const v = p.reduce<unknown>((x, k) => (x as Record<string, unknown>)[k], d)
          return (
            (p[0] === "root" || p[0] === "params") &&
            p[p.length - 1] !== "type" &&
            (typeof v !== "object" || v === null)
          )
        })
      )
      if (at === undefined) return d
      const key = String(at[at.length - 1])
      const choices = at[0] === "params" ? NUMBERS.filter((x) => typeof x === "number") : (ENUMS[key] ?? NUMBERS)
      return setAt(d, at, () => choices[m.choice % choices.length])
    }
    case "delete": {
      const at = pick(all.filter((p) => p.length > 0))
      return at === undefined ? d : setAt(d, at, () => undefined)
    }
    case "type": {
      const at = pick(all.filter((p) => p[p.length - 1] === "type"))
      return at === undefined ? d : setAt(d, at, () => m.type)
    }
    case "replace": {
      const at = pick(all)
      return at === undefined ? m.value : setAt(d, at, () => m.value)
    }
    case "expression": {
      const at = pick(all.filter((p) => p.length > 0 && p[p.length - 1] !== "type"))
      return at === undefined ? d : setAt(d, at, (old) => (typeof old === "object" && old !== null ? old : m.text))
    }
    case "nest": {
      const nodes = all.filter((p) => isNode(p.reduce<unknown>((v, k) => (v as Record<string, unknown>)[k], d)))
      const at = pick(nodes)
      if (at === undefined) return d
      return setAt(d, at, (old) => {
        let node = old
        for (let i = 0; i < m.depth; i++)
          node = m.wrapper === "sequence" ? { type: "sequence", nodes: [node] } : { type: "repeat", max: 1, body: node }
        return node
      })
    }
    case "duplicate": {
      const arrays = all.filter((p) => Array.isArray(p.reduce<unknown>((v, k) => (v as Record<string, unknown>)[k], d)))
      const at = pick(arrays)
      return at === undefined ? d : setAt(d, at, (old) => (Array.isArray(old) ? [...old, ...old] : old))
    }
  }
}

const problem: Problem = { id: "bad/property", question: "Find $x$.", gold: "3", meta: { level: 2 } }

const runtime = ManagedRuntime.make(
  Layer.mergeAll(Simulated.layer({ generator: { maxTokens: 512 } }), MathGrader.layer, RunEvents.layerSilent)
)

const stats = { documents: 0, loaded: 0, valid: 0, ran: 0, skipped: 0 }

/** A `path: message` line: a path, a colon, a message; never a stack trace. */
const isProblemLine = (line: string) => {
  assert.match(line, /^.+?: \S/su, "a `path: message` line")
  assert.notMatch(line, /\n\s+at /u, "no stack trace")
}

/** Graphs whose static bound is larger than this are validated and costed, not run. */
const RUNNABLE = 3000

/**
 * Loads, validates, costs and (when it validates and is small enough) runs a document; asserts
 * that nothing along the way is a defect (a thrown exception or a `Die`).
 */
const neverADefect = (json: unknown, params: Record<string, number>, budget: number | undefined) =>
  Effect.gen(function* () {
    stats.documents++
    const loaded = yield* Effect.exit(Loader.fromJson(json))
    if (Exit.isFailure(loaded)) {
      assert.isFalse(Cause.hasDies(loaded.cause), `loading died: ${Cause.pretty(loaded.cause)}`)
      const e = Cause.squash(loaded.cause)
      assert.instanceOf(e, GraphError)
      if (e instanceof GraphError) for (const p of e.problems) isProblemLine(p)
      return
    }
    stats.loaded++
    const g = loaded.value
    const problems = validate(g, { params, backend: SIMULATED })
    for (const p of problems) isProblemLine(p)
    const limits = budget === undefined ? {} : { calls: budget }
    const bound = staticCost(g, { params, limits, maxTokens: 512 })
    const first = minimumCost(g, { params, limits, maxTokens: 512 })
    for (const m of Usage.METERS) {
      assert.isFalse(Number.isNaN(bound.usage[m]), `static bound of ${m} is NaN`)
      assert.isFalse(Number.isNaN(first[m]), `first call's ${m} is NaN`)
    }
    if (problems.length > 0) return
    stats.valid++
    if (!(bound.usage.calls <= RUNNABLE && bound.population.size <= RUNNABLE)) {
      stats.skipped++
      return
    }
    stats.ran++
    const exit = yield* Effect.exit(run(g, problem, { params, limits, seed: 1 }))
    assert.isFalse(
      Exit.isFailure(exit) && Cause.hasDies(exit.cause),
      `running died: ${Exit.isFailure(exit) ? Cause.pretty(exit.cause) : ""}`
    )
  })

const SCALE = Number(process.env.MULL_PROPERTY_SCALE ?? "1") || 1

describe("mutated and random documents never end in a defect", () => {
  afterAll(() => {
    if (process.env.MULL_PROPERTY_STATS !== undefined) console.log(JSON.stringify(stats))
  })

  it(
    "mutated built-in graphs: load, validate, cost, run",
    async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.constantFrom(...BUILTINS),
          fc.array(mutationArb, { minLength: 1, maxLength: 3 }),
          fc.record(
            { N: fc.integer({ min: 0, max: 6 }), rounds: fc.integer({ min: 0, max: 3 }) },
            { requiredKeys: [] }
          ),
          fc.option(fc.integer({ min: 0, max: 40 }), { nil: undefined }),
          (builtin, mutations, overrides, budget) => {
            const mutated = mutations.reduce<unknown>(mutate, shrinkParams(builtin))
            const declared = (
              typeof mutated === "object" && mutated !== null && "params" in mutated ? mutated.params : {}
            ) as Json
            const params = Object.fromEntries(
              Object.entries(overrides).filter(
                ([k]) => typeof declared === "object" && declared !== null && k in declared
              )
            )
            return runtime.runPromise(neverADefect(mutated, params, budget))
          }
        ),
        { numRuns: Math.round(2500 * SCALE) }
      )
    },
    240_000 * SCALE
  )

  it(
    "random JSON documents: load and validate",
    async () => {
      const graphish = fc.record(
        {
          name: fc.oneof(fc.constant("x"), fc.string()),
          description: fc.string(),
          params: fc.dictionary(fc.string({ maxLength: 3 }), fc.jsonValue({ maxDepth: 1 })),
          root: fc.jsonValue({ maxDepth: 4 })
        },
        { requiredKeys: [] }
      )
      await fc.assert(
        fc.asyncProperty(fc.oneof(fc.jsonValue(), graphish), (json) =>
          runtime.runPromise(neverADefect(json, {}, undefined))
        ),
        { numRuns: Math.round(1000 * SCALE) }
      )
    },
    120_000 * SCALE
  )
})
