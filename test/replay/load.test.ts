/** Loading recorded pools: the Qwen pool, the generic JSONL format, bad lines, configuration. */
import { readFileSync } from "node:fs"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import {
  decodeConfig,
  loadJsonlPool,
  loadQwenPool,
  problems,
  qwenPoolPath,
  layer as replayLayer
} from "../../plugins/replay/index.ts"
import { backendLayer } from "../../src/backends/Registry.ts"
import { Generator } from "../../src/services/Generator.ts"
import { failureOf, writeJsonl } from "./helpers.ts"

const getGenerator = Effect.gen(function* () {
  return yield* Generator
})
const qwenLines = readFileSync(qwenPoolPath(), "utf8").trim().split("\n")

describe("the Qwen pool", () => {
  it.effect("50 problems × 8 responses with answers, rewards and labels", () =>
    Effect.gen(function* () {
      const dataset = yield* loadQwenPool()
      expect(dataset.name).toBe("qwen-pool")
      expect(dataset.problems).toHaveLength(50)
      expect(dataset.problems.map((p) => p.id)).toEqual(Array.from({ length: 50 }, (_, i) => `qwen-pool/${i}`))
      for (const pool of dataset.pools.values()) {
        expect(pool.responses).toHaveLength(8)
        for (const r of pool.responses) {
          expect(typeof r.answer).toBe("string")
          expect(Number.isFinite(r.reward)).toBe(true)
          expect(typeof r.correct).toBe("boolean")
        }
      }
      const first = dataset.pools.get("qwen-pool/0")
      expect(first?.problem).toEqual({
        id: "qwen-pool/0",
        question: "What is $10.0000198\\cdot 5.9999985401\\cdot 6.9999852$ to the nearest whole number?",
        gold: "420",
        meta: { level: 3, index: 0, dataset: "qwen-pool" }
      })
      expect(first?.responses[0]?.reward).toBe(3.546875)
      expect(first?.responses[0]?.answer).toBe("420")
      expect(first?.gt).toBeUndefined()
      // gold is the `answer` field; Qwen's own `gt` is kept where it differs
      const p3 = dataset.pools.get("qwen-pool/3")
      expect([p3?.problem.gold, p3?.gt]).toEqual(["\\text{4:30 p.m.}", "4:30p.."])
      const levels = [1, 2, 3, 4, 5].map((l) => dataset.problems.filter((p) => p.meta.level === l).length)
      expect(levels).toEqual([8, 7, 8, 15, 12])
      expect(yield* problems()).toEqual(dataset.problems)
    })
  )

  it.effect("a bad line names the file, the line and the field", () =>
    Effect.gen(function* () {
      const edit = (i: number, f: (r: Record<string, unknown>) => Record<string, unknown>) => {
        const lines = qwenLines.slice(0, 5)
        lines[i] = JSON.stringify(f(JSON.parse(lines[i] ?? "{}")))
        return lines
      }
      const cases: ReadonlyArray<readonly [ReadonlyArray<string>, string]> = [
        [
          edit(2, (r) => ({ ...r, pred_score: [[1], [2], "x", [4], [5], [6], [7], [8]] })),
          'qwen/pool.jsonl line 3: field "pred_score.2": expected a finite number, got "x"'
        ],
        [
          edit(1, (r) => ({ ...r, pred: ["1"] })),
          'qwen/pool.jsonl line 2: field "pred": expected 8 entries (one per response), got 1'
        ],
        [
          edit(4, (r) => ({ ...r, score: [true, true, true, "yes", true, true, true, true] })),
          'qwen/pool.jsonl line 5: field "score.3": expected true or false, got "yes"'
        ],
        [edit(0, ({ idx: _, ...r }) => r), 'qwen/pool.jsonl line 1: field "idx": missing'],
        [
          edit(3, (r) => ({ ...r, level: "Level 7" })),
          'qwen/pool.jsonl line 4: field "level": expected 1..5 or "Level 1".."Level 5"'
        ],
        [
          edit(3, (r) => ({ ...r, idx: 2 })),
          'qwen/pool.jsonl line 4: field "id": duplicate id "pool/2" (first on line 3)'
        ]
      ]
      for (const [lines, message] of cases) {
        const e = yield* failureOf(loadQwenPool(writeJsonl("qwen", "pool.jsonl", lines)))
        expect(e._tag).toBe("DatasetError")
        expect(e.message).toBe(message)
      }
    })
  )
})

describe("the generic JSONL format", () => {
  const good = [
    {
      id: "alg/1",
      question: "What is $1+1$?",
      gold: "2",
      level: 1,
      subject: "Algebra",
      responses: [
        { text: "One plus one.\n\nSo $\\boxed{2}$.", reward: 2.5, correct: true },
        { text: "Hmm.\n\nThe answer is 3.", answer: "3", reward: [0.1, -1], correct: false },
        { text: "I give up.", answer: null }
      ]
    },
    { question: "Half of 1?", responses: [{ text: "\\boxed{\\frac12}" }] }
  ]

  it.effect("loads problems and responses; answers extracted where absent; list rewards give their last", () =>
    Effect.gen(function* () {
      const dataset = yield* loadJsonlPool(writeJsonl("generic", "tiny.jsonl", good))
      expect(dataset.name).toBe("tiny")
      expect(dataset.problems).toEqual([
        {
          id: "alg/1",
          question: "What is $1+1$?",
          gold: "2",
          meta: { level: 1, subject: "Algebra", index: 0, dataset: "tiny" }
        },
        { id: "tiny/1", question: "Half of 1?", meta: { index: 1, dataset: "tiny" } }
      ])
      expect(dataset.pools.get("alg/1")?.responses).toEqual([
        { text: "One plus one.\n\nSo $\\boxed{2}$.", answer: "2", reward: 2.5, correct: true },
        { text: "Hmm.\n\nThe answer is 3.", answer: "3", reward: -1, correct: false },
        { text: "I give up." }
      ])
      expect(dataset.pools.get("tiny/1")?.responses).toEqual([{ text: "\\boxed{\\frac12}", answer: "\\frac12" }])
    })
  )

  it.effect("bad lines: messages with the line and the field", () =>
    Effect.gen(function* () {
      const line0 = good[0] ?? {}
      const cases: ReadonlyArray<readonly [unknown, string, string]> = [
        [{ ...line0, responses: [{ text: "a" }, { text: 5 }] }, "responses.1.text", "expected a string, got 5"],
        [
          { ...line0, responses: [{ text: "a", reward: "high" }] },
          "responses.0.reward",
          'expected a finite number, got "high"'
        ],
        [
          { ...line0, responses: [{ text: "a", correct: "yes" }] },
          "responses.0.correct",
          'expected true or false, got "yes"'
        ],
        [{ ...line0, responses: [{ answer: "2" }] }, "responses.0.text", "missing"],
        [
          { ...line0, responses: [{ text: "a", score: 1 }] },
          "responses.0.score",
          "unknown field (expected text, answer, reward, correct)"
        ],
        [{ ...line0, responses: [] }, "responses", "expected at least one response"],
        [{ ...line0, responses: "many" }, "responses", 'expected a list, got "many"'],
        [{ ...line0, responses: ["text"] }, "responses.0", "expected an object with a text"],
        [{ ...line0, question: undefined }, "question", "missing"],
        [{ ...line0, level: 9 }, "level", 'expected 1..5 or "Level 1".."Level 5"']
      ]
      for (const [bad, field, reason] of cases) {
        const e = yield* failureOf(loadJsonlPool(writeJsonl("generic-bad", "pool.jsonl", [good[1], bad])))
        expect(e._tag).toBe("DatasetError")
        expect([e.file, e.line, e.field]).toEqual(["generic-bad/pool.jsonl", 2, field])
        expect(e.message).toBe(`generic-bad/pool.jsonl line 2: field "${field}": ${reason}`)
      }
      const json = yield* failureOf(loadJsonlPool(writeJsonl("generic-bad", "json.jsonl", ["{oops"])))
      expect(json.message).toMatch(/^generic-bad\/json\.jsonl line 1: not valid JSON/u)
      const missing = yield* failureOf(loadJsonlPool("/nonexistent/replay.jsonl"))
      expect(missing.message).toMatch(/^nonexistent\/replay\.jsonl: cannot read/u)
    })
  )
})

describe("configuration", () => {
  it.effect("defaults: the Qwen pool, its format and its labels", () =>
    Effect.gen(function* () {
      const c = yield* decodeConfig({})
      expect(c).toMatchObject({
        dataset: "qwen-pool",
        format: "qwen",
        grading: "labels",
        concurrency: 64,
        maxTokens: 4096
      })
      expect(c.path).toBe(qwenPoolPath())
      const g = yield* decodeConfig({ dataset: "rec/aime.jsonl" })
      expect([g.format, g.grading]).toEqual(["jsonl", "math"])
      expect(g.path.endsWith("/rec/aime.jsonl")).toBe(true)
    })
  )

  it.effect("errors name the field, through backendLayer too", () =>
    Effect.gen(function* () {
      const e = yield* failureOf(decodeConfig({ grading: "vibes", concurency: 3 }))
      expect(e._tag).toBe("BackendConfigError")
      expect(e.message).toMatch(/^invalid replay backend config: /u)
      expect(e.message).toContain("grading: ")
      expect(e.message).toContain("concurency: ")
      const viaBackends = yield* failureOf(Effect.provide(getGenerator, backendLayer("replay", { format: "csv" })))
      expect(viaBackends._tag).toBe("BackendConfigError")
      if (viaBackends._tag === "BackendConfigError")
        expect(viaBackends.problems[0]).toMatch(/^backend-config\.format: /u)
      const path = writeJsonl("cfg", "broken.jsonl", ['{"question": "q", "responses": [{"text": 1}]}'])
      const data = yield* failureOf(Effect.provide(getGenerator, backendLayer("replay", { dataset: path })))
      expect(data._tag).toBe("BackendConfigError")
      if (data._tag === "BackendConfigError")
        expect(data.problems).toEqual([
          'backend-config.dataset: cfg/broken.jsonl line 1: field "responses.0.text": expected a string, got 1'
        ])
      const ok = yield* Effect.provide(getGenerator, Layer.fresh(replayLayer()))
      expect(ok.backend).toBe("replay")
    })
  )
})
