/**
 * Where the shared data lives: `$MULL_DATA` when set, else `../shared/data/` beside the repository
 * (resolved from this file, so it works from any working directory).
 *
 * @since 0.1.0
 */
import { join } from "node:path"
import { fileURLToPath } from "node:url"

/**
 * The shared data folder.
 *
 * @example
 * dataDir() // "/work/shared/data/" (or $MULL_DATA)
 */
export const dataDir = (): string => {
  const override = process.env.MULL_DATA
  // src/eval → repository root → its parent holds shared/data
  return override !== undefined && override !== ""
    ? override
    : fileURLToPath(new URL("../../../shared/data/", import.meta.url))
}

/**
 * A path inside the shared data folder.
 *
 * @example
 * dataPath("math500", "test.jsonl")
 */
export const dataPath = (...parts: ReadonlyArray<string>): string => join(dataDir(), ...parts)
