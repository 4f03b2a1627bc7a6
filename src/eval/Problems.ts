/**
 * The problems of a sweep: a dataset — a file, or the problems a backend serves (a recording) —
 * then a documented subset (every k-th problem, at most n, or exact ids).
 *
 * @since 0.1.0
 */
import { Effect } from "effect"
import { byPattern, extract } from "../answer/Extract.ts"
import { DatasetError } from "../data/Dataset.ts"
import { loadGsm8k } from "../data/DatasetGsm8k.ts"
import { loadMath500 } from "../data/DatasetMath500.ts"
import { FORMATS, type GoldReader, loadFile } from "../data/Formats.ts"
import type { Problem } from "../domain/Problem.ts"
import type { BackendConfigError, Registry } from "../services/Backend.ts"
import type { DatasetSpec } from "./Sweep.ts"

/**
 * Applies a spec's subset to a dataset's problems.
 *
 * @example
 * subset(problems, { name: "math500", every: 5 }).length // 100 of 500
 */
export const subset = (problems: ReadonlyArray<Problem>, spec: DatasetSpec): ReadonlyArray<Problem> => {
  let out = problems
  if (spec.ids !== undefined) {
    const ids = new Set(spec.ids)
    out = out.filter((p) => ids.has(p.id))
  }
  if (spec.every !== undefined) {
    const k = spec.every
    out = out.filter((_, i) => i % k === 0)
  }
  if (spec.limit !== undefined) out = out.slice(0, spec.limit)
  return out
}

/**
 * How a dataset's gold field is read: `goldPattern` (the regex's last match), `goldExtract` (an
 * extraction method, or `as-written`), or by default the field's answer statement (`#### 18`,
 * `A: 18`, a box, "the answer is …") and else the field as written. A bad pattern is a message.
 *
 * @example
 * goldReaderOf({ name: "file", goldPattern: "A: (\\d+)" })
 */
export const goldReaderOf = (
  spec: DatasetSpec
): { readonly read: GoldReader; readonly rule: string | undefined } | string => {
  if (spec.goldPattern !== undefined && spec.goldExtract !== undefined)
    return "dataset.goldPattern and dataset.goldExtract: give one of --gold-pattern and --gold-extract"
  if (spec.goldPattern !== undefined) {
    let pattern: RegExp
    try {
      pattern = new RegExp(spec.goldPattern, "u")
    } catch (e) {
      return `dataset.goldPattern: not a regular expression: ${e instanceof Error ? e.message : String(e)}`
    }
    return { read: (text) => byPattern(text, pattern), rule: `--gold-pattern ${JSON.stringify(spec.goldPattern)}` }
  }
  const method = spec.goldExtract
  if (method === "as-written") return { read: (text) => text, rule: undefined }
  if (method !== undefined) return { read: (text) => extract(text, method), rule: `--gold-extract ${method}` }
  return { read: (text) => extract(text, "auto") ?? text, rule: undefined }
}

/** Where the problems of a backend come from: the registry, and the sweep's backend. */
export interface ServedBy {
  readonly registry: Registry
  readonly backend?: { readonly name: string; readonly config?: unknown } | undefined
}

const asDatasetError = (file: string) => (e: BackendConfigError) =>
  new DatasetError({ file, message: e.problems.join("; ") })

/**
 * Loads a sweep's problems. `qwen-pool` is served by the registry's backend that serves it (the
 * replay backend); `recording` by the sweep's backend, from its configuration.
 *
 * @example
 * const problems = yield* loadProblems({ name: "math500", every: 5 }, { registry })
 */
export const loadProblems = (
  spec: DatasetSpec,
  served: ServedBy
): Effect.Effect<ReadonlyArray<Problem>, DatasetError> =>
  Effect.gen(function* () {
    let problems: ReadonlyArray<Problem>
    switch (spec.name) {
      case "math500":
        problems = spec.path === undefined ? yield* loadMath500() : yield* loadMath500(spec.path)
        break
      case "gsm8k":
        problems = spec.path === undefined ? yield* loadGsm8k() : yield* loadGsm8k(spec.path)
        break
      case "jsonl":
      case "file": {
        const format = spec.format ?? (spec.name === "jsonl" ? "jsonl" : undefined)
        if (spec.path === undefined || format === undefined)
          return yield* new DatasetError({
            file: spec.path ?? "(none)",
            message:
              spec.path === undefined
                ? "dataset.path: missing (the JSONL file to read; --dataset PATH)"
                : `${spec.path}: dataset.format: missing (the file's record format: --format ${FORMATS.join("|")})`
          })
        const gold = goldReaderOf(spec)
        if (typeof gold === "string") return yield* new DatasetError({ file: spec.path, message: gold })
        problems = yield* loadFile(spec.path, {
          format,
          mapping: spec.mapping,
          gold: gold.read,
          goldRule: gold.rule,
          answer: spec.answer
        })
        break
      }
      case "qwen-pool": {
        // the recorded pool is served by a backend (replay), which loads (and validates) it
        const serving = served.registry.serving(spec.name, spec.path)
        const load = serving?.backend.problems
        if (serving === undefined || load === undefined)
          return yield* new DatasetError({ file: spec.name, message: "no backend serves this dataset" })
        problems = yield* load(serving.config).pipe(Effect.mapError(asDatasetError(spec.path ?? spec.name)))
        break
      }
      case "recording": {
        // the problems of the recording the sweep's backend is configured to serve
        const name = served.backend?.name ?? served.registry.defaultName
        const load = served.registry.find(name)?.problems
        if (load === undefined)
          return yield* new DatasetError({ file: "recording", message: `the ${name} backend serves no recording` })
        problems = yield* load(served.backend?.config).pipe(Effect.mapError(asDatasetError("recording")))
        break
      }
    }
    // a dataset's answer kind applies to the problems that declare none
    const kind = spec.answer
    if (kind !== undefined) problems = problems.map((p) => (p.answer === undefined ? { ...p, answer: { kind } } : p))
    const out = subset(problems, spec)
    if (out.length === 0)
      return yield* new DatasetError({ file: spec.path ?? spec.name, message: "the dataset subset has no problems" })
    return out
  })
