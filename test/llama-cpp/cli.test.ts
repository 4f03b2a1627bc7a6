/**
 * `mull run … --backend llama-cpp` (issue 6, acceptance): PRM beam search with N = 4 and a small
 * `--max-tokens` on stories260K through the CLI — real generations, exact token usage within the
 * static bounds, the same result twice under a fixed seed; the llama-cpp flags and their errors;
 * `mull backends` lists the backend.
 */
import * as NodeServices from "@effect/platform-node/NodeServices"
import { afterEach, assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { TestConsole } from "effect/testing"
import { runCli } from "../../src/cli/main.ts"
import { MODEL } from "./helpers.ts"

/** Runs the CLI; returns what it printed on stdout and stderr and the exit code it set. */
const cli = (argv: ReadonlyArray<string>) =>
  Effect.gen(function* () {
    process.exitCode = undefined
    const outBefore = (yield* TestConsole.logLines).length
    const errBefore = (yield* TestConsole.errorLines).length
    yield* runCli(argv).pipe(Effect.provide(NodeServices.layer))
    const out = (yield* TestConsole.logLines).slice(outBefore).map(String).join("\n")
    const err = (yield* TestConsole.errorLines).slice(errBefore).map(String).join("\n")
    return { out, err, code: process.exitCode }
  })

afterEach(() => {
  process.exitCode = undefined
})

const BEAM = [
  "run",
  "beam-search",
  "--backend",
  "llama-cpp",
  "--model-path",
  MODEL,
  "--threads",
  "1",
  "--max-tokens",
  "64",
  "--step-tokens",
  "16",
  "--question",
  "Once upon a time, there was a cat named Tom.",
  "--param",
  "N=4",
  "--param",
  "rounds=2",
  "--seed",
  "3"
]

/** A meter's row of the usage table: used and static bound. */
const usageRow = (text: string, meter: string) => {
  const line = text.split("\n").find((l) => l.startsWith(`${meter} `))
  if (line === undefined) return assert.fail(`no ${meter} row in:\n${text}`)
  const [, used, , bound] = line.trim().split(/\s{2,}/u)
  const num = (s: string | undefined) => (s === "∞" ? Number.POSITIVE_INFINITY : Number((s ?? "").replaceAll(",", "")))
  return { used: num(used), bound: num(bound) }
}

describe("mull run --backend llama-cpp", () => {
  it.effect("beam search with N = 4 on stories260K: real steps, usage within bounds, the same result twice", () =>
    Effect.gen(function* () {
      const text = yield* cli(BEAM)
      assert.strictEqual(text.code, undefined, text.err)
      assert.include(text.out, "graph     beam-search (llama-cpp backend, seed 3)")
      assert.match(text.out, /^exhausted no$/mu)
      for (const meter of ["calls", "sequences", "outputTokens", "verifierCalls"]) {
        const row = usageRow(text.out, meter)
        assert.isAbove(row.used, 0, meter)
        assert.isAtMost(row.used, row.bound, `${meter} within its static bound`)
      }
      // N = 4 beams: 4 first steps, 2 rounds of 4 expansions, then 4 completions
      assert.strictEqual(usageRow(text.out, "sequences").used, 16)

      const json = yield* cli([...BEAM, "--json"])
      assert.strictEqual(json.code, undefined, json.err)
      const result = JSON.parse(json.out) as {
        usage: Record<string, number>
        population: ReadonlyArray<{ id: string; steps: ReadonlyArray<string>; tokens: number; score?: number }>
      }
      // the same seed gives the same usage (wall time aside) as the text run
      for (const meter of ["calls", "sequences", "inputTokens", "outputTokens", "verifierCalls", "verifierTokens"])
        assert.strictEqual(result.usage[meter], usageRow(text.out, meter).used, meter)
      assert.strictEqual(result.population.length, 4)
      for (const c of result.population) {
        // sample + 2 rounds + the completion: four steps of real story text
        assert.strictEqual(c.steps.length, 4)
        assert.isTrue(c.steps.some((s) => /[a-z]{3}/u.test(s)))
        // no lane grows past the solution cap
        assert.isAtMost(c.tokens, 64)
      }
      assert.strictEqual(result.population.reduce((s, c) => s + c.tokens, 0) <= result.usage.outputTokens, true)
    })
  )

  it.effect("bad llama-cpp input exits 2 with one line per problem", () =>
    Effect.gen(function* () {
      const missing = yield* cli(["run", "best-of-n", "--backend", "llama-cpp", "--question", "x"])
      assert.strictEqual(missing.code, 2)
      assert.include(missing.err, "backend-config.modelPath:")
      const noFile = yield* cli([
        "run",
        "best-of-n",
        "--backend",
        "llama-cpp",
        "--model-path",
        "nope.gguf",
        "--question",
        "x"
      ])
      assert.strictEqual(noFile.code, 2)
      assert.include(noFile.err, "backend-config.modelPath: no such file")
      const wrong = yield* cli(["run", "best-of-n", "--model-path", MODEL, "--threads", "1", "--question", "x"])
      assert.strictEqual(wrong.code, 2)
      assert.strictEqual(
        wrong.err,
        "--model-path: only for --backend llama-cpp\n--threads: only for --backend llama-cpp"
      )
    })
  )

  it.effect("cost takes the llama-cpp flags (and loads the model to read its limits)", () =>
    Effect.gen(function* () {
      const argv = [
        "beam-search",
        "--backend",
        "llama-cpp",
        "--model-path",
        MODEL,
        "--threads",
        "1",
        "--max-tokens",
        "16"
      ]
      const cost = yield* cli(["cost", ...argv, "--param", "N=4", "--param", "rounds=2"])
      assert.strictEqual(cost.code, undefined, cost.err)
      assert.include(cost.out, "backend llama-cpp (solution cap 16 tokens)")
    })
  )

  it.effect("mull backends lists llama-cpp with every capability but thinking (no think phases), and its judge", () =>
    Effect.gen(function* () {
      const { out, code } = yield* cli(["backends"])
      assert.strictEqual(code, undefined)
      const row = out.split("\n").find((l) => l.startsWith("llama-cpp "))
      assert.isDefined(row)
      assert.match(row ?? "", /llama-cpp +yes +yes +yes +yes +yes +yes +no +prm, orm/u)
    })
  )
})
