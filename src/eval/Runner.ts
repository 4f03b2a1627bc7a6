/**
 * The sweep runner: runs every (strategy, budget, seed, problem) of a sweep — and, when asked, the
 * per-problem difficulty samples — writing each result to the store as soon as it finishes. Work
 * already in the store is skipped, so an interrupted sweep resumes where it stopped. Problems run
 * concurrently; within a problem, configurations run largest budget first, sharing a generation
 * cache, so smaller budgets reuse the larger ones' samples. A problem is *claimed* in the store
 * before it runs (a lease renewed while it runs), so two `mull eval`s on one store share the
 * sweep: each problem runs once, in one process, with its cache — as many backend calls as one
 * process makes. `prepare` and `executeItem` are the pieces a cluster runner reuses per cell.
 *
 * @since 0.1.0
 */
import { Effect, Fiber, Schedule } from "effect"
import * as MathGrader from "../answer/MathGrader.ts"
import type { DatasetError } from "../data/Dataset.ts"
import { hash64 } from "../domain/Hash.ts"
import type { Problem } from "../domain/Problem.ts"
import type { RunResult } from "../domain/RunResult.ts"
import { GraphError } from "../graph/GraphError.ts"
import * as Loader from "../graph/Loader.ts"
import { validate } from "../graph/Validate.ts"
import { run } from "../runtime/Run.ts"
import type { RunError } from "../runtime/RunError.ts"
import * as RunEvents from "../runtime/RunEvents.ts"
import type { BackendDescriptor, Registry } from "../services/Backend.ts"
import { Generator } from "../services/Generator.ts"
import { type AnswerKey, Grader, type GraderShape } from "../services/Grader.ts"
import { Verifier } from "../services/Verifier.ts"
import { type CacheStats, type CacheStore, cachedGenerator, cachedVerifier, memoryStore } from "./Cache.ts"
import { CLAIM_TTL_MS, claimOwner, isAbandoned, renewEvery } from "./Claims.ts"
import { loadProblems } from "./Problems.ts"
import type { DifficultyRecord, RunRecord } from "./Record.ts"
import { Store, type StoreError, type StoreShape } from "./Store.ts"
import { type Config, configs, SweepError, type SweepSpec } from "./Sweep.ts"

/** The default seed of the difficulty samples: apart from every evaluation seed. */
export const DIFFICULTY_SEED = 1_000_003

/** The graph that estimates difficulty: complete samples, scored. */
export const DIFFICULTY_GRAPH = "weighted-best-of-n"

/** Progress of a sweep, reported after every finished item. */
export interface Progress {
  readonly done: number
  readonly total: number
  readonly skipped: number
  readonly elapsedMs: number
  readonly cache: CacheStats
}

export interface RunnerOptions {
  /** the backends a sweep's `backend.name` is looked up in (the CLI's: `backends/Registry.ts`) */
  readonly registry: Registry
  /** called after each finished item */
  readonly onProgress?: (p: Progress) => void
  /** stop after this many items (tests use it to simulate an interruption) */
  readonly maxItems?: number
  /** run only the problems at positions ≡ index (mod count): one worker's share */
  readonly shard?: { readonly index: number; readonly count: number }
  /** validate, count and record the sweep's setup, but run nothing */
  readonly prepareOnly?: boolean
  /** how long a claim on a problem lasts without renewal (default 30 s) */
  readonly claimTtlMs?: number
  /** how often to look again at problems another process holds (default 500 ms) */
  readonly pollMs?: number
}

export interface Summary {
  readonly sweep: string
  readonly total: number
  readonly ran: number
  readonly skipped: number
  /** items another process (sharing the store) finished while this one ran */
  readonly others: number
  readonly elapsedMs: number
  readonly cache: CacheStats
}

/** One cell of a sweep: a run, a difficulty estimate, or the larger model's samples on a problem. */
export interface Item {
  /** the cell's key: a hash of what it is (a run's record is stored under it) */
  readonly key: string
  readonly problem: Problem
  readonly kind: "run" | "difficulty" | "large"
  readonly config?: Config
  readonly loaded: Loader.LoadedGraph
  readonly params: { readonly [name: string]: number }
  readonly limits: { readonly [meter: string]: number }
  readonly seed: number
  readonly budget: number
}

/** A sweep validated and expanded into its items. */
export interface Prepared {
  readonly spec: SweepSpec
  readonly descriptor: BackendDescriptor
  readonly items: ReadonlyArray<Item>
}

/** The outcome of one item, ready to store. */
export type ItemResult =
  | { readonly _tag: "Run"; readonly record: RunRecord }
  | { readonly _tag: "Difficulty"; readonly record: DifficultyRecord }

const sorted = (o: { readonly [k: string]: unknown }): string => JSON.stringify(Object.entries(o).sort())

/** The content identity of a loaded graph: its document and every graph it uses. */
const graphIdentity = (g: Loader.LoadedGraph): string =>
  JSON.stringify(g.doc) + [...g.uses.entries()].map(([p, u]) => `${p}=${graphIdentity(u)}`).join("")

const backendOf = (registry: Registry, name: string): Effect.Effect<BackendDescriptor, SweepError> => {
  const found = registry.find(name)
  return found !== undefined
    ? Effect.succeed(found)
    : Effect.fail(
        new SweepError({
          problems: [`backend.name: unknown backend "${name}" (known: ${registry.names.join(", ")})`]
        })
      )
}

/** Grades a run's candidates, memoising each distinct answer. */
const gradeRun = (grader: GraderShape, problem: Problem, result: RunResult) => {
  const memo = new Map<string, boolean>()
  const grade = (answer: string) => {
    let ok = memo.get(answer)
    if (ok === undefined) {
      ok = problem.gold === undefined ? false : grader.grade(problem, answer)
      memo.set(answer, ok)
    }
    return ok
  }
  let done = 0
  let correctCandidates = 0
  let scoreSum = 0
  let scored = 0
  for (const c of result.population) {
    if (!c.done) continue
    done++
    if (c.answer !== undefined && grade(c.answer)) correctCandidates++
    if (c.score !== undefined) {
      scoreSum += c.score
      scored++
    }
  }
  return {
    correct: result.answer !== undefined && grade(result.answer),
    done,
    correctCandidates,
    meanScore: scored === 0 ? 0 : scoreSum / scored
  }
}

/**
 * Validates a sweep — every configuration, before anything runs — and expands it into its items
 * (runs, difficulty estimates, the larger model's samples), each keyed by what it is. Only the
 * problems at positions ≡ `shard.index` (mod `shard.count`) when a shard is given.
 *
 * @example
 * const { items } = yield* prepare(spec, registry)
 */
export const prepare = Effect.fn("mull.eval.prepare")(function* (
  spec: SweepSpec,
  registry: Registry,
  shard?: { readonly index: number; readonly count: number }
): Effect.fn.Return<Prepared, SweepError | GraphError | DatasetError> {
  const descriptor = yield* backendOf(registry, spec.backend.name)
  const backend = descriptor.name
  const all = yield* configs(spec)
  const problems = (yield* loadProblems(spec.dataset, { registry, backend: spec.backend })).filter(
    (_, i) => shard === undefined || i % shard.count === shard.index
  )
  const graphs = new Map<string, Loader.LoadedGraph>()
  const loadGraph = (ref: string) =>
    Effect.gen(function* () {
      const hit = graphs.get(ref)
      if (hit !== undefined) return hit
      const g = yield* Loader.load(ref)
      graphs.set(ref, g)
      return g
    })
  // validate every configuration up front: a bad one fails the sweep before anything runs
  const invalid: Array<string> = []
  for (const c of all) {
    const g = yield* loadGraph(c.strategy.graph)
    for (const p of validate(g, { params: c.params, limits: c.limits }))
      invalid.push(`${c.strategy.label} @ B=${c.budget}: ${p}`)
  }
  if (invalid.length > 0) return yield* new GraphError({ graph: `sweep ${spec.name}`, problems: invalid })
  const backendId = `${backend}:${sorted({ config: spec.backend.config ?? {} })}`
  const items: Array<Item> = []
  for (const problem of problems) {
    if (spec.difficulty !== undefined) {
      const loaded = yield* loadGraph(DIFFICULTY_GRAPH)
      const seed = spec.difficulty.seed ?? DIFFICULTY_SEED
      const params = { N: spec.difficulty.samples }
      items.push({
        key: hash64([
          "difficulty",
          spec.name,
          backendId,
          graphIdentity(loaded),
          sorted(params),
          seed,
          problem.id
        ]).toString(16),
        problem,
        kind: "difficulty",
        loaded,
        params,
        limits: {},
        seed,
        budget: spec.difficulty.samples
      })
      if (spec.large !== undefined) {
        const largeParams = { N: spec.large.samples ?? spec.difficulty.samples }
        items.push({
          key: hash64([
            "large",
            spec.name,
            backend,
            sorted({ c: spec.large.config ?? {} }),
            sorted(largeParams),
            seed,
            problem.id
          ]).toString(16),
          problem,
          kind: "large",
          loaded,
          params: largeParams,
          limits: {},
          seed,
          budget: largeParams.N
        })
      }
    }
    for (const config of all) {
      const loaded = yield* loadGraph(config.strategy.graph)
      for (const seed of spec.seeds)
        items.push({
          key: hash64([
            "run",
            spec.name,
            backendId,
            graphIdentity(loaded),
            sorted(config.params),
            sorted(config.limits),
            seed,
            problem.id,
            // prices change what a usd limit pays for; a sweep without them keeps its keys
            ...(spec.prices === undefined ? [] : [sorted(spec.prices)])
          ]).toString(16),
          problem,
          kind: "run",
          config,
          loaded,
          params: config.params,
          limits: config.limits,
          seed,
          budget: config.budget
        })
    }
  }
  return { spec, descriptor, items }
})

/** The sweep a difficulty or large item is stored under. */
const estimateSweep = (spec: SweepSpec, item: Item): string =>
  item.kind === "large" ? `${spec.name}/large` : spec.name

/**
 * The keys of the items already in the store: runs by key, estimates by (sweep, problem, samples,
 * seed).
 *
 * @example
 * const finished = yield* finishedItems(store, spec, items)
 */
export const finishedItems = Effect.fnUntraced(function* (
  store: StoreShape,
  spec: SweepSpec,
  items: ReadonlyArray<Item>
) {
  const runs = items.filter((i) => i.kind === "run")
  const finished = new Set<string>(runs.length === 0 ? [] : yield* store.finished(runs.map((i) => i.key)))
  const estimates = items.filter((i) => i.kind !== "run")
  if (estimates.length > 0) {
    const sweeps = new Set(estimates.map((i) => estimateSweep(spec, i)))
    const have = new Set<string>()
    for (const sweep of sweeps)
      for (const d of yield* store.difficulties(sweep))
        have.add(`${d.sweep}\u0000${d.problemId}\u0000${d.samples}\u0000${d.seed}`)
    for (const i of estimates)
      if (have.has(`${estimateSweep(spec, i)}\u0000${i.problem.id}\u0000${i.budget}\u0000${i.seed}`))
        finished.add(i.key)
  }
  return finished as ReadonlySet<string>
})

/**
 * Records a sweep's setup in the store's metadata (its spec, backend and its config, the larger
 * model's config), which the analysis reads.
 *
 * @example
 * yield* recordSetup(store, spec)
 */
export const recordSetup = (store: StoreShape, spec: SweepSpec): Effect.Effect<void, StoreError> =>
  Effect.all(
    [
      store.putMeta(`sweep:${spec.name}:spec`, JSON.stringify(spec)),
      store.putMeta(`sweep:${spec.name}:backend`, spec.backend.name),
      store.putMeta(`sweep:${spec.name}:backendConfig`, JSON.stringify(spec.backend.config ?? {})),
      ...(spec.large === undefined
        ? []
        : [store.putMeta(`sweep:${spec.name}:largeConfig`, JSON.stringify(spec.large.config ?? {}))])
    ],
    { discard: true }
  )

/**
 * Runs one item on the backend in context (a run's budget is its limits) and grades it: the record
 * to store.
 *
 * @example
 * const result = yield* executeItem(spec, item)
 */
export const executeItem = (
  spec: SweepSpec,
  item: Item
): Effect.Effect<ItemResult, RunError | GraphError, Generator | Verifier | Grader | AnswerKey | RunEvents.RunEvents> =>
  Effect.gen(function* () {
    const grader = yield* Grader
    const result = yield* run(item.loaded, item.problem, {
      params: item.params,
      limits: item.limits,
      seed: item.seed,
      prices: spec.prices
    })
    const g = gradeRun(grader, item.problem, result)
    if (item.kind === "run" && item.config !== undefined) {
      // a backend that grades by other means (recorded labels) is checked by mull's grader too
      const m = grader.name === MathGrader.grader.name ? undefined : gradeRun(MathGrader.grader, item.problem, result)
      const record: RunRecord = {
        key: item.key,
        sweep: spec.name,
        strategy: item.config.strategy.label,
        graph: item.loaded.doc.name,
        params: item.params,
        budget: item.budget,
        seed: item.seed,
        problemId: item.problem.id,
        ...(item.problem.meta.level === undefined ? {} : { level: item.problem.meta.level }),
        ...(result.answer === undefined ? {} : { answer: result.answer }),
        ...(item.problem.gold === undefined ? {} : { gold: item.problem.gold }),
        correct: g.correct,
        exhausted: result.exhausted,
        usage: result.usage,
        backendUsage: result.backendUsage,
        candidates: result.population.length,
        done: g.done,
        correctCandidates: g.correctCandidates,
        ...(m === undefined ? {} : { math: { correct: m.correct, correctCandidates: m.correctCandidates } })
      }
      return { _tag: "Run", record } as const
    }
    const record: DifficultyRecord = {
      sweep: estimateSweep(spec, item),
      problemId: item.problem.id,
      ...(item.problem.meta.level === undefined ? {} : { level: item.problem.meta.level }),
      samples: item.budget,
      seed: item.seed,
      pass1: g.done === 0 ? 0 : g.correctCandidates / g.done,
      meanScore: g.meanScore
    }
    return { _tag: "Difficulty", record } as const
  })

/**
 * Stores an item's result.
 *
 * @example
 * yield* storeResult(store, yield* executeItem(spec, item))
 */
export const storeResult = (store: StoreShape, result: ItemResult): Effect.Effect<void, StoreError> =>
  result._tag === "Run" ? store.putRun(result.record) : store.putDifficulty(result.record)

/**
 * The cache a sweep's items share within a problem: none, the store's (persists), or a fresh
 * in-memory one. Some backends are not worth caching (a recording costs nothing to serve again).
 *
 * @example
 * const cache = problemCache(spec, descriptor, store)
 */
export const problemCache = (
  spec: SweepSpec,
  descriptor: BackendDescriptor,
  store: StoreShape
): CacheStore | undefined => {
  const mode = descriptor.cacheable ? (spec.cache ?? "memory") : "off"
  if (mode === "off") return undefined
  if (mode === "memory") return memoryStore()
  return {
    get: (key) =>
      store.cacheGet(key).pipe(
        Effect.map((v) => (v === undefined ? undefined : (JSON.parse(v) as unknown))),
        Effect.orElseSucceed(() => undefined)
      ),
    set: (key, value) => store.cachePut(key, JSON.stringify(value)).pipe(Effect.ignore)
  }
}

/** The items of one problem in one pass (main backend, or the larger model), claimed as one. */
interface Group {
  readonly claim: string
  readonly items: ReadonlyArray<Item>
}

/**
 * Runs a sweep into the store (which must be in context), skipping finished work and the problems
 * another process has claimed — waiting at the end for those to finish, or to be abandoned.
 *
 * @example
 * yield* runSweep(spec, { registry, onProgress: (p) => console.error(`${p.done}/${p.total}`) })
 */
export const runSweep = Effect.fn("mull.eval.runSweep")(function* (
  spec: SweepSpec,
  options: RunnerOptions
): Effect.fn.Return<Summary, SweepError | GraphError | DatasetError | StoreError | RunError, Store> {
  const store = yield* Store
  const { registry } = options
  const { descriptor, items } = yield* prepare(spec, registry, options.shard)
  const backend = descriptor.name
  const finished = yield* finishedItems(store, spec, items)
  const todo = items.filter((i) => !finished.has(i.key))
  const skipped = items.length - todo.length
  yield* recordSetup(store, spec)
  if (options.prepareOnly === true)
    return {
      sweep: spec.name,
      total: items.length,
      ran: 0,
      skipped,
      others: 0,
      elapsedMs: 0,
      cache: { hits: 0, misses: 0 }
    }

  // group by problem and pass; within a problem, largest budget first so smaller ones hit the cache
  const rank = { difficulty: 0, large: 1, run: 2 } as const
  const groupsOf = (large: boolean): ReadonlyArray<Group> => {
    const byProblem = new Map<string, Array<Item>>()
    for (const i of todo) {
      if ((i.kind === "large") !== large) continue
      const list = byProblem.get(i.problem.id)
      if (list === undefined) byProblem.set(i.problem.id, [i])
      else list.push(i)
    }
    return [...byProblem.entries()].map(([problem, list]) => ({
      claim: `sweep:${spec.name}:${large ? "large" : "main"}:${problem}`,
      items: list.sort((a, b) => rank[a.kind] - rank[b.kind] || b.budget - a.budget)
    }))
  }

  const stats: CacheStats = { hits: 0, misses: 0 }
  const started = Date.now()
  let done = 0
  let ran = 0
  let others = 0
  const limit = options.maxItems ?? Number.POSITIVE_INFINITY
  const tick = () => {
    done++
    options.onProgress?.({ done, total: todo.length, skipped, elapsedMs: Date.now() - started, cache: stats })
  }
  const owner = claimOwner()
  const ttl = options.claimTtlMs ?? CLAIM_TTL_MS
  const pollMs = options.pollMs ?? 500
  const recorded = new Set<string>()

  /** Runs the unfinished items of a group this process has claimed. */
  const runClaimed = (group: Group, services: { large: boolean }) =>
    Effect.gen(function* () {
      // another process may have finished some of it before this claim
      const already = yield* finishedItems(store, spec, group.items)
      for (const item of group.items)
        if (already.has(item.key)) {
          others++
          tick()
        }
      const rest = group.items.filter((i) => !already.has(i.key))
      if (rest.length === 0) return
      const generator = yield* Generator
      const verifier = yield* Verifier
      const meta = services.large ? "largeParams" : "generatorParams"
      if (!recorded.has(meta)) {
        recorded.add(meta)
        yield* store.putMeta(
          `sweep:${spec.name}:${meta}`,
          JSON.stringify(services.large && spec.large?.params !== undefined ? spec.large.params : generator.params)
        )
      }
      const cache = problemCache(spec, descriptor, store)
      const gen = cache === undefined ? generator : cachedGenerator(generator, cache, stats)
      const ver = cache === undefined ? verifier : cachedVerifier(verifier, cache, stats)
      for (const item of rest) {
        if (done >= limit) return
        const result = yield* executeItem(spec, item).pipe(
          Effect.provideService(Generator, gen),
          Effect.provideService(Verifier, ver)
        )
        yield* storeResult(store, result)
        ran++
        tick()
      }
    })

  /** Claims a group and runs it; false when another process holds it. */
  const runGroup = (group: Group, services: { large: boolean }) =>
    Effect.gen(function* () {
      if (done >= limit) return true
      if (!(yield* store.claim(group.claim, owner, ttl, (holder) => isAbandoned(holder)))) return false
      // given back when done, failed or interrupted: another process need not wait for it to expire
      yield* runClaimed(group, services).pipe(
        Effect.ensuring(store.releaseClaim(group.claim, owner).pipe(Effect.ignore))
      )
      return true
    })

  /** Every group of a pass: the free ones first, then — polling — those others held. */
  const runPass = (groups: ReadonlyArray<Group>, services: { large: boolean }) =>
    Effect.gen(function* () {
      let pending = groups
      let first = true
      while (pending.length > 0 && done < limit) {
        if (!first) {
          yield* Effect.sleep(pollMs)
          // finished elsewhere: count it, without taking a claim
          const already = yield* finishedItems(
            store,
            spec,
            pending.flatMap((g) => g.items)
          )
          const left: Array<Group> = []
          for (const g of pending) {
            const open = g.items.filter((i) => !already.has(i.key))
            for (let k = open.length; k < g.items.length; k++) {
              others++
              tick()
            }
            if (open.length > 0) left.push({ claim: g.claim, items: open })
          }
          pending = left
        }
        first = false
        const held = yield* Effect.forEach(
          pending,
          (g) => runGroup(g, services).pipe(Effect.map((ok) => (ok ? undefined : g))),
          { concurrency: spec.concurrency ?? 4 }
        )
        pending = held.filter((g): g is Group => g !== undefined)
      }
    })

  const renewal = yield* Effect.forkChild(
    store.renewClaims(owner, ttl).pipe(Effect.ignore, Effect.repeat(Schedule.spaced(renewEvery(ttl))))
  )
  const mainLayer = registry.layer(backend, spec.backend.config)
  yield* runPass(groupsOf(false), { large: false }).pipe(
    Effect.provide(mainLayer),
    Effect.provide(RunEvents.layerSilent),
    Effect.mapError((e) => (e._tag === "BackendConfigError" ? new SweepError({ problems: [...e.problems] }) : e)),
    Effect.onExit(() => Fiber.interrupt(renewal))
  )
  const largeGroups = groupsOf(true)
  if (spec.large !== undefined && largeGroups.length > 0) {
    const renewLarge = yield* Effect.forkChild(
      store.renewClaims(owner, ttl).pipe(Effect.ignore, Effect.repeat(Schedule.spaced(renewEvery(ttl))))
    )
    yield* runPass(largeGroups, { large: true }).pipe(
      Effect.provide(registry.layer(backend, spec.large.config)),
      Effect.provide(RunEvents.layerSilent),
      Effect.mapError((e) =>
        e._tag === "BackendConfigError" ? new SweepError({ problems: e.problems.map((p) => `large.${p}`) }) : e
      ),
      Effect.onExit(() => Fiber.interrupt(renewLarge))
    )
  }
  return {
    sweep: spec.name,
    total: items.length,
    ran,
    skipped,
    others,
    elapsedMs: Date.now() - started,
    cache: { ...stats }
  }
})
