/**
 * OpenTelemetry export (issue 17): `mull run --otlp` sends a beam search's spans — the run (CHAIN),
 * its nodes (CHAIN, EVALUATOR for score), every backend call (LLM with GenAI and OpenInference
 * attributes and token counts; EVALUATOR for the verifier) — with candidate lineage as span links,
 * to a receiver that decodes them with OpenTelemetry's own protobuf definitions; and
 * `mull trace export --otlp` sends the same for the JSONL trace of a run, at its recorded times.
 */
import { spawn } from "node:child_process"
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import * as NodePath from "node:path"
import * as NodeServices from "@effect/platform-node/NodeServices"
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { TestConsole } from "effect/testing"
import { runCli } from "../../src/cli/main.ts"
import { packageRoot } from "../../src/paths.ts"
import { type ReceivedSpan, type Receiver, startReceiver } from "./receiver.ts"

const Q = "What is $6 \\cdot 7$?"
const cli = (argv: ReadonlyArray<string>) =>
  Effect.runPromise(runCli(argv).pipe(Effect.provide(NodeServices.layer), Effect.provide(TestConsole.layer)))

const kindOf = (s: ReceivedSpan) => s.attributes["openinference.span.kind"]

/** What both the live export and the trace export must show. */
const checkSearch = (spans: ReadonlyArray<ReceivedSpan>, what: string) => {
  const run = spans.find((s) => s.name === "mull.execute")
  assert.isDefined(run, `${what}: a run span`)
  if (run === undefined) return
  assert.strictEqual(kindOf(run), "CHAIN")
  assert.strictEqual(run.attributes["input.value"], Q)
  assert.strictEqual(run.attributes["mull.graph"], "beam-search")
  assert.isAbove(Number(run.attributes["llm.token_count.total"]), 0)
  const trace = spans.filter((s) => s.traceId === run.traceId)
  const nodes = trace.filter((s) => s.name.startsWith("mull.node."))
  assert.isTrue(
    nodes.some((s) => s.name === "mull.node.expand" && kindOf(s) === "CHAIN"),
    `${what}: expand nodes`
  )
  assert.isTrue(
    nodes.some((s) => s.name === "mull.node.score" && kindOf(s) === "EVALUATOR"),
    `${what}: score nodes`
  )
  const llm = trace.filter((s) => kindOf(s) === "LLM")
  assert.isAtLeast(llm.length, 6, `${what}: LLM spans`)
  for (const s of llm) {
    assert.include(["chat", "text_completion"], s.attributes["gen_ai.operation.name"], `${what}: ${s.name}`)
    assert.strictEqual(s.attributes["gen_ai.provider.name"], "simulated")
    assert.isString(s.attributes["gen_ai.request.model"])
    assert.isNumber(s.attributes["gen_ai.usage.output_tokens"])
    assert.isNumber(s.attributes["llm.token_count.completion"])
    assert.strictEqual(
      s.attributes["llm.token_count.total"],
      Number(s.attributes["llm.token_count.prompt"]) + Number(s.attributes["llm.token_count.completion"])
    )
    assert.isTrue(
      nodes.some((n) => n.spanId === s.parentSpanId),
      `${what}: an LLM span's parent is a node span`
    )
  }
  assert.isTrue(
    trace.some((s) => kindOf(s) === "EVALUATOR" && !s.name.startsWith("mull.node.")),
    `${what}: verifier spans`
  )
  // lineage: a continuation links to the span that wrote the candidate it continued
  const ids = new Set(llm.map((s) => s.spanId))
  const linked = llm.filter((s) => s.links.some((l) => ids.has(l.spanId) && l.attributes["mull.link"] === "prefix"))
  assert.isAtLeast(linked.length, 3, `${what}: lineage links`)
  for (const s of linked) assert.strictEqual(s.attributes["gen_ai.operation.name"], "text_completion")
  return { run, trace }
}

describe("OTLP", () => {
  let receiver: Receiver
  let dir: string
  beforeAll(async () => {
    receiver = await startReceiver()
    dir = mkdtempSync(NodePath.join(tmpdir(), "mull-otlp-"))
  })
  afterAll(async () => {
    await receiver.close()
    rmSync(dir, { recursive: true, force: true })
  })

  it("mull run --otlp: a beam search's spans, attributes and lineage links", async () => {
    const trace = NodePath.join(dir, "run.jsonl")
    await cli([
      "run",
      "beam-search",
      "--question",
      Q,
      "--param",
      "N=8",
      "--param",
      "rounds=3",
      "--json",
      "--trace",
      trace,
      "--otlp",
      receiver.url
    ])
    assert.isTrue(receiver.contentTypes.every((t) => t === "application/x-protobuf"))
    checkSearch(receiver.spans, "live")
  })

  it("mull trace export --otlp: the same spans from the JSONL trace, at its recorded times", async () => {
    const file = NodePath.join(dir, "run.jsonl")
    const received = receiver.spans.length
    await cli(["trace", "export", file, "--otlp", receiver.url])
    const spans = receiver.spans.slice(received)
    const checked = checkSearch(spans, "export")
    const lines = readFileSync(file, "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { at?: number })
    const times = lines.map((l) => l.at ?? 0)
    const t0 = Math.min(...times)
    const t1 = Math.max(...times)
    for (const s of checked?.trace ?? []) {
      assert.isAtLeast(s.startMs, t0 - 1)
      assert.isAtMost(s.endMs, t1 + 1)
    }
    assert.strictEqual(checked?.run.startMs, t0)
  })

  it("mull serve --otlp: a chat completion's runs are exported, flushed at shutdown", { timeout: 60_000 }, async () => {
    const received = receiver.spans.length
    const child = spawn(process.execPath, ["src/cli/main.ts", "serve", "--port", "0", "--otlp", receiver.url], {
      cwd: packageRoot,
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, MULL_SERVE_TOKEN: "" }
    })
    const exited = new Promise<number | null>((r) => child.on("exit", (code) => r(code)))
    const url = await new Promise<string>((resolve, reject) => {
      let out = ""
      const timer = setTimeout(() => reject(new Error(`no banner:\n${out}`)), 30_000)
      child.stdout?.on("data", (c: Buffer) => {
        out += c.toString()
        const m = /mull serve: (http:\/\/127\.0\.0\.1:\d+)\/v1/u.exec(out)
        if (m?.[1] !== undefined) {
          clearTimeout(timer)
          resolve(m[1])
        }
      })
    })
    const res = await fetch(`${url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        model: "mull/beam-search",
        messages: [{ role: "user", content: Q }],
        mull: { params: { N: 8, rounds: 3 } }
      })
    })
    assert.strictEqual(res.status, 200)
    child.kill("SIGTERM")
    await exited
    checkSearch(receiver.spans.slice(received), "serve")
  })

  it("mull eval --otlp: each run of a sweep is exported", { timeout: 60_000 }, async () => {
    const received = receiver.spans.length
    const store = NodePath.join(dir, "eval.db")
    await cli([
      "eval",
      "--graphs",
      "beam-search",
      "--budgets",
      "8",
      "--limit",
      "2",
      "--store",
      store,
      "--otlp",
      receiver.url
    ])
    const runs = receiver.spans.slice(received).filter((s) => s.name === "mull.execute")
    assert.strictEqual(runs.length, 2)
    assert.isTrue(runs.every((r) => r.attributes["mull.graph"] === "beam-search"))
    assert.isTrue(receiver.spans.slice(received).some((s) => s.attributes["openinference.span.kind"] === "LLM"))
  })
})
