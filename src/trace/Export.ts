/**
 * A JSONL run trace as OpenTelemetry spans, at the times its lines record (`mull trace export
 * --otlp URL`), through whatever tracer is installed (the CLI installs Effect's OTLP exporter).
 * The spans mirror those of a live run: the run (OpenInference CHAIN), each node (CHAIN, or
 * EVALUATOR for a score node), each candidate a backend wrote (LLM, with GenAI attributes and
 * its own output tokens, linked to the candidate it continued) and each score (EVALUATOR, linked
 * to the candidate it scored). A line without a time takes the time of the line before it.
 *
 * @since 0.2.0
 */
import { Context, Effect, Exit, Option, type Tracer } from "effect"
import type { TraceLine } from "./TraceEvent.ts"

const nanos = (ms: number): bigint => BigInt(Math.round(ms * 1000)) * 1000n

/** The token attributes of both conventions. */
const tokens = (prompt: number, completion: number): Record<string, number> => ({
  "gen_ai.usage.input_tokens": prompt,
  "gen_ai.usage.output_tokens": completion,
  "llm.token_count.prompt": prompt,
  "llm.token_count.completion": completion,
  "llm.token_count.total": prompt + completion
})

interface Open {
  readonly node: string
  readonly span: Tracer.Span
}

/**
 * Sends the spans of a decoded trace (one run) to the tracer in context; returns how many.
 *
 * @example
 * const sent = yield* exportTrace(lines).pipe(Effect.provide(otlpLayer(url)))
 */
export const exportTrace = (lines: ReadonlyArray<TraceLine>): Effect.Effect<number> =>
  Effect.gen(function* () {
    const tracer = yield* Effect.tracer
    let count = 0
    let now = Date.now()
    const first = lines.find((l) => l.at !== undefined)?.at
    if (first !== undefined) now = first
    const make = (
      name: string,
      parent: Tracer.AnySpan | undefined,
      startMs: number,
      attributes: Record<string, unknown>,
      links: Array<Tracer.SpanLink> = [],
      kind: Tracer.SpanKind = "internal"
    ): Tracer.Span => {
      const span = tracer.span({
        name,
        parent: parent === undefined ? Option.none() : Option.some(parent),
        annotations: Context.empty(),
        links,
        startTime: nanos(startMs),
        kind,
        root: parent === undefined,
        sampled: true
      })
      for (const [k, v] of Object.entries(attributes)) span.attribute(k, v)
      count += 1
      return span
    }
    const end = (span: Tracer.Span, ms: number) => span.end(nanos(ms), Exit.void)

    let run: Tracer.Span | undefined
    let model = "unknown"
    let backend = "unknown"
    const open: Array<Open> = []
    const candidates = new Map<string, { readonly span: Tracer.Span; readonly tokens: number }>()
    /** The innermost open node span enclosing a node path, else the run's. */
    const parentOf = (node: string): Tracer.AnySpan | undefined => {
      for (let i = open.length - 1; i >= 0; i--) {
        const o = open[i]
        if (o !== undefined && (node === o.node || node.startsWith(`${o.node}.`) || node.startsWith(`${o.node}[`)))
          return o.span
      }
      return run
    }
    let previous = now
    for (const { event: e, at } of lines) {
      const t = at ?? previous
      const startMs = previous
      previous = t
      switch (e._tag) {
        case "RunStarted":
          model = e.model ?? model
          backend = e.backend ?? backend
          run = make("mull.execute", undefined, t, {
            "openinference.span.kind": "CHAIN",
            "gen_ai.operation.name": "invoke_agent",
            "gen_ai.agent.name": e.graph,
            "mull.graph": e.graph,
            "mull.problem": e.problemId,
            "mull.seed": e.seed,
            ...(e.question === undefined ? {} : { "input.value": e.question })
          })
          break
        case "NodeEntered":
          open.push({
            node: e.node,
            span: make(`mull.node.${e.type}`, parentOf(e.node), t, {
              "openinference.span.kind": e.type === "score" ? "EVALUATOR" : "CHAIN",
              "mull.node": e.node,
              "mull.node.type": e.type,
              "mull.round": e.round,
              path: e.node
            })
          })
          break
        case "NodeExited": {
          const i = open.findLastIndex((o) => o.node === e.node)
          const o = open[i]
          if (o !== undefined) {
            open.splice(i, 1)
            end(o.span, t)
          }
          break
        }
        case "CandidateCreated": {
          const parent = e.parentId === undefined ? undefined : candidates.get(e.parentId)
          const own = Math.max(0, e.tokens - (parent?.tokens ?? 0))
          const operation = e.parentId === undefined ? "chat" : "text_completion"
          const span = make(
            `${operation} ${model}`,
            parentOf(e.node),
            startMs,
            {
              "gen_ai.operation.name": operation,
              "gen_ai.provider.name": backend,
              "gen_ai.system": backend,
              "gen_ai.request.model": model,
              "openinference.span.kind": "LLM",
              "llm.model_name": model,
              "llm.provider": backend,
              ...tokens(0, own),
              "output.value": e.text,
              "mull.node": e.node,
              "mull.candidate": e.id,
              "mull.done": e.done,
              ...(e.answer === undefined ? {} : { "mull.answer": e.answer }),
              ...(e.parentId === undefined ? {} : { "mull.candidate.parent": e.parentId })
            },
            parent === undefined
              ? []
              : [{ span: parent.span, attributes: { "mull.link": "prefix", "mull.candidate": e.parentId ?? "" } }],
            "client"
          )
          end(span, t)
          candidates.set(e.id, { span, tokens: e.tokens })
          break
        }
        case "CandidateScored": {
          const scored = candidates.get(e.id)
          const span = make(
            "score",
            parentOf(e.node),
            startMs,
            {
              "gen_ai.operation.name": "score",
              "openinference.span.kind": "EVALUATOR",
              "mull.node": e.node,
              "mull.candidate": e.id,
              "mull.score": e.score
            },
            scored === undefined
              ? []
              : [{ span: scored.span, attributes: { "mull.link": "scored", "mull.candidate": e.id } }],
            "client"
          )
          end(span, t)
          break
        }
        case "RunFinished":
          if (run !== undefined) {
            const u = e.usage
            const attributes: Record<string, unknown> = {
              ...tokens(u.inputTokens + u.verifierTokens, u.outputTokens),
              "output.value": e.answer ?? "",
              "mull.exhausted": e.exhausted,
              "mull.usage.sequences": u.sequences,
              "mull.usage.calls": u.calls
            }
            for (const [k, v] of Object.entries(attributes)) run.attribute(k, v)
          }
          break
        case "Charged":
        case "CandidatesPruned":
        case "Refused":
        case "Selected":
        case "Routed":
        case "TreeVisited":
        case "TraceTruncated":
          break
      }
    }
    // a trace cut short (truncated, or a run interrupted) still ends every span it opened
    for (const o of open.reverse()) end(o.span, previous)
    if (run !== undefined) end(run, previous)
    return count
  })
