/**
 * `mull eval`: runs a sweep — strategies × budgets × seeds × problems — into the results store,
 * with a progress bar and ETA; rerunning it resumes and never redoes finished work.
 *
 * @since 0.1.0
 */
import { readFile } from "node:fs/promises"
import { Console, Effect, Option } from "effect"
import { Command, Flag } from "effect/cli"
import { registry } from "../backends/Registry.ts"
import { datasetName } from "../data/Formats.ts"
import { type AccuracyPoint, accuracy, configurations, formatAccuracy } from "../eval/Accuracy.ts"
import { defaultWorkers, runSweepParallel } from "../eval/Parallel.ts"
import type { RunRecord } from "../eval/Record.ts"
import type { Summary } from "../eval/Runner.ts"
import * as Store from "../eval/Store.ts"
import { decodeSweep, type SweepSpec } from "../eval/Sweep.ts"
import { datasetFlags, fileDataset, fileSpec, hasMapping } from "./DatasetFlags.ts"
import { progressBar } from "./EvalProgress.ts"
import { optionFlags, priceFlags, pricesOf, readJsonFile, withBackendOptions } from "./Inputs.ts"
import { InvalidInput } from "./InvalidInput.ts"
import { otlpFlag, otlpLayer } from "./Otlp.ts"
import { asInvalidInput } from "./run.ts"
import { fmt, table } from "./Table.ts"

const list = (text: string): ReadonlyArray<string> =>
  text
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "")

const ints = (flag: string, text: string): Effect.Effect<ReadonlyArray<number>, InvalidInput> => {
  const out: Array<number> = []
  for (const part of list(text)) {
    const range = /^(-?\d+)\.\.(-?\d+)$/u.exec(part)
    if (range !== null) {
      const a = Number(range[1])
      const b = Number(range[2])
      for (let i = a; i <= b; i++) out.push(i)
    } else if (/^-?\d+$/u.test(part)) out.push(Number(part))
    else
      return Effect.fail(
        new InvalidInput({ subject: flag, problems: [`${flag}: "${part}" is not an integer or a range a..b`] })
      )
  }
  return out.length === 0
    ? Effect.fail(new InvalidInput({ subject: flag, problems: [`${flag}: expected a list such as 4,16,64 or 0..3`] }))
    : Effect.succeed(out)
}

/**
 * A strategy (rows) × budget (columns) table of a summary of the report's (`Accuracy.ts`): each
 * problem's seeds averaged, then the problems — the very numbers `mull report` shows.
 */
const pointTable = (records: ReadonlyArray<RunRecord>, value: (p: AccuracyPoint) => number): string => {
  const points = accuracy(configurations(records))
  const budgets = [...new Set(points.map((p) => p.budget))].sort((a, b) => a - b)
  const strategies = [...new Set(records.map((r) => r.strategy))]
  const at = new Map(points.map((p) => [`${p.strategy}\u0000${p.budget}`, p]))
  return table(
    ["strategy", ...budgets.map((b) => `N=${b}`)],
    strategies.map((s) => [
      s,
      ...budgets.map((b) => {
        const p = at.get(`${s}\u0000${b}`)
        return p === undefined ? "—" : formatAccuracy(value(p))
      })
    ])
  )
}

/**
 * What `mull eval` prints after a sweep: accuracy, pass@N and mean pass@1 per strategy and
 * budget, computed as the report computes them (a run with no complete candidate counts, as a
 * miss) — and the same graded by mull's grader when the backend grades by other means.
 *
 * @example
 * summaryTables(records)
 */
export const summaryTables = (records: ReadonlyArray<RunRecord>): string => {
  const parts = [
    "accuracy (the chosen answer is right)",
    pointTable(records, (p) => p.accuracy),
    "",
    "pass@N (some complete candidate is right)",
    pointTable(records, (p) => p.passAtN),
    "",
    "mean pass@1 (share of complete candidates that are right)",
    pointTable(records, (p) => p.pass1)
  ]
  // the same records, graded by mull's grader
  const math = records.flatMap((r) =>
    r.math === undefined ? [] : [{ ...r, correct: r.math.correct, correctCandidates: r.math.correctCandidates }]
  )
  if (math.length > 0)
    parts.push(
      "",
      "graded by mull's grader: accuracy",
      pointTable(math, (p) => p.accuracy),
      "",
      "graded by mull's grader: pass@N",
      pointTable(math, (p) => p.passAtN),
      "",
      "graded by mull's grader: mean pass@1",
      pointTable(math, (p) => p.pass1)
    )
  return parts.join("\n")
}

/** A sweep name from a file's name: its letters, digits, dots, dashes and underscores. */
const slug = (name: string): string => {
  const s = name.replace(/[^A-Za-z0-9._-]+/gu, "-").replace(/^[^A-Za-z0-9]+/u, "")
  return s === "" ? "eval" : s
}
/** The cluster URL: `--cluster`, else `MULL_CLUSTER` (a URL with a password stays out of the process list). */
const clusterOf = (flags: { readonly cluster: Option.Option<string> }): string | undefined =>
  Option.getOrUndefined(flags.cluster) ?? (process.env.MULL_CLUSTER === "" ? undefined : process.env.MULL_CLUSTER)

const storeOf = (flags: { readonly store: Option.Option<string> }): string =>
  Option.getOrElse(flags.store, () => "out/mull.db")

/** Submits the sweep to a cluster (its module is loaded only then) and follows it. */
const submitToCluster = (spec: SweepSpec, url: string) =>
  Effect.gen(function* () {
    const { submitSweep } = yield* Effect.promise(() => import("../cluster/Submit.ts"))
    return yield* submitSweep(spec, url, {
      registry,
      onProgress: progressBar(spec.name),
      onSubmitted: ({ cells, runners, ms }) =>
        process.stderr.write(
          `${spec.name}: ${cells} cells submitted to the cluster at ${Store.redactUrl(url)} in ${(ms / 1000).toFixed(1)} s; ${runners} runner(s) registered${runners === 0 ? " (start some: mull runner --cluster URL)" : ""}\n`
        )
    })
  })

const summaryLine = (s: Summary): string =>
  `sweep ${s.sweep}: ${s.ran} runs now, ${s.others > 0 ? `${s.others} by another process, ` : ""}${s.skipped} already stored, ${fmt(s.total)} in all · ${(s.elapsedMs / 1000).toFixed(1)} s · cache ${s.cache.hits} hits / ${s.cache.misses} misses`

export const evalCommand = Command.make(
  "eval",
  {
    sweep: Flag.String("sweep").pipe(Flag.withDescription("A sweep file (JSON); see sweeps/paper.json"), Flag.optional),
    name: Flag.String("name").pipe(Flag.withDescription("Sweep name (overrides the file's)"), Flag.optional),
    dataset: Flag.String("dataset").pipe(
      Flag.withDescription(
        "math500, gsm8k, qwen-pool, recording (the replay backend's --backend-config dataset), or the path of a JSONL file (with --format)"
      ),
      Flag.withDefault("math500")
    ),
    ...datasetFlags,
    every: Flag.Int("every").pipe(Flag.withDescription("Keep every k-th problem"), Flag.optional),
    limit: Flag.Int("limit").pipe(Flag.withDescription("Keep at most this many problems"), Flag.optional),
    graphs: Flag.String("graphs").pipe(
      Flag.withDescription("Graphs, comma-separated (each gets N = B)"),
      Flag.optional
    ),
    budgets: Flag.String("budgets").pipe(Flag.withDescription("Budgets N, e.g. 4,16,64,256"), Flag.optional),
    seeds: Flag.String("seeds").pipe(Flag.withDescription("Seeds, e.g. 0,1 or 0..3"), Flag.optional),
    backend: Flag.Literals("backend", registry.names).pipe(
      Flag.withDescription(
        `The backend: ${registry.names.join(", ")} (default: the sweep file's, else the one serving --dataset, else ${registry.defaultName})`
      ),
      Flag.optional
    ),
    backendConfig: Flag.String("backend-config").pipe(
      Flag.withDescription("The backend's configuration: a JSON file, or the JSON itself"),
      Flag.optional
    ),
    // no secrets: a sweep stores its backend config (give keys in the environment)
    backendOptions: optionFlags(registry, { secrets: false }),
    store: Flag.String("store").pipe(
      Flag.withDescription("The results store: a SQLite file (default out/mull.db) or a postgres:// URL"),
      Flag.optional
    ),
    cluster: Flag.String("cluster").pipe(
      Flag.withDescription(
        "Shard the sweep over the runners of the cluster whose PostgreSQL is at this URL (also MULL_CLUSTER); results go to that database (docs/scale-out.md)"
      ),
      Flag.optional
    ),
    concurrency: Flag.Int("concurrency").pipe(
      Flag.withDescription("Problems evaluated at once per worker"),
      Flag.optional
    ),
    workers: Flag.Int("workers").pipe(Flag.withDescription("Worker threads (default: one per core)"), Flag.optional),
    difficulty: Flag.Int("difficulty").pipe(
      Flag.withDescription("Estimate each problem's difficulty from this many samples"),
      Flag.optional
    ),
    otlp: otlpFlag,
    ...priceFlags
  },
  Effect.fn(
    function* (flags) {
      const file = Option.getOrUndefined(flags.sweep)
      const backendConfig = yield* readJsonFile("--backend-config", Option.getOrUndefined(flags.backendConfig))
      let json: Record<string, unknown>
      if (file !== undefined) {
        const text = yield* Effect.tryPromise({
          try: () => readFile(file, "utf8"),
          catch: (e) =>
            new InvalidInput({
              subject: "--sweep",
              problems: [`--sweep ${file}: ${e instanceof Error ? e.message : String(e)}`]
            })
        })
        const parsed = yield* Effect.try({
          try: () => JSON.parse(text) as unknown,
          catch: (e) =>
            new InvalidInput({
              subject: "--sweep",
              problems: [`--sweep ${file}: not valid JSON: ${e instanceof Error ? e.message : String(e)}`]
            })
        })
        json =
          typeof parsed === "object" && parsed !== null ? { ...(parsed as Record<string, unknown>) } : { value: parsed }
      } else {
        const file = yield* fileDataset(flags)
        // a recording file is served by the backend that serves recordings in its format (replay)
        const named = Option.getOrUndefined(flags.backend)
        const recorder =
          file === undefined
            ? undefined
            : (named === undefined ? registry.backends : registry.backends.filter((b) => b.name === named)).find(
                (b) => b.recording?.(file) !== undefined && (named !== undefined || file.format === "qwen")
              )
        if (
          file !== undefined &&
          named !== undefined &&
          registry.find(named)?.recording !== undefined &&
          recorder === undefined
        )
          return yield* new InvalidInput({
            subject: "--format",
            problems: [
              `--format ${file.format}: the ${named} backend serves recordings (--format qwen or jsonl, docs/replay.md)`
            ]
          })
        // the recorded Qwen pool has a default experiment: the voting methods at N = 1…8 (its size),
        // on the backend that serves it (replay)
        const pool =
          flags.dataset === "qwen-pool" ||
          flags.dataset === "recording" ||
          (file !== undefined && recorder !== undefined)
        const server =
          recorder?.name ??
          (flags.dataset === "recording"
            ? registry.backends.find((b) => b.problems !== undefined)?.name
            : registry.serving(flags.dataset)?.backend.name)
        const graphs =
          Option.getOrUndefined(flags.graphs) ?? (pool ? "majority,best-of-n,weighted-best-of-n" : undefined)
        if (graphs === undefined)
          return yield* new InvalidInput({
            subject: "eval",
            problems: ["eval: give --sweep FILE, or --graphs (with --budgets, --seeds)"]
          })
        if (recorder !== undefined && file !== undefined && hasMapping(flags))
          return yield* new InvalidInput({
            subject: "--dataset",
            problems: [
              `--dataset ${file.path}: a recording (--backend ${recorder.name}) has its own fields; the field and gold flags are for problem files`
            ]
          })
        const recordingConfig = recorder === undefined || file === undefined ? undefined : recorder.recording?.(file)
        json = {
          name: Option.getOrElse(flags.name, () =>
            file !== undefined ? slug(datasetName(file.path)) : pool ? flags.dataset : "eval"
          ),
          dataset:
            file === undefined
              ? { name: flags.dataset, ...(Option.isSome(flags.answerKind) ? { answer: flags.answerKind.value } : {}) }
              : recorder !== undefined
                ? { name: "recording" }
                : fileSpec(file, flags),
          backend: {
            name: server ?? registry.defaultName,
            ...(recordingConfig === undefined
              ? {}
              : {
                  config: {
                    ...(typeof backendConfig === "object" ? backendConfig : {}),
                    ...(recordingConfig as object)
                  }
                })
          },
          strategies: list(graphs).map((g) => ({ label: g, graph: g, params: { N: "B" } })),
          budgets: yield* ints(
            "--budgets",
            Option.getOrElse(flags.budgets, () => (pool ? "1,2,4,8" : "4,16,64"))
          ),
          seeds: yield* ints(
            "--seeds",
            Option.getOrElse(flags.seeds, () => (pool ? "0..15" : "0"))
          )
        }
      }
      // flags refine a sweep file too
      const dataset = { ...((json.dataset as Record<string, unknown> | undefined) ?? { name: flags.dataset }) }
      if (Option.isSome(flags.every)) dataset.every = flags.every.value
      if (Option.isSome(flags.limit)) dataset.limit = flags.limit.value
      json.dataset = dataset
      const current = json.backend as { readonly name?: unknown; readonly config?: unknown } | undefined
      // a recording's configuration (above) already holds --backend-config
      const config = current?.config ?? backendConfig
      if (Option.isSome(flags.backend))
        json.backend = { name: flags.backend.value, ...(config === undefined ? {} : { config }) }
      else if (config !== undefined) json.backend = { ...current, config }
      const named = json.backend as { readonly name?: unknown; readonly config?: unknown } | undefined
      const configured = yield* withBackendOptions(
        String(named?.name ?? registry.defaultName),
        named?.config,
        flags.backendOptions
      )
      if (configured !== named?.config) json.backend = { ...named, config: configured }
      if (file !== undefined && Option.isSome(flags.name)) json.name = flags.name.value
      if (Option.isSome(flags.concurrency)) json.concurrency = flags.concurrency.value
      if (Option.isSome(flags.difficulty)) json.difficulty = { samples: flags.difficulty.value }
      if (file !== undefined && Option.isSome(flags.budgets)) {
        const given = yield* ints("--budgets", flags.budgets.value)
        json.budgets = given
        // a strategy's own budgets are kept only where --budgets also has them
        if (Array.isArray(json.strategies))
          json.strategies = json.strategies.map((s: unknown) =>
            typeof s === "object" && s !== null && Array.isArray((s as { budgets?: unknown }).budgets)
              ? {
                  ...s,
                  budgets: (s as { budgets: ReadonlyArray<unknown> }).budgets.filter((b) => given.includes(b as number))
                }
              : s
          )
      }
      if (file !== undefined && Option.isSome(flags.seeds)) json.seeds = yield* ints("--seeds", flags.seeds.value)
      const prices = yield* pricesOf(flags)
      if (prices !== undefined) json.prices = { ...(json.prices as object | undefined), ...prices }
      const spec: SweepSpec = yield* asInvalidInput(decodeSweep(json), "sweep")
      const cluster = clusterOf(flags)
      const summary: Summary =
        cluster === undefined
          ? yield* asInvalidInput(
              runSweepParallel(spec, storeOf(flags), {
                registry,
                // spans are exported from this thread's tracer: with --otlp the sweep runs here
                workers: Option.isSome(flags.otlp) ? 1 : Option.getOrElse(flags.workers, defaultWorkers),
                onProgress: progressBar(spec.name)
              }),
              `sweep ${spec.name}`
            )
          : yield* asInvalidInput(submitToCluster(spec, cluster), `sweep ${spec.name}`)
      const store = yield* Store.Store
      const records = yield* store.runs(spec.name)
      yield* Console.log([summaryLine(summary), "", summaryTables(records)].join("\n"))
    },
    (effect, flags) =>
      effect.pipe(
        Effect.provide(Store.layer(clusterOf(flags) ?? storeOf(flags))),
        Effect.provide(otlpLayer(flags.otlp, "mull eval")),
        Effect.mapError((e) =>
          e._tag === "StoreError"
            ? new InvalidInput({
                subject: clusterOf(flags) === undefined ? "--store" : "--cluster",
                problems: [e.message]
              })
            : e
        )
      )
  )
).pipe(Command.withDescription("Run a sweep of strategies × budgets × seeds × problems into the results store"))
