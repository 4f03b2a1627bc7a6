/**
 * Ceilings derived from the plan (which params drive cost, and how high a request may set them),
 * budgets capped per meter by the alias and the policy, how a budget is split by enforcement, and
 * the guard that enforces the soft meters and the deadline.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Scope } from "effect"
import * as Ledger from "../../src/budget/Ledger.ts"
import * as Usage from "../../src/domain/Usage.ts"
import * as Loader from "../../src/graph/Loader.ts"
import { capBudget, capParams, costDrivers, paramCeilings, splitBudget } from "../../src/server/Ceilings.ts"
import { guarded } from "../../src/server/Guard.ts"
import { DEFAULT_MAX_BUDGET, isLoopback, parseTokens, policyOf, policyProblems } from "../../src/server/Policy.ts"

const load = (name: string) => Effect.runPromise(Loader.load(name))

describe("cost drivers come from the static cost bound, not from names", () => {
  it("every built-in graph: the params that size work drive cost; temperatures never do", async () => {
    const expected: Record<string, ReadonlyArray<string>> = {
      "best-of-n": ["N"],
      "beam-search": ["M", "N", "rounds"],
      lookahead: ["M", "N", "k", "rounds"],
      dvts: ["M", "N", "rounds"],
      "particle-filter": ["N", "rounds"],
      "sequential-revisions": ["N", "context"],
      "hybrid-revisions": ["P", "S"],
      // its maxTokens default (4096) is above the backend's cap (1024): raising it costs nothing more
      passthrough: []
    }
    for (const [name, drivers] of Object.entries(expected))
      assert.deepStrictEqual(costDrivers(await load(name), 1024), drivers, name)
  })

  it("a graph's own param name does not matter: a renamed count is found, a count no node reads is not", async () => {
    const graph = await Effect.runPromise(
      Loader.fromJson({
        name: "renamed",
        description: "",
        params: { howMany: 3, unused: 7, heat: 0.5 },
        root: {
          type: "sequence",
          nodes: [
            { type: "sample", n: "howMany", until: "end", temperature: "heat" },
            { type: "select", method: "majority" }
          ]
        }
      })
    )
    assert.deepStrictEqual(costDrivers(graph, 1024), ["howMany"])
  })

  it("ceilings: the policy's by name, else default × headroom; an alias lowers them", async () => {
    const beam = await load("beam-search")
    const drivers = costDrivers(beam, 1024)
    assert.deepStrictEqual(paramCeilings(beam, drivers, { maxParams: {}, paramHeadroom: 16, alias: {} }), {
      M: 64,
      N: 256,
      rounds: 640
    })
    assert.deepStrictEqual(
      paramCeilings(beam, drivers, { maxParams: { N: 32 }, paramHeadroom: 16, alias: { N: 8, rounds: 4 } }),
      { M: 64, N: 8, rounds: 4 }
    )
  })

  it("capParams caps cost drivers only, and keeps __proto__ as a param (for validation to name)", () => {
    const r = capParams({ N: 64 }, { N: 4 }, { N: 1e9, temperature: 1.5 })
    assert.deepStrictEqual(r, { params: { N: 64, temperature: 1.5 }, capped: ["N"] })
    const proto = capParams({}, {}, JSON.parse('{"__proto__": 3}') as Record<string, number>)
    assert.isTrue(Object.hasOwn(proto.params, "__proto__"))
  })
})

describe("budgets: every meter has a ceiling; a request lowers it, never raises it", () => {
  it("an alias's budget is a ceiling the request cannot pass", () => {
    const alias = { sequences: 4, outputTokens: 3000 }
    const b = capBudget(DEFAULT_MAX_BUDGET, DEFAULT_MAX_BUDGET, alias, { sequences: 1024, outputTokens: 1e9 })
    assert.strictEqual(b.sequences, 4)
    assert.strictEqual(b.outputTokens, 3000)
    assert.strictEqual(b.inputTokens, DEFAULT_MAX_BUDGET.inputTokens)
    // lower is fine
    assert.strictEqual(capBudget(DEFAULT_MAX_BUDGET, DEFAULT_MAX_BUDGET, alias, { sequences: 2 }).sequences, 2)
  })

  it("a request that sets one meter gets the default on the others; nothing passes maxBudget", () => {
    const b = capBudget({ sequences: 100, calls: 50 }, { sequences: 10 }, undefined, { calls: 1e6 })
    assert.deepStrictEqual(b, { calls: 50, sequences: 10 })
  })

  it("the default policy bounds every meter a run counts before a call, and has a deadline", () => {
    for (const meter of [
      "calls",
      "sequences",
      "inputTokens",
      "outputTokens",
      "verifierCalls",
      "verifierTokens"
    ] as const)
      assert.isDefined(DEFAULT_MAX_BUDGET[meter], meter)
    assert.isDefined(DEFAULT_MAX_BUDGET.wallMs)
  })

  it("splitBudget: wallMs is a deadline; what the backend cannot count first is soft; usd without prices stays refused", () => {
    const budget = { sequences: 8, inputTokens: 1000, verifierTokens: 50, wallMs: 60_000 }
    const knowable = { generatorInput: true, verifierInput: true, scores: true, unset: [] }
    assert.deepStrictEqual(splitBudget(budget, knowable), {
      ledger: { sequences: 8, inputTokens: 1000, verifierTokens: 50 },
      soft: {},
      wallMs: 60_000
    })
    assert.deepStrictEqual(splitBudget(budget, { ...knowable, generatorInput: false }), {
      ledger: { sequences: 8, verifierTokens: 50 },
      soft: { inputTokens: 1000 },
      wallMs: 60_000
    })
    // no prices: the ledger keeps usd, so the request's own checks refuse it (a guard would count 0)
    assert.deepStrictEqual(splitBudget({ usd: 0.1 }, { ...knowable, unset: ["input", "output"] }), {
      ledger: { usd: 0.1 },
      soft: {},
      wallMs: undefined
    })
  })
})

describe("the guard", () => {
  const request = (node: string) => ({
    node,
    fixed: Usage.make({ calls: 1 }),
    perUnit: Usage.make({ sequences: 1 }),
    units: 1
  })

  it("refuses once a soft meter's ceiling is spent, as the ledger refuses", async () => {
    const outcome = await Effect.runPromise(
      Effect.gen(function* () {
        const ledger = guarded(yield* Ledger.make({}), {
          soft: { inputTokens: 100 },
          deadline: undefined,
          now: Date.now
        })
        const scope = yield* Scope.make()
        const r = yield* ledger.reserve(request("a")).pipe(Scope.provide(scope))
        yield* ledger.commit(r, Usage.make({ calls: 1, sequences: 1, inputTokens: 150 }))
        const refused = yield* Effect.exit(ledger.reserve(request("b")).pipe(Scope.provide(scope)))
        yield* Scope.close(scope, Exit.void)
        return refused
      })
    )
    assert.isTrue(Exit.isFailure(outcome))
    assert.match(String(Exit.isFailure(outcome) ? outcome.cause : ""), /inputTokens/u)
  })

  it("refuses every reservation after the deadline", async () => {
    let now = 1000
    const exit = await Effect.runPromise(
      Effect.gen(function* () {
        const ledger = guarded(yield* Ledger.make({}), { soft: {}, deadline: 2000, now: () => now })
        const ok = yield* Effect.exit(Effect.scoped(ledger.reserve(request("a"))))
        now = 2000
        const late = yield* Effect.exit(Effect.scoped(ledger.reserve(request("b"))))
        return { ok, late }
      })
    )
    assert.isTrue(Exit.isSuccess(exit.ok))
    assert.isTrue(Exit.isFailure(exit.late))
  })
})

describe("who may call", () => {
  it("loopback addresses", () => {
    for (const h of ["127.0.0.1", "127.1.2.3", "localhost", "::1", "[::1]"]) assert.isTrue(isLoopback(h), h)
    for (const h of ["0.0.0.0", "192.168.1.1", "::", "example.com", "127.0.0.1.nip.io"])
      assert.isFalse(isLoopback(h), h)
  })

  it("a non-loopback bind needs a token; tokens name tenants", () => {
    assert.deepStrictEqual(policyProblems(policyOf({ host: "0.0.0.0" }, Loader.builtinDir, undefined)), [
      "host: 0.0.0.0 is not a loopback address; set MULL_SERVE_TOKEN to serve beyond this machine"
    ])
    assert.deepStrictEqual(policyProblems(policyOf({ host: "0.0.0.0" }, Loader.builtinDir, "a-long-secret")), [])
    assert.deepStrictEqual(parseTokens("alice:secret-a, bob:secret-b"), [
      { tenant: "alice", secret: "secret-a" },
      { tenant: "bob", secret: "secret-b" }
    ])
  })
})
