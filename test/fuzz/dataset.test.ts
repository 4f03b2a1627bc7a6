/**
 * Fuzzing dataset lines (issue 9): the MATH-500 and GSM8K loaders, the generic JSONL loader and the
 * replay pools (Qwen format and mull's generic format) read files made of real lines from
 * `../shared/data` with one line broken — replaced by random text or JSON, a field set to a random
 * value or removed, a `__proto__` key, a huge or deeply nested value, an answer of 10,000 nested
 * braces. Each load succeeds or fails with a `DatasetError` whose `line` is the broken line and
 * whose message names the file, the line and (when set) the field; never a defect, never a hang,
 * never a polluted prototype. The record parsers, fed random records directly, return a problem or
 * a non-empty field and reason.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import * as NodePath from "node:path"
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { Cause, Effect, Exit } from "effect"
import fc from "fast-check"
import { loadJsonlPool, loadQwenPool, parseQwenRecord, qwenPoolPath } from "../../plugins/replay/index.ts"
import { parseJsonlRecord } from "../../plugins/replay/JsonlPool.ts"
import { DatasetError, isFieldProblem, loadJsonl } from "../../src/data/Dataset.ts"
import { gsm8kPath, loadGsm8k } from "../../src/data/DatasetGsm8k.ts"
import { loadMath500, math500Path } from "../../src/data/DatasetMath500.ts"
import { assertNotPolluted, PROTO_KEYS, prototypeSnapshot, runs, SCALE, within } from "./helpers.ts"

const linesOf = async (path: string) => (await readFile(path, "utf8")).split("\n").filter((l) => l.trim() !== "")

const MATH500 = await linesOf(math500Path())
const GSM8K = await linesOf(gsm8kPath())
const QWEN = await linesOf(qwenPoolPath())

/** The Qwen pool's lines in mull's generic replay format (docs/replay.md). */
const GENERIC = QWEN.map((line) => {
  const r = JSON.parse(line) as {
    idx: number
    question: string
    answer: string
    level: string
    response: ReadonlyArray<string>
    pred: ReadonlyArray<string>
    score: ReadonlyArray<boolean>
    pred_score: ReadonlyArray<unknown>
  }
  return JSON.stringify({
    id: `g/${r.idx}`,
    question: r.question,
    gold: r.answer,
    level: r.level,
    responses: r.response.map((text, i) => ({
      text,
      answer: r.pred[i],
      reward: r.pred_score[i],
      correct: r.score[i]
    }))
  })
})

interface Format {
  readonly name: string
  readonly lines: ReadonlyArray<string>
  readonly load: (path: string) => Effect.Effect<unknown, DatasetError>
}

const FORMATS: ReadonlyArray<Format> = [
  { name: "math500", lines: MATH500, load: loadMath500 },
  { name: "gsm8k", lines: GSM8K, load: loadGsm8k },
  {
    name: "jsonl",
    lines: MATH500,
    load: (path) =>
      loadJsonl(path, { id: "unique_id", question: "problem", gold: "answer", level: "level", subject: "subject" })
  },
  { name: "qwen-pool", lines: QWEN, load: loadQwenPool },
  { name: "replay-jsonl", lines: GENERIC, load: loadJsonlPool }
]

type Breakage =
  | { readonly _tag: "text"; readonly text: string }
  | { readonly _tag: "set"; readonly pick: number; readonly value: unknown }
  | { readonly _tag: "delete"; readonly pick: number }
  | { readonly _tag: "proto"; readonly key: string; readonly value: string }
  | { readonly _tag: "deep"; readonly depth: number }
  | { readonly _tag: "braces"; readonly pick: number; readonly depth: number }

const breakage: fc.Arbitrary<Breakage> = fc.oneof(
  fc.record({
    _tag: fc.constant("text" as const),
    text: fc.oneof(
      fc.string({ maxLength: 30 }),
      fc.string({ unit: "binary", maxLength: 30 }),
      fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)),
      fc.constantFrom("{", "[]", "null", '"x"', "1e999", "{}", '{"a":1}{"b":2}', "\u0000", "\ufeff{}")
    )
  }),
  {
    arbitrary: fc.record({
      _tag: fc.constant("set" as const),
      pick: fc.nat(),
      value: fc.oneof(
        fc.jsonValue({ maxDepth: 2 }),
        fc.constantFrom("", "Level 9", "Level 3", 3, 0, -1, 1e308, 2 ** 53 + 1, [], [[]], [1, "x"], {}, null, true)
      )
    }),
    weight: 4
  },
  fc.record({ _tag: fc.constant("delete" as const), pick: fc.nat() }),
  fc.record({
    _tag: fc.constant("proto" as const),
    key: fc.constantFrom(...PROTO_KEYS),
    value: fc.constantFrom('{"polluted":true}', '{"question":"x","problem":"x"}', '"x"', "1", "[]")
  }),
  fc.record({ _tag: fc.constant("deep" as const), depth: fc.integer({ min: 100, max: 20_000 }) }),
  fc.record({ _tag: fc.constant("braces" as const), pick: fc.nat(), depth: fc.integer({ min: 100, max: 10_000 }) })
)

/** The paths of a record's fields (and of its lists' first entries and their fields). */
const fieldPaths = (record: Record<string, unknown>): ReadonlyArray<ReadonlyArray<string | number>> => {
  const out: Array<ReadonlyArray<string | number>> = []
  for (const [k, v] of Object.entries(record)) {
    out.push([k])
    if (Array.isArray(v))
      v.slice(0, 3).forEach((x, i) => {
        out.push([k, i])
        if (typeof x === "object" && x !== null && !Array.isArray(x))
          for (const kk of Object.keys(x)) out.push([k, i, kk])
      })
  }
  return out
}

const setPath = (record: unknown, path: ReadonlyArray<string | number>, value: unknown, remove: boolean): unknown => {
  const [head, ...rest] = path
  if (head === undefined) return value
  if (Array.isArray(record)) {
    const copy: Array<unknown> = [...record]
    if (rest.length === 0 && remove) copy.splice(Number(head), 1)
    else copy[Number(head)] = setPath(copy[Number(head)], rest, value, remove)
    return copy
  }
  if (typeof record === "object" && record !== null) {
    const copy = new Map(Object.entries(record))
    if (rest.length === 0 && remove) copy.delete(String(head))
    else copy.set(String(head), setPath(copy.get(String(head)), rest, value, remove))
    return Object.fromEntries(copy)
  }
  return record
}

const breakLine = (line: string, b: Breakage): string => {
  const record = JSON.parse(line) as Record<string, unknown>
  const paths = fieldPaths(record)
  const pick = (n: number) => paths[n % paths.length] ?? []
  switch (b._tag) {
    case "text":
      return b.text.replace(/[\r\n]/gu, " ")
    case "set":
      return JSON.stringify(setPath(record, pick(b.pick), b.value, false))
    case "delete":
      return JSON.stringify(setPath(record, pick(b.pick), undefined, true))
    case "proto":
      return `{${JSON.stringify(b.key)}:${b.value},${line.trim().slice(1)}`
    case "deep":
      // written as text: JSON.stringify recurses and would overflow the stack itself
      return `{"extra":${"[".repeat(b.depth)}${"]".repeat(b.depth)},${line.trim().slice(1)}`
    case "braces": {
      const text = `so \\boxed{${"{".repeat(b.depth)}1${"}".repeat(b.depth)}}`
      const strings = paths.filter(
        (p) => typeof p.reduce<unknown>((v, k) => (v as Record<string, unknown>)[k], record) === "string"
      )
      const at = strings[b.pick % Math.max(1, strings.length)]
      return at === undefined ? line : JSON.stringify(setPath(record, at, text, false))
    }
  }
}

let dir = ""
beforeAll(async () => {
  dir = await mkdtemp(NodePath.join(tmpdir(), "mull-fuzz-dataset-"))
})
afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

describe("dataset lines", () => {
  let file = 0
  it(
    "real files with one broken line: loaded, or a DatasetError naming that line (and the field)",
    async () => {
      const before = prototypeSnapshot()
      const failures: Record<string, number> = {}
      await fc.assert(
        fc.asyncProperty(
          fc.constantFrom(...FORMATS),
          fc.array(fc.nat(), { minLength: 1, maxLength: 4 }),
          fc.nat(),
          breakage,
          async (format, picks, where, b) => {
            // a few real lines, distinct (ids must be unique), one of them broken
            const chosen = [...new Set(picks.map((p) => p % format.lines.length))].map((i) => format.lines[i] ?? "")
            const bad = where % chosen.length
            const lines = chosen.map((l, i) => (i === bad ? breakLine(l, b) : l))
            const path = NodePath.join(dir, format.name, `${file++}.jsonl`)
            await mkdir(NodePath.dirname(path), { recursive: true })
            await writeFile(path, `${lines.join("\n")}\n`)
            const exit = await within(10_000, `${format.name} ${b._tag}`, Effect.runPromiseExit(format.load(path)))
            if (Exit.isSuccess(exit)) return
            assert.isFalse(Cause.hasDies(exit.cause), `${format.name}: died: ${Cause.pretty(exit.cause)}`)
            const e = Cause.squash(exit.cause)
            assert.instanceOf(e, DatasetError)
            if (!(e instanceof DatasetError)) return
            failures[format.name] = (failures[format.name] ?? 0) + 1
            // the broken line, counted from 1 (a blank broken line is skipped, so never at fault)
            assert.strictEqual(e.line, bad + 1, e.message)
            assert.include(e.message, `line ${bad + 1}`)
            assert.include(e.message, NodePath.basename(path))
            if (e.field !== undefined) {
              assert.isAbove(e.field.length, 0)
              assert.include(e.message, `field "${e.field}"`)
            }
            assert.isAtMost(e.message.length, 2_000, "a short message")
          }
        ),
        { numRuns: runs(300) }
      )
      assertNotPolluted(before, "dataset lines")
      assert.isAbove(Object.keys(failures).length, 2, JSON.stringify(failures))
    },
    120_000 * SCALE
  )

  it("random records to the pool parsers: a pool, or a non-empty field and reason", () => {
    const before = prototypeSnapshot()
    const qwen = QWEN.map((l) => JSON.parse(l) as Record<string, unknown>)
    const generic = GENERIC.map((l) => JSON.parse(l) as Record<string, unknown>)
    const record = fc.oneof(
      fc.dictionary(
        fc.oneof(
          fc.string({ maxLength: 6 }),
          fc.constantFrom("idx", "question", "response", "responses", ...PROTO_KEYS)
        ),
        fc.jsonValue({ maxDepth: 2 })
      ),
      fc.tuple(fc.constantFrom(...qwen, ...generic), fc.nat(), fc.jsonValue({ maxDepth: 2 })).map(([r, pick, v]) => {
        const paths = fieldPaths(r)
        return setPath(r, paths[pick % paths.length] ?? [], v, false) as Record<string, unknown>
      })
    )
    fc.assert(
      fc.property(record, fc.nat(), (r, index) => {
        for (const parsed of [parseQwenRecord(r), parseJsonlRecord(r, index, "fuzz")]) {
          if (isFieldProblem(parsed)) {
            assert.isAbove(parsed.field.length, 0)
            assert.isAbove(parsed.reason.length, 0)
          } else assert.isAbove(parsed.responses.length, 0)
        }
      }),
      { numRuns: runs(1_000) }
    )
    assertNotPolluted(before, "pool parsers")
  })
})
