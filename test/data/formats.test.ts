/**
 * Datasets from any file (src/data/Formats.ts, through eval's loader): each format's default
 * fields, overrides, ids naming the file, gold readers (default, --gold-pattern, --gold-extract),
 * multiple-choice options, and errors naming the file, line, field and the option to set.
 */
import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { registry } from "../../src/backends/Registry.ts"
import type { DatasetError } from "../../src/data/Dataset.ts"
import { loadProblems } from "../../src/eval/Problems.ts"
import type { DatasetSpec } from "../../src/eval/Sweep.ts"

const dir = mkdtempSync(join(tmpdir(), "mull-formats-"))
const write = (name: string, records: ReadonlyArray<unknown>): string => {
  const path = join(dir, name)
  writeFileSync(path, `${records.map((r) => (typeof r === "string" ? r : JSON.stringify(r))).join("\n")}\n`)
  return path
}
const load = (spec: Omit<DatasetSpec, "name">) => loadProblems({ name: "file", ...spec }, { registry })
const errorOf = <A>(e: Effect.Effect<A, DatasetError>) => Effect.flip(e)

describe("formats", () => {
  it.effect("math: unique_id, problem, answer (else the solution's box), level, subject", () =>
    Effect.gen(function* () {
      const path = write("mini-math.jsonl", [
        { unique_id: "test/a/1.json", problem: "1+1?", answer: "2", level: "Level 2", subject: "Algebra" },
        { unique_id: "test/a/2.json", problem: "2+2?", solution: "Add. So $\\boxed{4}$.", level: "Level 1" }
      ])
      const problems = yield* load({ path, format: "math" })
      expect(problems.map((p) => [p.id, p.gold, p.meta.level])).toEqual([
        ["mini-math/test/a/1.json", "2", 2],
        ["mini-math/test/a/2.json", "4", 1]
      ])
    })
  )

  it.effect("gsm8k: the gold after ####, out of the box; ids <file>/<index>", () =>
    Effect.gen(function* () {
      const path = write("gsm.jsonl", [
        { question: "q1", answer: "Work.\n#### 1,000" },
        { question: "q2", answer: "More work.\n#### 18" }
      ])
      const problems = yield* load({ path, format: "gsm8k" })
      expect(problems.map((p) => [p.id, p.gold])).toEqual([
        ["gsm/0", "1,000"],
        ["gsm/1", "18"]
      ])
    })
  )

  it.effect("GSM8K-style model solutions as gold (A: n), and a --gold-pattern", () =>
    Effect.gen(function* () {
      const path = write("fewshot.jsonl", [{ question: "q", solution: "She has 3 + 4 = 7.\nA: 7" }])
      const a = yield* load({ path, format: "jsonl", mapping: { gold: "solution" } })
      expect(a[0]?.gold).toBe("7")
      const b = yield* load({ path, format: "jsonl", mapping: { gold: "solution" }, goldPattern: "= (?<answer>\\d+)" })
      expect(b[0]?.gold).toBe("7")
      const c = yield* load({ path, format: "jsonl", mapping: { gold: "solution" }, goldExtract: "as-written" })
      expect(c[0]?.gold).toBe("She has 3 + 4 = 7.\nA: 7")
    })
  )

  it.effect("qwen: idx, question, answer: ids name the file", () =>
    Effect.gen(function* () {
      const path = write("pool.jsonl", [{ idx: 7, question: "q", answer: "5", level: "Level 3", response: ["x"] }])
      const problems = yield* load({ path, format: "qwen" })
      expect(problems[0]?.id).toBe("pool/7")
      expect(problems[0]?.meta.level).toBe(3)
    })
  )

  it.effect("jsonl: options make a multiple choice, lettered in the question; dotted overrides", () =>
    Effect.gen(function* () {
      const path = write("mc.jsonl", [{ q: { text: "Pick red." }, opts: ["red", "blue"], key: "A", uid: 3 }])
      const problems = yield* load({
        path,
        format: "jsonl",
        mapping: { question: "q.text", options: "opts", gold: "key", id: "uid" }
      })
      expect(problems[0]).toEqual({
        id: "mc/3",
        question: "Pick red.\n\n(A) red\n(B) blue",
        gold: "A",
        answer: { kind: "choice", options: ["red", "blue"] },
        meta: { index: 0, dataset: "mc" }
      })
      const free = yield* load({ path, format: "jsonl", mapping: { question: "q.text", gold: "key" }, answer: "free" })
      expect(free[0]?.answer).toEqual({ kind: "free" })
    })
  )
})

describe("errors name the file, line, field and what to set", () => {
  it.effect("a missing question, a mapped field, a gold the pattern misses, a bad pattern, no format", () =>
    Effect.gen(function* () {
      const path = write("bad.jsonl", [
        { question: "ok", answer: "1" },
        { prompt: "no question", answer: "2" }
      ])
      const e1 = yield* errorOf(load({ path, format: "jsonl" }))
      expect(e1.message).toMatch(/bad\.jsonl line 2: field "question": missing .*--question-field/u)
      const e2 = yield* errorOf(load({ path, format: "jsonl", mapping: { subject: "topic" } }))
      expect(e2.message).toMatch(/line 1: field "topic": missing/u)
      const e3 = yield* errorOf(load({ path, format: "jsonl", mapping: { question: "prompt" } }))
      expect(e3.message).toMatch(/line 1: field "prompt": missing/u)
      const gsm = write("nohash.jsonl", [{ question: "q", answer: "Work." }])
      const e4 = yield* errorOf(load({ path: gsm, format: "gsm8k", goldPattern: "#### (\\d+)" }))
      expect(e4.message).toMatch(/field "answer": no gold answer in "Work\." by --gold-pattern/u)
      const e5 = yield* errorOf(load({ path: gsm, format: "gsm8k", goldPattern: "(" }))
      expect(e5.message).toMatch(/dataset\.goldPattern: not a regular expression/u)
      const e6 = yield* errorOf(loadProblems({ name: "file", path: gsm }, { registry }))
      expect(e6.message).toMatch(/dataset\.format: missing .*--format math\|gsm8k\|qwen\|jsonl/u)
    })
  )
})
