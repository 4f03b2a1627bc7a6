/**
 * The llama-cpp backend's pure parts, without a model: steps and their token counts from a raw
 * completion, finish reasons, seeds, the judge's tokens and score, the config's defaults and
 * errors, template detection, and the serial queue.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Fiber, Result } from "effect"
import fc from "fast-check"
import {
  continuationSeed,
  decodeConfig,
  defaultThreads,
  evaluatedTokens,
  judgedPrefixes,
  judgeScore,
  judgeTokens,
  makeMemo,
  makeSerial,
  resolveTemplate,
  reuse,
  splitSteps,
  stepTokenCounts,
  toGeneration
} from "../../plugins/llama-cpp/index.ts"

/** One token per character. */
const chars = (k: number) => k

describe("splitSteps", () => {
  it("keeps one step for until: step, splits otherwise, drops a trailing empty part", () => {
    assert.deepStrictEqual(splitSteps("a\n\nb", "\n\n", "step"), ["a\n\nb"])
    assert.deepStrictEqual(splitSteps("a\n\nb\n\n", "\n\n", "end"), ["a", "b"])
    assert.deepStrictEqual(splitSteps("", "\n\n", "end"), [""])
    assert.deepStrictEqual(splitSteps("\n\n", "\n\n", "end"), [""])
  })
})

describe("stepTokenCounts", () => {
  it("gives each step the tokens up to its delimiter's end, the last the rest plus extra", () => {
    assert.deepStrictEqual(stepTokenCounts(["ab", "cd"], "\n\n", 6, chars, 1), [4, 3])
    // two characters per token: "ab|\n\n|cd" → tokens end at 2, 4, 6
    assert.deepStrictEqual(
      stepTokenCounts(["ab", "cd"], "\n\n", 3, (k) => 2 * k, 0),
      [2, 1]
    )
  })

  it("sums to the text's tokens plus extra, never negative (property)", () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.string({ maxLength: 6 }).filter((s) => !s.includes("|")),
          { minLength: 1, maxLength: 6 }
        ),
        fc.integer({ min: 1, max: 3 }),
        fc.nat(3),
        (parts, width, extra) => {
          const text = parts.join("|")
          const textTokens = Math.ceil(text.length / width)
          const length = (k: number) => Math.min(text.length, k * width)
          const counts = stepTokenCounts(splitSteps(text, "|", "end"), "|", textTokens, length, extra)
          assert.strictEqual(
            counts.reduce((a, b) => a + b, 0),
            textTokens + extra
          )
          assert.isTrue(counts.every((c) => c >= 0))
        }
      )
    )
  })
})

describe("toGeneration", () => {
  it("maps stop reasons to done and finish reasons", () => {
    const of = (stopReason: "eogToken" | "customStopTrigger" | "maxTokens", until: "step" | "end") =>
      toGeneration({ text: "x", stopReason, outputTokens: 3, textTokens: 1 }, "\n\n", until, "", chars)
    assert.deepInclude(of("eogToken", "end"), { done: true, finishReason: "end", outputTokens: 3 })
    assert.deepInclude(of("customStopTrigger", "step"), { done: false, finishReason: "step" })
    assert.deepInclude(of("maxTokens", "end"), { done: false, finishReason: "length" })
    assert.deepStrictEqual(of("customStopTrigger", "step").steps, [{ text: "x", tokens: 3 }])
  })

  it("extracts the answer of the whole solution when done, only then", () => {
    const done = toGeneration(
      { text: "so \\boxed{4}", stopReason: "eogToken", outputTokens: 5, textTokens: 4 },
      "\n\n",
      "step",
      "2+2\n\n",
      chars
    )
    assert.strictEqual(done.answer, "4")
    const cut = toGeneration(
      { text: "so \\boxed{4}", stopReason: "maxTokens", outputTokens: 4, textTokens: 4 },
      "\n\n",
      "step",
      "",
      chars
    )
    assert.isUndefined(cut.answer)
  })

  it("splits a whole solution into steps whose tokens sum to the output", () => {
    const text = "Step 1\n\nStep 2\n\nx"
    const g = toGeneration(
      { text, stopReason: "eogToken", outputTokens: text.length + 1, textTokens: text.length },
      "\n\n",
      "end",
      "",
      chars
    )
    assert.deepStrictEqual(
      g.steps.map((s) => s.text),
      ["Step 1", "Step 2", "x"]
    )
    assert.deepStrictEqual(
      g.steps.map((s) => s.tokens),
      [8, 8, 2]
    )
  })
})

describe("continuationSeed", () => {
  it("depends on the seed and the index only", () => {
    assert.strictEqual(continuationSeed(5n, 2), continuationSeed(5n, 2))
    assert.notStrictEqual(continuationSeed(5n, 2), continuationSeed(5n, 3))
    assert.notStrictEqual(continuationSeed(5n, 2), continuationSeed(6n, 2))
    assert.isTrue(continuationSeed(123456789123456789n, 7) >= 0 && continuationSeed(123456789123456789n, 7) < 2 ** 32)
  })
})

describe("judge", () => {
  it("compares the first tokens where yes and no differ, after the tokens they share", () => {
    assert.deepStrictEqual(judgeTokens([7, 8, 1, 5], [7, 8, 1, 6]), Result.succeed({ tail: [7, 8, 1], yes: 5, no: 6 }))
    assert.deepStrictEqual(judgeTokens([7, 5], [7, 6, 9]), Result.succeed({ tail: [7], yes: 5, no: 6 }))
    assert.isTrue(Result.isFailure(judgeTokens([7, 8], [7, 8, 9])))
  })

  it("judges every prefix for a PRM, the whole solution for an ORM", () => {
    assert.deepStrictEqual(judgedPrefixes("prm", 3), [1, 2, 3])
    assert.deepStrictEqual(judgedPrefixes("orm", 3), [3])
    assert.deepStrictEqual(judgedPrefixes("prm", 0), [])
  })

  it("reuses what each prompt shares with the one before, always evaluating the last token", () => {
    assert.deepStrictEqual(reuse([[1, 2, 3, 9], [1, 2, 3, 4, 9], [1, 2, 3, 4, 9], [5]]), [0, 3, 4, 0])
    assert.strictEqual(evaluatedTokens([[1, 2, 3, 9], [1, 2, 3, 4, 9], [1, 2, 3, 4, 9], [5]]), 4 + 2 + 1 + 1)
    assert.strictEqual(evaluatedTokens([]), 0)
  })

  it("normalises p(yes) over the two answers", () => {
    assert.closeTo(judgeScore(0.3, 0.1), 0.75, 1e-12)
    assert.strictEqual(judgeScore(0, 0), 0.5)
    assert.strictEqual(judgeScore(0.2, 0), 1)
  })
})

describe("config", () => {
  it.effect("fills defaults and resolves paths", () =>
    Effect.gen(function* () {
      const c = yield* decodeConfig({ modelPath: "m.gguf" })
      assert.isTrue(c.modelPath.endsWith("/m.gguf") && c.modelPath.startsWith("/"))
      assert.strictEqual(c.stepDelimiter, "\n\n")
      assert.strictEqual(c.template, "auto")
      assert.strictEqual(c.maxTokens, 512)
      assert.deepInclude(c, { topK: 0, topP: 1, minP: 0 })
      assert.deepStrictEqual(c.judge, {
        suffix: "\nIs this step correct? Answer:",
        yes: " Yes",
        no: " No",
        modelPath: undefined
      })
      assert.strictEqual(c.threads, defaultThreads())
    })
  )

  it.effect("names every bad field", () =>
    Effect.gen(function* () {
      const e = yield* Effect.flip(decodeConfig({ threads: 0, template: "vicuna", tempreature: 1 }))
      const text = e.problems.join("\n")
      for (const field of ["modelPath", "threads", "template", "tempreature"]) assert.include(text, `${field}:`)
      const small = yield* Effect.flip(decodeConfig({ modelPath: "m.gguf", contextSize: 64, maxTokens: 64 }))
      assert.strictEqual(small.path, "maxTokens")
    })
  )

  it("leaves a core free by default", () => {
    assert.strictEqual(defaultThreads(1), 1)
    assert.strictEqual(defaultThreads(2), 1)
    assert.strictEqual(defaultThreads(8), 7)
    assert.strictEqual(defaultThreads(64), 8)
  })

  it("detects ChatML and Llama 3 chat templates", () => {
    assert.strictEqual(resolveTemplate(undefined), "none")
    assert.strictEqual(resolveTemplate("{{'<|im_start|>' + m.role}}"), "chatml")
    assert.strictEqual(resolveTemplate("<|start_header_id|>{{ role }}"), "llama-3")
    assert.strictEqual(resolveTemplate("[INST] {{ m }} [/INST]"), "none")
  })
})

describe("memo", () => {
  it("remembers at most its capacity, forgetting the oldest first", () => {
    const memo = makeMemo(2)
    memo.set(1n, 0.1)
    memo.set(2n, 0.2)
    memo.set(1n, 0.15)
    assert.strictEqual(memo.size(), 2)
    memo.set(3n, 0.3)
    assert.strictEqual(memo.size(), 2)
    assert.isUndefined(memo.get(1n))
    assert.strictEqual(memo.get(2n), 0.2)
    assert.strictEqual(memo.get(3n), 0.3)
  })
})

describe("serial queue", () => {
  it.live("runs jobs one at a time in arrival order, also after an interruption", () =>
    Effect.gen(function* () {
      const serial = makeSerial()
      const log: Array<string> = []
      const job = (name: string, ms: number) => () =>
        new Promise<string>((resolve) => {
          log.push(`start ${name}`)
          setTimeout(() => {
            log.push(`end ${name}`)
            resolve(name)
          }, ms)
        })
      const a = yield* Effect.forkChild(serial.run(job("a", 30), String))
      yield* Effect.sleep("5 millis")
      const b = yield* Effect.forkChild(serial.run(job("b", 1), String))
      // let b queue behind a
      yield* Effect.sleep("1 millis")
      yield* Fiber.interrupt(a)
      const c = yield* serial.run(job("c", 1), String)
      assert.strictEqual(c, "c")
      assert.isTrue(Exit.isSuccess(yield* Fiber.await(b)))
      // b and c waited for a's native work to settle, though a's fiber was interrupted
      assert.deepStrictEqual(log, ["start a", "end a", "start b", "end b", "start c", "end c"])
    })
  )
})
