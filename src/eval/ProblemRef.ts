/**
 * Problem references on the command line: `math500:<unique_id>` (or `math500:#<index>`),
 * `gsm8k:<index>`, `qwen-pool:<index>` (served by a backend of the registry), or a question given as
 * text.
 *
 * @since 0.1.0
 */
import { Effect, Schema } from "effect"
import type { DatasetError } from "../data/Dataset.ts"
import { loadGsm8k } from "../data/DatasetGsm8k.ts"
import { loadMath500 } from "../data/DatasetMath500.ts"
import type { Problem } from "../domain/Problem.ts"
import type { Registry } from "../services/Backend.ts"
import { loadProblems } from "./Problems.ts"

/** A problem reference that names no known problem. */
export class UnknownProblem extends Schema.TaggedError<UnknownProblem>()("UnknownProblem", {
  ref: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `--problem ${this.ref}: ${this.reason}`
  }
}

const DATASETS = ["math500", "gsm8k", "qwen-pool"] as const

/**
 * Finds a problem by reference.
 *
 * @example
 * const p = yield* resolveProblem("math500:test/precalculus/807.json", registry)
 * const q = yield* resolveProblem("gsm8k:12", registry)
 */
export const resolveProblem = (
  ref: string,
  registry: Registry
): Effect.Effect<Problem, UnknownProblem | DatasetError> =>
  Effect.gen(function* () {
    const colon = ref.indexOf(":")
    const dataset = colon < 0 ? "" : ref.slice(0, colon)
    const key = colon < 0 ? ref : ref.slice(colon + 1)
    if (!(DATASETS as ReadonlyArray<string>).includes(dataset))
      return yield* new UnknownProblem({
        ref,
        reason: `expected <dataset>:<id> with dataset one of ${DATASETS.join(", ")} (e.g. math500:test/algebra/1.json, gsm8k:0, qwen-pool:3)`
      })
    const problems =
      dataset === "math500"
        ? yield* loadMath500()
        : dataset === "gsm8k"
          ? yield* loadGsm8k()
          : yield* loadProblems({ name: "qwen-pool" }, { registry })
    const byIndex = /^#?(\d+)$/u.exec(key)
    const found =
      problems.find((p) => p.id === key) ??
      (byIndex?.[1] === undefined ? undefined : problems.find((p) => p.meta.index === Number(byIndex[1])))
    if (found !== undefined) return found
    const near = problems
      .filter((p) => p.id.includes(key.split("/").pop() ?? key))
      .slice(0, 3)
      .map((p) => p.id)
    return yield* new UnknownProblem({
      ref,
      reason: `no ${dataset} problem with id or index "${key}"${near.length > 0 ? ` (did you mean ${near.join(", ")}?)` : ` (${problems.length} problems; ids look like ${problems[0]?.id ?? "?"})`}`
    })
  })
