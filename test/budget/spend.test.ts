/**
 * Budgets spent well (issue 15), on the simulated backend and through the CLI, a sweep and
 * `mull serve`:
 *
 * - beam search with N = 64 under 40 sequences answers on MATH-500 #1, #42, #140, #300, exhausted;
 * - best-of-16 under 1.2 × the output tokens its 16 samples use unconstrained pays for all 16;
 * - a usd budget with prices set binds (exhausted, usd ≤ limit) on the CLI, in a sweep and through
 *   `mull serve`; with no prices it is refused (exit 2, or HTTP 400) naming the meter and the flag;
 * - `mull cost beam-search --param N=16 --budget sequences=200` prints no sequences bound above 200
 *   under the budget, and its expected spend is within ±30% of the mean actual spend over 50
 *   MATH-500 problems (the measured error is printed).
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import * as NodePath from "node:path"
import * as NodeServices from "@effect/platform-node/NodeServices"
import { afterAll, afterEach, assert, beforeAll, describe, it } from "@effect/vitest"
import { Effect, Layer, Stream } from "effect"
import { TestConsole } from "effect/testing"
import * as Simulated from "../../plugins/simulated/index.ts"
import * as MathGrader from "../../src/answer/MathGrader.ts"
import { runCli } from "../../src/cli/main.ts"
import { loadMath500 } from "../../src/data/DatasetMath500.ts"
import type * as Usage from "../../src/domain/Usage.ts"
import * as Store from "../../src/eval/Store.ts"
import * as Loader from "../../src/graph/Loader.ts"
import { run } from "../../src/runtime/Run.ts"
import * as RunEvents from "../../src/runtime/RunEvents.ts"
import { chat, post, type Started, simulated as simulatedServer, start } from "../server/helpers.ts"

const MATH500 = await Effect.runPromise(loadMath500())
const PRICES = ["--price-input", "0.5", "--price-output", "2", "--price-verifier", "0.1"]

/** Runs the CLI; returns what it printed on stdout and stderr and the exit code it set. */
const cli = (argv: ReadonlyArray<string>) =>
  Effect.gen(function* () {
    process.exitCode = undefined
    const outBefore = (yield* TestConsole.logLines).length
    const errBefore = (yield* TestConsole.errorLines).length
    yield* runCli(argv).pipe(Effect.provide(NodeServices.layer))
    const out = (yield* TestConsole.logLines).slice(outBefore).map(String)
    const err = (yield* TestConsole.errorLines).slice(errBefore).map(String)
    return { out: out.join("\n"), err: err.join("\n"), code: process.exitCode }
  })

afterEach(() => {
  process.exitCode = undefined
})

interface JsonRun {
  readonly answer?: string
  readonly exhausted: boolean
  readonly usage: Usage.Usage
  readonly population: ReadonlyArray<{ readonly id: string; readonly done: boolean; readonly cut?: boolean }>
}

const simulated = Layer.mergeAll(Simulated.layer(), MathGrader.layer, RunEvents.layerSilent)

let dir: string
beforeAll(async () => {
  dir = await mkdtemp(NodePath.join(tmpdir(), "mull-spend-"))
})
afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

describe("anytime answers through the CLI", () => {
  it.effect("beam search N = 64 under 40 sequences answers MATH-500 #1, #42, #140, #300, exhausted", () =>
    Effect.gen(function* () {
      for (const i of [1, 42, 140, 300]) {
        const argv = ["run", "beam-search", "--param", "N=64", "--budget", "sequences=40", "--problem", `math500:#${i}`]
        const text = yield* cli(argv)
        assert.strictEqual(text.code, undefined, text.err)
        assert.match(text.out, /^answer {4}\S/mu, `#${i} answers`)
        assert.notMatch(text.out, /^answer {4}\(none\)$/mu)
        assert.match(text.out, /^exhausted yes/mu, `#${i} says it was exhausted`)
        const json = JSON.parse((yield* cli([...argv, "--json"])).out) as JsonRun
        assert.isDefined(json.answer)
        assert.isTrue(json.exhausted)
        assert.strictEqual(json.usage.sequences, 40)
      }
    })
  )
})

describe("token budgets spend like a server", () => {
  it.effect("best-of-16 under 1.2 × the output tokens its samples use unconstrained pays for all 16", () =>
    Effect.gen(function* () {
      const loaded = yield* Loader.load("best-of-n")
      for (const problem of MATH500.slice(0, 10)) {
        const free = yield* run(loaded, problem, { params: { N: 16 }, seed: 3 })
        const limit = Math.floor(1.2 * free.usage.outputTokens)
        const bound = yield* run(loaded, problem, { params: { N: 16 }, seed: 3, limits: { outputTokens: limit } })
        assert.isAtMost(bound.usage.outputTokens, limit)
        assert.strictEqual(bound.usage.sequences, 16, `${problem.id}: all 16 samples`)
        assert.deepStrictEqual(
          bound.population.map((c) => [c.id, c.done, c.answer, c.cut]),
          free.population.map((c) => [c.id, c.done, c.answer, c.cut]),
          `${problem.id}: the same 16 complete samples as unconstrained`
        )
        assert.strictEqual(bound.answer, free.answer)
      }
    }).pipe(Effect.provide(simulated))
  )
})

describe("partial grants in tokens are marked", () => {
  it.effect("a sample cut short by the budget is `cut`, not done, in the result and in its event", () =>
    Effect.gen(function* () {
      const loaded = yield* Loader.load("majority")
      const problem = MATH500[1]
      if (problem === undefined) return assert.fail("MATH-500 #1")
      const events: Array<RunEvents.RunEvent> = []
      const r = yield* run(loaded, problem, { params: { N: 4 }, limits: { outputTokens: 300 } }).pipe(
        Effect.provideService(
          RunEvents.RunEvents,
          RunEvents.RunEvents.of({
            enabled: true,
            publish: (e) => Effect.sync(() => void events.push(e)),
            subscribe: Effect.succeed(Stream.empty)
          })
        )
      )
      assert.isTrue(r.exhausted)
      assert.strictEqual(r.usage.outputTokens, 300)
      const cut = r.population.filter((c) => c.cut === true)
      assert.isAbove(cut.length, 0)
      for (const c of cut) {
        assert.isFalse(c.done)
        assert.isUndefined(c.answer)
      }
      const created = events.filter((e) => e._tag === "CandidateCreated" && e.cut === true)
      assert.strictEqual(created.length, cut.length)
    }).pipe(Effect.provide(simulated))
  )
})

describe("usd budgets", () => {
  it.effect("with prices set, usd binds on the CLI; with none, exit 2 naming the meter and the flags", () =>
    Effect.gen(function* () {
      const argv = ["run", "best-of-n", "--param", "N=64", "--problem", "math500:#7", "--json"]
      const free = JSON.parse((yield* cli([...argv, ...PRICES])).out) as JsonRun
      const limit = free.usage.usd / 4
      const bound = yield* cli([...argv, ...PRICES, "--budget", `usd=${limit}`])
      assert.strictEqual(bound.code, undefined, bound.err)
      const r = JSON.parse(bound.out) as JsonRun
      assert.isTrue(r.exhausted)
      assert.isAtMost(r.usage.usd, limit)
      assert.isAbove(r.usage.usd, limit * 0.5, "most of the budget is spent")
      assert.isDefined(r.answer)
      // prices in the backend configuration do as well as flags
      const config = NodePath.join(dir, "priced-sim.json")
      yield* Effect.promise(() =>
        writeFile(config, JSON.stringify({ prices: { input: 0.5, output: 2, verifier: 0.1 } }))
      )
      const configured = yield* cli([...argv, "--backend-config", config, "--budget", `usd=${limit}`])
      assert.strictEqual(configured.code, undefined, configured.err)
      assert.deepStrictEqual((JSON.parse(configured.out) as JsonRun).usage, r.usage)
      const unpriced = yield* cli([...argv, "--budget", `usd=${limit}`])
      assert.strictEqual(unpriced.code, 2)
      assert.include(unpriced.err, "limits.usd: cannot be enforced: no USD price is set")
      assert.include(unpriced.err, "--price-input")
      assert.include(unpriced.err, "--price-output")
    })
  )

  it.effect("with prices in the sweep file, usd binds in every run of a sweep; without, the sweep exits 2", () =>
    Effect.gen(function* () {
      const sweep = (name: string, prices: boolean) => ({
        name,
        dataset: { name: "math500", limit: 3 },
        backend: { name: "simulated" },
        strategies: [{ label: "bon", graph: "best-of-n", params: { N: "B" } }],
        budgets: [32],
        seeds: [0],
        limits: { usd: 0.02 },
        ...(prices ? { prices: { input: 0.5, output: 2, verifier: 0.1 } } : {})
      })
      const file = NodePath.join(dir, "usd.json")
      yield* Effect.promise(() => writeFile(file, JSON.stringify(sweep("usd", true))))
      const db = NodePath.join(dir, "usd.db")
      const ran = yield* cli(["eval", "--sweep", file, "--store", db, "--workers", "1"])
      assert.strictEqual(ran.code, undefined, ran.err)
      const records = yield* Effect.gen(function* () {
        const store = yield* Store.Store
        return yield* store.runs("usd")
      }).pipe(Effect.provide(Store.layer(db)))
      assert.strictEqual(records.length, 3)
      for (const rec of records) {
        assert.isTrue(rec.exhausted, `${rec.problemId} exhausted`)
        assert.isAtMost(rec.usage.usd, 0.02)
        assert.isDefined(rec.answer)
      }
      const bare = NodePath.join(dir, "bare.json")
      yield* Effect.promise(() => writeFile(bare, JSON.stringify(sweep("bare", false))))
      const refused = yield* cli(["eval", "--sweep", bare, "--store", NodePath.join(dir, "bare.db"), "--workers", "1"])
      assert.strictEqual(refused.code, 2)
      assert.include(refused.err, "limits.usd: cannot be enforced: no USD price is set")
    })
  )

  describe("through mull serve", () => {
    let priced: Started
    let bare: Started
    beforeAll(async () => {
      priced = await start({ prices: { input: 0.5, output: 2, verifier: 0.1 } }, { planner: simulatedServer() })
      bare = await start({})
    })
    afterAll(async () => {
      await priced.close()
      await bare.close()
    })

    it("usd binds with the server's prices; without prices the request is refused naming the meter", async () => {
      const res = await post(
        `${priced.url}/v1/chat/completions`,
        chat("mull/best-of-n", "What is $6 \\cdot 7$?", { params: { N: 64 }, budget: { usd: 0.02 } })
      )
      assert.strictEqual(res.status, 200)
      const body = (await res.json()) as {
        mull: { exhausted: boolean; usage: Usage.Usage; answers: ReadonlyArray<string | null> }
      }
      assert.isTrue(body.mull.exhausted)
      assert.isAtMost(body.mull.usage.usd, 0.02)
      assert.isAbove(body.mull.usage.usd, 0)
      assert.isNotNull(body.mull.answers[0] ?? null)
      const refused = await post(
        `${bare.url}/v1/chat/completions`,
        chat("mull/best-of-n", "What is $6 \\cdot 7$?", { budget: { usd: 0.02 } })
      )
      assert.strictEqual(refused.status, 400)
      assert.include(JSON.stringify(await refused.json()), "limits.usd: cannot be enforced: no USD price is set")
    })

    it("n choices each pay from an equal share: the same result however they are scheduled", async () => {
      const ask = () =>
        post(
          `${priced.url}/v1/chat/completions`,
          chat(
            "mull/best-of-n",
            "What is $6 \\cdot 7$?",
            { params: { N: 16 }, budget: { sequences: 8 }, seed: 5 },
            { n: 2 }
          )
        ).then(
          (r) =>
            r.json() as Promise<{
              mull: { usage: Usage.Usage; ledger: ReadonlyArray<unknown>; answers: ReadonlyArray<unknown> }
            }>
        )
      const a = await ask()
      const b = await ask()
      // 4 samples each: half of the 8, whatever order the two runs go in
      assert.strictEqual(a.mull.usage.sequences, 8)
      assert.deepStrictEqual({ ...b.mull.usage, wallMs: 0 }, { ...a.mull.usage, wallMs: 0 })
      assert.deepStrictEqual(b.mull.answers, a.mull.answers)
    })

    it("the cost route gives the plan: worst case, under the budget, answer minimum, expected spend", async () => {
      const res = await post(`${priced.url}/v1/graphs/cost`, {
        graph: "beam-search",
        params: { N: 16 },
        budget: { sequences: 200 }
      })
      assert.strictEqual(res.status, 200)
      const plan = (await res.json()) as {
        worst: Record<string, number | null>
        underBudget: Record<string, number | null>
        answerMinimum: Record<string, number | null>
        expected: { runs: number; mean: Record<string, number>; sd: Record<string, number> }
        binds: string
      }
      assert.isAtMost(plan.underBudget.sequences ?? Number.POSITIVE_INFINITY, 200)
      assert.strictEqual(plan.answerMinimum.sequences, 2)
      assert.isAbove(plan.expected.runs, 0)
      assert.isAbove(plan.expected.mean.sequences ?? 0, 16)
      assert.isString(plan.binds)
    })
  })
})

describe("planning", () => {
  it.effect(
    "mull cost beam-search N = 16 under 200 sequences: no sequences bound above 200, expected spend within ±30% of 50 MATH-500 runs",
    () =>
      Effect.gen(function* () {
        const text = yield* cli(["cost", "beam-search", "--param", "N=16", "--budget", "sequences=200"])
        assert.strictEqual(text.code, undefined, text.err)
        const row = text.out.split("\n").find((l) => l.startsWith("sequences "))
        const [, bound, limit] = (row ?? "").trim().split(/\s{2,}/u)
        assert.strictEqual(limit, "200")
        assert.isAtMost(Number(bound), 200, "the worst case under the budget")
        // no other sequences figure in the row is above the limit either
        for (const cell of (row ?? "")
          .trim()
          .split(/\s{2,}/u)
          .slice(1, 4))
          assert.isAtMost(Number(cell.replaceAll(",", "")), 200, `sequences row: ${row}`)
        assert.match(text.out, /^binds first: /mu)
        const plan = JSON.parse(
          (yield* cli(["cost", "beam-search", "--param", "N=16", "--budget", "sequences=200", "--json"])).out
        ) as {
          underBudget: Record<string, number | null>
          expected: { mean: Record<string, number> }
        }
        assert.isAtMost(plan.underBudget.sequences ?? Number.POSITIVE_INFINITY, 200)
        const loaded = yield* Loader.load("beam-search")
        const runs = yield* Effect.forEach(MATH500.slice(0, 50), (p) =>
          run(loaded, p, { params: { N: 16 }, limits: { sequences: 200 } })
        )
        const errors: Array<string> = []
        for (const m of [
          "calls",
          "sequences",
          "inputTokens",
          "outputTokens",
          "verifierCalls",
          "verifierTokens"
        ] as const) {
          const actual = runs.reduce((a, r) => a + r.usage[m], 0) / runs.length
          const expected = plan.expected.mean[m] ?? Number.NaN
          const error = expected / actual - 1
          errors.push(`${m} ${(error * 100).toFixed(1)}%`)
          assert.isAtMost(Math.abs(error), 0.3, `${m}: expected ${expected}, mean of 50 runs ${actual}`)
        }
        console.log(`mull cost's expected spend vs the mean of 50 MATH-500 runs: ${errors.join(", ")}`)
      }).pipe(Effect.provide(simulated)),
    120_000
  )
})
