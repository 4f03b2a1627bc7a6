/**
 * Without node-llama-cpp (an optional peer dependency) the llama-cpp backend fails with the
 * command that installs it — through `backendLayer`, as the CLI reports it.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { vi } from "vitest"
import { backendLayer } from "../../src/backends/Registry.ts"
import { MODEL } from "./helpers.ts"

vi.mock("node-llama-cpp", () => {
  throw new Error("Cannot find package 'node-llama-cpp'")
})

describe("llama-cpp without node-llama-cpp", () => {
  it.effect("says how to install it", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(
        Layer.build(backendLayer("llama-cpp", { modelPath: MODEL, threads: 1 })).pipe(Effect.scoped)
      )
      assert.strictEqual(error._tag, "BackendConfigError")
      assert.strictEqual(error.problems.length, 1)
      assert.include(error.problems[0], "npm i -E node-llama-cpp@3.21.1")
    })
  )
})
