/**
 * Every output of the simulated backend is a function of the request alone: the same requests give
 * identical generations and scores whatever the order of the calls, their concurrency, or the
 * backend instance; and continuation i does not depend on n.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import fc from "fast-check"
import { decodeConfigUnsafe, make, type SimulatedBackend } from "../../plugins/simulated/index.ts"
import type { Candidate } from "../../src/domain/Candidate.ts"
import type { BackendError } from "../../src/services/BackendError.ts"
import { candidateOf, PROBLEMS, request } from "./helpers.ts"

interface Spec {
  readonly kind: "sample" | "step" | "greedy" | "revise" | "prm" | "orm"
  readonly problem: number
  readonly base: number
  readonly n: number
  readonly seed: bigint
  readonly maxTokens: number
  readonly until: "step" | "end"
}

const spec: fc.Arbitrary<Spec> = fc.record({
  kind: fc.constantFrom("sample", "step", "greedy", "revise", "prm", "orm"),
  problem: fc.nat(PROBLEMS.length - 1),
  base: fc.nat(7),
  n: fc.integer({ min: 1, max: 6 }),
  seed: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
  maxTokens: fc.constantFrom(4096, 4096, 4096, 120, 400),
  until: fc.constantFrom("step", "end")
})

/** Per problem, eight candidates to build on: partial prefixes (one and two steps) and complete solutions. */
const makePool = (backend: SimulatedBackend) =>
  Effect.forEach(PROBLEMS, (problem) =>
    Effect.gen(function* () {
      const one = yield* backend.generator.generate(request(problem, { n: 3, until: "step", seed: 11n }))
      const ones = one.generations.map((g, i) => candidateOf(`s${i}`, g))
      const two = yield* backend.generator.generate(
        request(problem, { prefix: ones[0], n: 2, until: "step", seed: 12n })
      )
      const twos = two.generations.map((g, i) => candidateOf(`s0.${i}`, g, ones[0]))
      const full = yield* backend.generator.generate(request(problem, { n: 3, seed: 13n }))
      const fulls = full.generations.map((g, i) => candidateOf(`f${i}`, g))
      return [...ones, ...twos, ...fulls] satisfies Array<Candidate>
    })
  )

type Outcome = { readonly ok: unknown } | { readonly error: string }

const run = (backend: SimulatedBackend, pool: ReadonlyArray<ReadonlyArray<Candidate>>, s: Spec) => {
  const problem = PROBLEMS[s.problem] ?? PROBLEMS[0]
  const cands = pool[s.problem] ?? []
  const base = cands[s.base]
  const common = { n: s.n, seed: s.seed, maxTokens: s.maxTokens }
  const call = ((): Effect.Effect<unknown, BackendError> => {
    if (problem === undefined) return Effect.die("no problem")
    switch (s.kind) {
      case "sample":
        return backend.generator.generate(request(problem, { ...common, until: s.until }))
      case "step":
        return backend.generator.generate(request(problem, { ...common, prefix: base, until: s.until }))
      case "greedy":
        return backend.generator.generate(request(problem, { ...common, prefix: base, until: s.until, temperature: 0 }))
      case "revise":
        return backend.generator.generate(
          request(problem, { ...common, context: cands.slice(5, 5 + (s.base % 3) + 1) })
        )
      default:
        return backend.verifier.score({ problem, candidates: cands.slice(0, s.n + 2), verifier: s.kind })
    }
  })()
  return call.pipe(
    Effect.map((ok): Outcome => ({ ok })),
    Effect.catch((e) => Effect.succeed<Outcome>({ error: `${e._tag}: ${e.message}` }))
  )
}

describe("determinism", () => {
  it.effect("same requests ⇒ same outputs, in any order, at any concurrency, on any instance", () =>
    Effect.gen(function* () {
      const config = decodeConfigUnsafe({ generator: { concurrency: 3 }, verifier: { concurrency: 2 } })
      const a = yield* make(config)
      const b = yield* make(config)
      const pool = yield* makePool(a)
      const poolB = yield* makePool(b)
      expect(poolB).toEqual(pool)
      yield* Effect.promise(() =>
        fc.assert(
          fc.asyncProperty(
            fc.array(spec, { minLength: 1, maxLength: 10 }),
            fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 10, maxLength: 10 }),
            async (specs, keys) => {
              const sequential = await Effect.runPromise(Effect.forEach(specs, (s) => run(a, pool, s)))
              const order = specs.map((_, i) => i).sort((i, j) => (keys[i] ?? 0) - (keys[j] ?? 0) || i - j)
              const shuffled = await Effect.runPromise(
                Effect.forEach(order, (i) => Effect.map(run(b, pool, specs[i] as Spec), (o) => [i, o] as const))
              )
              const unshuffled = shuffled
                .slice()
                .sort((x, y) => x[0] - y[0])
                .map((x) => x[1])
              const concurrent = await Effect.runPromise(
                Effect.forEach(specs, (s) => run(a, pool, s), { concurrency: 64 })
              )
              expect(unshuffled).toEqual(sequential)
              expect(concurrent).toEqual(sequential)
            }
          ),
          { numRuns: 400 }
        )
      )
    })
  )

  it.live("…and with latency, on the real clock, under a concurrency cap", () =>
    Effect.gen(function* () {
      const backend = yield* make(
        decodeConfigUnsafe({
          generator: { concurrency: 4, latency: { fixedMs: 1, perTokenMs: 0.0005 } },
          verifier: { concurrency: 2, latency: { fixedMs: 1, perTokenMs: 0 } }
        })
      )
      const pool = yield* makePool(backend)
      yield* Effect.promise(() =>
        fc.assert(
          fc.asyncProperty(fc.array(spec, { minLength: 4, maxLength: 16 }), async (specs) => {
            const sequential = await Effect.runPromise(Effect.forEach(specs, (s) => run(backend, pool, s)))
            const concurrent = await Effect.runPromise(
              Effect.forEach(specs, (s) => run(backend, pool, s), { concurrency: 64 })
            )
            expect(concurrent).toEqual(sequential)
          }),
          { numRuns: 15 }
        )
      )
    })
  )

  it.effect("continuation i does not depend on n: the first k of n = K equal n = k", () =>
    Effect.gen(function* () {
      const backend = yield* make(decodeConfigUnsafe({}))
      const pool = yield* makePool(backend)
      yield* Effect.promise(() =>
        fc.assert(
          fc.asyncProperty(
            spec,
            fc.integer({ min: 1, max: 12 }),
            fc.integer({ min: 0, max: 12 }),
            async (s, k, extra) => {
              const big = { ...s, n: k + extra }
              const small = { ...s, n: k }
              const kind = s.kind === "prm" || s.kind === "orm" ? "sample" : s.kind
              const [x, y] = await Effect.runPromise(
                Effect.all([run(backend, pool, { ...big, kind }), run(backend, pool, { ...small, kind })] as const)
              )
              if ("error" in x || "error" in y) {
                expect(x).toEqual(y)
                return
              }
              const gx = (x.ok as { generations: ReadonlyArray<unknown> }).generations
              const gy = (y.ok as { generations: ReadonlyArray<unknown> }).generations
              expect(gx.length).toBe(k + extra)
              expect(gx.slice(0, k)).toEqual(gy)
            }
          ),
          { numRuns: 300 }
        )
      )
    })
  )
})
