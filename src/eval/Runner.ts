/**
 * The sweep runner: runs every (strategy, budget, seed, problem) of a sweep — and, when asked, the
 * per-problem difficulty samples — writing each result to the store as soon as it finishes. Work
 * already in the store is skipped, so an interrupted sweep resumes where it stopped. Problems run
 * concurrently; within a problem, configurations run largest budget first, sharing a generation
 * cache, so smaller budgets reuse the larger ones' samples.
 *
 * @since 0.1.0
 */
import { Effect } from "effect"
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
import { Grader, type GraderShape } from "../services/Grader.ts"
import { Verifier } from "../services/Verifier.ts"
import { type CacheStats, type CacheStore, cachedGenerator, cachedVerifier, memoryStore } from "./Cache.ts"
import { loadProblems } from "./Problems.ts"
import type { DifficultyRecord, RunRecord } from "./Record.ts"
import { Store, type StoreError } from "./Store.ts"
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
}

export interface Summary {
  readonly sweep: string
  readonly total: number
  readonly ran: number
  readonly skipped: number
  readonly elapsedMs: number
  readonly cache: CacheStats
}

interface Item {
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
 * Runs a sweep into the store (which must be in context), skipping finished work.
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
  const descriptor = yield* backendOf(registry, spec.backend.name)
  const backend = descriptor.name
  const all = yield* configs(spec)
  const shard = options.shard
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
  const finished = yield* store.finished(items.map((i) => i.key))
  const finishedDifficulty = new Set(
    [...(yield* store.difficulties(spec.name)), ...(yield* store.difficulties(`${spec.name}/large`))].map(
      (d) => `${d.sweep}\u0000${d.problemId}\u0000${d.samples}\u0000${d.seed}`
    )
  )
  const isFinished = (i: Item) =>
    i.kind === "run"
      ? finished.has(i.key)
      : finishedDifficulty.has(
          `${i.kind === "large" ? `${spec.name}/large` : spec.name}\u0000${i.problem.id}\u0000${i.budget}\u0000${i.seed}`
        )
  const todo = items.filter((i) => !isFinished(i))
  const skipped = items.length - todo.length
  yield* store.putMeta(`sweep:${spec.name}:spec`, JSON.stringify(spec))
  yield* store.putMeta(`sweep:${spec.name}:backend`, backend)
  yield* store.putMeta(`sweep:${spec.name}:backendConfig`, JSON.stringify(spec.backend.config ?? {}))
  if (options.prepareOnly === true)
    return { sweep: spec.name, total: items.length, ran: 0, skipped, elapsedMs: 0, cache: { hits: 0, misses: 0 } }

  // group by problem; within a problem, largest budget first so smaller ones hit the cache
  const byProblem = new Map<string, Array<Item>>()
  for (const i of todo) {
    const list = byProblem.get(i.problem.id)
    if (list === undefined) byProblem.set(i.problem.id, [i])
    else list.push(i)
  }
  const rank = { difficulty: 0, large: 1, run: 2 } as const
  for (const list of byProblem.values()) list.sort((a, b) => rank[a.kind] - rank[b.kind] || b.budget - a.budget)

  const stats: CacheStats = { hits: 0, misses: 0 }
  const started = Date.now()
  let done = 0
  const limit = options.maxItems ?? Number.POSITIVE_INFINITY
  const tick = () => {
    done++
    options.onProgress?.({ done, total: todo.length, skipped, elapsedMs: Date.now() - started, cache: stats })
  }
  // some backends are not worth caching (a recording costs nothing to serve again)
  const cacheMode = descriptor.cacheable ? (spec.cache ?? "memory") : "off"
  const storeCache: CacheStore = {
    get: (key) =>
      store.cacheGet(key).pipe(
        Effect.map((v) => (v === undefined ? undefined : (JSON.parse(v) as unknown))),
        Effect.orElseSucceed(() => undefined)
      ),
    set: (key, value) => store.cachePut(key, JSON.stringify(value)).pipe(Effect.ignore)
  }

  const runProblem = (list: ReadonlyArray<Item>, services: { large: boolean }) =>
    Effect.gen(function* () {
      const generator = yield* Generator
      const verifier = yield* Verifier
      const grader = yield* Grader
      yield* store.putMeta(
        `sweep:${spec.name}:${services.large ? "largeParams" : "generatorParams"}`,
        JSON.stringify(services.large && spec.large?.params !== undefined ? spec.large.params : generator.params)
      )
      const cache = cacheMode === "off" ? undefined : cacheMode === "store" ? storeCache : memoryStore()
      const gen = cache === undefined ? generator : cachedGenerator(generator, cache, stats)
      const ver = cache === undefined ? verifier : cachedVerifier(verifier, cache, stats)
      for (const item of list) {
        if (done >= limit) return
        if ((item.kind === "large") !== services.large) continue
        const result = yield* run(item.loaded, item.problem, {
          params: item.params,
          limits: item.limits,
          seed: item.seed,
          prices: spec.prices
        }).pipe(Effect.provideService(Generator, gen), Effect.provideService(Verifier, ver))
        const g = gradeRun(grader, item.problem, result)
        // a backend that grades by other means (recorded labels) is checked by mull's grader too
        const m = grader.name === MathGrader.grader.name ? undefined : gradeRun(MathGrader.grader, item.problem, result)
        if (item.kind === "run" && item.config !== undefined) {
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
          yield* store.putRun(record)
        } else {
          const record: DifficultyRecord = {
            sweep: item.kind === "large" ? `${spec.name}/large` : spec.name,
            problemId: item.problem.id,
            ...(item.problem.meta.level === undefined ? {} : { level: item.problem.meta.level }),
            samples: item.budget,
            seed: item.seed,
            pass1: g.done === 0 ? 0 : g.correctCandidates / g.done,
            meanScore: g.meanScore
          }
          yield* store.putDifficulty(record)
        }
        tick()
      }
    })

  const groups = [...byProblem.values()]
  const mainLayer = registry.layer(backend, spec.backend.config)
  yield* Effect.forEach(groups, (list) => runProblem(list, { large: false }), {
    concurrency: spec.concurrency ?? 4,
    discard: true
  }).pipe(
    Effect.provide(mainLayer),
    Effect.provide(RunEvents.layerSilent),
    Effect.mapError((e) => (e._tag === "BackendConfigError" ? new SweepError({ problems: [...e.problems] }) : e))
  )
  if (spec.large !== undefined && todo.some((i) => i.kind === "large")) {
    yield* Effect.forEach(groups, (list) => runProblem(list, { large: true }), {
      concurrency: spec.concurrency ?? 4,
      discard: true
    }).pipe(
      Effect.provide(registry.layer(backend, spec.large.config)),
      Effect.provide(RunEvents.layerSilent),
      Effect.mapError((e) =>
        e._tag === "BackendConfigError" ? new SweepError({ problems: e.problems.map((p) => `large.${p}`) }) : e
      )
    )
    yield* store.putMeta(`sweep:${spec.name}:largeConfig`, JSON.stringify(spec.large.config ?? {}))
  }
  return {
    sweep: spec.name,
    total: items.length,
    ran: done,
    skipped,
    elapsedMs: Date.now() - started,
    cache: { ...stats }
  }
})
