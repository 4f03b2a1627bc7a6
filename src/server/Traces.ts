/**
 * Per-request traces: recorded when a request asks (`mull.trace`), within a size limit, written
 * to the server's folder, served as JSONL or rendered by the trace viewer (one page per choice),
 * and deleted by retention (count and age). Writing a trace never changes a reply: a failure is
 * logged and counted (`mull_trace_write_failures_total`).
 *
 * @since 0.1.0
 */
import { mkdir, readdir, readFile, stat, unlink, writeFile } from "node:fs/promises"
import * as NodePath from "node:path"
import { Effect } from "effect"
import { HttpRouter, HttpServerRequest, HttpServerResponse } from "effect/http"
import { grade } from "../answer/Equivalence.ts"
import { mathAnswerKey } from "../answer/MathGrader.ts"
import type { RunEvent } from "../runtime/RunEvents.ts"
import { splitRuns } from "../trace/TraceEvent.ts"
import { tracePage } from "../trace/Viewer.ts"
import { authorize, fail, Reply } from "./Http.ts"
import * as Metrics from "./Metrics.ts"
import type { Policy } from "./Policy.ts"
import * as Wire from "./Wire.ts"

/** A trace id is a chat completion id; anything else (a path, say) names no trace. */
export const TRACE_ID = /^chatcmpl-mull-[0-9a-f]{16}$/u

/** The lines of one request's trace, recorded up to a size limit. */
export interface Recorder {
  /** records a run event of choice `choice` (tagged with it when the request has several choices) */
  readonly record: (choice: number, event: RunEvent) => void
  readonly lines: ReadonlyArray<string>
  readonly truncated: () => boolean
}

/**
 * A recorder that keeps at most `maxBytes` of lines; past it, events are dropped and one
 * `TraceTruncated` line records how many.
 *
 * @example
 * const recorder = makeRecorder(4 * 1024 * 1024, 1)
 * recorder.record(0, event)
 */
export const makeRecorder = (maxBytes: number, choices: number): Recorder => {
  const lines: Array<string> = []
  let bytes = 0
  let dropped = 0
  let marker: number | undefined
  return {
    record: (choice, event) => {
      // every line carries its time, so `mull trace export` can place it
      const timed = "at" in event ? event : { ...event, at: Date.now() }
      const line = JSON.stringify(choices > 1 ? { ...timed, choice } : timed)
      if (dropped === 0 && bytes + line.length + 1 <= maxBytes) {
        lines.push(line)
        bytes += line.length + 1
        return
      }
      dropped += 1
      const note = JSON.stringify({ _tag: "TraceTruncated", maxBytes, dropped })
      if (marker === undefined) {
        marker = lines.length
        lines.push(note)
      } else lines[marker] = note
    },
    lines,
    truncated: () => dropped > 0
  }
}

/** Deletes the oldest traces past the count limit and those older than the age limit; returns how many. */
const retain = async (dir: string, maxFiles: number, maxAgeMs: number, now: number): Promise<number> => {
  const names = (await readdir(dir)).filter((f) => f.endsWith(".jsonl") && TRACE_ID.test(f.slice(0, -6)))
  const files = await Promise.all(
    names.map(async (f) => {
      const s = await stat(NodePath.join(dir, f)).catch(() => undefined)
      return { file: NodePath.join(dir, f), mtime: s?.mtimeMs ?? 0 }
    })
  )
  files.sort((a, b) => b.mtime - a.mtime)
  const doomed = files.filter((f, i) => i >= maxFiles || now - f.mtime > maxAgeMs)
  let deleted = 0
  for (const f of doomed)
    if (
      await unlink(f.file).then(
        () => true,
        () => false
      )
    )
      deleted += 1
  return deleted
}

/**
 * Writes a request's trace as `<dir>/<id>.jsonl` and applies retention. Never fails: a trace that
 * cannot be written is logged and counted, and the reply goes on as if none had been asked.
 *
 * @example
 * yield* writeTrace(policy, metrics, plan.id, recorder)
 */
const writesSince = new WeakMap<Policy, { writes: number; at: number }>()

/**
 * Whether retention should run after this write: after every write while the limit is small, else
 * every `maxFiles / 10` writes (at most 32) or every 10 s — listing the folder is not free.
 */
const retentionDue = (policy: Policy, now: number): boolean => {
  const last = writesSince.get(policy) ?? { writes: 0, at: 0 }
  last.writes += 1
  writesSince.set(policy, last)
  const every = Math.max(1, Math.min(32, Math.floor(policy.traceLimits.maxFiles / 10)))
  if (last.writes < every && now - last.at < 10_000) return false
  last.writes = 0
  last.at = now
  return true
}

export const writeTrace = (policy: Policy, metrics: Metrics.Metrics, id: string, recorder: Recorder) => {
  const dir = policy.traces
  if (dir === undefined) return Effect.void
  const limits = policy.traceLimits
  return Effect.tryPromise(async () => {
    await mkdir(dir, { recursive: true })
    const lines = recorder.lines
    await writeFile(NodePath.join(dir, `${id}.jsonl`), lines.length === 0 ? "" : `${lines.join("\n")}\n`)
    const now = Date.now()
    return retentionDue(policy, now) ? retain(dir, limits.maxFiles, limits.maxAgeHours * 3_600_000, now) : 0
  }).pipe(
    Effect.tap((deleted) =>
      Effect.sync(() => {
        if (recorder.truncated()) Metrics.count(metrics, { _tag: "TraceTruncated" })
        if (deleted > 0) Metrics.count(metrics, { _tag: "TracesDeleted", count: deleted })
      })
    ),
    Effect.catch((e) =>
      Effect.andThen(
        Effect.sync(() => Metrics.count(metrics, { _tag: "TraceWriteFailed" })),
        Effect.logWarning(`trace ${id} not written: ${e.cause instanceof Error ? e.cause.message : String(e.cause)}`)
      )
    ),
    Effect.asVoid
  )
}

/**
 * A request's trace: the JSONL, or (`as: "html"`) the trace viewer's page of one choice
 * (`?choice=i`, default 0; docs/trace.md).
 *
 * @example
 * yield* router.add("GET", "/v1/traces/:id/html", traceFile(policy, "html"))
 */
export const traceFile = (policy: Policy, as: "jsonl" | "html") =>
  Effect.gen(function* () {
    const http = yield* HttpServerRequest.HttpServerRequest
    yield* authorize(policy, http)
    const { id } = yield* HttpRouter.params.pipe(Effect.map((p) => ({ id: p.id ?? "" })))
    if (policy.traces === undefined || !TRACE_ID.test(id))
      return yield* fail(404, `no trace "${id.slice(0, 100)}"`, "trace_not_found")
    const file = NodePath.join(policy.traces, `${id}.jsonl`)
    const text = yield* Effect.promise(() => readFile(file, "utf8").catch(() => undefined))
    if (text === undefined) return yield* fail(404, `no trace "${id}"`, "trace_not_found")
    if (as === "jsonl") return HttpServerResponse.text(text, { contentType: "application/jsonl" })
    const runs = splitRuns(text)
    const asked = new URL(http.url, "http://x").searchParams.get("choice") ?? "0"
    const choice = /^\d{1,4}$/u.test(asked) ? Number(asked) : Number.NaN
    const run = runs[choice]
    if (run === undefined)
      return yield* fail(
        404,
        `trace "${id}" has ${runs.length} choice${runs.length === 1 ? "" : "s"}; ?choice=${asked.slice(0, 20)} is none of them`,
        "trace_not_found",
        "choice"
      )
    const page = yield* tracePage(run, { ...mathAnswerKey, grade }).pipe(
      Effect.mapError(
        (e) =>
          new Reply({
            status: 500,
            body: Wire.errorBody(500, `trace "${id}" does not render: ${e.problems.join("; ")}`, "trace_unreadable")
          })
      )
    )
    return HttpServerResponse.text(page.html, { contentType: "text/html; charset=utf-8" })
  })
