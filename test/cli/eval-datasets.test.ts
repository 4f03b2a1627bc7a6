/**
 * `mull eval` over datasets from any file (issue 16, item 3): a Qwen-format file replays with
 * problem ids that name the file; a file without `--format` is an error naming the option; inline
 * `--backend-config`; GSM8K-style gold read out of the box; a GPQA-style multiple-choice dataset
 * graded by letter, as problems on the simulated backend and as a recording on replay.
 */
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { DatabaseSync } from "node:sqlite"
import * as NodeServices from "@effect/platform-node/NodeServices"
import { afterEach, assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { TestConsole } from "effect/testing"
import { runCli } from "../../src/cli/main.ts"
import { dataPath } from "../../src/data/DataPath.ts"

const dir = mkdtempSync(join(tmpdir(), "mull-eval-data-"))
const GPQA = join(import.meta.dirname, "..", "fixtures", "datasets", "gpqa-style.jsonl")
const GPQA_RECORDED = join(import.meta.dirname, "..", "fixtures", "datasets", "gpqa-style-recorded.jsonl")

const cli = (argv: ReadonlyArray<string>) =>
  Effect.gen(function* () {
    process.exitCode = undefined
    const outBefore = (yield* TestConsole.logLines).length
    const errBefore = (yield* TestConsole.errorLines).length
    yield* runCli(argv).pipe(Effect.provide(NodeServices.layer))
    const out = (yield* TestConsole.logLines).slice(outBefore).map(String).join("\n")
    const err = (yield* TestConsole.errorLines).slice(errBefore).map(String).join("\n")
    return { out, err, code: process.exitCode }
  })

afterEach(() => {
  process.exitCode = undefined
})

interface Row {
  readonly strategy: string
  readonly budget: number
  readonly problem: string
  readonly answer: string | null
  readonly correct: number
}

const rows = (store: string): ReadonlyArray<Row> => {
  const db = new DatabaseSync(store, { readOnly: true })
  const out = db.prepare("SELECT strategy, budget, problem, answer, correct FROM runs").all() as unknown as Array<Row>
  db.close()
  return out
}

const accuracy = (all: ReadonlyArray<Row>, strategy: string, budget: number): number => {
  const some = all.filter((r) => r.strategy === strategy && r.budget === budget)
  return some.filter((r) => r.correct === 1).length / some.length
}

describe("mull eval --dataset FILE", () => {
  it.effect("a Qwen-format file replays; its problem ids name the file", () =>
    Effect.gen(function* () {
      const file = join(dir, "my-pool.jsonl")
      const lines = readFileSync(dataPath("qwen25-math-rm-pool", "math_cot_50.jsonl"), "utf8").split("\n").slice(0, 3)
      writeFileSync(file, `${lines.join("\n")}\n`)
      const store = join(dir, "qwen.db")
      const r = yield* cli(["eval", "--backend", "replay", "--dataset", file, "--format", "qwen", "--store", store])
      assert.strictEqual(r.code, undefined, r.err)
      const ids = [...new Set(rows(store).map((x) => x.problem))].sort()
      assert.deepStrictEqual(ids, ["my-pool/0", "my-pool/1", "my-pool/2"])
      assert.include(r.out, "sweep my-pool:")
    })
  )

  it.effect("a file without --format: the error names the option", () =>
    Effect.gen(function* () {
      const r = yield* cli(["eval", "--dataset", GPQA, "--graphs", "majority", "--store", join(dir, "x.db")])
      assert.strictEqual(r.code, 2)
      assert.include(r.err, "--format missing")
      assert.include(r.err, "--format math|gsm8k|qwen|jsonl")
    })
  )

  it.effect("file flags with a built-in dataset, and problem-file formats on replay, are refused by name", () =>
    Effect.gen(function* () {
      const a = yield* cli(["eval", "--dataset", "math500", "--gold-field", "x", "--graphs", "majority"])
      assert.strictEqual(a.code, 2)
      assert.include(a.err, "--gold-field: only with --dataset PATH")
      const b = yield* cli(["eval", "--backend", "replay", "--dataset", GPQA, "--format", "math"])
      assert.strictEqual(b.code, 2)
      assert.include(b.err, "--format math: the replay backend serves recordings")
    })
  )

  it.effect("GSM8K-style gold (#### n) out of the box; ids <file>/<index>; inline --backend-config", () =>
    Effect.gen(function* () {
      const file = join(dir, "gsm-mini.jsonl")
      const gsm = readFileSync(dataPath("gsm8k", "test.jsonl"), "utf8").split("\n").slice(0, 4)
      writeFileSync(file, `${gsm.join("\n")}\n`)
      const store = join(dir, "gsm.db")
      const r = yield* cli([
        "eval",
        "--dataset",
        file,
        "--format",
        "gsm8k",
        "--graphs",
        "majority",
        "--budgets",
        "4",
        "--backend-config",
        '{"worldSeed": 3}',
        "--store",
        store,
        "--workers",
        "1"
      ])
      assert.strictEqual(r.code, undefined, r.err)
      const all = rows(store)
      assert.deepStrictEqual([...new Set(all.map((x) => x.problem))].sort(), [
        "gsm-mini/0",
        "gsm-mini/1",
        "gsm-mini/2",
        "gsm-mini/3"
      ])
      const db = new DatabaseSync(store, { readOnly: true })
      const golds = db.prepare("SELECT DISTINCT gold FROM runs ORDER BY problem").all() as unknown as Array<{
        gold: string
      }>
      db.close()
      assert.deepStrictEqual(
        golds.map((g) => g.gold),
        ["18", "3", "70000", "540"]
      )
    })
  )

  it.effect("a GPQA-style recording replays and grades by letter (statements, (B), option texts)", () =>
    Effect.gen(function* () {
      const store = join(dir, "gpqa-recorded.db")
      const r = yield* cli([
        "eval",
        "--backend",
        "replay",
        "--dataset",
        GPQA_RECORDED,
        "--format",
        "jsonl",
        "--budgets",
        "4",
        "--seeds",
        "0",
        "--store",
        store
      ])
      assert.strictEqual(r.code, undefined, r.err)
      const all = rows(store)
      // chem-1 C C D C, bio-1 B B A B, phys-1 B A B B (gold A; the best reward says A)
      assert.strictEqual(accuracy(all, "majority", 4), 2 / 3)
      assert.strictEqual(accuracy(all, "best-of-n", 4), 1)
      const majority = all.filter((x) => x.strategy === "majority").map((x) => [x.problem, x.answer])
      assert.deepStrictEqual(
        majority.sort(),
        [
          ["chem-1", "C"],
          ["bio-1", "B"],
          ["phys-1", "B"]
        ].sort()
      )
    })
  )

  it.effect("GPQA-style problems on the simulated backend: options in the question, answers are letters", () =>
    Effect.gen(function* () {
      const store = join(dir, "gpqa.db")
      const r = yield* cli([
        "eval",
        "--dataset",
        GPQA,
        "--format",
        "jsonl",
        "--graphs",
        "majority",
        "--budgets",
        "8",
        "--seeds",
        "0..3",
        "--store",
        store,
        "--workers",
        "1"
      ])
      assert.strictEqual(r.code, undefined, r.err)
      const all = rows(store)
      assert.strictEqual(all.length, 20)
      for (const x of all) {
        assert.match(x.problem, /^gpqa-style\/(chem|bio|phys)-\d$/u)
        assert.match(x.answer ?? "", /^[A-D]$/u)
      }
      // graded by letter: a run is right exactly when its letter is the gold letter
      const gold: Record<string, string> = {
        "gpqa-style/chem-1": "C",
        "gpqa-style/bio-1": "B",
        "gpqa-style/phys-1": "A",
        "gpqa-style/chem-2": "D",
        "gpqa-style/bio-2": "B"
      }
      for (const x of all) assert.strictEqual(x.correct === 1, x.answer === gold[x.problem], x.problem)
    })
  )

  it.effect("mull grade --answer-kind choice grades by letter, option texts included", () =>
    Effect.gen(function* () {
      const file = join(dir, "mc.jsonl")
      writeFileSync(
        file,
        [
          { pred: "Reasoning.\n\nAnswer: (B)", gold: "B", options: ["red", "blue"], expected: true },
          { pred: "I choose red.\n\nAnswer: red", gold: "B", options: ["red", "blue"], expected: false },
          { pred: "So the answer is blue.", gold: "(B)", options: ["red", "blue"], expected: true }
        ]
          .map((r) => JSON.stringify(r))
          .join("\n")
      )
      const r = yield* cli([
        "grade",
        file,
        "--response-field",
        "pred",
        "--gold-field",
        "gold",
        "--label-field",
        "expected",
        "--answer-kind",
        "choice",
        "--options-field",
        "options"
      ])
      assert.strictEqual(r.code, undefined, r.err)
      assert.include(r.out, "accuracy 66.7% (2/3)")
      assert.include(r.out, "agreement with labels 100.0% (3/3)")
    })
  )
})
