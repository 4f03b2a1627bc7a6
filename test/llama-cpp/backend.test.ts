/**
 * The llama-cpp backend on a real model (stories260K): real generations, steps stopped at the
 * delimiter, exact prompt and output token counts (cross-checked with the model's tokenizer),
 * determinism under a fixed seed — also across two separately loaded models —, greedy decoding,
 * the next-token-probability judge, refusals, and PRM beam search with N = 4 through the runtime.
 */
import { afterAll, assert, describe, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import * as LlamaCpp from "../../plugins/llama-cpp/index.ts"
import type { Candidate } from "../../src/domain/Candidate.ts"
import * as Steps from "../../src/domain/Steps.ts"
import { staticCost } from "../../src/graph/Cost.ts"
import * as Loader from "../../src/graph/Loader.ts"
import { run } from "../../src/runtime/Run.ts"
import type { GenerateRequest } from "../../src/services/Generator.ts"
import { CONFIG, MODEL, openBackend, STORIES, servicesOf, story } from "./helpers.ts"

const first = await openBackend()
// a second, separately loaded copy of the same model
const second = await openBackend()
const backend = first.backend
// for search: steps of up to 24 tokens in lanes of up to 96 (the solution cap), on two copies
const SEARCH = { ...CONFIG, maxTokens: 96, stepTokens: CONFIG.maxTokens }
const searchA = await openBackend(SEARCH)
const searchB = await openBackend(SEARCH)
afterAll(async () => {
  await first.close()
  await second.close()
  await searchA.close()
  await searchB.close()
})

const problem = STORIES[0] ?? story("x", "x")

const request = (overrides: Partial<GenerateRequest> = {}): GenerateRequest => ({
  problem,
  prefix: undefined,
  n: 4,
  until: "step",
  temperature: 0.8,
  maxTokens: CONFIG.maxTokens,
  seed: 42n,
  ...overrides
})

/** A candidate with the given steps (their token counts do not matter to the backend). */
const candidate = (id: string, texts: ReadonlyArray<string>): Candidate => ({
  id,
  steps: Steps.appendAll(
    undefined,
    texts.map((text) => ({ text, tokens: 1 }))
  ),
  done: false,
  stepScores: [],
  origin: { node: "test", round: 0 }
})

describe("llama-cpp generator", () => {
  it.effect("writes n real continuations of one step, each within maxTokens, steps summing to the output", () =>
    Effect.gen(function* () {
      const result = yield* backend.generator.generate(request())
      assert.strictEqual(result.generations.length, 4)
      for (const g of result.generations) {
        assert.strictEqual(g.steps.length, 1)
        assert.isAbove((g.steps[0]?.text ?? "").length, 0)
        assert.notInclude(g.steps[0]?.text ?? "", ".")
        assert.isAtMost(g.outputTokens, CONFIG.maxTokens)
        assert.strictEqual(
          g.steps.reduce((s, x) => s + x.tokens, 0),
          g.outputTokens
        )
        assert.include(["step", "length", "end"], g.finishReason)
        assert.strictEqual(g.done, g.finishReason === "end")
        if (g.finishReason === "length") assert.strictEqual(g.outputTokens, CONFIG.maxTokens)
      }
      // sentences of a story: most stop at the delimiter
      assert.isAtLeast(result.generations.filter((g) => g.finishReason === "step").length, 1)
    })
  )

  it.effect("counts prompt tokens exactly: the beginning token plus the rendered prompt's tokens", () =>
    Effect.gen(function* () {
      const prefix = candidate("s0", ["Tom liked to play", " He ran fast"])
      for (const r of [
        request(),
        request({ prefix }),
        request({ context: [prefix], prefix: undefined, until: "end" })
      ]) {
        const result = yield* backend.generator.generate({ ...r, n: 1 })
        assert.strictEqual(result.inputTokens, backend.generator.promptTokens?.(r))
      }
      // template "none": the question, a blank line, then the solution so far and the delimiter
      const text = `${problem.question}\n\nTom liked to play. He ran fast.`
      const expected = 1 + backend.model.tokenize(text, false, "trimLeadingSpace").length
      assert.strictEqual(backend.generator.promptTokens?.(request({ prefix })), expected)
      assert.strictEqual(
        backend.countTokens("Tom liked to play"),
        backend.model.tokenize("Tom liked to play", false, "trimLeadingSpace").length
      )
    })
  )

  it.effect("counts output tokens exactly: a cut generation has maxTokens; re-tokenizing matches", () =>
    Effect.gen(function* () {
      const result = yield* backend.generator.generate(request({ until: "end", maxTokens: 20, n: 3 }))
      for (const g of result.generations) {
        assert.strictEqual(g.finishReason, "length")
        assert.strictEqual(g.outputTokens, 20)
        // the text of 20 sampled tokens re-tokenizes to about as many (the tokenizer may merge)
        const text = g.steps.map((s) => s.text).join(".")
        const retokenized = backend.model.tokenize(text, false, "trimLeadingSpace").length
        assert.isAtMost(Math.abs(retokenized - 20), 2)
      }
    })
  )

  it.effect("splits a whole solution into steps whose counts sum to the output", () =>
    Effect.gen(function* () {
      // the backend's maxTokens (24) caps the request's
      const result = yield* backend.generator.generate(request({ until: "end", maxTokens: 80, n: 4 }))
      assert.isTrue(result.generations.some((g) => g.steps.length > 1))
      for (const g of result.generations) {
        assert.isAtMost(g.outputTokens, CONFIG.maxTokens)
        assert.strictEqual(
          g.steps.reduce((s, x) => s + x.tokens, 0),
          g.outputTokens
        )
        assert.isTrue(g.steps.every((s) => s.tokens > 0))
      }
    })
  )

  it.effect("is deterministic under a fixed seed, also on a separately loaded model; seeds differ", () =>
    Effect.gen(function* () {
      const r = request({ n: 4, until: "end", maxTokens: 40 })
      const a = yield* backend.generator.generate(r)
      const b = yield* backend.generator.generate(r)
      const c = yield* second.backend.generator.generate(r)
      assert.deepStrictEqual(b, a)
      assert.deepStrictEqual(c, a)
      // continuation i depends on (request, seed, i) only: a call with n = 1 repeats continuation 0
      const one = yield* second.backend.generator.generate({ ...r, n: 1 })
      assert.deepStrictEqual(one.generations[0], a.generations[0])
      const other = yield* backend.generator.generate({ ...r, seed: 43n })
      assert.notDeepEqual(other.generations, a.generations)
      const texts = new Set(a.generations.map((g) => g.steps.map((s) => s.text).join(".")))
      assert.isAbove(texts.size, 1)
    })
  )

  it.effect("decodes greedily at temperature 0, whatever the seed", () =>
    Effect.gen(function* () {
      const a = yield* backend.generator.generate(request({ temperature: 0, n: 2, seed: 1n }))
      const b = yield* backend.generator.generate(request({ temperature: 0, n: 1, seed: 2n }))
      assert.deepStrictEqual(a.generations[1], a.generations[0])
      assert.deepStrictEqual(b.generations[0], a.generations[0])
    })
  )

  it.effect("refuses a prompt longer than the context, with InvalidRequest", () =>
    Effect.gen(function* () {
      const long = story("long", "Tom ran and ran. ".repeat(200))
      const error = yield* Effect.flip(backend.generator.generate(request({ problem: long })))
      assert.strictEqual(error.reason._tag, "InvalidRequest")
      assert.include(error.message, "context holds 1024")
    })
  )
})

describe("llama-cpp token log-probabilities", () => {
  it.effect("asking changes no generation; each sampled token gets its confidence from the model's top-k", () =>
    Effect.gen(function* () {
      const plain = yield* backend.generator.generate(request({ until: "end" }))
      const asked = yield* backend.generator.generate(request({ until: "end", logprobs: 5 }))
      assert.deepStrictEqual<unknown>(
        asked.generations.map((g) => ({ ...g, steps: g.steps.map(({ confidence: _, ...s }) => s) })),
        plain.generations
      )
      assert.strictEqual(asked.inputTokens, plain.inputTokens)
      for (const g of asked.generations) {
        const values = g.steps.flatMap((s) => s.confidence?.values ?? [])
        const tokens = g.steps.reduce((a, s) => a + s.tokens, 0)
        assert.isTrue(g.steps.every((s) => s.confidence !== undefined))
        // the text's tokens (a stop or end token sampled after them has none)
        assert.isAtLeast(values.length, 1)
        assert.isAtMost(values.length, tokens)
        assert.isTrue(values.every((v) => Number.isFinite(v) && v > 0))
        const logprob = g.steps.reduce((a, s) => a + (s.confidence?.logprob ?? 0), 0)
        assert.isBelow(logprob, 0)
      }
      // the same confidences on a separately loaded model (deterministic)
      const again = yield* second.backend.generator.generate(request({ until: "end", logprobs: 5 }))
      assert.deepStrictEqual(
        again.generations.map((g) => g.steps.map((s) => s.confidence)),
        asked.generations.map((g) => g.steps.map((s) => s.confidence))
      )
      // and the generation after it is unchanged by the extra evaluation
      const after = yield* backend.generator.generate(request({ until: "end" }))
      assert.deepStrictEqual(after.generations, plain.generations)
    })
  )

  it.effect("greedy tokens are the model's most likely: each one's log-probability is at least its top-k mean", () =>
    Effect.gen(function* () {
      const r = yield* backend.generator.generate(request({ until: "end", n: 1, temperature: 0, logprobs: 3 }))
      const steps = r.generations[0]?.steps ?? []
      assert.isAbove(steps.length, 0)
      for (const s of steps) {
        const c = s.confidence
        assert.isDefined(c)
        // −log p(chosen) ≤ C = −mean of the top-3 log-probabilities, token by token, so summed
        const total = (c?.values ?? []).reduce((a, v) => a + v, 0)
        assert.isAtMost(-(c?.logprob ?? 0), total + 1e-9)
      }
    })
  )

  it.effect("DeepConf online (stopBelow) is refused with a clear Unsupported error", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(
        backend.generator.generate(request({ until: "end", logprobs: 5, stopBelow: { window: 8, threshold: 1 } }))
      )
      assert.strictEqual(error.reason._tag, "Unsupported")
      assert.include(error.message, "DeepConf online")
    })
  )
})

describe("llama-cpp judge (next-token probability)", () => {
  const candidates = [
    candidate("a", ["Tom liked to play", " He ran fast", " The end"]),
    candidate("b", ["Tom was sad"])
  ]

  it.effect("scores every step prefix (prm) or the whole solution (orm) in [0, 1], with exact tokens", () =>
    Effect.gen(function* () {
      const prm = yield* backend.verifier.score({ problem, candidates, verifier: "prm" })
      assert.deepStrictEqual(
        prm.stepScores.map((s) => s.length),
        [3, 1]
      )
      assert.isTrue(prm.stepScores.flat().every((x) => x >= 0 && x <= 1))
      // judged alone, a candidate costs exactly what the verifier announces; in a batch, at most that
      const bound = candidates.reduce((s, c) => s + (backend.verifier.inputTokens?.(problem, c) ?? 0), 0)
      assert.isAtMost(prm.inputTokens, bound)
      for (const [i, c] of candidates.entries()) {
        const alone = yield* backend.verifier.score({ problem, candidates: [c], verifier: "prm" })
        assert.strictEqual(alone.inputTokens, backend.verifier.inputTokens?.(problem, c))
        // reusing evaluated tokens does not change a score (bit for bit)
        assert.deepStrictEqual(alone.stepScores[0], prm.stepScores[i])
      }
      const orm = yield* backend.verifier.score({ problem, candidates, verifier: "orm" })
      assert.deepStrictEqual(
        orm.stepScores.map((s) => s.length),
        [1, 1]
      )
      // the ORM reads the same prompt as the PRM's last prefix
      assert.strictEqual(orm.stepScores[0]?.[0], prm.stepScores[0]?.[2])
      assert.isBelow(orm.inputTokens, prm.inputTokens)
      // a judge prompt: the beginning token, the question and steps, the suffix and the shared "▁"
      const text = `${problem.question}\n\nTom was sad${CONFIG.judge.suffix}`
      const expected = 1 + backend.model.tokenize(text, false, "trimLeadingSpace").length + 1
      assert.strictEqual(backend.verifier.inputTokens?.(problem, candidates[1] ?? candidate("x", [])), expected)
    })
  )

  it.effect("remembers judged prompts: judging them again spends nothing and gives the same scores", () =>
    Effect.gen(function* () {
      const fresh = [candidate("m", ["Tom had a hat", " It was red"])]
      const first = yield* backend.verifier.score({ problem, candidates: fresh, verifier: "prm" })
      assert.isUndefined(first.spent)
      const again = yield* backend.verifier.score({ problem, candidates: fresh, verifier: "prm" })
      assert.deepStrictEqual(again.stepScores, first.stepScores)
      assert.strictEqual(again.inputTokens, first.inputTokens)
      assert.deepStrictEqual(again.spent, { calls: 0, inputTokens: 0 })
      // a child: only its new prefix is evaluated
      const child = [candidate("m.0", ["Tom had a hat", " It was red", " He liked it"])]
      const grown = yield* backend.verifier.score({ problem, candidates: child, verifier: "prm" })
      assert.deepStrictEqual(grown.stepScores[0]?.slice(0, 2), first.stepScores[0])
      assert.isBelow(grown.spent?.inputTokens ?? 0, grown.inputTokens)
      assert.isAbove(grown.spent?.inputTokens ?? 0, 0)
    })
  )

  it.effect("is deterministic, also on a separately loaded model", () =>
    Effect.gen(function* () {
      const a = yield* backend.verifier.score({ problem, candidates, verifier: "prm" })
      const b = yield* second.backend.verifier.score({ problem, candidates, verifier: "prm" })
      // (the first backend remembers these prompts from earlier tests, so only its real spend differs)
      assert.deepStrictEqual(b.stepScores, a.stepScores)
      assert.strictEqual(b.inputTokens, a.inputTokens)
      // different texts get different scores
      assert.notStrictEqual(a.stepScores[0]?.[0], a.stepScores[1]?.[0])
    })
  )

  it.effect("refuses an unknown verifier name", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(backend.verifier.score({ problem, candidates, verifier: "rm" }))
      assert.strictEqual(error.reason._tag, "InvalidRequest")
    })
  )
})

describe("llama-cpp backend loading", () => {
  it.effect("a missing model file names the field", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(
        Layer.build(LlamaCpp.layer({ ...CONFIG, modelPath: `${MODEL}.missing` })).pipe(Effect.scoped)
      )
      assert.strictEqual(error._tag, "LlamaCppLoadError")
      if (error._tag === "LlamaCppLoadError") assert.strictEqual(error.path, "modelPath")
    })
  )

  it.effect("judge answers that tokenize alike are refused", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(
        Layer.build(LlamaCpp.layer({ ...CONFIG, judge: { yes: " Yes", no: " Yes!" } })).pipe(Effect.scoped)
      )
      assert.include(error.message, "judge")
    })
  )

  it("describes the model: no chat template, its parameter count, one sequence", () => {
    assert.strictEqual(backend.template, "none")
    assert.strictEqual(backend.generator.model, "stories260K")
    assert.strictEqual(backend.generator.params, 292_800)
    assert.strictEqual(backend.generator.concurrency, 1)
    assert.deepStrictEqual([...backend.generator.capabilities].sort(), [
      "logprobs",
      "nSampling",
      "revise",
      "seeded",
      "stepwise",
      "tokenizer"
    ])
  })
})

describe("llama-cpp through the runtime", () => {
  const beam = (seed: number, concurrency: number | undefined, b = searchA.backend) =>
    Effect.gen(function* () {
      const loaded = yield* Loader.load("beam-search")
      return yield* run(loaded, problem, {
        params: { N: 4, rounds: 2 },
        seed,
        ...(concurrency === undefined ? {} : { concurrency })
      }).pipe(Effect.provide(servicesOf(b)))
    })

  it.effect("PRM beam search with N = 4: real steps, exact usage on the ledger, same seed ⇒ same result", () =>
    Effect.gen(function* () {
      const a = yield* beam(7, undefined)
      assert.isFalse(a.exhausted)
      assert.isAtLeast(a.population.length, 1)
      // every candidate has sentence steps; the beams grew over the rounds, no lane past the solution cap
      assert.isTrue(a.population.every((c) => (c.steps?.length ?? 0) >= 2))
      assert.isTrue(a.population.every((c) => (c.steps?.tokens ?? 0) <= SEARCH.maxTokens))
      // the ledger's output tokens are the generations' sampled tokens: never more than n·maxTokens per call
      assert.isAtMost(a.usage.outputTokens, a.usage.sequences * SEARCH.maxTokens)
      assert.strictEqual(a.usage.outputTokens, a.backendUsage.outputTokens)
      assert.strictEqual(a.usage.inputTokens, a.backendUsage.inputTokens)
      assert.isAbove(a.usage.verifierTokens, 0)
      // the judge remembers prefixes judged in earlier rounds: it really evaluated fewer tokens
      assert.isBelow(a.backendUsage.verifierTokens, a.usage.verifierTokens)
      const loaded = yield* Loader.load("beam-search")
      const bound = staticCost(loaded, {
        params: { N: 4, rounds: 2 },
        maxTokens: SEARCH.maxTokens,
        stepTokens: SEARCH.stepTokens
      }).usage
      for (const m of ["calls", "sequences", "outputTokens", "verifierCalls"] as const)
        assert.isAtMost(a.usage[m], bound[m], m)
      // same seed, at another concurrency and on the other copy of the model: the same result
      const b = yield* beam(7, 8, searchB.backend)
      assert.deepStrictEqual(b.usage, { ...a.usage, wallMs: b.usage.wallMs })
      assert.deepStrictEqual(
        b.population.map((c) => [c.id, Steps.text(c.steps, "."), c.score]),
        a.population.map((c) => [c.id, Steps.text(c.steps, "."), c.score])
      )
      assert.strictEqual(b.answer, a.answer)
    })
  )

  it.effect("best-of-N's ledger: the prompt's exact tokens and the samples' tokens", () =>
    Effect.gen(function* () {
      const loaded = yield* Loader.load("best-of-n")
      const result = yield* run(loaded, problem, { params: { N: 3 }, seed: 1 }).pipe(
        Effect.provide(servicesOf(backend))
      )
      const prompt = 1 + backend.model.tokenize(`${problem.question}\n\n`, false, "trimLeadingSpace").length
      assert.strictEqual(result.usage.calls, 2) // one generator call, one verifier call
      assert.strictEqual(result.usage.inputTokens, prompt)
      assert.strictEqual(
        result.usage.outputTokens,
        result.population.reduce((s, c) => s + (c.steps?.tokens ?? 0), 0)
      )
      assert.strictEqual(result.usage.sequences, 3)
    })
  )
})
