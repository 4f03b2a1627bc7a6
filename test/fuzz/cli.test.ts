/**
 * Fuzzing the CLI's arguments (issue 9) through `runCli(argv)`: random argument lists built from
 * the fast subcommands (`validate`, `cost`, `schema`, `graphs`, `backends`, `grade`, and `run` on the
 * simulated or replay backend under a tiny budget), their real flags with good and bad values,
 * graph files (valid, broken, missing), and garbage tokens. Every case ends within a time bound,
 * with exit status unset, 0, 1 or 2 and never a defect; nothing printed looks like a stack trace;
 * status 2 comes with at least one problem line on stderr; file outputs go to a temp folder; and
 * a few bad values are checked to name their flag.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import * as NodePath from "node:path"
import * as NodeServices from "@effect/platform-node/NodeServices"
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { Cause, Effect, Exit, Layer, ManagedRuntime } from "effect"
import { TestConsole } from "effect/testing"
import fc from "fast-check"
import { qwenPoolPath } from "../../plugins/replay/index.ts"
import { runCli } from "../../src/cli/main.ts"
import { assertNotPolluted, prototypeSnapshot, runs, SCALE, within } from "./helpers.ts"

const runtime = ManagedRuntime.make(Layer.mergeAll(NodeServices.layer, TestConsole.layer))

let dir = ""
beforeAll(async () => {
  dir = await mkdtemp(NodePath.join(tmpdir(), "mull-fuzz-cli-"))
  await writeFile(
    NodePath.join(dir, "ok.json"),
    JSON.stringify({
      name: "ok",
      description: "two samples and a vote",
      params: { N: 2 },
      root: {
        type: "sequence",
        nodes: [
          { type: "sample", n: "N", until: "end" },
          { type: "select", method: "majority" }
        ]
      }
    })
  )
  await writeFile(NodePath.join(dir, "broken.json"), '{"name": "broken", "root": {"type": "sampel"}')
  await writeFile(
    NodePath.join(dir, "proto.json"),
    '{"__proto__": {"polluted": true}, "name": "p", "description": "", "root": {"type": "select", "method": "best"}}'
  )
})
afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
  process.exitCode = undefined
  await runtime.dispose()
})

/** Runs the CLI; returns stdout, stderr, the exit status it set, and how it ended. */
const cli = (argv: ReadonlyArray<string>) =>
  runtime.runPromise(
    Effect.gen(function* () {
      process.exitCode = undefined
      const outBefore = (yield* TestConsole.logLines).length
      const errBefore = (yield* TestConsole.errorLines).length
      const exit = yield* Effect.exit(runCli(argv))
      const out = (yield* TestConsole.logLines).slice(outBefore).map(String).join("\n")
      const err = (yield* TestConsole.errorLines).slice(errBefore).map(String).join("\n")
      const code = process.exitCode
      process.exitCode = undefined
      return { out, err, code, exit }
    })
  )

const GRAPHS = [
  "best-of-n",
  "majority",
  "weighted-best-of-n",
  "beam-search",
  "passthrough",
  "beam-serch",
  "Beam Search!",
  "__proto__",
  "constructor"
]
const SUBCOMMANDS = ["validate", "cost", "schema", "graphs", "backends", "grade", "run"] as const
/** Subcommands that may take long or start servers: never generated, not even as garbage. */
const SLOW = new Set(["serve", "eval", "paper", "sim", "optimize", "exchange", "report", "trace", "--wizard"])

const flagValues: Readonly<Record<string, ReadonlyArray<string>>> = {
  "--param": [
    "N=2",
    "N=1",
    "N=lots",
    "N",
    "=",
    "N=1e999",
    "N=-1",
    "N=0.5",
    "__proto__=1",
    "constructor=2",
    "M=2",
    "N=2=3",
    ""
  ],
  "--budget": [
    "sequences=4",
    "calls=x",
    "tokens=1",
    "wallMs=1",
    "sequences=-1",
    "sequences=4,,calls=2",
    "sequences",
    "__proto__=1",
    ""
  ],
  "--backend": ["simulated", "replay", "nowhere", ""],
  "--seed": ["1", "-1", "x", "1e99", "0.5"],
  "--concurrency": ["1", "0", "-5", "x"],
  "--question": ["What is $1+1$?", "", " ", "\u0000"],
  "--problem": ["math500:#1", "gsm8k:3", "math500:nope", "aime:1", "math500:", ":", "math500:#-1", "math500:#99999"],
  "--gold": ["2", ""],
  "--level": ["1", "9", "x", "-1"],
  "--response-field": ["response", "nope", "__proto__", ""],
  "--gold-field": ["answer", "gt", "constructor", ""],
  "--label-field": ["score", "nope"],
  "--extract": ["boxed", "gsm8k", "auto", "none", "nope"],
  "--backend-config": ["/nonexistent/config.json"]
}
const BOOLEAN_FLAGS = ["--json", "--help", "--version", "-h"]

/** Which flags each subcommand takes (others are usage errors, generated now and then). */
const FLAGS_OF: Readonly<Record<(typeof SUBCOMMANDS)[number], ReadonlyArray<string>>> = {
  validate: ["--param", "--budget", "--backend", "--backend-config"],
  cost: ["--param", "--budget", "--backend"],
  // run's --budget is always given last (see argvArb)
  run: ["--question", "--problem", "--gold", "--level", "--param", "--backend", "--seed", "--concurrency", "--json"],
  // grade's --response-field and --gold-field are required: always given (see argvArb)
  grade: ["--label-field", "--extract"],
  schema: [],
  graphs: [],
  backends: []
}

const garbage: fc.Arbitrary<ReadonlyArray<string>> = fc.oneof(
  fc
    .constantFrom(...Object.keys(flagValues))
    .chain((f) => fc.constantFrom(...(flagValues[f] ?? [""])).map((v) => [f, v])),
  fc.constantFrom(...BOOLEAN_FLAGS).map((f) => [f]),
  fc.constantFrom(...GRAPHS).map((g) => [g]),
  fc
    .oneof(
      fc.string({ maxLength: 8 }),
      fc.constantFrom("--", "-", "-x", "--nope", "--param=N=2", "--json=yes", "--seed=", "\u0000", "a".repeat(5_000))
    )
    .filter((s) => !SLOW.has(s))
    .map((s) => [s])
)

const flagOf = (flag: string): fc.Arbitrary<ReadonlyArray<string>> =>
  BOOLEAN_FLAGS.includes(flag)
    ? fc.constant([flag])
    : fc.constantFrom(...(flagValues[flag] ?? [""])).map((v) => [flag, v])

/**
 * An argument list: a fast subcommand, mostly its own flags with good or bad values, its
 * positional argument (a graph or a file), now and then a garbage token; `run` always ends with a
 * tiny budget so that each case stays short whatever the other flags ask for.
 */
const argvArb: fc.Arbitrary<ReadonlyArray<string>> = fc
  .constantFrom(...SUBCOMMANDS)
  .chain((sub) =>
    fc.tuple(
      fc.constant(sub),
      // each flag at most once (a repeated single-valued flag is a usage error, generated by `garbage`)
      fc
        .subarray([...FLAGS_OF[sub]], { maxLength: Math.min(4, FLAGS_OF[sub].length) })
        .chain(
          (flags): fc.Arbitrary<ReadonlyArray<ReadonlyArray<string>>> =>
            flags.length === 0 ? fc.constant([]) : fc.tuple(...flags.map(flagOf))
        ),
      sub === "grade"
        ? fc
            .tuple(
              flagOf("--response-field"),
              flagOf("--gold-field"),
              fc.constantFrom(qwenPoolPath(), "@ok.json", "@missing.jsonl")
            )
            .map(([r, g, f]) => [...r, ...g, f])
        : sub === "schema" || sub === "graphs" || sub === "backends"
          ? fc.constant([])
          : fc
              .oneof(
                fc.constantFrom(...GRAPHS),
                fc.constantFrom("@ok.json", "@broken.json", "@proto.json", "@missing.json")
              )
              .map((g) => [g]),
      fc.option(garbage, { nil: undefined, freq: 5 }),
      // file outputs go to the temp folder
      fc.option(
        fc.constant(sub === "run" ? ["--trace", "@out.jsonl"] : sub === "grade" ? ["--out", "@out.jsonl"] : []),
        {
          nil: undefined
        }
      )
    )
  )
  .map(([sub, flags, positional, junk, output]) => {
    const expand = (t: string) => (t.startsWith("@") ? NodePath.join(dir, t.slice(1)) : t)
    const tail = sub === "run" ? ["--budget", "sequences=4,calls=4"] : []
    return [sub, ...flags.flat(), ...(output ?? []), ...(junk ?? []), ...positional, ...tail].map(expand)
  })

const stackTrace = (text: string) => text.split("\n").filter((l) => /^\s+at \S|\bdefect\b|Maximum call stack/u.test(l))

describe("CLI arguments", () => {
  it(
    "random argument lists: status 0, 1 or 2 (or unset), no defect, no stack trace, problems on stderr",
    async () => {
      const before = prototypeSnapshot()
      const codes: Record<string, number> = {}
      await fc.assert(
        fc.asyncProperty(argvArb, async (argv) => {
          const what = `mull ${argv.map((a) => a.slice(0, 40)).join(" ")}`
          const r = await within(30_000, what, cli(argv))
          codes[String(r.code)] = (codes[String(r.code)] ?? 0) + 1
          if (Exit.isFailure(r.exit)) {
            assert.isFalse(Cause.hasDies(r.exit.cause), `${what}: defect ${Cause.pretty(r.exit.cause)}`)
            // what escapes runCli is effect/cli's own tagged error (a usage error, already printed)
            const e = Cause.squash(r.exit.cause)
            assert.isTrue(typeof e === "object" && e !== null && "_tag" in e, `${what}: ${String(e)}`)
            // …which the binary's runMain turns into status 1, after the help (and an ERROR line)
            assert.match(
              `${r.out}\n${r.err}`,
              /ERROR\s+\S|^USAGE$/mu,
              `${what}: a usage error without a message or help`
            )
            codes.usage = (codes.usage ?? 0) + 1
          }
          assert.include([undefined, 0, 1, 2], r.code, `${what}: exit status ${String(r.code)}`)
          assert.deepStrictEqual(stackTrace(`${r.out}\n${r.err}`), [], what)
          if (r.code === 2) assert.isAbove(r.err.trim().length, 0, `${what}: status 2 without a message`)
        }),
        { numRuns: runs(200) }
      )
      assertNotPolluted(before, "CLI arguments")
      if (process.env.MULL_PROPERTY_STATS !== undefined) console.log(JSON.stringify(codes))
      assert.isAbove(codes["2"] ?? 0, 0, JSON.stringify(codes))
    },
    300_000 * SCALE
  )

  it("bad values name their flag", async () => {
    const cases: ReadonlyArray<readonly [ReadonlyArray<string>, RegExp]> = [
      [["run", "best-of-n", "--question", "1+1?", "--param", "N=lots"], /params\.N: expected a number/u],
      [["run", "best-of-n", "--question", "1+1?", "--param", "__proto__=1"], /params\.__proto__: unknown param/u],
      [["run", "best-of-n", "--question", "1+1?", "--budget", "sequences=-1"], /budget\.sequences: /u],
      [["cost", "best-of-n", "--budget", "tokens=1"], /budget\.tokens: unknown meter/u],
      [["run", "best-of-n", "--problem", "aime:1"], /--problem aime:1: /u],
      [["validate", NodePath.join(dir, "proto.json")], /^__proto__: Expected no excess property$/mu]
    ]
    for (const [argv, expected] of cases) {
      const r = await within(30_000, argv.join(" "), cli(argv))
      assert.strictEqual(r.code, 2, `${argv.join(" ")}: ${r.err}`)
      assert.match(r.err, expected, argv.join(" "))
    }
    // effect/cli's own parse errors name the flag too
    const seed = await cli(["run", "best-of-n", "--question", "1+1?", "--seed", "x"])
    assert.notStrictEqual(seed.code, 0)
    assert.match(`${seed.out}\n${seed.err}`, /seed/u)
  })
})
