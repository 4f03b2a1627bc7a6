/**
 * Limits in one place (issue 14): `budget.<meter>` in an expression reads the budget of the ledger
 * the node pays from — inside a `parallel` branch, the branch's share — and the "budget too small"
 * refusal is the ledger's own grant rule (`Ledger.shortfall`). Validation and the static bound treat
 * a branch's `budget.*` as known only when the branch runs.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit } from "effect"
import { defaultConfig, make } from "../../plugins/simulated/index.ts"
import { mathAnswerKey } from "../../src/answer/MathGrader.ts"
import * as Ledger from "../../src/budget/Ledger.ts"
import type { Problem } from "../../src/domain/Problem.ts"
import * as Usage from "../../src/domain/Usage.ts"
import { staticCost } from "../../src/graph/Cost.ts"
import { fromJson } from "../../src/graph/Loader.ts"
import { validate } from "../../src/graph/Validate.ts"
import { type RunOptions, run } from "../../src/runtime/Run.ts"
import { layerSilent } from "../../src/runtime/RunEvents.ts"
import { Generator } from "../../src/services/Generator.ts"
import { AnswerKey } from "../../src/services/Grader.ts"
import { Verifier } from "../../src/services/Verifier.ts"

const problem: Problem = { id: "test/algebra/1.json", question: "What is $2+3$?", gold: "5", meta: { level: 1 } }

/** Two branches, each sampling as many solutions as its budget allows, then a vote. */
const twoBranches = {
  name: "two-branches",
  description: "each branch samples budget.sequences solutions",
  root: {
    type: "sequence",
    nodes: [
      {
        type: "parallel",
        branches: 2,
        body: { type: "sample", n: "budget.sequences", until: "end" }
      },
      { type: "select", method: "majority" }
    ]
  }
}

/** `twoBranches` with another `n` for the branches' samples. */
const withN = (n: string) => ({
  ...twoBranches,
  root: {
    type: "sequence",
    nodes: [
      { type: "parallel", branches: 2, body: { type: "sample", n, until: "end" } },
      { type: "select", method: "majority" }
    ]
  }
})

const runDoc = (doc: unknown, options: RunOptions) =>
  Effect.gen(function* () {
    const backend = yield* make(defaultConfig)
    const loaded = yield* fromJson(doc)
    return yield* Effect.exit(
      run(loaded, problem, options).pipe(
        Effect.provide(layerSilent),
        Effect.provideService(Generator, backend.generator),
        Effect.provideService(Verifier, backend.verifier),
        Effect.provideService(AnswerKey, mathAnswerKey)
      )
    )
  })

describe("budget.* reads the budget of the ledger a node pays from", () => {
  it.effect(
    "two branches asking for budget.sequences under sequences=8: each gets its share, 8 spent, not exhausted",
    () =>
      Effect.gen(function* () {
        const exit = yield* runDoc(twoBranches, { limits: { sequences: 8 }, seed: 3 })
        assert.isTrue(Exit.isSuccess(exit))
        if (Exit.isFailure(exit)) return
        const r = exit.value
        assert.strictEqual(r.usage.sequences, 8)
        assert.isFalse(r.exhausted)
        assert.deepStrictEqual(
          r.population.map((c) => c.id),
          ["b0/s0", "b0/s1", "b0/s2", "b0/s3", "b1/s0", "b1/s1", "b1/s2", "b1/s3"]
        )
      })
  )

  it.effect("at the top level budget.sequences is the run's limit", () =>
    Effect.gen(function* () {
      const doc = {
        ...twoBranches,
        root: {
          type: "sequence",
          nodes: [
            { type: "sample", n: "budget.sequences / 2", until: "end" },
            { type: "select", method: "majority" }
          ]
        }
      }
      const exit = yield* runDoc(doc, { limits: { sequences: 8 } })
      assert.isTrue(Exit.isSuccess(exit))
      if (Exit.isSuccess(exit)) {
        assert.strictEqual(exit.value.usage.sequences, 4)
        assert.isFalse(exit.value.exhausted)
      }
    })
  )

  it.effect("a branch's budget.* is known when the branch runs: validation leaves it to the run", () =>
    Effect.gen(function* () {
      const doc = withN("budget.sequences - 3")
      const loaded = yield* fromJson(doc)
      // 2 - 3 at the top; in a branch, the share (1) - 3: known only when it runs
      assert.deepStrictEqual(validate(loaded, { limits: { sequences: 2 } }), [])
      const exit = yield* runDoc(doc, { limits: { sequences: 2 } })
      assert.include(
        String(Exit.isFailure(exit) ? exit.cause : "ran"),
        "root.nodes.0.body.n: expected an integer ≥ 0, got -2"
      )
      // an unlimited meter reads Infinity in a branch too, so that is refused at load as before
      assert.deepStrictEqual(validate(yield* fromJson(twoBranches), {}), [
        'root.nodes.0.body.n: expected an integer ≥ 0, got Infinity (from "budget.sequences")'
      ])
    })
  )

  it.effect("the static bound covers any share in [0, limit]: actual ≤ bound", () =>
    Effect.gen(function* () {
      const doc = withN("8 - budget.sequences")
      const loaded = yield* fromJson(doc)
      // each branch samples 8 - share ≤ 8 (reading the run's limit, 6, would bound it by 2); then
      // the anytime finisher may complete each of the ≤ 16 candidates, or sample one: 16 + 17
      const bound = staticCost(loaded, { limits: { sequences: 6 }, maxTokens: 100 }).usage.sequences
      assert.strictEqual(bound, 33)
      const exit = yield* runDoc(doc, { limits: { sequences: 6 } })
      assert.isTrue(Exit.isSuccess(exit))
      if (Exit.isSuccess(exit)) {
        assert.strictEqual(exit.value.usage.sequences, 6)
        assert.isAtMost(exit.value.usage.sequences, bound)
      }
    })
  )
})

describe("remaining.* reads what is left of the budget when the node starts", () => {
  it.effect("a second sample sized by remaining.sequences takes what the first left", () =>
    Effect.gen(function* () {
      const doc = {
        name: "remaining",
        description: "sample, then as many more as remain",
        root: {
          type: "sequence",
          nodes: [
            { type: "sample", n: 3, until: "end" },
            { type: "sample", n: "remaining.sequences", until: "end" },
            { type: "select", method: "majority" }
          ]
        }
      }
      const exit = yield* runDoc(doc, { limits: { sequences: 10 } })
      assert.isTrue(Exit.isSuccess(exit))
      if (Exit.isSuccess(exit)) {
        assert.strictEqual(exit.value.usage.sequences, 10)
        assert.strictEqual(exit.value.population.length, 10)
        assert.isFalse(exit.value.exhausted)
      }
      // unlimited, remaining is Infinity: not an integer count, refused when the node runs
      const unlimited = yield* runDoc(doc, {})
      assert.isTrue(Exit.isFailure(unlimited))
      assert.include(String(Exit.isFailure(unlimited) ? unlimited.cause : ""), "root.nodes.1.n")
      const loaded = yield* fromJson({
        ...doc,
        root: {
          type: "sequence",
          nodes: [
            { type: "sample", n: "remaining.tokens", until: "end" },
            { type: "select", method: "majority" }
          ]
        }
      })
      assert.deepStrictEqual(validate(loaded, {}), [
        'root.nodes.0.n: unknown name "remaining.tokens" (remaining meters: calls, sequences, inputTokens, outputTokens, thinkingTokens, verifierCalls, verifierTokens, flops, usd, wallMs)'
      ])
    })
  )
})

describe("the budget too small for the first call", () => {
  it.effect("is the ledger's grant rule: what it could never grant", () =>
    Effect.gen(function* () {
      const ledger = yield* Ledger.make({ sequences: 0, outputTokens: 1000 })
      assert.deepStrictEqual(ledger.shortfall(Usage.make({ calls: 1, sequences: 1, outputTokens: 1000 })), [
        { meter: "sequences", needs: 1, limit: 0 }
      ])
      assert.deepStrictEqual(ledger.shortfall(Usage.make({ calls: 1, sequences: 0, outputTokens: 1000 })), [])
      // a call's max_tokens shrinks to what remains: only no output token at all is too small
      const exit = yield* runDoc(twoBranches, { limits: { sequences: 8, outputTokens: 0 } })
      assert.isTrue(Exit.isFailure(exit))
      assert.include(String(Exit.isFailure(exit) ? exit.cause : ""), "budget.outputTokens: the first call needs")
    })
  )
})
