/** Seeded sampling without replacement, generations from recorded responses, and recorded rewards. */
import { describe, expect, it, layer } from "@effect/vitest"
import { Effect } from "effect"
import fc from "fast-check"
import {
  approximateTokens,
  draw,
  isReplayLatent,
  loadQwenPool,
  permutation,
  layer as replayLayer,
  sigmoid,
  toGeneration,
  truncateTokens
} from "../../plugins/replay/index.ts"
import * as Candidate from "../../src/domain/Candidate.ts"
import type { Problem } from "../../src/domain/Problem.ts"
import * as Steps from "../../src/domain/Steps.ts"
import { Generator } from "../../src/services/Generator.ts"
import { Verifier } from "../../src/services/Verifier.ts"
import { candidateOf, failureOf, request } from "./helpers.ts"

const seeds = fc.bigInt({ min: 0n, max: (1n << 64n) - 1n })

describe("the seeded order (pure)", () => {
  it("is a permutation; the first k of n draws are the same for every n below the pool size", () => {
    fc.assert(
      fc.property(seeds, fc.integer({ min: 1, max: 64 }), fc.string(), (seed, size, id) => {
        const perm = permutation(id, seed, size)
        expect([...perm].sort((a, b) => a - b)).toEqual(Array.from({ length: size }, (_, i) => i))
        for (let n = 0; n < size; n++) expect(draw(id, seed, size, n)).toEqual(perm.slice(0, n))
        expect(draw(id, seed, size, size)).toEqual(Array.from({ length: size }, (_, i) => i))
      })
    )
  })

  it("same seed ⇒ same order; different seeds or problems ⇒ different orders (almost always)", () => {
    const orders = new Set<string>()
    for (let s = 0n; s < 200n; s++) orders.add(permutation("qwen-pool/7", s, 8).join(","))
    expect(permutation("qwen-pool/7", 5n, 8)).toEqual(permutation("qwen-pool/7", 5n, 8))
    // 200 draws from 8! = 40320 orders: collisions are possible but rare
    expect(orders.size).toBeGreaterThan(190)
    expect(permutation("qwen-pool/7", 5n, 8)).not.toEqual(permutation("qwen-pool/8", 5n, 8))
  })

  it("first draws are uniform over the pool", () => {
    const counts = new Array<number>(8).fill(0)
    for (let s = 0n; s < 8000n; s++) {
      const first = draw("qwen-pool/1", s, 8, 1)[0] ?? -1
      counts[first] = (counts[first] ?? 0) + 1
    }
    for (const c of counts) expect(Math.abs(c - 1000)).toBeLessThan(130)
  })
})

describe("approximate tokens", () => {
  it("counts words, digit groups, LaTeX commands and punctuation; truncation keeps a prefix", () => {
    expect(approximateTokens("Step 1: let $x = 12345$.")).toBe(11)
    expect(approximateTokens("")).toBe(0)
    expect(truncateTokens("one two three", 2)).toBe("one two")
    fc.assert(
      fc.property(fc.string(), fc.nat(40), (text, k) => {
        const cut = truncateTokens(text, k)
        expect(text.startsWith(cut)).toBe(true)
        expect(approximateTokens(cut)).toBeLessThanOrEqual(Math.max(k, 0))
      })
    )
  })
})

describe("recorded responses as generations (pure)", () => {
  const response = { text: "First.\n\nSecond step.\n\nSo \\boxed{7}.", answer: "7", reward: 1, correct: true }
  it("steps at the delimiter; text round-trips; tokens; answer; latent", () => {
    const g = toGeneration("p", 2, response, 4096)
    expect(g.steps.map((s) => s.text)).toEqual(["First.", "Second step.", "So \\boxed{7}."])
    expect(Steps.text(Steps.appendAll(undefined, g.steps))).toBe(response.text)
    expect(g.steps.map((s) => s.tokens)).toEqual([3, 4, 6])
    expect(g).toMatchObject({ done: true, answer: "7", outputTokens: 13, finishReason: "end" })
    expect(g.steps.every((s) => isReplayLatent(s.latent))).toBe(true)
    expect(g.steps[2]?.latent).toEqual({ _tag: "ReplayLatent", problemId: "p", index: 2, complete: true })
  })

  it("a response longer than maxTokens is cut: finishReason length, not done, no answer", () => {
    const g = toGeneration("p", 2, response, 5)
    expect(g.steps.map((s) => s.text)).toEqual(["First.", "Second step"])
    expect(g).toMatchObject({ done: false, outputTokens: 5, finishReason: "length" })
    expect(g.answer).toBeUndefined()
    expect(g.steps[1]?.latent).toEqual({ _tag: "ReplayLatent", problemId: "p", index: 2, complete: false })
  })
})

layer(replayLayer())("the replay backend on the Qwen pool", (it) => {
  const problemOf = (idx: number) => Effect.map(loadQwenPool(), (d) => d.problems[idx] as Problem)

  it.effect("declares seeded and nSampling only, no tokenizer; verifiers orm and prm", () =>
    Effect.gen(function* () {
      const gen = yield* Generator
      const ver = yield* Verifier
      expect([...gen.capabilities].sort()).toEqual(["nSampling", "seeded"])
      // no tokenizer, but the recording's own approximate counts are known before a call
      const problem = (yield* loadQwenPool()).problems[0]
      if (problem === undefined) throw new Error("the pool has problems")
      const request = {
        problem,
        prefix: undefined,
        n: 1,
        until: "end" as const,
        temperature: 0.8,
        maxTokens: 4096,
        seed: 1n
      }
      const done = yield* gen.generate(request)
      expect(gen.promptTokens?.(request)).toBe(done.inputTokens)
      expect(ver.inputTokens).toBeDefined()
      expect(ver.verifiers).toEqual(["orm", "prm"])
      expect([gen.backend, gen.model, ver.model]).toEqual(["replay", "replay:qwen-pool", "replay:qwen-pool:reward"])
    })
  )

  it.effect("n = 8 is the whole pool in recorded order, for any seed", () =>
    Effect.gen(function* () {
      const gen = yield* Generator
      const dataset = yield* loadQwenPool()
      for (const problem of dataset.problems.slice(0, 10)) {
        const pool = dataset.pools.get(problem.id)?.responses ?? []
        for (const seed of [0n, 1n, 123456789n]) {
          const { generations, inputTokens } = yield* gen.generate(request(problem, { n: 8, seed }))
          expect(generations.map((g) => Candidate.text(candidateOf("s", g)))).toEqual(pool.map((r) => r.text))
          expect(generations.map((g) => g.answer)).toEqual(pool.map((r) => r.answer))
          expect(generations.every((g) => g.done && g.finishReason === "end")).toBe(true)
          expect(inputTokens).toBe(approximateTokens(problem.question))
        }
      }
    })
  )

  it.effect("n < 8: no duplicates, the prefix property, same seed same draw, seeds differ", () =>
    Effect.gen(function* () {
      const gen = yield* Generator
      const problem = yield* problemOf(6)
      const indices = (n: number, seed: bigint) =>
        Effect.map(gen.generate(request(problem, { n, seed })), (r) =>
          r.generations.map((g) => {
            const latent = g.steps[0]?.latent
            return isReplayLatent(latent) ? latent.index : -1
          })
        )
      const orders = new Set<string>()
      for (let s = 0n; s < 32n; s++) {
        const seven = yield* indices(7, s)
        expect(new Set(seven).size).toBe(7)
        for (let k = 1; k < 7; k++) expect(yield* indices(k, s)).toEqual(seven.slice(0, k))
        expect(yield* indices(7, s)).toEqual(seven)
        orders.add(seven.join(","))
      }
      expect(orders.size).toBeGreaterThan(28)
    })
  )

  it.effect("n larger than the pool is an InvalidRequest naming the pool size; unknown problems too", () =>
    Effect.gen(function* () {
      const gen = yield* Generator
      const problem = yield* problemOf(0)
      const e = yield* failureOf(gen.generate(request(problem, { n: 9 })))
      expect(e.reason._tag).toBe("InvalidRequest")
      expect(e.message).toBe(
        "n = 9 is more than the 8 recorded responses of qwen-pool/0; replay draws without replacement, so n ≤ 8"
      )
      const stranger = { id: "math500:test/algebra/1.json", question: "?", meta: {} }
      const u = yield* failureOf(gen.generate(request(stranger)))
      expect(u.reason._tag).toBe("InvalidRequest")
      expect(u.message).toMatch(/^problem "math500:test\/algebra\/1\.json" is not in the recorded pool qwen-pool/u)
    })
  )

  it.effect("the verifier serves σ(recorded reward) for the last step, as orm and prm", () =>
    Effect.gen(function* () {
      const gen = yield* Generator
      const ver = yield* Verifier
      const dataset = yield* loadQwenPool()
      const problem = dataset.problems[17] as Problem
      const pool = dataset.pools.get(problem.id)?.responses ?? []
      const { generations } = yield* gen.generate(request(problem, { n: 8 }))
      const candidates = generations.map((g, i) => candidateOf(`s${i}`, g))
      for (const verifier of ["orm", "prm"]) {
        const { stepScores, inputTokens } = yield* ver.score({ problem, candidates, verifier })
        expect(stepScores).toEqual(pool.map((r) => [sigmoid(r.reward ?? Number.NaN)]))
        expect(inputTokens).toBeGreaterThan(0)
      }
      const bad = yield* failureOf(ver.score({ problem, candidates, verifier: "judge" }))
      expect(bad.message).toBe('verifier: expected one of orm, prm, got "judge"')
      // a candidate of another problem, or one not served by replay
      const other = dataset.problems[18] as Problem
      const foreign = yield* failureOf(
        ver.score({ problem: other, candidates: candidates.slice(0, 1), verifier: "orm" })
      )
      expect(foreign.message).toBe("candidate s0 replays a response of qwen-pool/17, not of qwen-pool/18")
      const alien = {
        ...Candidate.make({ id: "x", origin: { node: "n", round: 0 } }),
        steps: Steps.append(undefined, { text: "hi", tokens: 1 })
      }
      const a = yield* failureOf(ver.score({ problem, candidates: [alien], verifier: "orm" }))
      expect(a.message).toMatch(/^candidate x was not served by replay/u)
    })
  )

  it("sigmoid is stable and in [0, 1]", () => {
    expect(sigmoid(0)).toBe(0.5)
    expect(sigmoid(1000)).toBe(1)
    expect(sigmoid(-1000)).toBe(0)
    expect(sigmoid(-2)).toBeCloseTo(1 - sigmoid(2), 15)
  })
})
