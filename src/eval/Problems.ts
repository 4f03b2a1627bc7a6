/**
 * The problems of a sweep: a dataset, then a documented subset (every k-th problem, at most n, or
 * exact ids).
 *
 * @since 0.1.0
 */
import { Effect } from "effect"
import { servedProblems } from "../backends.ts"
import { DatasetError, loadJsonl } from "../data/Dataset.ts"
import { loadGsm8k } from "../data/DatasetGsm8k.ts"
import { loadMath500 } from "../data/DatasetMath500.ts"
import type { Problem } from "../domain/Problem.ts"
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
 * Loads a sweep's problems.
 *
 * @example
 * const problems = yield* loadProblems({ name: "math500", every: 5 })
 */
export const loadProblems = (
  spec: DatasetSpec,
  backendConfig: unknown = undefined
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
        if (spec.path === undefined || spec.mapping === undefined)
          return yield* new DatasetError({
            file: spec.path ?? "(none)",
            message: "dataset.path and dataset.mapping are required for a jsonl dataset"
          })
        problems = yield* loadJsonl(spec.path, spec.mapping)
        break
      case "qwen-pool":
        // the recorded pool is served by the replay backend, which loads (and validates) it
        problems = yield* servedProblems({ dataset: spec.path ?? "qwen-pool" }).pipe(
          Effect.mapError((e) => new DatasetError({ file: spec.path ?? "qwen-pool", message: e.problems.join("; ") }))
        )
        break
      case "recording":
        // the problems of the recording the replay backend is configured to serve
        problems = yield* servedProblems(backendConfig).pipe(
          Effect.mapError((e) => new DatasetError({ file: "recording", message: e.problems.join("; ") }))
        )
        break
    }
    const out = subset(problems, spec)
    if (out.length === 0)
      return yield* new DatasetError({ file: spec.path ?? spec.name, message: "the dataset subset has no problems" })
    return out
  })
