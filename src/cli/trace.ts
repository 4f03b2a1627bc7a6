/**
 * `mull trace <run.jsonl> [--out tree.html]`: turns the trace `mull run --trace` writes into a
 * self-contained HTML page — the search tree (PRM scores as colour, pruned branches faded, the
 * chosen answer's path highlighted), the vote tally, and the budget spent over time per meter; a
 * service trace of `n` choices gives one page per choice.
 *
 * @since 0.1.0
 */
import { readFile, writeFile } from "node:fs/promises"
import { Console, Effect, Option, Result } from "effect"
import { Argument, Command, Flag } from "effect/cli"
import { grade } from "../answer/Equivalence.ts"
import { mathAnswerKey } from "../answer/MathGrader.ts"
import { exportTrace } from "../trace/Export.ts"
import { parseTrace, splitRuns } from "../trace/TraceEvent.ts"
import { treeCounts } from "../trace/TraceTree.ts"
import { tracePage } from "../trace/Viewer.ts"
import { InvalidInput } from "./InvalidInput.ts"
import { otlpLayer } from "./Otlp.ts"

/** `run.jsonl` → `run.html`. */
const defaultOut = (file: string): string => `${file.replace(/\.jsonl?$/u, "")}.html`

/** The page of one run of a trace file (`choice` when the trace holds several). */
const renderRun = (file: string, text: string, path: string) =>
  Effect.gen(function* () {
    const { html, model } = yield* tracePage(text, { ...mathAnswerKey, grade }).pipe(
      Effect.mapError(
        (e) => new InvalidInput({ subject: `trace ${file}`, problems: e.problems.map((p) => `${file}: ${p}`) })
      )
    )
    yield* Effect.tryPromise({
      try: () => writeFile(path, html),
      catch: (e) =>
        new InvalidInput({
          subject: "--out",
          problems: [`--out ${path}: cannot write (${e instanceof Error ? e.message : String(e)})`]
        })
    })
    const c = treeCounts(model)
    yield* Console.log(
      `${path}: ${model.run.graph} on ${model.run.problemId}, ${c.candidates} candidates (${c.pruned} pruned, ${c.done} done), answer ${model.finished?.answer ?? model.selected?.answer ?? "(none)"}`
    )
  })

/** `run.html` → `run.choice-2.html`. */
const choicePath = (path: string, choice: number): string => `${path.replace(/\.html?$/u, "")}.choice-${choice}.html`

export const readTrace = (file: string) =>
  Effect.tryPromise({
    try: () => readFile(file, "utf8"),
    catch: (e) =>
      new InvalidInput({
        subject: `trace ${file}`,
        problems: [`${file}: cannot read (${e instanceof Error ? e.message : String(e)})`]
      })
  })

/**
 * `mull trace <run.jsonl> [--out tree.html]`: one page per run — a trace of a service request
 * with `n` choices holds `n` runs, written as `<out>.choice-<i>.html`.
 */
export const traceRender = Command.make(
  "trace",
  {
    file: Argument.String("trace").pipe(Argument.withDescription("A trace written by `mull run --trace FILE.jsonl`")),
    out: Flag.String("out").pipe(
      Flag.withDescription("The HTML file to write (default: the trace's name with .html)"),
      Flag.optional
    )
  },
  Effect.fn("trace")(function* ({ file, out }) {
    const text = yield* readTrace(file)
    const path = Option.getOrElse(out, () => defaultOut(file))
    const runs = splitRuns(text)
    if (runs.length === 1) return yield* renderRun(file, text, path)
    for (const [choice, run] of runs.entries()) yield* renderRun(file, run, choicePath(path, choice))
  })
).pipe(Command.withDescription("Render a run trace (mull run --trace) as an interactive HTML search tree"))

/**
 * `mull trace export <run.jsonl> --otlp URL`: sends a trace's spans — run, nodes, candidates,
 * scores, at the times the trace records — over OTLP/HTTP (docs/observability.md).
 */
export const traceExport = Command.make(
  "export",
  {
    file: Argument.String("trace").pipe(Argument.withDescription("A JSONL trace (mull run --trace, or the service's)")),
    otlp: Flag.String("otlp").pipe(
      Flag.withDescription("The OTLP/HTTP traces endpoint, e.g. http://localhost:4318/v1/traces")
    ),
    protocol: Flag.Literals("otlp-protocol", ["protobuf", "json"]).pipe(
      Flag.withDescription("OTLP/protobuf (default) or OTLP/JSON"),
      Flag.withDefault("protobuf" as const)
    )
  },
  Effect.fn("trace.export")(function* ({ file, otlp, protocol }) {
    const text = yield* readTrace(file)
    let sent = 0
    for (const run of splitRuns(text)) {
      const lines = parseTrace(run)
      if (Result.isFailure(lines))
        return yield* new InvalidInput({
          subject: `trace ${file}`,
          problems: lines.failure.map((p) => `${file}: ${p}`)
        })
      const n = yield* Effect.scoped(
        exportTrace(lines.success).pipe(Effect.provide(otlpLayer(Option.some(otlp), "mull trace export", protocol)))
      )
      sent += n
    }
    yield* Console.log(`${file}: ${sent} spans sent to ${otlp}`)
  })
).pipe(Command.withDescription("Send a run trace's spans over OTLP (Langfuse, Phoenix, any OpenTelemetry collector)"))

export const traceCommand = traceRender.pipe(Command.withSubcommands([traceExport]))
