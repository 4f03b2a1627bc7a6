/**
 * The generation cache is prefix-aware: a request for n samples takes the cached ones and
 * generates only the rest, whatever order budgets run in. Budgets run ascending and descending
 * give the same samples and answers, the backend makes max-budget samples per problem either way,
 * and a sample is the same whether it was cached or generated.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, ManagedRuntime } from "effect"
import * as Simulated from "../../plugins/simulated/index.ts"
import * as MathGrader from "../../src/answer/MathGrader.ts"
import * as Candidate from "../../src/domain/Candidate.ts"
import type { Problem } from "../../src/domain/Problem.ts"
import { type CacheStats, cachedGenerator, cachedVerifier, memoryStore } from "../../src/eval/Cache.ts"
import * as Loader from "../../src/graph/Loader.ts"
import { run } from "../../src/runtime/Run.ts"
import * as RunEvents from "../../src/runtime/RunEvents.ts"
import { type GenerateRequest, Generator, type GeneratorShape } from "../../src/services/Generator.ts"
import { Verifier } from "../../src/services/Verifier.ts"

const runtime = ManagedRuntime.make(Layer.mergeAll(Simulated.layer(), MathGrader.layer, RunEvents.layerSilent))

const PROBLEMS: ReadonlyArray<Problem> = [
  { id: "cache/easy", question: "What is $1+1$?", gold: "2", meta: { level: 1, index: 3 } },
  { id: "cache/hard", question: "Give $n$.", gold: "7", meta: { level: 5, index: 11 } }
]
const BUDGETS = [4, 8, 16, 32, 64, 128, 256]

/** The simulator's generator, counting the samples it really generates. */
const counting = (inner: GeneratorShape, asked: Array<GenerateRequest>): GeneratorShape => ({
  ...inner,
  generate: (request) =>
    Effect.suspend(() => {
      asked.push(request)
      return inner.generate(request)
    })
})

/** Best-of-N at each budget (in the order given) on each problem, sharing one cache per problem. */
const sweep = (budgets: ReadonlyArray<number>) =>
  runtime.runPromise(
    Effect.gen(function* () {
      const loaded = yield* Loader.load("best-of-n")
      const generator = yield* Generator
      const verifier = yield* Verifier
      const stats: CacheStats = { hits: 0, misses: 0 }
      const out: Array<{ problem: string; budget: number; answer: string; samples: string; sequences: number }> = []
      const backend = new Map<string, number>()
      for (const problem of PROBLEMS) {
        const asked: Array<GenerateRequest> = []
        const store = memoryStore()
        const gen = cachedGenerator(counting(generator, asked), store, stats)
        const ver = cachedVerifier(verifier, store, stats)
        for (const N of budgets) {
          const result = yield* run(loaded, problem, { params: { N }, seed: 5 }).pipe(
            Effect.provideService(Generator, gen),
            Effect.provideService(Verifier, ver)
          )
          out.push({
            problem: problem.id,
            budget: N,
            answer: result.answer ?? "-",
            samples: result.population.map((c) => `${c.answer ?? "-"}|${c.score}|${Candidate.text(c)}`).join("\n"),
            sequences: result.usage.sequences
          })
        }
        backend.set(
          problem.id,
          asked.reduce((s, r) => s + r.n, 0)
        )
      }
      out.sort((a, b) => a.problem.localeCompare(b.problem) || a.budget - b.budget)
      return { out, backend, stats }
    })
  )

describe("prefix-aware generation cache", () => {
  it("ascending and descending budgets: the same samples and answers, max-budget backend samples per problem", async () => {
    const up = await sweep(BUDGETS)
    const down = await sweep([...BUDGETS].reverse())
    assert.deepStrictEqual(up.out, down.out)
    // each budget's logical usage is its own N, hit or not
    for (const r of up.out) assert.strictEqual(r.sequences, r.budget)
    for (const p of PROBLEMS) {
      assert.strictEqual(up.backend.get(p.id), 256, `ascending ${p.id}`)
      assert.strictEqual(down.backend.get(p.id), 256, `descending ${p.id}`)
    }
    const requested = PROBLEMS.length * BUDGETS.reduce((a, b) => a + b, 0)
    // generator samples: hits + misses; misses are exactly what the backend generated
    for (const s of [up.stats, down.stats]) assert.isAtLeast(s.hits, requested - 256 * PROBLEMS.length)
  })

  it("a sample is the same cached or generated: each budget equals its run without a cache", async () => {
    const up = await sweep(BUDGETS)
    const alone = await Promise.all(BUDGETS.map((N) => sweep([N])))
    assert.deepStrictEqual(
      up.out,
      alone.flatMap((a) => a.out).sort((a, b) => a.problem.localeCompare(b.problem) || a.budget - b.budget)
    )
  })

  it("generates only the missing span, from its index, and counts hits and misses", async () => {
    const stats: CacheStats = { hits: 0, misses: 0 }
    const asked: Array<GenerateRequest> = []
    const generator = await runtime.runPromise(Effect.service(Generator))
    const gen = cachedGenerator(counting(generator, asked), memoryStore(), stats)
    const problem = PROBLEMS[0] as Problem
    const request = (n: number, index?: number): GenerateRequest => ({
      problem,
      prefix: undefined,
      n,
      until: "end",
      temperature: 0.8,
      maxTokens: 4096,
      seed: 42n,
      ...(index === undefined ? {} : { index })
    })
    const whole = await runtime.runPromise(generator.generate(request(8)))
    const four = await runtime.runPromise(gen.generate(request(4)))
    assert.deepStrictEqual(
      asked.map((r) => [r.n, r.index ?? 0]),
      [[4, 0]]
    )
    const eight = await runtime.runPromise(gen.generate(request(8)))
    assert.deepStrictEqual(
      asked.map((r) => [r.n, r.index ?? 0]),
      [
        [4, 0],
        [4, 4]
      ]
    )
    assert.deepStrictEqual(eight.generations, whole.generations)
    assert.deepStrictEqual(four.generations, whole.generations.slice(0, 4))
    assert.deepStrictEqual(eight.spent, {
      calls: 1,
      sequences: 4,
      inputTokens: whole.inputTokens,
      outputTokens: whole.generations.slice(4).reduce((s, g) => s + g.outputTokens, 0)
    })
    assert.deepStrictEqual(stats, { hits: 4, misses: 8 })
    // a request from index 2 is answered from the cache: continuations 2…7 of the same seed
    const tail = await runtime.runPromise(gen.generate(request(6, 2)))
    assert.strictEqual(asked.length, 2)
    assert.deepStrictEqual(tail.generations, whole.generations.slice(2))
    assert.deepStrictEqual(tail.spent, { calls: 0, sequences: 0, inputTokens: 0, outputTokens: 0 })
    assert.deepStrictEqual(stats, { hits: 10, misses: 8 })
  })
})
