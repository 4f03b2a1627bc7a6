/**
 * Everything the analysis commands compute from one sweep of the results store: configurations,
 * oracle and model-predicted bins, accuracy overall and per bin, the compute-optimal policy on
 * either kind of bins, and the exchange rate. `load` reads a sweep (and its larger-model
 * difficulty records, `<sweep>/large`, and its metadata); `analyze` is pure.
 *
 * @since 0.1.0
 */
import { Effect } from "effect"
import { type AccuracyPoint, accuracy, accuracyByBin, type Configuration, configurations } from "./Accuracy.ts"
import { type BinKind, type Binning, oracleBins, type PredictedBinning, predictedBins, type WorldUnit } from "./Bins.ts"
import { type CandidateSet, optimize, type Policy } from "./ComputeOptimal.ts"
import { type Exchange, type ExchangeFlops, exchange, exchangeFlops } from "./Exchange.ts"
import { type Finding, findings } from "./Findings.ts"
import type { DifficultyRecord, RunRecord } from "./Record.ts"
import { candidatesOf, evaluateRouter, type RouterResult } from "./Router.ts"
import type { StoreError, StoreShape } from "./Store.ts"
import { resolveVoting, type Voting, withVoting } from "./Voting.ts"

/** The metadata keys a sweep may carry (each a JSON string), without the `sweep:<name>:` prefix. */
export const META_KEYS = ["spec", "backend", "backendConfig", "generatorParams", "largeParams", "largeConfig"] as const
export type MetaKey = (typeof META_KEYS)[number]

/** What one sweep holds. */
export interface SweepData {
  readonly sweep: string
  readonly runs: ReadonlyArray<RunRecord>
  readonly difficulties: ReadonlyArray<DifficultyRecord>
  /** the larger model's difficulty records (sweep `<sweep>/large`), for the exchange rate */
  readonly large: ReadonlyArray<DifficultyRecord>
  /** the router's difficulty estimates (sweep `<sweep>/estimate`): a few fresh samples' mean score */
  readonly estimates?: ReadonlyArray<DifficultyRecord> | undefined
  /** each problem's position in its dataset (folds are by position mod 2); by id when absent */
  readonly order?: ReadonlyMap<string, number> | undefined
  /** pooled sweeps (`pool`): each unit's world (the sweep's position) and problem id within it; oracle bins are cut per world */
  readonly worlds?: ReadonlyMap<string, WorldUnit> | undefined
  /** raw metadata values (JSON strings) that are present */
  readonly meta: Partial<Record<MetaKey, string>>
  /** pooled sweeps (`pool`): each part's name and metadata, in pooling order (`meta` is the first's) */
  readonly parts?:
    | ReadonlyArray<{ readonly sweep: string; readonly meta: Partial<Record<MetaKey, string>> }>
    | undefined
}

export interface AnalysisOptions {
  /** bins the policy is fit on (default `oracle`) */
  readonly bins?: BinKind | undefined
  /** number of bins (default 5) */
  readonly binCount?: number | undefined
  readonly candidates?: CandidateSet | undefined
  /** the baseline's strategy label (default: the weighted-best-of-n configuration) */
  readonly baseline?: string | undefined
  /** inference-to-pretraining token ratios for the exchange rate */
  readonly rs?: ReadonlyArray<number> | undefined
  /** P_large / P_small */
  readonly ratio?: number | undefined
  /** the verifier's parameters for the exchange rate's FLOPs (default: the backend config's `prm.params`, else 7e9) */
  readonly verifierParams?: number | undefined
  /** bootstrap resamples of the router's intervals (default 500; 0 skips the routers) */
  readonly resamples?: number | undefined
  /** the voting variants the findings, routers, policy and exchange rate use (default: the sweep's, else first-seen ties and hierarchical revisions) */
  readonly voting?: Partial<Voting> | undefined
}

/** The candidate sets the routers are reported for. */
export const ROUTER_SETS = ["paper-search", "search", "revisions", "all"] as const
export type RouterSet = (typeof ROUTER_SETS)[number]

/** The routers of a sweep: per candidate set, as it would run (predicted) and the oracle upper bound. */
export interface Routers {
  readonly predicted: { readonly [K in RouterSet]: RouterResult }
  readonly oracle: { readonly [K in RouterSet]: RouterResult }
}

export interface Analysis {
  readonly data: SweepData
  readonly options: AnalysisOptions
  /** every configuration of the sweep (both variants of a vote, when it ran both) */
  readonly configs: ReadonlyArray<Configuration>
  /** the voting options used, and the configurations under them (what the policy, routers, findings and exchange see) */
  readonly voting: Voting
  readonly used: ReadonlyArray<Configuration>
  readonly oracle: Binning
  readonly predicted: PredictedBinning
  /** the bins the policy is fit on */
  readonly binning: Binning
  readonly overall: ReadonlyArray<AccuracyPoint>
  readonly byOracleBin: ReadonlyArray<AccuracyPoint>
  readonly byPredictedBin: ReadonlyArray<AccuracyPoint>
  /** the policy on `binning` */
  readonly policy: Policy
  /** the policy on the other kind of bins (for comparison) */
  readonly otherPolicy: Policy
  readonly exchange: Exchange
  /** the routers, evaluated end to end by 2-fold CV with bootstrap intervals (undefined without best-of-N) */
  readonly routers: Routers | undefined
  /** the problems in dataset order (fold = position mod 2) */
  readonly problems: ReadonlyArray<string>
  /** the exchange rate with the verifier's FLOPs counted (oracle bins), and without them for contrast */
  readonly exchangeFlops: ExchangeFlops
  readonly exchangeNoVerifier: ExchangeFlops
  /** the paper's findings, each checked */
  readonly findings: ReadonlyArray<Finding>
}

/**
 * The larger model's sweep name for a sweep.
 *
 * @example
 * largeSweep("main") // "main/large"
 */
export const largeSweep = (sweep: string): string => `${sweep}/large`

/**
 * The router estimate's sweep name for a sweep.
 *
 * @example
 * estimateSweep("main") // "main/estimate"
 */
export const estimateSweep = (sweep: string): string => `${sweep}/estimate`

/**
 * The problems of a sweep in dataset order (by position when known, else by id).
 *
 * @example
 * problemOrder(["b", "a"], new Map([["b", 0], ["a", 1]])) // ["b", "a"]
 */
export const problemOrder = (ids: Iterable<string>, order?: ReadonlyMap<string, number>): ReadonlyArray<string> =>
  [...new Set(ids)].sort((a, b) => {
    const x = order?.get(a) ?? Number.POSITIVE_INFINITY
    const y = order?.get(b) ?? Number.POSITIVE_INFINITY
    return x !== y ? (x < y ? -1 : 1) : a < b ? -1 : a > b ? 1 : 0
  })

/**
 * Reads one sweep from a store.
 *
 * @example
 * const data = yield* load(store, "main")
 */
export const load = (store: StoreShape, sweep: string): Effect.Effect<SweepData, StoreError> =>
  Effect.gen(function* () {
    const runs = yield* store.runs(sweep)
    const difficulties = yield* store.difficulties(sweep)
    const large = yield* store.difficulties(largeSweep(sweep))
    const estimates = yield* store.difficulties(estimateSweep(sweep))
    const meta: Partial<Record<MetaKey, string>> = {}
    for (const k of META_KEYS) {
      const v = yield* store.getMeta(`sweep:${sweep}:${k}`)
      if (v !== undefined) meta[k] = v
    }
    return { sweep, runs, difficulties, large, estimates, meta }
  })

/** Positions of pooled sweeps are offset by this (even, so a problem keeps its fold). */
const POOL_STRIDE = 1_000_000

/**
 * Several sweeps as one (e.g. the same sweep over several world seeds): each problem id is
 * prefixed by its sweep's position (`w0/`, `w1/`, …) so a problem of each world is its own unit,
 * and positions are offset per sweep keeping their parity (so a problem keeps its fold). Oracle
 * bins are cut within each world (`worlds`, as sim2.py bins each seed) and pooled; findings and
 * intervals are computed over the pooled units. `meta` is the first sweep's; `parts` keeps every
 * sweep's, so the report can say how the worlds differ.
 *
 * @example
 * const data = pool([yield* load(store, "paper-full-w0"), yield* load(store, "paper-full-w1")])
 * data.sweep // "paper-full-w0+paper-full-w1"
 */
export const pool = (parts: ReadonlyArray<SweepData>): SweepData => {
  const first = parts[0]
  if (parts.length === 1 && first !== undefined) return first
  const tag = (i: number) => (id: string) => `w${i}/${id}`
  const relabel = <R extends { readonly problemId: string }>(rs: ReadonlyArray<R>, i: number): ReadonlyArray<R> =>
    rs.map((r) => ({ ...r, problemId: tag(i)(r.problemId) }))
  const order = new Map<string, number>()
  const worlds = new Map<string, WorldUnit>()
  parts.forEach((d, i) => {
    for (const r of [...d.runs, ...d.difficulties, ...d.large, ...(d.estimates ?? [])])
      worlds.set(tag(i)(r.problemId), { world: i, id: r.problemId })
    const ids = problemOrder(
      d.runs.map((r) => r.problemId),
      d.order
    )
    ids.forEach((id, k) => {
      order.set(tag(i)(id), i * POOL_STRIDE + (d.order?.get(id) ?? k))
    })
  })
  return {
    sweep: parts.map((d) => d.sweep).join("+"),
    runs: parts.flatMap((d, i) => relabel(d.runs, i)),
    difficulties: parts.flatMap((d, i) => relabel(d.difficulties, i)),
    large: parts.flatMap((d, i) => relabel(d.large, i)),
    estimates: parts.flatMap((d, i) => relabel(d.estimates ?? [], i)),
    order,
    worlds,
    meta: first?.meta ?? {},
    parts: parts.map((d) => ({ sweep: d.sweep, meta: d.meta }))
  }
}

/**
 * Computes bins, accuracy, the policy and the exchange rate for one sweep.
 *
 * @example
 * const a = analyze(data, { bins: "oracle", candidates: "all" })
 * a.policy.points.map((p) => p.accuracy)
 */
export const analyze = (data: SweepData, options: AnalysisOptions = {}): Analysis => {
  const count = options.binCount ?? 5
  const configs = configurations(data.runs)
  const voting = resolveVoting(configs, options.voting)
  const used = withVoting(configs, voting)
  const oracle = oracleBins(data.difficulties, count, data.worlds)
  const predicted = predictedBins(data.difficulties, count)
  const kind = options.bins ?? "oracle"
  const binning = kind === "oracle" ? oracle : predicted
  const policyOn = (b: Binning) =>
    optimize(used, { binning: b, baseline: options.baseline, candidates: options.candidates ?? "all" })
  const policy = policyOn(binning)
  const otherPolicy = policyOn(kind === "oracle" ? predicted : oracle)
  const problems = problemOrder(
    data.runs.map((r) => r.problemId),
    data.order
  )
  const baselineLabel = policy.baseline
  // without a router estimate the difficulty samples stand in for it, and are charged in full
  const estimateRecords = (data.estimates ?? []).length > 0 ? (data.estimates ?? []) : data.difficulties
  const estimates = new Map(estimateRecords.map((d) => [d.problemId, d.meanScore] as const))
  const estimateSamples = Math.max(0, ...estimateRecords.map((d) => d.samples))
  const routerOf = (mode: "oracle" | "predicted", set: RouterSet) =>
    evaluateRouter(
      {
        configs: used,
        problems,
        oracleBins: oracle.bins,
        estimates,
        estimateSamples,
        binCount: count,
        baseline: baselineLabel ?? "",
        candidates: candidatesOf(set)
      },
      { mode, resamples: options.resamples ?? 500 }
    )
  const routersFor = (mode: "oracle" | "predicted") => ({
    "paper-search": routerOf(mode, "paper-search"),
    search: routerOf(mode, "search"),
    revisions: routerOf(mode, "revisions"),
    all: routerOf(mode, "all")
  })
  const routers: Routers | undefined =
    baselineLabel === undefined || options.resamples === 0
      ? undefined
      : { predicted: routersFor("predicted"), oracle: routersFor("oracle") }
  const backendConfig = parseMeta(data.meta.backendConfig)
  const configuredPrm =
    typeof backendConfig === "object" &&
    backendConfig !== null &&
    "prm" in backendConfig &&
    typeof backendConfig.prm === "object" &&
    backendConfig.prm !== null &&
    "params" in backendConfig.prm &&
    typeof backendConfig.prm.params === "number"
      ? backendConfig.prm.params
      : undefined
  const flopsInput = { configs: used, problems, binning: oracle, large: data.large }
  const flopsOptions = {
    rs: options.rs,
    ratio: options.ratio,
    generatorParams: parameterCount(data.meta.generatorParams),
    verifierParams: options.verifierParams ?? configuredPrm ?? 7e9
  }
  const withVerifier = exchangeFlops(flopsInput, flopsOptions)
  const noVerifier = exchangeFlops(flopsInput, { ...flopsOptions, verifierParams: 0 })
  return {
    data,
    options,
    problems,
    routers,
    exchangeFlops: withVerifier,
    exchangeNoVerifier: noVerifier,
    findings: findings({
      configs: used,
      baseline: policy.baseline,
      oracle,
      oracleSearch: routers?.oracle["paper-search"],
      oracleRevisions: routers?.oracle.revisions,
      predictedSearch: routers?.predicted["paper-search"],
      predictedRevisions: routers?.predicted.revisions,
      exchange: withVerifier
    }),
    configs,
    voting,
    used,
    oracle,
    predicted,
    binning,
    overall: accuracy(configs),
    byOracleBin: accuracyByBin(configs, oracle),
    byPredictedBin: accuracyByBin(configs, predicted),
    policy,
    otherPolicy,
    exchange: exchange({ policy, configs: used, binning, large: data.large }, { rs: options.rs, ratio: options.ratio })
  }
}

/**
 * A metadata value as JSON (the raw string when it is not JSON).
 *
 * @example
 * parseMeta('{"worldSeed":1}') // { worldSeed: 1 }
 */
export const parseMeta = (value: string | undefined): unknown => {
  if (value === undefined) return undefined
  try {
    return JSON.parse(value) as unknown
  } catch {
    return value
  }
}

/**
 * The backend's name from the `backend` metadata: a JSON string, or an object's `name`/`backend`.
 *
 * @example
 * backendName('"simulated"') // "simulated"
 */
export const backendName = (value: string | undefined): string | undefined => {
  const v = parseMeta(value)
  if (typeof v === "string") return v
  if (typeof v === "object" && v !== null) {
    if ("name" in v && typeof v.name === "string") return v.name
    if ("backend" in v && typeof v.backend === "string") return v.backend
  }
  return undefined
}

/**
 * The graph reference (built-in name or path, as the sweep spec wrote it) of each strategy label,
 * from the `spec` metadata; empty when absent or unreadable.
 *
 * @example
 * strategyGraphs('{"strategies":[{"label":"mine","graph":"./g.json"}]}') // Map { "mine" => "./g.json" }
 */
export const strategyGraphs = (spec: string | undefined): ReadonlyMap<string, string> => {
  const v = parseMeta(spec)
  const out = new Map<string, string>()
  if (typeof v !== "object" || v === null || !("strategies" in v) || !Array.isArray(v.strategies)) return out
  for (const s of v.strategies as ReadonlyArray<unknown>)
    if (typeof s === "object" && s !== null && "label" in s && "graph" in s)
      if (typeof s.label === "string" && typeof s.graph === "string") out.set(s.label, s.graph)
  return out
}

/**
 * A parameter count from metadata: a JSON number, or an object's `params`/`parameters`.
 *
 * @example
 * parameterCount('{"params": 1.5e9}') // 1500000000
 */
export const parameterCount = (value: string | undefined): number | undefined => {
  const v = parseMeta(value)
  if (typeof v === "number" && Number.isFinite(v)) return v
  if (typeof v === "object" && v !== null) {
    for (const k of ["params", "parameters"] as const)
      if (k in v) {
        const x = (v as Record<string, unknown>)[k]
        if (typeof x === "number" && Number.isFinite(x)) return x
      }
  }
  return undefined
}
