/**
 * DeepConf online through the openai backend, against a loopback server that streams in vLLM's
 * chat-completions chunk format (server-sent events, `logprobs` in every chunk, vLLM's
 * `continuous_usage_stats`): the warm-up is one ordinary request for its traces' log-probabilities;
 * each later trace is one streamed request, stopped by the client as soon as its sliding-window
 * group confidence falls below the warm-up threshold — the server sees the connection close and
 * counts the tokens it sent before, and the ledger (each call's `Charged` event, the run's usage)
 * holds exactly those tokens. The server pauses after the token where the rule must trip, so a
 * client that stops late would read more tokens and one that stops early would be charged fewer
 * than the server sent: either fails the test.
 */
import { createServer, type Server } from "node:http"
import type { AddressInfo } from "node:net"
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { FetchHttpClient } from "effect/http"
import * as OpenAi from "../../plugins/openai/index.ts"
import { StreamState, sseEvents } from "../../plugins/openai/Stream.ts"
import * as Confidence from "../../src/domain/Confidence.ts"
import { makeProblem } from "../../src/domain/Problem.ts"
import type * as Usage from "../../src/domain/Usage.ts"
import { runGraph } from "../../src/Mull.ts"
import { threshold } from "../../src/nodes/deepconf.ts"
import type { RunEvent } from "../../src/runtime/RunEvents.ts"

const W = 4
const LENGTH = 30
const PROMPT = 17
/** a confident token: chosen −0.05, runner-up −8 (token confidence 4.025) */
const SURE: readonly [number, number] = [-0.05, -8]
/** an unsure one: −1 and −1.2 (1.1) */
const UNSURE: readonly [number, number] = [-1, -1.2]
/** warm-up traces: every token at one confidence level each */
const WARM: ReadonlyArray<readonly [number, number]> = [
  [-0.2, -6.2],
  [-0.1, -6.9]
]

/** The later trace of a seed: even seeds stay sure, odd ones turn unsure after token 10. */
const traceOf = (seed: number): ReadonlyArray<readonly [number, number]> =>
  Array.from({ length: LENGTH }, (_, i) => (seed % 2 === 1 && i >= 10 ? UNSURE : SURE))
const TEXT = (i: number) => (i === LENGTH - 1 ? " \\boxed{4}" : ` t${i}`)
const conf = (pair: readonly [number, number]) => Confidence.tokenConfidence([...pair])
const warmLowest = WARM.map((p) => conf(p))
const BAR = threshold(warmLowest, 0.5) ?? Number.NaN

interface Streamed {
  readonly seed: number
  /** tokens written before the client closed the connection (all of them if it never did) */
  sent: number
  closed: boolean
  readonly body: Record<string, unknown>
}

let server: Server
let url = ""
const streams: Array<Streamed> = []

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Array<Buffer> = []
    req.on("data", (c: Buffer) => chunks.push(c))
    req.on("end", () => {
      const body = JSON.parse(Buffer.concat(chunks).toString("utf8") || "{}") as Record<string, unknown>
      if (req.url === "/tokenize") {
        res.writeHead(200, { "content-type": "application/json" })
        res.end(JSON.stringify({ count: PROMPT }))
        return
      }
      const n = typeof body.n === "number" ? body.n : 1
      if (body.stream !== true) {
        // the warm-up: n whole traces at once, with logprobs
        res.writeHead(200, { "content-type": "application/json" })
        res.end(
          JSON.stringify({
            choices: Array.from({ length: n }, (_, index) => {
              const pair = WARM[index % WARM.length] ?? SURE
              return {
                index,
                message: { role: "assistant", content: Array.from({ length: LENGTH }, (_, i) => TEXT(i)).join("") },
                logprobs: {
                  content: Array.from({ length: LENGTH }, (_, i) => ({
                    token: TEXT(i),
                    logprob: pair[0],
                    top_logprobs: [
                      { token: TEXT(i), logprob: pair[0] },
                      { token: "x", logprob: pair[1] }
                    ]
                  }))
                },
                finish_reason: "stop"
              }
            }),
            usage: { prompt_tokens: PROMPT, completion_tokens: n * LENGTH }
          })
        )
        return
      }
      const seed = typeof body.seed === "number" ? body.seed : 0
      const record: Streamed = { seed, sent: 0, closed: false, body }
      streams.push(record)
      const trace = traceOf(seed)
      const trip = Confidence.stopAt(Float64Array.from(trace, conf), W, BAR)
      let closedResolve: () => void = () => {}
      const closed = new Promise<void>((resolve) => {
        closedResolve = resolve
      })
      res.on("close", () => {
        record.closed = true
        closedResolve()
      })
      res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" })
      const write = (data: unknown) => res.write(`data: ${JSON.stringify(data)}\n\n`)
      const send = async () => {
        for (let i = 0; i < LENGTH; i++) {
          if (record.closed) return
          const pair = trace[i] ?? SURE
          write({
            choices: [
              {
                index: 0,
                delta: { content: TEXT(i) },
                logprobs: {
                  content: [
                    {
                      token: TEXT(i),
                      logprob: pair[0],
                      top_logprobs: [
                        { token: TEXT(i), logprob: pair[0] },
                        { token: "x", logprob: pair[1] }
                      ]
                    }
                  ]
                },
                finish_reason: i === LENGTH - 1 ? "stop" : null
              }
            ],
            usage: { prompt_tokens: PROMPT, completion_tokens: i + 1 }
          })
          record.sent = i + 1
          // where the rule must trip, wait for the client to close (or give up after 5 s)
          if (trip !== undefined && i + 1 === trip)
            await Promise.race([closed, new Promise((r) => setTimeout(r, 5000))])
          else await new Promise((r) => setTimeout(r, 1))
        }
        if (record.closed) return
        write({ choices: [], usage: { prompt_tokens: PROMPT, completion_tokens: LENGTH } })
        res.end("data: [DONE]\n\n")
      }
      void send()
    })
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})
afterAll(
  () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections()
      server.close(() => resolve())
    })
)

const GRAPH = {
  name: "deepconf-online-test",
  description: "DeepConf online with a small window",
  params: { N: 6, warmup: 2 },
  root: {
    type: "sequence",
    nodes: [
      { type: "deepconf", n: "N", warmup: "warmup", keep: 0.5, window: W, logprobs: 2 },
      { type: "confidence", stat: "lowest-group", window: W },
      { type: "select", method: "weighted" }
    ]
  }
}

describe("openai: DeepConf online over a streaming vLLM-format server", () => {
  it.live(
    "later traces stream; the unsure ones are stopped mid-stream and charged exactly the tokens received",
    () =>
      Effect.gen(function* () {
        streams.length = 0
        const charged: Array<Usage.Usage> = []
        const result = yield* Effect.promise(() =>
          runGraph({
            graph: GRAPH,
            problem: { id: "p", question: "What is $2+2$?", gold: "4" },
            backend: "openai",
            backendConfig: { baseUrl: `${url}/v1`, model: "m", server: "vllm", timeoutMs: 20_000 },
            seed: 3,
            onEvent: (e: RunEvent) => {
              if (e._tag === "Charged") charged.push(e.usage)
            }
          })
        )
        // 4 later traces, each its own streamed request asking for logprobs and per-chunk usage
        assert.strictEqual(streams.length, 4)
        for (const s of streams) {
          assert.strictEqual(s.body.logprobs, true)
          assert.strictEqual(s.body.top_logprobs, 2)
          assert.deepStrictEqual(s.body.stream_options, { include_usage: true, continuous_usage_stats: true })
          assert.isUndefined(s.body.n)
        }
        const stopped = streams.filter((s) => s.seed % 2 === 1)
        const finished = streams.filter((s) => s.seed % 2 === 0)
        assert.isAbove(stopped.length, 0, "some later trace turns unsure")
        assert.isAbove(finished.length, 0, "some later trace stays sure")
        const trip = Confidence.stopAt(Float64Array.from(traceOf(1), conf), W, BAR)
        assert.isDefined(trip)
        assert.isBelow(trip ?? LENGTH, LENGTH)
        for (const s of stopped) {
          assert.isTrue(s.closed, "the client closed the stream")
          assert.strictEqual(s.sent, trip, "the server sent tokens up to the stop, no more")
        }
        for (const s of finished) assert.strictEqual(s.sent, LENGTH)
        // the ledger: the warm-up call, then one charge per later trace of exactly the tokens sent
        const laterCharges = charged.slice(1).map((u) => u.outputTokens)
        assert.deepStrictEqual(
          [...laterCharges].sort((a, b) => a - b),
          streams.map((s) => s.sent).sort((a, b) => a - b)
        )
        const sentTotal = 2 * LENGTH + streams.reduce((a, s) => a + s.sent, 0)
        assert.strictEqual(result.usage.outputTokens, sentTotal)
        assert.isBelow(result.usage.outputTokens, 6 * LENGTH)
        assert.strictEqual(result.usage.sequences, 6)
        assert.strictEqual(result.usage.calls, 5)
        assert.strictEqual(result.usage.inputTokens, 5 * PROMPT)
        // the stopped traces do not vote; the finished ones and the warm-up do
        assert.strictEqual(result.answer, "4")
      }),
    30_000
  )

  it.live("a request without stopBelow is not streamed", () =>
    Effect.gen(function* () {
      streams.length = 0
      const config = yield* OpenAi.resolveConfig({ baseUrl: `${url}/v1`, model: "m", server: "vllm" })
      const gen = (yield* OpenAi.make(config).pipe(Effect.provide(FetchHttpClient.layer))).generator
      const r = yield* gen.generate({
        problem: makeProblem({ id: "p", question: "2+2?" }),
        prefix: undefined,
        n: 2,
        until: "end",
        temperature: 0.8,
        maxTokens: 64,
        seed: 1n,
        logprobs: 2
      })
      assert.strictEqual(streams.length, 0)
      assert.strictEqual(r.generations.length, 2)
      assert.isTrue(r.generations.every((g) => g.stopped === undefined && g.done))
    })
  )
})

describe("openai: stream parsing (pure)", () => {
  it("splits server-sent events on complete lines only", () => {
    const { events, rest } = sseEvents('data: {"a":1}\n\ndata: [DONE]\n\ndata: {"b"')
    assert.deepStrictEqual(events, ['{"a":1}', "[DONE]"])
    assert.strictEqual(rest, 'data: {"b"')
    assert.deepStrictEqual(sseEvents("data: x\r\n\r\n").events, ["x"])
  })

  it("trips at the first window below the threshold; tokens after it in the same read are counted apart", () => {
    const s = new StreamState({ window: 2, threshold: 2 })
    const chunk = (lp: ReadonlyArray<number>, text: string) => ({
      choices: [
        {
          index: 0,
          delta: { content: text },
          logprobs: { content: lp.map((x) => ({ token: "t", logprob: x, top_logprobs: [{ token: "t", logprob: x }] })) }
        }
      ]
    })
    assert.isTrue(s.feed(chunk([-3], "a")))
    assert.isTrue(s.feed(chunk([-3], "b"))) // group 3
    assert.isFalse(s.feed(chunk([-0.5, -0.5], "cd"))) // groups 1.75 then 0.5: stops in this chunk
    s.pastStop(chunk([-3, -3], "ef"))
    const r = s.result()
    assert.isTrue(r.stopped)
    assert.strictEqual(r.tokens, 4)
    assert.strictEqual(r.past, 2)
    assert.strictEqual(r.text, "abcd")
    assert.strictEqual(r.finishReason, "length")
  })

  it("reads completions-format chunks (text, token_logprobs, top_logprobs) and the final usage", () => {
    const s = new StreamState({ window: 2, threshold: 0.5 })
    const chunk = (text: string, x: number, finish: string | null) => ({
      choices: [
        {
          index: 0,
          text,
          logprobs: { tokens: [text], token_logprobs: [x], top_logprobs: [{ [text]: x, alt: -4 }] },
          finish_reason: finish
        }
      ]
    })
    assert.isTrue(s.feed(chunk("So", -0.2, null)))
    assert.isTrue(s.feed(chunk(" 4", -0.1, "stop")))
    assert.isTrue(s.feed({ choices: [], usage: { prompt_tokens: 9, completion_tokens: 2 } }))
    const r = s.result()
    assert.isFalse(r.stopped)
    assert.strictEqual(r.text, "So 4")
    assert.strictEqual(r.finishReason, "stop")
    assert.strictEqual(r.tokens, 2)
    assert.deepStrictEqual(r.usage, { prompt: 9, completion: 2 })
    assert.closeTo(r.confidence[0] ?? 0, 2.1, 1e-12)
    assert.deepStrictEqual(r.logprob, [-0.2, -0.1])
  })
})
