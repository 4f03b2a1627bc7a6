/**
 * The replay backend as the registry knows it: its configuration, what it can do, the problems a
 * recording serves (and the shared Qwen pool by name), and its services — graded by the recorded
 * labels or by mull's grader, as configured. A recording that cannot be read is reported at
 * `dataset` with its file, line and field.
 *
 * @since 0.1.0
 */
import { Effect, Layer } from "effect"
import type { DatasetError } from "../../src/data/Dataset.ts"
import * as Backend from "../../src/services/Backend.ts"
import { decodeConfig, ReplayConfig } from "./Config.ts"
import { QWEN_POOL } from "./QwenPool.ts"
import { BACKEND, CAPABILITIES, layerBackend, loadDataset, make } from "./Replay.ts"

const atDataset = (e: DatasetError) => Backend.configError(BACKEND, ["dataset"], e.message)

/**
 * The replay backend's descriptor. It serves the dataset `qwen-pool` (an evaluation over the
 * shared Qwen pool runs on replay).
 *
 * @example
 * const problems = backend.problems === undefined ? [] : yield* backend.problems({ dataset: "qwen-pool" })
 */
export const backend: Backend.BackendDescriptor = Backend.make({
  name: BACKEND,
  description: "recorded whole solutions and reward scores (docs/replay.md)",
  config: ReplayConfig,
  decode: decodeConfig,
  variants: [{ label: "", capabilities: CAPABILITIES, verifiers: "prm, orm (recorded rewards)" }],
  // a recording costs nothing to serve again, and replay answers a whole-pool draw in recorded order
  cacheable: false,
  layer: (config) => Layer.unwrap(Effect.map(Effect.mapError(make(config), atDataset), layerBackend)),
  problems: (config) =>
    loadDataset(config).pipe(
      Effect.map((dataset) => dataset.problems),
      Effect.mapError(atDataset)
    ),
  datasets: { [QWEN_POOL]: (path) => ({ dataset: path ?? QWEN_POOL }) },
  // a recording file in either format; its problems' ids name the file
  recording: (file) =>
    file.format === "qwen" || file.format === "jsonl"
      ? { dataset: file.path, format: file.format, ...(file.answer === undefined ? {} : { answer: file.answer }) }
      : undefined
})
