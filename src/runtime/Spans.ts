/**
 * The spans of a run, for OpenTelemetry: one per run (`mull.execute`), per plan node
 * (`mull.node.<type>`) and per backend call — named and attributed as the OpenTelemetry GenAI
 * conventions (`gen_ai.*`) and OpenInference (`openinference.span.kind` LLM / CHAIN / EVALUATOR,
 * `llm.token_count.*`, `input.value` / `output.value`) expect, so Langfuse, Phoenix or any OTel
 * collector can read a search. A call that continues a candidate links to the span of the call
 * that wrote it (and a revision to the spans of the attempts it read): the search tree as span
 * links. Spans are opened only under a tracer that exports them (`RunEnv.traced`); otherwise each
 * function returns its effect as is.
 *
 * @since 0.2.0
 */
import { Effect, type Tracer } from "effect"
import type { Candidate } from "../domain/Candidate.ts"
import type { Problem } from "../domain/Problem.ts"
import type { RunResult } from "../domain/RunResult.ts"
import * as Steps from "../domain/Steps.ts"
import type { Usage } from "../domain/Usage.ts"
import type { GenerateRequest, GenerateResult } from "../services/Generator.ts"
import type { Frame } from "./Env.ts"

/** OpenInference's span kinds mull uses. */
export type SpanKind = "LLM" | "CHAIN" | "EVALUATOR"

/** The token attributes of both conventions, from prompt and completion counts. */
export const tokenAttributes = (prompt: number, completion: number): Record<string, number> => ({
  "gen_ai.usage.input_tokens": prompt,
  "gen_ai.usage.output_tokens": completion,
  "llm.token_count.prompt": prompt,
  "llm.token_count.completion": completion,
  "llm.token_count.total": prompt + completion
})

/** The span of the call that wrote a step: what later calls on the same candidate link to. */
const writers = new WeakMap<Steps.Step, Tracer.AnySpan>()

/** The span that wrote a candidate's last step, if it was traced. */
const writerOf = (c: Candidate | undefined): Tracer.AnySpan | undefined => {
  const last = c === undefined ? undefined : Steps.last(c.steps)
  return last === undefined ? undefined : writers.get(last)
}

/**
 * The links of a generation: to the call that wrote its prefix, and to those that wrote the
 * attempts a revision reads.
 *
 * @example
 * lineage(request) // [{ span, attributes: { "mull.link": "prefix", "mull.candidate": "s3.1" } }]
 */
export const lineage = (request: GenerateRequest): Array<Tracer.SpanLink> => {
  const out: Array<Tracer.SpanLink> = []
  const prefix = writerOf(request.prefix)
  if (prefix !== undefined && request.prefix !== undefined)
    out.push({ span: prefix, attributes: { "mull.link": "prefix", "mull.candidate": request.prefix.id } })
  for (const c of request.context ?? []) {
    const span = writerOf(c)
    if (span !== undefined) out.push({ span, attributes: { "mull.link": "context", "mull.candidate": c.id } })
  }
  return out
}

/**
 * The attributes of a generation call, before it runs.
 *
 * @example
 * generationAttributes(frame, "root.nodes.0", request)["gen_ai.operation.name"] // "chat"
 */
export const generationAttributes = (frame: Frame, node: string, request: GenerateRequest): Record<string, unknown> => {
  const gen = frame.env.generator
  const parameters = {
    n: request.n,
    temperature: request.temperature,
    max_tokens: request.maxTokens,
    seed: String(request.seed),
    until: request.until
  }
  return {
    "gen_ai.operation.name": operationOf(request),
    "gen_ai.provider.name": gen.backend,
    "gen_ai.system": gen.backend,
    "gen_ai.request.model": gen.model,
    "gen_ai.request.temperature": request.temperature,
    "gen_ai.request.max_tokens": request.maxTokens,
    "gen_ai.request.seed": Number(BigInt.asIntN(53, request.seed)),
    "gen_ai.request.choice.count": request.n,
    "openinference.span.kind": "LLM",
    "llm.model_name": gen.model,
    "llm.provider": gen.backend,
    "llm.invocation_parameters": JSON.stringify(parameters),
    "mull.node": node,
    "mull.until": request.until,
    ...(request.prefix === undefined ? {} : { "mull.candidate.parent": request.prefix.id }),
    ...(request.context === undefined ? {} : { "mull.context": request.context.map((c) => c.id) })
  }
}

/** A continuation of a partial solution is a completion; a fresh solution or a revision, a chat. */
const operationOf = (request: GenerateRequest): "text_completion" | "chat" =>
  request.prefix === undefined ? "chat" : "text_completion"

/**
 * One attempt of a generation call in its span (`chat <model>` / `text_completion <model>`, a
 * client span), linked to its candidate's lineage; the span records the usage and finish reasons,
 * and becomes the writer of the steps it returned.
 *
 * @example
 * const result = yield* Spans.generation(frame, node, request, invokeGenerator(frame, request))
 */
export const generation = <A extends { readonly result: GenerateResult }, E>(
  frame: Frame,
  node: string,
  request: GenerateRequest,
  call: Effect.Effect<A, E>
): Effect.Effect<A, E> => {
  if (!frame.env.traced) return call
  const traced = Effect.flatMap(Effect.orDie(Effect.currentSpan), (span) =>
    Effect.tap(call, ({ result }) =>
      Effect.sync(() => {
        let output = 0
        for (const g of result.generations) {
          output += g.outputTokens
          const last = g.steps[g.steps.length - 1]
          if (last !== undefined) writers.set(last, span)
        }
        const attributes: Record<string, unknown> = {
          ...tokenAttributes(result.inputTokens, output),
          "gen_ai.response.finish_reasons": result.generations.map((g) => g.finishReason),
          "gen_ai.response.model": frame.env.generator.model
        }
        for (const [k, v] of Object.entries(attributes)) span.attribute(k, v)
      })
    )
  )
  return Effect.withSpan(traced, `${operationOf(request)} ${frame.env.generator.model}`, {
    kind: "client",
    attributes: generationAttributes(frame, node, request),
    links: lineage(request),
    captureStackTrace: false
  })
}

/**
 * One attempt of a verifier call in its span (`score <model>`, OpenInference EVALUATOR), linked
 * to the calls that wrote the candidates it scores; the span records the tokens read and the scores.
 *
 * @example
 * const scores = yield* Spans.verification(frame, node, "prm", candidates, attempt)
 */
export const verification = <
  A extends { readonly usage: Usage; readonly value: ReadonlyArray<ReadonlyArray<number>> },
  E
>(
  frame: Frame,
  node: string,
  verifierName: string,
  candidates: ReadonlyArray<Candidate>,
  call: Effect.Effect<A, E>
): Effect.Effect<A, E> => {
  if (!frame.env.traced) return call
  const v = frame.env.verifier
  const links: Array<Tracer.SpanLink> = []
  for (const c of candidates) {
    const span = writerOf(c)
    if (span !== undefined) links.push({ span, attributes: { "mull.link": "scored", "mull.candidate": c.id } })
  }
  const traced = Effect.flatMap(Effect.orDie(Effect.currentSpan), (span) =>
    Effect.tap(call, ({ usage, value }) =>
      Effect.sync(() => {
        const attributes: Record<string, unknown> = {
          ...tokenAttributes(usage.verifierTokens, 0),
          "mull.scores": value.map((s) => s[s.length - 1] ?? 0)
        }
        for (const [k, val] of Object.entries(attributes)) span.attribute(k, val)
      })
    )
  )
  return Effect.withSpan(traced, `score ${v.model}`, {
    kind: "client",
    attributes: {
      "gen_ai.operation.name": "score",
      "gen_ai.provider.name": v.backend,
      "gen_ai.system": v.backend,
      "gen_ai.request.model": v.model,
      "openinference.span.kind": "EVALUATOR",
      "llm.model_name": v.model,
      "mull.node": node,
      "mull.verifier": verifierName,
      "mull.candidates": candidates.map((c) => c.id)
    },
    links,
    captureStackTrace: false
  })
}

/**
 * The attributes of a plan node's span: OpenInference EVALUATOR for a node that scores, CHAIN
 * for the others.
 *
 * @example
 * nodeAttributes("score", "root.nodes.1", 0)["openinference.span.kind"] // "EVALUATOR"
 */
export const nodeAttributes = (type: string, path: string, round: number): Record<string, unknown> => ({
  "openinference.span.kind": type === "score" ? "EVALUATOR" : "CHAIN",
  "mull.node": path,
  "mull.node.type": type,
  "mull.round": round,
  path
})

/**
 * A run in its span (`mull.execute`, OpenInference CHAIN): the question as input, the answer as
 * output, the run's token totals.
 *
 * @example
 * Spans.run(body, "beam-search", problem, 0)
 */
export const run = <E, R>(
  body: Effect.Effect<RunResult, E, R>,
  graph: string,
  problem: Problem,
  seed: number | bigint
): Effect.Effect<RunResult, E, R> =>
  Effect.withSpan(
    Effect.flatMap(Effect.orDie(Effect.currentSpan), (span) =>
      Effect.tap(body, (result) =>
        Effect.sync(() => {
          const u = result.usage
          const attributes: Record<string, unknown> = {
            ...tokenAttributes(u.inputTokens + u.verifierTokens, u.outputTokens),
            "output.value": result.answer ?? "",
            "mull.exhausted": result.exhausted,
            "mull.usage.sequences": u.sequences,
            "mull.usage.calls": u.calls
          }
          for (const [k, v] of Object.entries(attributes)) span.attribute(k, v)
        })
      )
    ),
    "mull.execute",
    {
      attributes: {
        "openinference.span.kind": "CHAIN",
        "gen_ai.operation.name": "invoke_agent",
        "gen_ai.agent.name": graph,
        "mull.graph": graph,
        "mull.problem": problem.id,
        "mull.seed": String(seed),
        "input.value": problem.question
      },
      captureStackTrace: false
    }
  )
