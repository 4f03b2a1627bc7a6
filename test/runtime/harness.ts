/**
 * Shared by the property tests of the runtime: random valid graph documents (every node type, `use`
 * of the built-ins), params and limits, the problems they run on, and a ledger wrapper that checks
 * the limits after every reserve, commit and release.
 */
import { Effect, Stream } from "effect"
import fc from "fast-check"
import type * as Ledger from "../../src/budget/Ledger.ts"
import * as Limits from "../../src/budget/Limits.ts"
import type { Problem } from "../../src/domain/Problem.ts"
import * as Usage from "../../src/domain/Usage.ts"
import type { RunOptions } from "../../src/runtime/Run.ts"
import { type RunEvent, RunEvents } from "../../src/runtime/RunEvents.ts"

export const PROBLEMS: ReadonlyArray<Problem> = [
  { id: "inv/easy", question: "What is $1+1$?", gold: "2", meta: { level: 1 } },
  { id: "inv/mid", question: "Find $x$.", gold: "\\frac{14}{3}", meta: { level: 3 } },
  { id: "inv/hard", question: "Give $n$.", gold: "7", meta: { level: 5 } }
]

// ---------------------------------------------------------------------------------------------
// Arbitraries: valid graph documents

export type Json = { readonly [k: string]: unknown }

export const PARAMS = { N: 4, M: 2, K: 2, R: 2 } as const

export const opt = <A>(arb: fc.Arbitrary<A>): fc.Arbitrary<A | undefined> => fc.option(arb, { nil: undefined, freq: 2 })

/** The generator's largest `maxTokens` in these tests. */
export const MAX_TOKENS = 1024

/** Drops undefined fields (the schema rejects `undefined` for optional keys). */
export const obj = (fields: Record<string, unknown>): Json =>
  Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined))

export const until = fc.constantFrom("step", "end")
export const maxTokens = opt(
  fc.oneof(fc.integer({ min: 48, max: MAX_TOKENS }), fc.constant("min(512, max(48, floor(budget.outputTokens / 4)))"))
)
export const temperature = opt(fc.constantFrom(0, 0.5, 0.8, 1.2, "min(1, R / 2)"))

const sampleArb = fc
  .record({
    n: fc.constantFrom(0, 1, 2, 3, "N", "K", "min(N, 3)", "max(1, floor(N / M))", "min(2, population.size)"),
    until,
    temperature,
    maxTokens
  })
  .map((r) => obj({ type: "sample", ...r }))

const expandArb = fc
  .record({
    n: fc.constantFrom(
      1,
      2,
      3,
      "M",
      "max(1, M - 1)",
      "candidate.rank < 2 ? M + 1 : 1",
      "max(1, round(3 * candidate.score))",
      "candidate.share >= 0.5 ? 1 : M"
    ),
    until,
    temperature,
    maxTokens,
    among: opt(fc.constant("active"))
  })
  .map((r) => obj({ type: "expand", ...r }))

const scoreArb = fc
  .record({
    verifier: opt(fc.constantFrom("prm", "orm")),
    aggregate: opt(fc.constantFrom("last", "min", "prod", "mean")),
    lookahead: opt(
      fc
        .record({
          steps: fc.constantFrom(0, 1, 2, "R", "min(R, 1)"),
          temperature: opt(fc.constantFrom(0, 0.7)),
          maxTokens: opt(fc.integer({ min: 48, max: 512 }))
        })
        .map(obj)
    )
  })
  .map((r) => obj({ type: "score", ...r }))

const pruneArb = fc
  .record({
    keep: fc.constantFrom(
      0,
      1,
      2,
      3,
      "K",
      "max(1, floor(N / M))",
      "population.active",
      "max(1, floor(population.active / 2))",
      "min(K, population.size)"
    ),
    among: opt(fc.constantFrom("active", "all")),
    mode: opt(fc.constantFrom("top", "sample")),
    temperature: opt(fc.constantFrom(0.2, 1, "R + 0.5")),
    dedupe: opt(fc.boolean()),
    dropUnanswered: opt(fc.boolean()),
    distinct: opt(fc.boolean())
  })
  .map((r) => obj({ type: "prune", ...r }))

const generativeScoreArb = fc
  .record({
    style: fc.constantFrom("judge", "think"),
    samples: opt(fc.constantFrom(1, 2, "M")),
    temperature: opt(fc.constantFrom(0, 0.6)),
    maxTokens: opt(fc.constantFrom(16, 256, 2048, "min(512, max(48, floor(budget.outputTokens / 4)))"))
  })
  .map((g) => obj({ type: "score", generative: obj(g), aggregate: "last" }))

const reviseArb = fc
  .record({
    context: opt(fc.constantFrom(1, 2, 4, "max(1, K)")),
    temperature,
    maxTokens,
    where: opt(
      fc.constantFrom("candidate.share < 0.5", "candidate.rank >= 1 or candidate.scored < 1", "candidate.votes <= K")
    )
  })
  .map((r) => obj({ type: "revise", ...r }))

export const selectArb = fc
  .record({
    method: fc.constantFrom("majority", "best", "weighted"),
    among: opt(fc.constantFrom("done", "all")),
    hierarchical: opt(fc.constant("chain"))
  })
  .map((r) => obj({ type: "select", ...r }))

/** Scores from token confidences (the simulator gives them to samples that ask). */
const confidenceArb = fc
  .record({
    stat: opt(fc.constantFrom("lowest-group", "bottom", "tail", "mean", "mean-logprob")),
    window: opt(fc.constantFrom(1, 16, 256, "N")),
    keep: opt(fc.constantFrom(0.1, 0.5, 1))
  })
  .map((r) => obj({ type: "confidence", ...r }))

/** Stop-when sampling: every rule, waves of 1–M samples, with and without a verifier. */
const wavesArb = fc
  .record({
    max: fc.constantFrom(0, 1, 3, "N", "N + K"),
    wave: opt(fc.constantFrom(1, 2, 3, "M")),
    min: opt(fc.constantFrom(0, 2, "K")),
    stop: fc.constantFrom<Json>(
      { rule: "esc", window: 2 },
      { rule: "esc", window: 3 },
      { rule: "beta" },
      { rule: "beta", confidence: 0.8 },
      { rule: "dirichlet", confidence: 0.9 },
      { rule: "until", when: "vote.share >= 0.6 and vote.count >= 2" },
      { rule: "until", when: "vote.count >= K or vote.samples >= remaining.sequences" }
    ),
    scored: fc.constantFrom("none", "prm", "weighted"),
    temperature,
    maxTokens
  })
  .map(({ scored, ...r }) =>
    obj({
      type: "waves",
      ...r,
      ...(scored === "none" ? {} : { verifier: "prm" }),
      ...(scored === "weighted" ? { method: "weighted" } : {})
    })
  )

/** Tree search: REBASE over its whole frontier, MCTS with every policy option. */
const rebaseArb = fc
  .record({
    width: fc.constantFrom(0, 1, 3, "N", "N + K"),
    rounds: opt(fc.constantFrom(0, 1, 2, "R")),
    balance: opt(fc.constantFrom(0.05, 0.5, "R + 0.5")),
    verifier: opt(fc.constantFrom("prm", "orm")),
    aggregate: opt(fc.constantFrom("last", "min", "mean")),
    temperature,
    maxTokens
  })
  .map((r) => obj({ type: "rebase", ...r }))

const mctsArb = fc
  .record({
    iterations: fc.constantFrom(0, 1, 3, "N", "N + K"),
    k: fc.constantFrom(1, 2, 3, "M"),
    selection: opt(fc.constantFrom("uct", "puct")),
    c: opt(fc.constantFrom(0, 1, "R")),
    backup: opt(fc.constantFrom("mean", "max")),
    branching: opt(fc.constantFrom("fixed", "adaptive")),
    rollout: opt(fc.boolean()),
    keep: opt(fc.constantFrom("solutions", "best")),
    verifier: opt(fc.constantFrom("prm", "orm")),
    temperature,
    maxTokens
  })
  .map((r) => obj({ type: "mcts", ...r }))

/** DeepConf online: warm-up traces set a threshold; later traces stop when their confidence falls below it. */
const deepconfArb = fc
  .record({
    n: fc.constantFrom(0, 1, 3, "N", "N + K"),
    warmup: opt(fc.constantFrom(1, 2, "max(1, K)")),
    keep: opt(fc.constantFrom(0.1, 0.5, 1)),
    window: opt(fc.constantFrom(1, 16, "N")),
    logprobs: opt(fc.constantFrom(1, 5)),
    temperature,
    maxTokens
  })
  .map((r) => obj({ type: "deepconf", ...r }))

/** `use` of a built-in with small params, so a run stays fast. */
const useArb = fc
  .constantFrom<Json>(
    { graph: "best-of-n", params: { N: "min(N, 3)" } },
    { graph: "majority", params: { N: 2 } },
    { graph: "weighted-best-of-n", params: { N: "K" } },
    { graph: "beam-search", params: { N: 4, M: 2, rounds: 2 } },
    { graph: "beam-search-sqrt", params: { N: "N", rounds: "R" } },
    { graph: "lookahead", params: { N: 2, M: 2, k: 1, rounds: 2 } },
    { graph: "dvts", params: { N: 4, M: 2, rounds: 2 } },
    { graph: "particle-filter", params: { N: 3, rounds: 2 } },
    { graph: "sequential-revisions", params: { N: 3 } },
    { graph: "parallel-revisions", params: { N: 2 } },
    { graph: "hybrid-revisions", params: { P: 2, S: 2 } },
    { graph: "adaptive-consistency", params: { N: "N", wave: "M" } },
    { graph: "esc", params: { N: "N + K" } },
    { graph: "rebase", params: { N: "N", rounds: "R" } },
    { graph: "mcts", params: { N: "K", k: "M" } },
    { graph: "ab-mcts", params: { N: "K", k: "M" } },
    { graph: "deepconf-online", params: { N: "N + K", warmup: "max(1, K)", W: 16 } },
    { graph: "llm-judge-best-of-n", params: { N: "K", K: 1 } },
    { graph: "budget-forcing", params: { N: "min(N, 3)", maxThinking: "64 * M", minThinking: "48 * K", waits: "R" } }
  )
  .map((u) => ({ type: "use", ...u }))

const leafArb: fc.Arbitrary<Json> = fc.oneof(
  { arbitrary: sampleArb, weight: 4 },
  { arbitrary: expandArb, weight: 3 },
  { arbitrary: scoreArb, weight: 3 },
  { arbitrary: pruneArb, weight: 3 },
  { arbitrary: reviseArb, weight: 1 },
  { arbitrary: selectArb, weight: 1 },
  { arbitrary: useArb, weight: 1 },
  { arbitrary: wavesArb, weight: 2 },
  { arbitrary: confidenceArb, weight: 1 },
  { arbitrary: rebaseArb, weight: 1 },
  { arbitrary: mctsArb, weight: 1 },
  { arbitrary: deepconfArb, weight: 1 },
  { arbitrary: generativeScoreArb, weight: 1 }
)

const BINS: ReadonlyArray<ReadonlyArray<number>> = [[], [0.5], [0.8, 0.3], [0.9, 0.6, 0.2]]

/** A node tree of at most `depth` levels of combinators. */
const nodeArb = (depth: number): fc.Arbitrary<Json> => {
  if (depth <= 0) return leafArb
  const child = nodeArb(depth - 1)
  return fc.oneof(
    { arbitrary: leafArb, weight: 3 },
    {
      arbitrary: fc.array(child, { minLength: 1, maxLength: 3 }).map((nodes) => ({ type: "sequence", nodes })),
      weight: 3
    },
    {
      arbitrary: fc
        .record({
          max: fc.constantFrom(0, 1, 2, 3, "R"),
          until: opt(fc.constantFrom("no-active", "none", "done >= K", "done >= N + 1")),
          body: child
        })
        .map((r) => obj({ type: "repeat", ...r })),
      weight: 2
    },
    {
      arbitrary: fc
        .record({ branches: fc.constantFrom(1, 2, 3, "M"), body: child })
        .map((r) => ({ type: "parallel", ...r })),
      weight: 1
    },
    {
      arbitrary: fc
        .record({
          samples: fc.constantFrom(1, 2, "M"),
          verifier: opt(fc.constantFrom("prm", "orm")),
          aggregate: opt(fc.constantFrom("last", "mean")),
          maxTokens,
          bins: fc.constantFrom(...BINS)
        })
        .chain(({ bins, ...estimate }) =>
          fc.array(child, { minLength: bins.length + 1, maxLength: bins.length + 1 }).map((cases) => ({
            type: "route",
            estimate: obj(estimate),
            bins,
            cases
          }))
        ),
      weight: 1
    }
  )
}

/** The first node: mostly fresh samples, so that the rest of the tree has something to work on. */
const startArb: fc.Arbitrary<ReadonlyArray<Json>> = fc.oneof(
  {
    arbitrary: fc
      .record({
        n: fc.constantFrom(1, 2, 4, "N", "N + K"),
        until,
        temperature,
        maxTokens,
        logprobs: opt(fc.constantFrom(1, 5))
      })
      .map((r) => [obj({ type: "sample", ...r })]),
    weight: 6
  },
  { arbitrary: fc.constant([]), weight: 1 },
  { arbitrary: wavesArb.map((w) => [w]), weight: 2 },
  { arbitrary: fc.oneof(rebaseArb, mctsArb).map((t) => [t]), weight: 1 },
  { arbitrary: deepconfArb.map((d) => [d]), weight: 1 }
)

/** A valid document: (mostly) samples, a random tree, then a select. */
export const documentArb: fc.Arbitrary<Json> = fc
  .record({ start: startArb, tree: fc.array(nodeArb(2), { minLength: 1, maxLength: 4 }), select: selectArb })
  .map(({ start, tree, select }) => ({
    name: "random",
    description: "a random graph",
    params: PARAMS,
    root: { type: "sequence", nodes: [...start, ...tree, select] }
  }))

export const paramsArb = fc.record(
  {
    N: fc.integer({ min: 1, max: 8 }),
    M: fc.integer({ min: 1, max: 3 }),
    K: fc.integer({ min: 0, max: 4 }),
    R: fc.integer({ min: 0, max: 3 })
  },
  { requiredKeys: [] }
)

const LIMITABLE = [
  "calls",
  "sequences",
  "outputTokens",
  "verifierCalls",
  "inputTokens",
  "verifierTokens",
  "flops",
  "usd"
] as const
type Limitable = (typeof LIMITABLE)[number]

/**
 * Limits on a random subset of the meters the simulated backend can enforce (it has a tokenizer):
 * absolute values, or fractions (0–1.2) of what the run spends without a budget, so that the
 * budget binds in most cases.
 */
export type LimitSpec =
  | { readonly _tag: "absolute"; readonly limits: Limits.Limits }
  | { readonly _tag: "relative"; readonly fractions: ReadonlyArray<readonly [Limitable, number]> }

const RANGES: Record<Limitable, number> = {
  calls: 80,
  sequences: 80,
  outputTokens: 40_000,
  verifierCalls: 40,
  inputTokens: 80_000,
  verifierTokens: 80_000,
  flops: 4e14,
  usd: 0.1
}

export const limitSpecArb: fc.Arbitrary<LimitSpec> = fc.oneof(
  fc.subarray([...LIMITABLE], { maxLength: 4 }).chain((meters) =>
    fc
      .tuple(
        ...meters.map((m) =>
          fc.noBias(
            m === "usd"
              ? fc.integer({ min: 0, max: 1_000_000 }).map((x) => (x / 1_000_000) * RANGES[m])
              : fc.integer({ min: 0, max: RANGES[m] })
          )
        )
      )
      .map((values) => ({
        _tag: "absolute" as const,
        limits: Object.fromEntries(meters.map((m, i) => [m, values[i] ?? 0]))
      }))
  ),
  fc.subarray([...LIMITABLE], { minLength: 1, maxLength: 3 }).chain((meters) =>
    fc.tuple(...meters.map(() => fc.noBias(fc.integer({ min: 5, max: 110 })))).map((percents) => ({
      _tag: "relative" as const,
      fractions: meters.map((m, i) => [m, (percents[i] ?? 0) / 100] as const)
    }))
  )
)

export const PRICES: NonNullable<RunOptions["prices"]> = {
  usdPerMillionInput: 0.5,
  usdPerMillionOutput: 1.5,
  usdPerMillionVerifier: 0.1
}

export const caseArb = fc.record({
  doc: documentArb,
  params: paramsArb,
  limits: limitSpecArb,
  problem: fc.constantFrom(...PROBLEMS),
  seed: fc.integer({ min: 0, max: 1000 })
})
export type Case = typeof caseArb extends fc.Arbitrary<infer A> ? A : never

// ---------------------------------------------------------------------------------------------
// Running a case with a watched ledger

const TOL = (limit: number) => Limits.tolerance(limit)

/** Every limited meter of `usage` is within `limits`; returns the meters that are not. */
export const over = (usage: Usage.Usage, limits: Limits.Limits): ReadonlyArray<string> =>
  Usage.METERS.filter((m) => {
    const limit = limits[m]
    return limit !== undefined && usage[m] > limit + TOL(limit)
  }).map((m) => `${m} ${usage[m]} > ${limits[m]}`)

/**
 * A ledger that checks, after every reserve, commit and release, that committed and committed +
 * reserved are within the limits; violations are recorded.
 */
export const watched = (
  inner: Ledger.LedgerShape,
  violations: Array<string>,
  requests: Array<Ledger.ReserveRequest>
): Ledger.LedgerShape => {
  const check = (what: string) =>
    Effect.map(inner.snapshot, (s) => {
      for (const v of over(s.committed, inner.limits)) violations.push(`after ${what}: committed ${v}`)
      for (const v of over(Usage.add(s.committed, s.reserved), inner.limits))
        violations.push(`after ${what}: committed + reserved ${v}`)
    })
  const reserve: Ledger.LedgerShape["reserve"] = (request) =>
    Effect.suspend(() => {
      requests.push(request)
      return Effect.tap(inner.reserve(request), () => check(`reserve at ${request.node}`))
    })
  return {
    ...inner,
    reserve,
    // the inner ledger's own batch (what the runtime uses), its asks recorded as `reserve` records them
    reserveAll: (asked) =>
      Effect.tap(inner.reserveAll(asked), (granted) =>
        Effect.suspend(() => {
          const tried = granted.refusal === undefined ? asked.length : granted.reservations.length + 1
          for (let i = 0; i < tried; i++) requests.push(asked[i] as Ledger.ReserveRequest)
          return check(`reserveAll at ${asked[0]?.node}`)
        })
      ),
    commit: (r, actual, spent) => Effect.andThen(inner.commit(r, actual, spent), check(`commit at ${r.node}`)),
    release: (r) => Effect.andThen(inner.release(r), check(`release at ${r.node}`))
  }
}

/** Events go to a callback, synchronously (exercises the runtime's event paths cheaply). */
export const eventsTo = (onEvent: (e: RunEvent) => void) =>
  RunEvents.of({
    enabled: true,
    publish: (e) => Effect.sync(() => onEvent(e)),
    subscribe: Effect.succeed(Stream.empty)
  })
