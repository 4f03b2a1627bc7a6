/** The MathGrader layer behind the Grader and AnswerKey ports, and the `mull grade` command. */
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as NodeServices from "@effect/platform-node/NodeServices"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { Command } from "effect/cli"
import { TestConsole } from "effect/testing"
import * as MathGrader from "../../src/answer/MathGrader.ts"
import { getPath, gradeCommand, gradeJsonl } from "../../src/cli/grade.ts"
import { makeProblem } from "../../src/domain/Problem.ts"
import { AnswerKey, Grader } from "../../src/services/Grader.ts"

const POOL = new URL("../../../shared/data/qwen25-math-rm-pool/math_cot_50.jsonl", import.meta.url).pathname
const MATH500 = new URL("../../../shared/data/math500/test.jsonl", import.meta.url).pathname

describe("MathGrader.layer", () => {
  it.effect("grades against the problem's gold, and false without gold", () =>
    Effect.gen(function* () {
      const grader = yield* Grader
      expect(grader.grade(makeProblem({ id: "q", question: "?", gold: "\\frac12" }), "0.5")).toBe(true)
      expect(grader.grade(makeProblem({ id: "q", question: "?", gold: "\\frac12" }), "0.6")).toBe(false)
      expect(grader.grade(makeProblem({ id: "q", question: "?" }), "0.5")).toBe(false)
    }).pipe(Effect.provide(MathGrader.layer))
  )

  it.effect("groups 256 answers by key in linear time and merges the rest with equivalent", () =>
    Effect.gen(function* () {
      const keys = yield* AnswerKey
      const spellings = ["0.5", "\\frac12", "1/2", "\\dfrac{1}{2}", "x=0.5", "\\boxed{\\frac{2}{4}}", ".5", "50\\%"]
      const answers = Array.from({ length: 256 }, (_, i) =>
        i % 4 === 3 ? `${i}` : (spellings[i % spellings.length] ?? "")
      )
      const start = performance.now()
      const groups = new Map<string, Array<string>>()
      for (const a of answers) groups.set(keys.key(a), [...(groups.get(keys.key(a)) ?? []), a])
      const ms = performance.now() - start
      // every spelling of one half shares a key except 50% (keyed with 50), which equivalent merges
      expect(groups.get(keys.key("0.5"))?.length).toBe(answers.filter((a) => !/^\d+$/.test(a) && a !== "50\\%").length)
      expect(keys.equivalent("50\\%", "0.5")).toBe(true)
      expect(keys.equivalent("\\frac{\\sqrt2}{2}", "\\frac{1}{\\sqrt2}")).toBe(true)
      expect(ms).toBeLessThan(1000)
    }).pipe(Effect.provide(MathGrader.layer))
  )

  it("exports the plain functions for callers outside Effect", () => {
    expect(MathGrader.extract("so \\boxed{4}")).toBe("4")
    expect(MathGrader.normalize("\\dfrac12")).toBe("\\frac{1}{2}")
    expect(MathGrader.grade("4", "4.0")).toBe(true)
    expect(MathGrader.equivalent("(1,2)", "(2,1)")).toBe(false)
    expect(MathGrader.answerKey("0.5")).toBe(MathGrader.answerKey("\\frac12"))
  })
})

describe("gradeJsonl", () => {
  const options = { responseField: "out.text", goldField: "gold", extract: "auto", goldExtract: "none" } as const

  it("reads dotted paths and lists, one verdict per element", () => {
    const text = [
      JSON.stringify({
        out: { text: ["\\boxed{1/2}", "no answer", "\\boxed{3}"] },
        gold: "0.5",
        ok: [true, false, false]
      }),
      "",
      JSON.stringify({ out: { text: "\\boxed{7}" }, gold: 7, ok: 1 })
    ].join("\n")
    const { verdicts, problems } = gradeJsonl(text, { ...options, labelField: "ok" })
    expect(problems).toEqual([])
    expect(verdicts).toEqual([
      { line: 1, index: 0, extracted: "1/2", how: "box", gold: "0.5", correct: true, label: true },
      { line: 1, index: 1, extracted: null, gold: "0.5", correct: false, label: false },
      { line: 1, index: 2, extracted: "3", how: "box", gold: "0.5", correct: false, label: false },
      { line: 3, index: 0, extracted: "7", how: "box", gold: "7", correct: true, label: true }
    ])
    expect(getPath({ a: [{ b: 1 }] }, "a.0.b")).toBe(1)
  })

  it("reports every bad line with its number", () => {
    const text = [
      "{not json",
      JSON.stringify({ gold: "1" }),
      JSON.stringify({ out: { text: 5 }, gold: ["1", "2"] }),
      JSON.stringify({ out: { text: ["a", "b"] }, gold: "1", ok: [true] }),
      JSON.stringify([1, 2]),
      JSON.stringify({ out: { text: [null] }, gold: "1", ok: true })
    ].join("\n")
    const { problems } = gradeJsonl(text, { ...options, labelField: "ok" })
    expect(problems).toEqual([
      expect.stringMatching(/^line 1: invalid JSON/),
      'line 2: field "out.text": missing',
      'line 2: field "ok": missing',
      'line 3: field "ok": missing',
      'line 4: field "ok": 1 elements for 2 responses',
      "line 5: expected a JSON object, got a list",
      'line 6: field "out.text": element 0: expected a string, got null'
    ])
  })
})

describe("mull grade", () => {
  const run = (argv: ReadonlyArray<string>) => Command.runWith(gradeCommand, { version: "test" })(argv)

  it.effect("prints accuracy, agreement and every disagreement on the Qwen pool", () =>
    Effect.gen(function* () {
      const dir = mkdtempSync(join(tmpdir(), "mull-grade-"))
      const out = join(dir, "verdicts.jsonl")
      yield* run([
        POOL,
        "--response-field",
        "response",
        "--gold-field",
        "answer",
        "--label-field",
        "score",
        "--out",
        out
      ])
      const lines = yield* TestConsole.logLines
      expect(lines.slice(0, 4)).toEqual([
        "graded 400 responses",
        "accuracy 95.8% (383/400), no answer extracted: 0",
        "agreement with labels 98.0% (392/400)",
        "disagreements (8):"
      ])
      expect(lines.filter((l) => String(l).startsWith("  line 4 ["))).toHaveLength(8)
      const verdicts = readFileSync(out, "utf8")
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l))
      expect(verdicts).toHaveLength(400)
      expect(verdicts[0]).toEqual({
        line: 1,
        index: 0,
        extracted: "420",
        how: "box",
        gold: "420",
        correct: true,
        label: true
      })
    }).pipe(Effect.provide(Layer.merge(NodeServices.layer, TestConsole.layer)))
  )

  it.effect("grades MATH-500 reference solutions 500/500", () =>
    Effect.gen(function* () {
      yield* run([MATH500, "--response-field", "solution", "--gold-field", "answer", "--extract", "boxed"])
      expect(yield* TestConsole.logLines).toEqual([
        "graded 500 responses",
        "accuracy 100.0% (500/500), no answer extracted: 0"
      ])
    }).pipe(Effect.provide(Layer.merge(NodeServices.layer, TestConsole.layer)))
  )

  it.effect("fails with InvalidInput, one line per problem, on bad input", () =>
    Effect.gen(function* () {
      const dir = mkdtempSync(join(tmpdir(), "mull-grade-"))
      const file = join(dir, "bad.jsonl")
      writeFileSync(file, `${JSON.stringify({ response: "\\boxed{1}" })}\n{oops\n`)
      const error = yield* Effect.flip(run([file, "--response-field", "response", "--gold-field", "gold"]))
      expect(error).toMatchObject({
        _tag: "InvalidInput",
        problems: ['line 1: field "gold": missing', expect.stringMatching(/^line 2: invalid JSON/)]
      })
      const bad = yield* Effect.flip(
        run([file, "--response-field", "r", "--gold-field", "g", "--pattern", "(unclosed"])
      )
      expect(bad).toMatchObject({
        _tag: "InvalidInput",
        problems: [expect.stringMatching(/^--pattern: invalid regular expression/)]
      })
    }).pipe(Effect.provide(Layer.merge(NodeServices.layer, TestConsole.layer)))
  )

  it.effect("takes a dataset's own pattern and extracts the gold when asked", () =>
    Effect.gen(function* () {
      const dir = mkdtempSync(join(tmpdir(), "mull-grade-"))
      const file = join(dir, "gsm.jsonl")
      writeFileSync(
        file,
        `${JSON.stringify({ out: "Result: 1,000 dollars", sol: "… so 1000.\n#### 1,000" })}\n${JSON.stringify({ out: "Result: 7", sol: "#### 8" })}\n`
      )
      yield* run([
        file,
        "--response-field",
        "out",
        "--gold-field",
        "sol",
        "--gold-extract",
        "gsm8k",
        "--pattern",
        "Result: (.+)"
      ])
      expect((yield* TestConsole.logLines)[1]).toBe("accuracy 50.0% (1/2), no answer extracted: 0")
    }).pipe(Effect.provide(Layer.merge(NodeServices.layer, TestConsole.layer)))
  )
})
