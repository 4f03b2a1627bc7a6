/**
 * The sweep's generation cache answers a request with the continuations it asks for: continuation
 * `index + i` of the seed (a wave of samples, a call paid in parts), never continuation i; a
 * request for token log-probabilities or with DeepConf online's stopping rule is not answered with
 * a plain generation.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { makeProblem } from "../../src/domain/Problem.ts"
import { cachedGenerator, memoryStore } from "../../src/eval/Cache.ts"
import type { GenerateRequest, Generation, GeneratorShape } from "../../src/services/Generator.ts"

const asked: Array<GenerateRequest> = []
/** a generator whose continuation k says "k" (and whether confidences or a stop were asked) */
const inner: GeneratorShape = {
  backend: "fake",
  model: "m",
  params: 1,
  capabilities: new Set(),
  concurrency: 1,
  maxTokens: 100,
  stepDelimiter: "\n\n",
  promptTokens: () => 3,
  generate: (request) =>
    Effect.sync(() => {
      asked.push(request)
      const generations = Array.from(
        { length: request.n },
        (_, i): Generation => ({
          steps: [
            {
              text: `${(request.index ?? 0) + i}${request.logprobs === undefined ? "" : "+lp"}${request.stopBelow === undefined ? "" : "+stop"}`,
              tokens: 1
            }
          ],
          done: true,
          answer: String((request.index ?? 0) + i),
          outputTokens: 1,
          finishReason: "end"
        })
      )
      return { generations, inputTokens: 3 }
    })
}

const request = (fields: Partial<GenerateRequest>): GenerateRequest => ({
  problem: makeProblem({ id: "p", question: "q" }),
  prefix: undefined,
  n: 1,
  until: "end",
  temperature: 0.8,
  maxTokens: 100,
  seed: 9n,
  ...fields
})
const texts = (gs: ReadonlyArray<Generation>) => gs.map((g) => g.steps[0]?.text)

describe("generation cache", () => {
  it.effect("continuation index + i, whichever call asked for it", () =>
    Effect.gen(function* () {
      asked.length = 0
      const stats = { hits: 0, misses: 0 }
      const gen = cachedGenerator(inner, memoryStore(), stats)
      assert.deepStrictEqual(texts((yield* gen.generate(request({ n: 3 }))).generations), ["0", "1", "2"])
      // a wave asking for continuation 1 alone gets continuation 1, from the cache
      assert.deepStrictEqual(texts((yield* gen.generate(request({ index: 1 }))).generations), ["1"])
      assert.deepStrictEqual(texts((yield* gen.generate(request({ n: 2, index: 1 }))).generations), ["1", "2"])
      assert.strictEqual(asked.length, 1)
      // continuation 3 was never generated: a miss, then a hit
      assert.deepStrictEqual(texts((yield* gen.generate(request({ index: 3 }))).generations), ["3"])
      assert.deepStrictEqual(texts((yield* gen.generate(request({ index: 3 }))).generations), ["3"])
      assert.strictEqual(asked.length, 2)
      assert.deepStrictEqual(stats, { hits: 4, misses: 4 })
    })
  )

  it.effect("log-probabilities and DeepConf online's rule are part of the key", () =>
    Effect.gen(function* () {
      asked.length = 0
      const gen = cachedGenerator(inner, memoryStore(), { hits: 0, misses: 0 })
      yield* gen.generate(request({ n: 2 }))
      assert.deepStrictEqual(texts((yield* gen.generate(request({ n: 2, logprobs: 5 }))).generations), ["0+lp", "1+lp"])
      const stop = { window: 8, threshold: 2 }
      assert.deepStrictEqual(
        texts((yield* gen.generate(request({ index: 1, logprobs: 5, stopBelow: stop }))).generations),
        ["1+lp+stop"]
      )
      assert.deepStrictEqual(
        texts(
          (yield* gen.generate(request({ index: 1, logprobs: 5, stopBelow: { ...stop, threshold: 3 } }))).generations
        ),
        ["1+lp+stop"]
      )
      assert.strictEqual(asked.length, 4)
      // and each is answered from the cache the second time
      yield* gen.generate(request({ index: 1, logprobs: 5, stopBelow: stop }))
      assert.strictEqual(asked.length, 4)
    })
  )

  it.effect("a verification's style, verdict mode and checked solution are part of the key", () =>
    Effect.gen(function* () {
      asked.length = 0
      const gen = cachedGenerator(inner, memoryStore(), { hits: 0, misses: 0 })
      const think = { style: "think" as const, steps: ["a", "b"] }
      yield* gen.generate(request({ verify: think }))
      yield* gen.generate(request({ verify: think }))
      assert.strictEqual(asked.length, 1, "the same verification is a hit")
      yield* gen.generate(request({ verify: { ...think, style: "judge" } }))
      yield* gen.generate(request({ verify: { ...think, verdict: "probability" } }))
      yield* gen.generate(request({ verify: { ...think, steps: ["a", "c"] } }))
      // a plain generation with the same seed is not a verification
      yield* gen.generate(request({}))
      assert.strictEqual(asked.length, 5)
    })
  )
})
