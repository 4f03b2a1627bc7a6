/** Shared helpers of the replay-backend tests. */
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { assert } from "@effect/vitest"
import { Cause, Effect, Exit } from "effect"
import * as Candidate from "../../src/domain/Candidate.ts"
import type { Problem } from "../../src/domain/Problem.ts"
import * as Steps from "../../src/domain/Steps.ts"
import type { GenerateRequest, Generation } from "../../src/services/Generator.ts"

/** A request with defaults: n = 1 whole solution. */
export const request = (problem: Problem, fields: Partial<Omit<GenerateRequest, "problem">> = {}): GenerateRequest => ({
  problem,
  prefix: undefined,
  n: 1,
  until: "end",
  temperature: 0.8,
  maxTokens: 4096,
  seed: 1n,
  ...fields
})

/** A candidate holding a generation's steps. */
export const candidateOf = (id: string, gen: Generation): Candidate.Candidate => ({
  ...Candidate.make({ id, origin: { node: "test", round: 0 } }),
  steps: Steps.appendAll(undefined, gen.steps),
  done: gen.done,
  ...(gen.answer === undefined ? {} : { answer: gen.answer })
})

/** The typed failure of an effect, asserting it is a failure and not a defect. */
export const failureOf = <A, E>(self: Effect.Effect<A, E>) =>
  Effect.map(Effect.exit(self), (exit) => {
    assert.isTrue(Exit.isFailure(exit), "expected a failure")
    if (Exit.isSuccess(exit)) throw new Error("unreachable")
    assert.isFalse(Cause.hasDies(exit.cause), "expected a typed failure, got a defect")
    const e = Cause.findErrorOption(exit.cause)
    if (e._tag === "None") throw new Error("no typed error")
    return e.value
  })

const scratch = mkdtempSync(join(tmpdir(), "mull-replay-"))

/** Writes JSONL lines (objects are stringified) to `<scratch>/<folder>/<name>`; returns the path. */
export const writeJsonl = (folder: string, name: string, lines: ReadonlyArray<unknown>): string => {
  mkdirSync(join(scratch, folder), { recursive: true })
  const path = join(scratch, folder, name)
  writeFileSync(path, `${lines.map((l) => (typeof l === "string" ? l : JSON.stringify(l))).join("\n")}\n`)
  return path
}
