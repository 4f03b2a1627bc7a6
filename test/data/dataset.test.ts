/** MATH-500, GSM8K and generic JSONL loaders: real data, field mappings, and messages for bad lines. */
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { dataDir, dataPath } from "../../src/data/DataPath.ts"
import { type DatasetError, loadJsonl } from "../../src/data/Dataset.ts"
import { gsm8kAnswer, loadGsm8k } from "../../src/data/DatasetGsm8k.ts"
import { loadMath500, math500Path } from "../../src/data/DatasetMath500.ts"

const scratch = mkdtempSync(join(tmpdir(), "mull-dataset-"))
/** Writes lines to `<scratch>/<folder>/<name>` and returns the path. */
const write = (folder: string, name: string, lines: ReadonlyArray<string>): string => {
  mkdirSync(join(scratch, folder), { recursive: true })
  const path = join(scratch, folder, name)
  writeFileSync(path, `${lines.join("\n")}\n`)
  return path
}
const math500Lines = readFileSync(math500Path(), "utf8").trim().split("\n")

const errorOf = <A>(self: Effect.Effect<A, DatasetError>) => Effect.flip(self)

describe("MATH-500", () => {
  it.effect("loads all 500 problems with ids, golds, levels, subjects and indices", () =>
    Effect.gen(function* () {
      const problems = yield* loadMath500()
      expect(problems.length).toBe(500)
      const first = problems[0]
      expect(first?.id).toBe("test/precalculus/807.json")
      expect(first?.gold).toBe("\\left( 3, \\frac{\\pi}{2} \\right)")
      expect(first?.meta).toEqual({ level: 2, subject: "Precalculus", index: 0, dataset: "math500" })
      expect(first?.question.startsWith("Convert the point $(0,3)$")).toBe(true)
      const byLevel = [1, 2, 3, 4, 5].map((l) => problems.filter((p) => p.meta.level === l).length)
      expect(byLevel).toEqual([43, 90, 105, 128, 134])
      expect(problems.map((p) => p.meta.index)).toEqual(problems.map((_, i) => i))
      expect(new Set(problems.map((p) => p.id)).size).toBe(500)
    })
  )

  it.effect("a bad level names the file, the line and the field", () =>
    Effect.gen(function* () {
      const lines = math500Lines.slice(0, 20)
      const bad = JSON.parse(lines[16] ?? "{}")
      lines[16] = JSON.stringify({ ...bad, level: "Level 9" })
      const e = yield* errorOf(loadMath500(write("math500", "test.jsonl", lines)))
      expect(e._tag).toBe("DatasetError")
      expect(e.message).toBe('math500/test.jsonl line 17: field "level": expected "Level 1".."Level 5"')
      expect([e.file, e.line, e.field]).toEqual(["math500/test.jsonl", 17, "level"])
    })
  )

  it.effect("bad JSON, a missing field, a duplicate id, a missing file", () =>
    Effect.gen(function* () {
      const lines = math500Lines.slice(0, 5)
      const e1 = yield* errorOf(loadMath500(write("m1", "test.jsonl", [...lines.slice(0, 2), "{not json", ...lines])))
      expect(e1.message).toMatch(/^m1\/test\.jsonl line 3: not valid JSON/u)
      const { answer: _, ...noAnswer } = JSON.parse(lines[1] ?? "{}")
      const e2 = yield* errorOf(loadMath500(write("m2", "test.jsonl", [lines[0] ?? "", JSON.stringify(noAnswer)])))
      expect(e2.message).toBe('m2/test.jsonl line 2: field "answer": missing')
      const e3 = yield* errorOf(loadMath500(write("m3", "test.jsonl", [lines[0] ?? "", "", lines[0] ?? ""])))
      expect(e3.message).toBe(
        'm3/test.jsonl line 3: field "id": duplicate id "test/precalculus/807.json" (first on line 1)'
      )
      const e4 = yield* errorOf(loadMath500(write("m4", "test.jsonl", ["[1, 2]"])))
      expect(e4.message).toBe("m4/test.jsonl line 1: expected a JSON object")
      const e5 = yield* errorOf(loadMath500(join(scratch, "nowhere", "test.jsonl")))
      expect(e5.message).toMatch(/^nowhere\/test\.jsonl: cannot read/u)
    })
  )
})

describe("GSM8K", () => {
  it.effect("loads all 1319 problems; gold is the number after ####, commas stripped", () =>
    Effect.gen(function* () {
      const problems = yield* loadGsm8k()
      expect(problems.length).toBe(1319)
      expect(problems[0]?.id).toBe("gsm8k/0")
      expect(problems[0]?.gold).toBe("18")
      expect(problems[0]?.meta).toEqual({ index: 0, dataset: "gsm8k" })
      for (const p of problems) expect(p.gold).toMatch(/^-?\d+(\.\d+)?$/u)
      expect(gsm8kAnswer("so 1,000 in all.\n#### 1,000")).toBe("1000")
      expect(gsm8kAnswer("#### -3.5")).toBe("-3.5")
      expect(gsm8kAnswer("no marker")).toBeUndefined()
    })
  )

  it.effect("a solution without #### is a DatasetError on field answer", () =>
    Effect.gen(function* () {
      const path = write("gsm8k", "test.jsonl", [
        JSON.stringify({ question: "q1", answer: "x\n#### 4" }),
        JSON.stringify({ question: "q2", answer: "forgot the answer" })
      ])
      const e = yield* errorOf(loadGsm8k(path))
      expect(e.message).toBe('gsm8k/test.jsonl line 2: field "answer": expected a solution ending in "#### <number>"')
    })
  )
})

describe("generic JSONL", () => {
  it.effect("maps dotted field paths; ids default to <file>/<index>", () =>
    Effect.gen(function* () {
      const path = write("custom", "aime.jsonl", [
        JSON.stringify({ q: { text: "Find n." }, sol: { final: 42 }, meta: { lvl: "Level 4", topic: "NT" } }),
        JSON.stringify({ q: { text: "Find m." }, sol: { final: "7" }, meta: { lvl: 2, topic: "Algebra" } })
      ])
      const problems = yield* loadJsonl(path, {
        question: "q.text",
        gold: "sol.final",
        level: "meta.lvl",
        subject: "meta.topic"
      })
      expect(problems).toEqual([
        { id: "aime/0", question: "Find n.", gold: "42", meta: { level: 4, subject: "NT", index: 0, dataset: "aime" } },
        {
          id: "aime/1",
          question: "Find m.",
          gold: "7",
          meta: { level: 2, subject: "Algebra", index: 1, dataset: "aime" }
        }
      ])
      const e = yield* errorOf(loadJsonl(path, { question: "q.text", level: "meta.topic" }))
      expect(e.message).toBe('custom/aime.jsonl line 1: field "meta.topic": expected 1..5 or "Level 1".."Level 5"')
      const e2 = yield* errorOf(loadJsonl(path, { question: "q.missing" }))
      expect(e2.message).toBe('custom/aime.jsonl line 1: field "q.missing": missing')
    })
  )

  it.effect("MULL_DATA overrides the shared data folder", () =>
    Effect.gen(function* () {
      const folder = join(scratch, "override")
      mkdirSync(join(folder, "math500"), { recursive: true })
      writeFileSync(join(folder, "math500", "test.jsonl"), `${math500Lines.slice(0, 3).join("\n")}\n`)
      const before = process.env.MULL_DATA
      process.env.MULL_DATA = folder
      try {
        expect(dataDir()).toBe(folder)
        expect(dataPath("math500", "test.jsonl")).toBe(join(folder, "math500", "test.jsonl"))
        const problems = yield* loadMath500()
        expect(problems.length).toBe(3)
      } finally {
        if (before === undefined) delete process.env.MULL_DATA
        else process.env.MULL_DATA = before
      }
      expect(dataDir().endsWith(join("shared", "data"))).toBe(true)
    })
  )
})
