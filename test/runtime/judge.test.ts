/**
 * The consistency judge of free-text votes (universal self-consistency) on the simulated backend:
 * one metered call charged to the verifier meters and to the select node, the judge's choice as
 * the majority answer, skipped when there is one answer, when the budget cannot pay, for `best` and
 * with `judge: "off"`, and under a usd limit with no verifier price; the static bound counts it for free-text problems; replay refuses it and
 * the vote falls back to normalised text.
 */

import { Effect } from "effect"
import { describe, expect, it } from "vitest"
import * as Replay from "../../plugins/replay/index.ts"
import type { Problem } from "../../src/domain/Problem.ts"
import * as Usage from "../../src/domain/Usage.ts"
import { staticCost } from "../../src/graph/Cost.ts"
import * as Loader from "../../src/graph/Loader.ts"
import { runGraph } from "../../src/Mull.ts"
import type { RunEvent } from "../../src/runtime/RunEvents.ts"
import { judgePrompt, parseVerdict, verdictText } from "../../src/services/Judge.ts"

const FREE: Problem = {
  id: "free/everest",
  question: "How tall is Mount Everest, in metres?",
  gold: "Mount Everest is 8849 metres tall",
  answer: { kind: "free" },
  meta: { level: 4 }
}

const selected = async (graph: string | object, problem: Problem, extra: Record<string, unknown> = {}) => {
  const events: Array<RunEvent> = []
  const result = await runGraph({
    graph,
    problem,
    params: { N: 8 },
    seed: 3,
    onEvent: (e) => {
      events.push(e)
    },
    ...extra
  })
  const sel = events.find((e) => e._tag === "Selected")
  if (sel?._tag !== "Selected") throw new Error("no Selected event")
  return { result, sel }
}

describe("the judge's prompt and verdict", () => {
  it("numbers responses from 1 and reads the verdict back", () => {
    const prompt = judgePrompt("Q?", ["a", "b"])
    expect(prompt).toContain("Response 1: a\nResponse 2: b")
    expect(parseVerdict(verdictText({ chosen: 1, agreeing: [0, 1] }), 2)).toEqual({ chosen: 1, agreeing: [0, 1] })
    expect(parseVerdict("**The most consistent response is Response 3**", 3)).toEqual({ chosen: 2, agreeing: [2] })
    expect(parseVerdict("The most consistent response is Response 9.", 3)).toBeUndefined()
    expect(parseVerdict("I like them all.", 3)).toBeUndefined()
  })
})

describe("free-text votes on the simulated backend", () => {
  it("majority: one judge call on the verifier meters, charged to the select node; its choice wins", async () => {
    const { result, sel } = await selected("majority", FREE)
    expect(sel.judge).toBeDefined()
    expect(sel.judge !== undefined && "chosen" in sel.judge).toBe(true)
    if (sel.judge === undefined || !("chosen" in sel.judge)) return
    expect(sel.chosen).toBe(sel.judge.chosen)
    expect(result.chosen?.id).toBe(sel.judge.chosen)
    expect(result.ranking[0]?.count).toBe(sel.judge.agreeing)
    expect(result.usage.verifierCalls).toBe(1)
    expect(result.usage.verifierTokens).toBeGreaterThan(0)
    const selectEntry = result.ledger.find((e) => e.node === sel.node)
    expect(selectEntry?.usage.verifierCalls).toBe(1)
    expect(selectEntry?.usage.calls).toBe(1)
    expect(selectEntry?.usage.sequences).toBe(0)
  })

  it("is deterministic: the same seed gives the same answer and usage", async () => {
    const a = await selected("majority", FREE)
    const b = await selected("majority", FREE)
    expect(b.result.answer).toBe(a.result.answer)
    expect({ ...b.result.usage, wallMs: 0 }).toEqual({ ...a.result.usage, wallMs: 0 })
  })

  it("best does not ask the judge; judge: off does not; a math problem does not", async () => {
    const best = await selected("best-of-n", FREE)
    expect(best.sel.judge).toBeUndefined()
    const loaded = await Effect.runPromise(Loader.load("majority"))
    const off = JSON.parse(JSON.stringify(loaded.doc)) as { root: { nodes: Array<Record<string, unknown>> } }
    const last = off.root.nodes.at(-1)
    if (last !== undefined) last.judge = "off"
    const judged = await selected(off, FREE)
    expect(judged.sel.judge).toBeUndefined()
    expect(judged.result.usage.verifierCalls).toBe(0)
    const { answer: _, ...plain } = FREE
    const math = await selected("majority", { ...plain, id: "math/x", gold: "7" })
    expect(math.sel.judge).toBeUndefined()
  })

  it("skips the judge when the budget cannot pay for it, and still answers", async () => {
    const { result, sel } = await selected("majority", FREE, { budget: { verifierCalls: 0 } })
    expect(sel.judge).toEqual({ skipped: "the budget cannot pay for the judge" })
    expect(result.answer).toBeDefined()
    expect(result.usage.verifierCalls).toBe(0)
    expect(result.exhausted).toBe(true)
  })

  it("a usd limit prices the judge with the verifier's price; without one the judge is skipped", async () => {
    const budget = { usd: 100 }
    const unpriced = await selected("majority", FREE, { budget, prices: { input: 1, output: 2 } })
    expect(unpriced.sel.judge).toEqual({
      skipped: "usd is limited and no verifier price is set (--price-verifier) to price the judge's tokens"
    })
    expect(unpriced.result.usage.verifierCalls).toBe(0)
    const priced = await selected("majority", FREE, { budget, prices: { input: 1, output: 2, verifier: 3 } })
    expect(priced.sel.judge !== undefined && "chosen" in priced.sel.judge).toBe(true)
    const { verifierTokens, inputTokens, outputTokens } = priced.result.usage
    expect(verifierTokens).toBeGreaterThan(0)
    expect(priced.result.usage.usd).toBeCloseTo((inputTokens * 1 + outputTokens * 2 + verifierTokens * 3) / 1e6, 12)
  })

  it("the static bound counts the judge for free-text problems only", async () => {
    const loaded = await Effect.runPromise(Loader.load("majority"))
    const math = staticCost(loaded, { params: { N: 8 }, maxTokens: 1024 }).usage
    const free = staticCost(loaded, { params: { N: 8 }, maxTokens: 1024, answerKind: "free" }).usage
    expect(math.verifierCalls).toBe(0)
    expect(free.verifierCalls).toBe(1)
    expect(free.calls).toBe(math.calls + 1)
    const { result } = await selected("majority", FREE)
    for (const m of Usage.METERS) if (m !== "wallMs") expect(result.usage[m]).toBeLessThanOrEqual(free[m])
  })
})

describe("replay has no judge", () => {
  it("refuses the call; the vote groups by normalised text", async () => {
    const { mkdtempSync, writeFileSync } = await import("node:fs")
    const { join } = await import("node:path")
    const { tmpdir } = await import("node:os")
    const file = join(mkdtempSync(join(tmpdir(), "mull-judge-")), "capitals.jsonl")
    writeFileSync(
      file,
      `${JSON.stringify({
        id: "fr",
        question: "Capital of France?",
        gold: "Paris",
        responses: [{ text: "Answer: Lyon" }, { text: "Answer: Paris." }, { text: "Answer: paris" }]
      })}\n`
    )
    const events: Array<RunEvent> = []
    const dataset = await Effect.runPromise(Replay.loadJsonlPool(file, "free"))
    const problem = dataset.problems[0]
    if (problem === undefined) throw new Error("no problem")
    const result = await runGraph({
      graph: "majority",
      problem,
      params: { N: 3 },
      backend: "replay",
      backendConfig: { dataset: file, answer: "free" },
      onEvent: (e) => {
        events.push(e)
      }
    })
    const sel = events.find((e) => e._tag === "Selected")
    expect(sel?._tag === "Selected" && sel.judge !== undefined && "skipped" in sel.judge).toBe(true)
    expect(result.answer?.toLowerCase()).toBe("paris")
    expect(result.usage.verifierTokens).toBe(0)
  })
})
