/**
 * Streamed generation for DeepConf online (`GenerateRequest.stopBelow`): one request with
 * `stream: true` (server-sent events in OpenAI's / vLLM's chunk format, `logprobs` in every chunk),
 * read chunk by chunk; each token's confidence (`Confidence.tokenConfidence` of its top
 * log-probabilities) goes through a sliding window, and as soon as a window's mean falls below the
 * threshold the reading stops and the HTTP request is aborted (the response body is cancelled, so
 * the server sees the connection close and stops generating).
 *
 * What is charged is what was received: the tokens of every chunk read (a chunk may carry more
 * than one token; they were generated and sent, so they count), checked against vLLM's
 * `continuous_usage_stats` when the server reports usage in each chunk. A stream that ends by
 * itself is charged its final `usage` when the server sends it (`stream_options.include_usage`).
 *
 * @since 0.3.0
 */
import { Clock, Effect, Redacted, Schema, Stream } from "effect"
import { type HttpClient, HttpClientRequest } from "effect/http"
import * as Confidence from "../../src/domain/Confidence.ts"
import { formatIssues } from "../../src/domain/SchemaProblems.ts"
import { BackendError, BadResponse, InvalidRequest, Timeout, Unavailable } from "../../src/services/BackendError.ts"
import type { StopBelow } from "../../src/services/Generator.ts"
import type { HttpEndpoint } from "../../src/services/HttpAttempt.ts"
import { errorOfStatus, redact } from "../../src/services/HttpErrors.ts"

const Usage = Schema.NullOr(
  Schema.Struct({
    prompt_tokens: Schema.Int.check(Schema.isGreaterThanOrEqualTo(0)),
    completion_tokens: Schema.Int.check(Schema.isGreaterThanOrEqualTo(0))
  })
)
const TopChat = Schema.NullOr(Schema.Array(Schema.Struct({ token: Schema.String, logprob: Schema.Number })))

/** One streamed chunk, chat (`delta`) or completions (`text`) format; only what mull reads. */
export const Chunk = Schema.Struct({
  choices: Schema.Array(
    Schema.Struct({
      index: Schema.Int,
      delta: Schema.optionalKey(Schema.Struct({ content: Schema.optionalKey(Schema.NullOr(Schema.String)) })),
      text: Schema.optionalKey(Schema.String),
      finish_reason: Schema.optionalKey(Schema.NullOr(Schema.String)),
      stop_reason: Schema.optionalKey(Schema.NullOr(Schema.Union([Schema.String, Schema.Number]))),
      logprobs: Schema.optionalKey(
        Schema.NullOr(
          Schema.Struct({
            // chat
            content: Schema.optionalKey(
              Schema.NullOr(
                Schema.Array(
                  Schema.Struct({
                    token: Schema.String,
                    logprob: Schema.Number,
                    top_logprobs: Schema.optionalKey(TopChat)
                  })
                )
              )
            ),
            // completions
            tokens: Schema.optionalKey(Schema.Array(Schema.String)),
            token_logprobs: Schema.optionalKey(Schema.Array(Schema.NullOr(Schema.Number))),
            top_logprobs: Schema.optionalKey(
              Schema.NullOr(Schema.Array(Schema.NullOr(Schema.Record(Schema.String, Schema.Number))))
            )
          })
        )
      )
    })
  ),
  usage: Schema.optionalKey(Usage)
})
export type Chunk = typeof Chunk.Type

/** What a stream gave: the text, per-token confidences and log-probabilities, why it ended. */
export interface Streamed {
  readonly text: string
  readonly confidence: ReadonlyArray<number>
  readonly logprob: ReadonlyArray<number>
  readonly finishReason: string | null
  readonly stopReason: string | number | null | undefined
  /** the tokens received (logprob entries, or the server's running count when larger) */
  readonly tokens: number
  /** the last usage the server reported, if any */
  readonly usage: { readonly prompt: number; readonly completion: number } | undefined
  /** stopped by the confidence rule (the request was aborted) */
  readonly stopped: boolean
  /**
   * tokens that arrived in the same read after the chunk that tripped the rule: received and
   * paid to the provider (real spend), but past the stop, so not part of the trace or its logical
   * charge (which must not depend on how the network split the bytes)
   */
  readonly past: number
}

/**
 * The state of one stream as chunks arrive (pure: `feed` returns whether to read on).
 *
 * @example
 * const s = new StreamState({ window: 2, threshold: 5 })
 * s.feed(chunk) // false once the group confidence of the last 2 tokens is below 5
 */
export class StreamState {
  private readonly monitor: Confidence.GroupMonitor
  private readonly threshold: number
  text = ""
  readonly confidence: Array<number> = []
  readonly logprob: Array<number> = []
  finishReason: string | null = null
  stopReason: string | number | null | undefined = undefined
  usage: { prompt: number; completion: number } | undefined = undefined
  stopped = false
  past = 0
  constructor(rule: StopBelow, before?: Float64Array) {
    this.monitor = new Confidence.GroupMonitor(rule.window)
    this.threshold = rule.threshold
    if (before !== undefined) for (const v of before) this.monitor.push(v)
  }
  /** Counts the tokens of a chunk that arrived after the stop. */
  pastStop(chunk: Chunk): void {
    for (const c of chunk.choices) {
      if (c.index !== 0 || c.logprobs == null) continue
      this.past += c.logprobs.content?.length ?? c.logprobs.token_logprobs?.length ?? 0
    }
  }
  /** Takes one chunk; returns `false` when the rule has tripped (stop reading). */
  feed(chunk: Chunk): boolean {
    if (chunk.usage != null)
      this.usage = { prompt: chunk.usage.prompt_tokens, completion: chunk.usage.completion_tokens }
    for (const c of chunk.choices) {
      if (c.index !== 0) continue
      this.text += c.delta?.content ?? c.text ?? ""
      if (c.finish_reason != null) this.finishReason = c.finish_reason
      if (c.stop_reason !== undefined) this.stopReason = c.stop_reason
      const lp = c.logprobs
      if (lp == null) continue
      if (lp.content != null)
        for (const t of lp.content) {
          this.token(Confidence.tokenConfidence(t.top_logprobs?.map((x) => x.logprob) ?? [t.logprob]), t.logprob)
        }
      else if (lp.token_logprobs !== undefined)
        lp.token_logprobs.forEach((x, i) => {
          const top = lp.top_logprobs?.[i]
          this.token(Confidence.tokenConfidence(top == null ? [x ?? -100] : Object.values(top)), x ?? -100)
        })
    }
    return !this.stopped
  }
  private token(confidence: number, logprob: number) {
    this.confidence.push(confidence)
    this.logprob.push(logprob)
    // every token of a chunk was generated and received: all are kept, the rule trips at the first
    const g = this.monitor.push(confidence)
    if (!this.stopped && g !== undefined && g < this.threshold) this.stopped = true
  }
  /** What the stream gave. */
  result(): Streamed {
    return {
      text: this.text,
      confidence: this.confidence,
      logprob: this.logprob,
      finishReason: this.stopped ? "length" : this.finishReason,
      stopReason: this.stopped ? null : this.stopReason,
      tokens: Math.max(this.confidence.length, this.usage?.completion ?? 0),
      usage: this.usage,
      stopped: this.stopped,
      past: this.past
    }
  }
}

/**
 * The `data:` payloads of server-sent events in `buffer` (complete lines only) and what is left.
 *
 * @example
 * sseEvents('data: {"a":1}\n\ndata: [DONE]\n\ndata: {"b"') // { events: ['{"a":1}', "[DONE]"], rest: 'data: {"b"' }
 */
export const sseEvents = (buffer: string): { readonly events: ReadonlyArray<string>; readonly rest: string } => {
  const lines = buffer.split(/\r?\n/u)
  const rest = lines.pop() ?? ""
  const events: Array<string> = []
  for (const line of lines) if (line.startsWith("data:")) events.push(line.slice(5).trim())
  return { events, rest }
}

const decodeChunk = Schema.decodeUnknownResult(Chunk)

/**
 * POSTs a streamed request and reads it until it ends or the rule trips (then the request is
 * aborted: the body stream is cancelled). Failures map as `HttpAttempt.postJson`'s do.
 *
 * @example
 * const streamed = yield* postStream(client, endpoint, url, body, { window: 256, threshold: 9.5 })
 */
export const postStream = (
  client: HttpClient.HttpClient,
  endpoint: HttpEndpoint,
  url: string,
  body: unknown,
  rule: StopBelow,
  before?: Float64Array
): Effect.Effect<Streamed, BackendError> => {
  const secret = endpoint.apiKey === undefined ? undefined : Redacted.value(endpoint.apiKey)
  const where = { backend: endpoint.backend, operation: "generate" }
  const fields = (message: string) => ({ message: redact(message, secret) })
  const request = HttpClientRequest.post(url).pipe(
    HttpClientRequest.setHeader("accept", "text/event-stream"),
    HttpClientRequest.bodyText(JSON.stringify(body), "application/json"),
    secret === undefined ? (r) => r : HttpClientRequest.bearerToken(secret)
  )
  const attempt = Effect.gen(function* () {
    const response = yield* client.execute(request).pipe(
      Effect.mapError((e) =>
        e.reason._tag === "TransportError"
          ? new BackendError({
              ...where,
              reason: new Unavailable(fields(`cannot reach ${url}: ${e.reason.description ?? e.message}`))
            })
          : new BackendError({
              ...where,
              reason: new InvalidRequest(fields(`cannot send the request to ${url}: ${e.message}`))
            })
      )
    )
    if (response.status < 200 || response.status >= 300) {
      const text = yield* response.text.pipe(Effect.orElseSucceed(() => ""))
      const nowMs = yield* Clock.currentTimeMillis
      return yield* Effect.fail(
        errorOfStatus({
          backend: endpoint.backend,
          operation: "generate",
          status: response.status,
          retryAfter: response.headers["retry-after"],
          body: text,
          nowMs,
          secret
        })
      )
    }
    const state = new StreamState(rule, before)
    let buffer = ""
    let done = false
    let bad: string | undefined
    const decoder = new TextDecoder()
    // returning false ends the stream early: its body is cancelled and the request aborted
    yield* response.stream.pipe(
      Stream.runForEachWhile((bytes) =>
        Effect.sync(() => {
          const { events, rest } = sseEvents(buffer + decoder.decode(bytes, { stream: true }))
          buffer = rest
          for (const data of events) {
            if (data === "[DONE]" && !state.stopped) {
              done = true
              return false
            }
            if (data === "[DONE]") continue
            let json: unknown
            try {
              json = JSON.parse(data)
            } catch {
              bad = `a streamed chunk is not JSON: ${JSON.stringify(redact(data, secret).slice(0, 120))}`
              return false
            }
            const chunk = decodeChunk(json)
            if (chunk._tag === "Failure") {
              bad = `unexpected streamed chunk: ${formatIssues(chunk.failure, "", { root: "(root)", limit: 3 }).join("; ")}`
              return false
            }
            if (state.stopped) state.pastStop(chunk.success)
            else state.feed(chunk.success)
          }
          return !state.stopped
        })
      ),
      Effect.mapError(
        (e) =>
          new BackendError({ ...where, reason: new Unavailable(fields(`stream from ${url} broke off: ${e.message}`)) })
      )
    )
    if (bad !== undefined) return yield* new BackendError({ ...where, reason: new BadResponse(fields(bad)) })
    if (!done && !state.stopped && state.finishReason === null)
      return yield* new BackendError({
        ...where,
        reason: new Unavailable(fields(`stream from ${url} ended before the generation finished`))
      })
    return state.result()
  })
  return attempt.pipe(
    Effect.timeoutOrElse({
      duration: endpoint.timeoutMs,
      orElse: () =>
        Effect.fail(
          new BackendError({
            ...where,
            reason: new Timeout({
              ...fields(`no complete stream from ${url} within ${endpoint.timeoutMs} ms`),
              timeoutMs: endpoint.timeoutMs
            })
          })
        )
    })
  )
}
