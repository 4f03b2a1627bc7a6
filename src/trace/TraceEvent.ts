/**
 * Reading a run trace: the JSONL file `mull run --trace` writes, one run event per line (see
 * `runtime/RunEvents.ts`). Each line is decoded with the Schema of its event; a bad line is
 * reported with its line number. Fields added to events later are ignored, and the fields added
 * after the first traces were written (`at`, `RunStarted.question` and `gold`, `Selected.chosen` and `method`) are optional, so old traces still
 * load.
 *
 * @since 0.1.0
 */
import { Result, Schema } from "effect"
import { formatIssues } from "../domain/SchemaProblems.ts"
import { UsageSchema } from "../domain/Usage.ts"

const Counts = Schema.Struct({ size: Schema.Finite, active: Schema.Finite, done: Schema.Finite })
const Numbers = Schema.Record(Schema.String, Schema.Finite)
const NodeEvent = { node: Schema.String, type: Schema.String, round: Schema.Finite, population: Counts }

/** The Schema of each event, by `_tag`. */
const EVENTS = {
  RunStarted: Schema.Struct({
    _tag: Schema.Literal("RunStarted"),
    problemId: Schema.String,
    question: Schema.optionalKey(Schema.String),
    gold: Schema.optionalKey(Schema.String),
    graph: Schema.String,
    backend: Schema.optionalKey(Schema.String),
    model: Schema.optionalKey(Schema.String),
    params: Numbers,
    limits: Numbers,
    seed: Schema.String,
    at: Schema.optionalKey(Schema.Finite)
  }),
  NodeEntered: Schema.Struct({ _tag: Schema.Literal("NodeEntered"), ...NodeEvent }),
  NodeExited: Schema.Struct({ _tag: Schema.Literal("NodeExited"), ...NodeEvent }),
  CandidateCreated: Schema.Struct({
    _tag: Schema.Literal("CandidateCreated"),
    id: Schema.String,
    parentId: Schema.optionalKey(Schema.String),
    node: Schema.String,
    round: Schema.Finite,
    done: Schema.Boolean,
    answer: Schema.optionalKey(Schema.String),
    tokens: Schema.Finite,
    text: Schema.String
  }),
  CandidateScored: Schema.Struct({
    _tag: Schema.Literal("CandidateScored"),
    id: Schema.String,
    node: Schema.String,
    score: Schema.Finite,
    stepScores: Schema.Array(Schema.Finite),
    lookahead: Schema.optionalKey(Schema.Finite)
  }),
  CandidatesPruned: Schema.Struct({
    _tag: Schema.Literal("CandidatesPruned"),
    node: Schema.String,
    kept: Schema.Array(Schema.String),
    dropped: Schema.Array(Schema.String)
  }),
  Charged: Schema.Struct({
    _tag: Schema.Literal("Charged"),
    node: Schema.String,
    usage: UsageSchema,
    total: UsageSchema,
    at: Schema.optionalKey(Schema.Finite)
  }),
  Refused: Schema.Struct({
    _tag: Schema.Literal("Refused"),
    node: Schema.String,
    meter: Schema.String,
    requested: Schema.Finite,
    available: Schema.Finite
  }),
  Selected: Schema.Struct({
    _tag: Schema.Literal("Selected"),
    node: Schema.String,
    answer: Schema.optionalKey(Schema.String),
    chosen: Schema.optionalKey(Schema.String),
    method: Schema.optionalKey(Schema.String),
    hierarchical: Schema.optionalKey(Schema.String),
    judge: Schema.optionalKey(
      Schema.Union([
        Schema.Struct({ chosen: Schema.String, agreeing: Schema.Finite }),
        Schema.Struct({ skipped: Schema.String })
      ])
    ),
    candidates: Schema.Finite,
    ranking: Schema.Array(
      Schema.Struct({ answer: Schema.String, weight: Schema.Finite, count: Schema.Finite, best: Schema.String })
    )
  }),
  Routed: Schema.Struct({
    _tag: Schema.Literal("Routed"),
    node: Schema.String,
    // JSON writes the NaN of an estimate nothing could be scored for as null
    estimate: Schema.NullOr(Schema.Finite),
    bin: Schema.Finite
  }),
  TreeVisited: Schema.Struct({
    _tag: Schema.Literal("TreeVisited"),
    node: Schema.String,
    nodes: Schema.Array(Schema.Struct({ id: Schema.String, visits: Schema.Finite, value: Schema.Finite }))
  }),
  TraceTruncated: Schema.Struct({
    _tag: Schema.Literal("TraceTruncated"),
    /** the size limit the trace reached */
    maxBytes: Schema.Finite,
    /** events dropped after it */
    dropped: Schema.Finite
  }),
  RunFinished: Schema.Struct({
    _tag: Schema.Literal("RunFinished"),
    answer: Schema.optionalKey(Schema.String),
    correct: Schema.optionalKey(Schema.Boolean),
    exhausted: Schema.Boolean,
    usage: UsageSchema
  })
} as const

type Events = typeof EVENTS

const At = Schema.Struct({ at: Schema.optionalKey(Schema.Finite) })
/** When an event happened (ms since the epoch): traces written since the service's have it on every line. */
const atOf = (json: unknown): number | undefined => {
  const r = Schema.decodeUnknownResult(At)(json)
  return Result.isSuccess(r) ? r.success.at : undefined
}

/** One decoded trace line. */
export type TraceEvent = { [K in keyof Events]: Events[K]["Type"] }[keyof Events]

/** The event tags a trace may contain. */
export const EVENT_TAGS = Object.keys(EVENTS) as ReadonlyArray<keyof Events>

const isTag = (tag: string): tag is keyof Events => Object.hasOwn(EVENTS, tag)

/** A decoded event, the line it came from (1-based), and when it happened when the line says. */
export interface TraceLine {
  readonly line: number
  readonly event: TraceEvent
  /** ms since the epoch */
  readonly at?: number
}

/** At most this many problems are reported: a file that is not a trace at all fails on every line. */
const MAX_PROBLEMS = 20

/**
 * Decodes a JSONL trace. Blank lines are skipped. Problems are `line N: message` strings (at most
 * 20); the first event must be `RunStarted`, and a trace holds one run.
 *
 * @example
 * parseTrace('{"_tag":"RunStarted",...}\n{"_tag":"Oops"}')
 * // Result.fail(['line 2: unknown event "Oops" (expected one of RunStarted, NodeEntered, …)'])
 */
export const parseTrace = (text: string): Result.Result<ReadonlyArray<TraceLine>, ReadonlyArray<string>> => {
  const out: Array<TraceLine> = []
  const problems: Array<string> = []
  const lines = text.split("\n")
  let started: number | undefined
  let unstarted = false
  for (let i = 0; i < lines.length && problems.length < MAX_PROBLEMS; i++) {
    const raw = lines[i]?.trim() ?? ""
    if (raw === "") continue
    const line = i + 1
    const at = `line ${line}`
    let json: unknown
    try {
      json = JSON.parse(raw)
    } catch (e) {
      problems.push(`${at}: not JSON (${e instanceof Error ? e.message : String(e)})`)
      continue
    }
    const tag =
      typeof json === "object" && json !== null && "_tag" in json && typeof json._tag === "string"
        ? json._tag
        : undefined
    if (tag === undefined) {
      problems.push(`${at}: not a run event (an object with a "_tag")`)
      continue
    }
    if (!isTag(tag)) {
      problems.push(`${at}: unknown event "${tag}" (expected one of ${EVENT_TAGS.join(", ")})`)
      continue
    }
    const decoded = Schema.decodeUnknownResult(EVENTS[tag])(json)
    if (Result.isFailure(decoded)) {
      problems.push(...formatIssues(decoded.failure).map((p) => `${at}: ${tag}.${p}`))
      continue
    }
    const event: TraceEvent = decoded.success
    if (event._tag === "RunStarted") {
      if (started !== undefined) {
        problems.push(`${at}: a second RunStarted (the first is on line ${started}); a trace holds one run`)
        continue
      }
      started = line
    } else if (started === undefined) {
      // said once: every later line would repeat it
      if (!unstarted) problems.push(`${at}: ${event._tag} before RunStarted; a trace begins with RunStarted`)
      unstarted = true
      continue
    }
    const when = atOf(json)
    out.push(when === undefined ? { line, event } : { line, event, at: when })
  }
  if (problems.length === 0 && started === undefined) problems.push("line 1: the trace is empty (no RunStarted)")
  return problems.length > 0 ? Result.fail(problems.slice(0, MAX_PROBLEMS)) : Result.succeed(out)
}

/**
 * The runs of a trace file, each as its own JSONL text: a service's trace of a request with `n`
 * choices interleaves `n` runs, each line tagged with its `choice`; a trace with no tags is one
 * run. A line without a tag in a tagged trace (the truncation note) goes to every run.
 *
 * @example
 * splitRuns(text).length // 2 for a request with n = 2
 */
export const splitRuns = (text: string): ReadonlyArray<string> => {
  const byChoice = new Map<number, Array<string>>()
  const untagged: Array<string> = []
  for (const raw of text.split("\n")) {
    const line = raw.trim()
    if (line === "") continue
    let choice: unknown
    try {
      const json: unknown = JSON.parse(line)
      choice = typeof json === "object" && json !== null && "choice" in json ? json.choice : undefined
    } catch {
      choice = undefined
    }
    if (typeof choice === "number" && Number.isInteger(choice) && choice >= 0 && choice < 10_000) {
      const list = byChoice.get(choice)
      if (list === undefined) byChoice.set(choice, [line])
      else list.push(line)
    } else untagged.push(line)
  }
  if (byChoice.size === 0) return [text]
  return [...byChoice.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([, lines]) => `${[...lines, ...untagged].join("\n")}\n`)
}
