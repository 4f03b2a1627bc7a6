/**
 * Per-request traces: written when a request asks (`mull.trace`), served as JSONL or rendered by
 * the trace viewer.
 *
 * @since 0.1.0
 */
import { mkdir, readFile, writeFile } from "node:fs/promises"
import * as NodePath from "node:path"
import { Effect } from "effect"
import { HttpRouter, HttpServerRequest, HttpServerResponse } from "effect/http"
import { grade } from "../answer/Equivalence.ts"
import { mathAnswerKey } from "../answer/MathGrader.ts"
import { tracePage } from "../trace/Viewer.ts"
import { authorize, fail, Reply } from "./Http.ts"
import type { Policy } from "./Policy.ts"
import * as Wire from "./Wire.ts"

/** A trace id is a chat completion id; anything else (a path, say) names no trace. */
export const TRACE_ID = /^chatcmpl-mull-[0-9a-f]{16}$/u

/** Writes a request's trace as `<dir>/<id>.jsonl` (nothing when the server keeps no traces). */
export const writeTrace = (dir: string | undefined, id: string, lines: ReadonlyArray<string>) =>
  dir === undefined
    ? Effect.void
    : Effect.promise(async () => {
        await mkdir(dir, { recursive: true })
        await writeFile(NodePath.join(dir, `${id}.jsonl`), lines.length === 0 ? "" : `${lines.join("\n")}\n`)
      })

/** A request's trace: the JSONL, or (`as: "html"`) the trace viewer's page of it (docs/trace.md). */
export const traceFile = (policy: Policy, as: "jsonl" | "html") =>
  Effect.gen(function* () {
    yield* authorize(policy, yield* HttpServerRequest.HttpServerRequest)
    const { id } = yield* HttpRouter.params.pipe(Effect.map((p) => ({ id: p.id ?? "" })))
    if (policy.traces === undefined || !TRACE_ID.test(id))
      return yield* fail(404, `no trace "${id}"`, "trace_not_found")
    const file = NodePath.join(policy.traces, `${id}.jsonl`)
    const text = yield* Effect.promise(() => readFile(file, "utf8").catch(() => undefined))
    if (text === undefined) return yield* fail(404, `no trace "${id}"`, "trace_not_found")
    if (as === "jsonl") return HttpServerResponse.text(text, { contentType: "application/jsonl" })
    const page = yield* tracePage(text, { ...mathAnswerKey, grade }).pipe(
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
