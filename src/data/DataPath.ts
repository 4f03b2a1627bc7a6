/**
 * Where the shared data lives: `$MULL_DATA` when set, else `../shared/data/` beside the repository
 * (resolved from this file, so it works from any working directory).
 *
 * @since 0.1.0
 */
import { join } from "node:path"
import { fromRoot } from "../paths.ts"

/**
 * The shared data folder.
 *
 * @example
 * dataDir() // "/work/shared/data/" (or $MULL_DATA)
 */
export const dataDir = (): string => {
  const override = process.env.MULL_DATA
  // the repository's parent holds shared/data
  return override !== undefined && override !== "" ? override : fromRoot("..", "shared", "data")
}

/**
 * A path inside the shared data folder.
 *
 * @example
 * dataPath("math500", "test.jsonl")
 */
export const dataPath = (...parts: ReadonlyArray<string>): string => join(dataDir(), ...parts)
