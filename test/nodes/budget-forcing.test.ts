/**
 * The `budget-forcing` node (s1) on the simulated backend, with the requests the backend saw
 * recorded: an end of thinking before `minThinking` is suppressed with "Wait" at most `waits`
 * times; at `maxThinking` the end is forced and the sample answers; thinking tokens are counted in
 * both meters; a `thinkingTokens` limit caps the thinking; the same at concurrency 1 and 16; bad
 * documents are refused naming the field; a backend without `thinking` is refused naming the node.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import * as Simulated from "../../plugins/simulated/index.ts"
import { medianThinking, segmentTokens, thinkingAccuracy } from "../../plugins/simulated/Think.ts"
import { makeWorld } from "../../plugins/simulated/World.ts"
import * as MathGrader from "../../src/answer/MathGrader.ts"
import type * as Limits from "../../src/budget/Limits.ts"
import type { RunResult } from "../../src/domain/RunResult.ts"
import * as Loader from "../../src/graph/Loader.ts"
import { afterThinking } from "../../src/nodes/budgetForcing.ts"
import { run } from "../../src/runtime/Run.ts"
import { layerSilent } from "../../src/runtime/RunEvents.ts"
import type { Capability } from "../../src/services/Capability.ts"
import { type GenerateRequest, Generator } from "../../src/services/Generator.ts"

const PROBLEMS = [
  { id: "bf/easy", question: "What is $1+1$?", gold: "2", meta: { level: 1, index: 1 } },
  { id: "bf/mid", question: "Find $x$ if $3x = 14$.", gold: "\\frac{14}{3}", meta: { level: 3, index: 2 } },
  { id: "bf/hard", question: "Give $n$.", gold: "7", meta: { level: 5, index: 3 } }
]

const graph = (fields: Record<string, unknown>) => ({
  name: "bf",
  description: "bf",
  root: {
    type: "sequence",
    nodes: [
      { type: "budget-forcing", ...fields },
      { type: "select", method: "majority" }
    ]
  }
})

/** Runs a document on the simulated backend, recording every request the generator saw. */
const runRecorded = (
  doc: object,
  problem: (typeof PROBLEMS)[number],
  options: { readonly concurrency?: number; readonly limits?: Limits.Limits; readonly drop?: Capability } = {}
) =>
  Effect.gen(function* () {
    const seen: Array<GenerateRequest> = []
    const loaded = yield* Loader.fromJson(doc)
    const base = yield* Generator
    const generator = {
      ...base,
      capabilities: new Set([...base.capabilities].filter((c) => c !== options.drop)),
      generate: (r: GenerateRequest) => {
        seen.push(r)
        return base.generate(r)
      }
    }
    const result = yield* run(loaded, problem, {
      seed: 3,
      ...(options.concurrency === undefined ? {} : { concurrency: options.concurrency }),
      ...(options.limits === undefined ? {} : { limits: options.limits })
    }).pipe(Effect.provideService(Generator, generator))
    return { result, seen }
  }).pipe(Effect.provide(Layer.mergeAll(Simulated.layer({}), MathGrader.layer, layerSilent)), Effect.runPromise)

const waitsIn = (text: string) => text.split("Wait").length - 1

describe("budget-forcing: the rule after a think phase (pure)", () => {
  const rule = { maxThinking: 100, minThinking: 50, waits: 1, wait: "Wait" }
  const start = { text: "", tokens: 0, waits: 0 }
  it("a natural end before minThinking is suppressed with the wait word, at most `waits` times", () => {
    const once = afterThinking(start, { thinking: "x = 2.", outputTokens: 10, finishReason: "end" }, false, rule)
    assert.deepStrictEqual(once, { _tag: "think", thinking: { text: "x = 2.\nWait", tokens: 10, waits: 1 } })
    const twice = afterThinking(once.thinking, { thinking: ", no.", outputTokens: 5, finishReason: "end" }, false, rule)
    assert.deepStrictEqual(twice, {
      _tag: "answer",
      thinking: { text: "x = 2.\nWait, no.", tokens: 15, waits: 1 },
      forced: false
    })
  })
  it("the cap (or a budget cut) forces the end; a natural end past minThinking answers", () => {
    const capped = afterThinking(start, { thinking: "long", outputTokens: 100, finishReason: "length" }, false, rule)
    assert.deepStrictEqual(capped, { _tag: "answer", thinking: { text: "long", tokens: 100, waits: 0 }, forced: true })
    const cut = afterThinking(start, { thinking: "cut", outputTokens: 20, finishReason: "end" }, true, rule)
    assert.strictEqual(cut._tag === "answer" && cut.forced, true)
    const enough = afterThinking(start, { thinking: "done", outputTokens: 60, finishReason: "end" }, false, rule)
    assert.deepStrictEqual(enough, { _tag: "answer", thinking: { text: "done", tokens: 60, waits: 0 }, forced: false })
  })
})

describe("budget-forcing on the simulated backend", () => {
  it("extends with Wait (counted in the requests), forces the end at the cap, counts thinking in both meters", async () => {
    const N = 4
    let waited = 0
    let forced = 0
    for (const problem of PROBLEMS) {
      // the cap is above what every sample thinks by itself, minThinking above it too: each natural
      // end is suppressed until the waits run out or the cap is reached
      const { result, seen } = await runRecorded(
        graph({ n: N, maxThinking: 5000, minThinking: 4000, waits: 2 }),
        problem
      )
      const thinks = seen.filter((r) => r.think?.phase === "think")
      const answers = seen.filter((r) => r.think?.phase === "answer")
      assert.strictEqual(answers.length, N, problem.id)
      assert.strictEqual(thinks[0]?.n, N, "the first think phase is one call of every sample")
      for (const r of seen) {
        const t = r.think
        assert.isDefined(t)
        if (t === undefined) continue
        // the waits a request carries are the ones the runtime appended, never more than allowed
        assert.strictEqual(waitsIn(t.text), t.waits)
        assert.isAtMost(t.waits, 2)
        assert.isAtMost(t.tokens, 5000)
        if (t.phase === "think") assert.strictEqual(r.maxTokens, Math.min(4096, 5000 - t.tokens))
      }
      for (const a of answers) {
        const t = a.think
        if (t === undefined) continue
        waited += t.waits
        // an answer before 4000 tokens comes only after both waits were used
        if (t.tokens < 4000) assert.strictEqual(t.waits, 2, `${problem.id}: answered early with waits left`)
        if (t.tokens >= 5000) forced++
      }
      // meters: every think phase's tokens are thinking and output tokens
      const thinking = answers.reduce((a, r) => a + (r.think?.tokens ?? 0), 0)
      assert.strictEqual(result.usage.thinkingTokens, thinking)
      const answerTokens = result.population.reduce((a, c) => a + (c.steps?.tokens ?? 0), 0)
      assert.strictEqual(result.usage.outputTokens, thinking + answerTokens)
      assert.strictEqual(result.usage.calls, seen.length)
      assert.strictEqual(result.population.length, N)
    }
    assert.isAbove(waited, 0, "some end of thinking was suppressed")
    assert.isAbove(forced, 0, "some thinking was forced to end at the cap")
  })

  it("a low cap forces every end: one think phase and an answer per sample, thinking = the cap", async () => {
    const { result, seen } = await runRecorded(graph({ n: 3, maxThinking: 64 }), PROBLEMS[1] ?? PROBLEMS[0])
    assert.deepStrictEqual(
      seen.map((r) => [r.think?.phase, r.n, r.maxTokens]),
      [
        ["think", 3, 64],
        ["answer", 1, 4096],
        ["answer", 1, 4096],
        ["answer", 1, 4096]
      ]
    )
    assert.strictEqual(result.usage.thinkingTokens, 3 * 64)
  })

  it("a thinkingTokens limit caps the thinking (and refuses what it cannot pay)", async () => {
    const problem = PROBLEMS[2] ?? PROBLEMS[0]
    const free = await runRecorded(graph({ n: 4, maxThinking: 3000 }), problem)
    assert.isAbove(free.result.usage.thinkingTokens, 2000)
    const limited = await runRecorded(graph({ n: 4, maxThinking: 3000 }), problem, {
      limits: { thinkingTokens: 2000 }
    })
    assert.isAtMost(limited.result.usage.thinkingTokens, 2000)
    assert.isTrue(limited.result.exhausted)
    // the limit caps the thinking, not the samples: a sample the limit stops answers with what it has
    assert.strictEqual(limited.result.population.length, 4)
    assert.isTrue(limited.result.population.every((c) => c.done))
    const none = await runRecorded(graph({ n: 4, maxThinking: 3000 }), problem, { limits: { thinkingTokens: 0 } }).then(
      () => "ran",
      (e: unknown) => String(e)
    )
    assert.match(none, /thinkingTokens/u)
  })

  it("the same at concurrency 1 and 16", async () => {
    const doc = graph({ n: 6, maxThinking: 3000, minThinking: 2500, waits: 3 })
    for (const problem of PROBLEMS) {
      for (const limits of [{}, { outputTokens: 9000 }]) {
        const a = await runRecorded(doc, problem, { concurrency: 1, limits })
        const b = await runRecorded(doc, problem, { concurrency: 16, limits })
        const view = (r: RunResult) => ({
          answer: r.answer,
          ids: r.population.map((c) => c.id),
          answers: r.population.map((c) => c.answer),
          usage: { ...r.usage, wallMs: 0 }
        })
        assert.deepStrictEqual(view(b.result), view(a.result), problem.id)
      }
    }
  })

  it("bad documents are refused naming the field; a backend without thinking is refused naming the node", async () => {
    const problem = PROBLEMS[0] ?? { id: "x", question: "x", gold: "1", meta: {} }
    const message = (doc: object, drop?: Capability) =>
      runRecorded(doc, problem, drop === undefined ? {} : { drop }).then(
        () => "ran",
        (e: unknown) => String(e)
      )
    assert.match(await message(graph({ n: 2 })), /root\.nodes\.0\.maxThinking/u)
    assert.match(await message(graph({ n: 2, maxThinking: 0 })), /root\.nodes\.0\.maxThinking/u)
    assert.match(await message(graph({ n: 2, maxThinking: 10, waits: 1000 })), /root\.nodes\.0\.waits/u)
    assert.match(await message(graph({ n: 2, maxThinking: 10, minThinking: -1 })), /root\.nodes\.0\.minThinking/u)
    assert.match(await message(graph({ n: 2, maxThinking: 10, wait: "" })), /root\.nodes\.0\.wait/u)
    assert.match(await message(graph({ n: 2, maxThinking: 10 }), "thinking"), /root\.nodes\.0.*thinking/u)
  })
})

describe("the simulator's thinking model", () => {
  it("segments are drawn around the median; accuracy is log-linear in thinking, then flat; s at no thinking", async () => {
    const config = await Effect.runPromise(Simulated.decodeConfig({}))
    const world = makeWorld(config, { id: "w", question: "q", gold: "1", meta: { level: 3, index: 9 } })
    const m = medianThinking(world)
    const draws = Array.from({ length: 400 }, (_, i) => segmentTokens(world, 17, i, 0)).sort((a, b) => a - b)
    const median = draws[200] ?? 0
    assert.isAbove(median, 0.8 * m)
    assert.isBelow(median, 1.25 * m)
    assert.strictEqual(thinkingAccuracy(world, 0), world.s)
    const logit = (p: number) => Math.log(p / (1 - p))
    // one doubling well above the unit adds about 0.3 logits; past twice the median nothing
    const gain = logit(thinkingAccuracy(world, m)) - logit(thinkingAccuracy(world, m / 2))
    assert.isAbove(gain, 0.2)
    assert.isBelow(gain, 0.31)
    assert.strictEqual(thinkingAccuracy(world, 2 * m), thinkingAccuracy(world, 10 * m))
  })
})
