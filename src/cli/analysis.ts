/**
 * `mull optimize`, `mull exchange`, `mull report`: the analysis of a sweep in the results store —
 * the compute-optimal policy (and its `route` graphs), the FLOPs exchange rate against a larger
 * model, and the HTML/Markdown report.
 *
 * @since 0.1.0
 */
import { existsSync, mkdirSync, writeFileSync } from "node:fs"
import { dirname, join, relative, resolve } from "node:path"
import { Console, Effect, Option, Schema } from "effect"
import { Command, Flag } from "effect/cli"
import { registry } from "../backends/Registry.ts"
import {
  type Analysis,
  type AnalysisOptions,
  analyze,
  backendName,
  load,
  parseMeta,
  pool,
  type SweepData,
  strategyGraphs
} from "../eval/Analysis.ts"
import { BIN_KINDS } from "../eval/Bins.ts"
import { CANDIDATE_SETS, type Policy, policyTableRows } from "../eval/ComputeOptimal.ts"
import {
  DEFAULT_PARAMETER_RATIO,
  DEFAULT_R,
  type Exchange,
  type ExchangeFlops,
  exchangeTableRows,
  flopsTableRows
} from "../eval/Exchange.ts"
import { summarizeFindings } from "../eval/Findings.ts"
import { policyGraph, policyGraphName, routerGraph } from "../eval/PolicyGraph.ts"
import { loadProblems } from "../eval/Problems.ts"
import * as Report from "../eval/Report.ts"
import { describeRouter, type RouterResult, routerTableRows } from "../eval/Router.ts"
import * as Store from "../eval/Store.ts"
import { DatasetSpec } from "../eval/Sweep.ts"
import { REVISION_VOTES, type RevisionVote, TIE_RULES, type TieRule, type Voting } from "../eval/Voting.ts"
import * as Loader from "../graph/Loader.ts"
import { validate as validateGraph } from "../graph/Validate.ts"
import { InvalidInput } from "./InvalidInput.ts"
import { table } from "./Table.ts"

// ---------------------------------------------------------------------------------------------
// Flags

const storeFlag = Flag.String("store").pipe(
  Flag.withDescription("The results store that `mull eval` filled: a SQLite file or a postgres:// URL"),
  Flag.withDefault("out/mull.db")
)
const sweepFlag = Flag.String("sweep").pipe(
  Flag.withDescription(
    "The sweep to analyse (default: the store's only sweep); several, comma-separated, are pooled (each problem of each sweep a unit, e.g. one sweep per world seed)"
  ),
  Flag.optional
)
const binsFlag = Flag.Literals("bins", BIN_KINDS).pipe(
  Flag.withDescription("Bins the policy is fit on: oracle (pass@1) or predicted (mean final verifier score)"),
  Flag.withDefault("oracle" as const)
)
const candidatesFlag = Flag.Literals("candidates", CANDIDATE_SETS).pipe(
  Flag.withDescription("Configurations the policy may choose: all, search (incl. best-of-N) or revisions"),
  Flag.withDefault("all" as const)
)
const baselineFlag = Flag.String("baseline").pipe(
  Flag.withDescription("Strategy label of the best-of-N baseline (default: the weighted-best-of-n configuration)"),
  Flag.optional
)
const ratioFlag = Flag.Finite("ratio").pipe(
  Flag.withDescription("Parameter ratio P_large / P_small of the exchange rate"),
  Flag.withSchema(Schema.Finite.check(Schema.isGreaterThan(1))),
  Flag.withDefault(DEFAULT_PARAMETER_RATIO)
)
const verifierParamsFlag = Flag.Finite("verifier-params").pipe(
  Flag.withDescription(
    "Verifier parameters for the exchange rate's FLOPs (default: the backend config's prm.params, else 7e9; 0 leaves the verifier out)"
  ),
  Flag.withSchema(Schema.Finite.check(Schema.isGreaterThanOrEqualTo(0))),
  Flag.optional
)
const tiesFlag = Flag.Literals("ties", TIE_RULES).pipe(
  Flag.withDescription(
    "Majority ties in the findings, routers and exchange rate: first (the `majority` graph: the answer seen first) or score (`majority-prm-ties`: the larger PRM score sum, as the simulator reference); default: the one the sweep ran, else first"
  ),
  Flag.optional
)
const revisionVoteFlag = Flag.Literals("revision-vote", REVISION_VOTES).pipe(
  Flag.withDescription(
    "How revisions vote in the findings, routers and exchange rate: hierarchical (`hybrid-revisions`, the paper) or flat (`hybrid-revisions-flat`, the simulator reference); default: the one the sweep ran, else hierarchical"
  ),
  Flag.optional
)
/** The voting options from the flags. */
const votingOf = (flags: {
  readonly ties: Option.Option<TieRule>
  readonly revisionVote: Option.Option<RevisionVote>
}): Partial<Voting> => ({
  ...(Option.isSome(flags.ties) ? { ties: flags.ties.value } : {}),
  ...(Option.isSome(flags.revisionVote) ? { revisions: flags.revisionVote.value } : {})
})
const rFlag = Flag.String("r").pipe(
  Flag.withDescription("Inference-to-pretraining token ratios R = D_inference / D_pretrain, comma-separated"),
  Flag.withDefault(DEFAULT_R.join(","))
)

// ---------------------------------------------------------------------------------------------
// Shared steps

/**
 * Parses `--r 0.16,0.79,22`.
 *
 * @example
 * parseRs("0.16, 22") // Effect of [0.16, 22]
 */
export const parseRs = (text: string): Effect.Effect<ReadonlyArray<number>, InvalidInput> => {
  const parts = text.split(",").map((s) => s.trim())
  const bad = parts.filter((p) => p === "" || !Number.isFinite(Number(p)) || Number(p) <= 0)
  return bad.length > 0 || parts.length === 0
    ? Effect.fail(
        new InvalidInput({ subject: "--r", problems: [`--r ${text}: expected positive numbers separated by commas`] })
      )
    : Effect.succeed(parts.map(Number))
}

const storeError = (path: string) => (e: Store.StoreError) =>
  new InvalidInput({ subject: "--store", problems: [`--store ${path}: ${e.message}`] })

/** Opens the store (which must exist), picks the sweep, loads and analyses it. */
const analysed = (
  storePath: string,
  sweepFlagValue: Option.Option<string>,
  options: AnalysisOptions
): Effect.Effect<Analysis, InvalidInput> =>
  Effect.scoped(
    Effect.gen(function* () {
      // a URL is shown without its password
      const shown = Store.redactUrl(storePath)
      if (storePath !== ":memory:" && !Store.isPostgresUrl(storePath) && !existsSync(storePath))
        return yield* new InvalidInput({
          subject: "--store",
          problems: [`--store ${storePath}: no results store there (run \`mull eval\` first, or pass --store PATH)`]
        })
      const store = yield* Store.open(storePath).pipe(Effect.mapError(storeError(shown)))
      const sweeps = (yield* store.sweeps.pipe(Effect.mapError(storeError(shown)))).filter((s) => !s.endsWith("/large"))
      let names: ReadonlyArray<string>
      if (Option.isSome(sweepFlagValue)) {
        // several sweeps, comma-separated, are pooled (e.g. one per world seed)
        names = sweepFlagValue.value.split(",").map((x) => x.trim())
        const unknown = names.filter((n) => !sweeps.includes(n))
        if (unknown.length > 0 || names.length === 0)
          return yield* new InvalidInput({
            subject: "--sweep",
            problems: [
              `--sweep ${sweepFlagValue.value}: no runs of ${names.length === 1 ? "that sweep" : `sweep ${unknown.join(", ")}`} in ${shown} (sweeps: ${sweeps.join(", ") || "none"})`
            ]
          })
      } else {
        const only = sweeps[0]
        if (sweeps.length !== 1 || only === undefined)
          return yield* new InvalidInput({
            subject: "--sweep",
            problems: [
              sweeps.length === 0
                ? `--store ${shown}: the store holds no runs (run \`mull eval\` first)`
                : `--sweep: the store holds several sweeps, name one (sweeps: ${sweeps.join(", ")})`
            ]
          })
        names = [only]
      }
      const parts: Array<SweepData> = []
      for (const name of names) {
        const loaded = yield* load(store, name).pipe(Effect.mapError(storeError(shown)))
        parts.push({ ...loaded, order: yield* datasetOrder(loaded.meta.spec) })
      }
      const data = pool(parts)
      const sweep = data.sweep
      const a = analyze(data, options)
      if (options.baseline !== undefined && !a.configs.some((c) => c.strategy === options.baseline))
        return yield* new InvalidInput({
          subject: "--baseline",
          problems: [
            `--baseline ${options.baseline}: no such strategy in sweep ${sweep} (strategies: ${[...new Set(a.configs.map((c) => c.strategy))].join(", ")})`
          ]
        })
      return a
    })
  )

/** Each problem's position in the sweep's dataset (the folds are by position); undefined when it cannot be loaded. */
const datasetOrder = (spec: string | undefined): Effect.Effect<ReadonlyMap<string, number> | undefined> => {
  const v = parseMeta(spec)
  if (typeof v !== "object" || v === null || !("dataset" in v)) return Effect.succeed(undefined)
  const decoded = Schema.decodeUnknownOption(DatasetSpec)(v.dataset)
  if (Option.isNone(decoded)) return Effect.succeed(undefined)
  const backend =
    "backend" in v && typeof v.backend === "object" && v.backend !== null && "name" in v.backend
      ? { name: String(v.backend.name), config: "config" in v.backend ? v.backend.config : undefined }
      : undefined
  return loadProblems(decoded.value, { registry, backend }).pipe(
    Effect.map((ps) => new Map(ps.map((p, i) => [p.id, p.meta.index ?? i] as const)) as ReadonlyMap<string, number>),
    Effect.orElseSucceed(() => undefined)
  )
}

const simulatorNote = (a: Analysis): string => {
  const backend = backendName(a.data.meta.backend)
  return backend !== undefined && registry.find(backend)?.simulator === true
    ? `Backend: ${backend} — these numbers describe a simulator, not a real LLM.`
    : backend === undefined
      ? "Backend: not recorded (if simulated, these numbers describe a simulator, not a real LLM)."
      : `Backend: ${backend}.`
}

/**
 * The policy table: budget, cross-validated accuracy, in-sample, best-of-N, the best-of-N budget
 * that matches, the efficiency ratio, and the choice per bin.
 *
 * @example
 * formatPolicy(analysis.policy).split("\n")[0] // "N  policy (CV)  in-sample  best-of-N  …"
 */
export const formatPolicy = (p: Policy): string => {
  const { header, rows } = policyTableRows(p)
  return table(header, rows)
}

/**
 * The exchange-rate table (overall, then per bin) and its notes.
 *
 * @example
 * formatExchange(analysis.exchange)
 */
export const formatExchange = (x: Exchange): string => {
  const part = (scope: "all" | "bins") => {
    const { header, rows } = exchangeTableRows(x, scope)
    return table(header, rows)
  }
  return [
    part("all"),
    "",
    "per bin:",
    part("bins"),
    ...(x.notes.length === 0 ? [] : ["", ...x.notes.map((n) => `note: ${n}`)])
  ].join("\n")
}

const headline = (r: RouterResult): string => {
  const { header, rows } = routerTableRows(r)
  return table(header, rows)
}

/**
 * The exchange rate with the verifier counted: one row per R, cells test-time / larger model.
 *
 * @example
 * formatExchangeFlops(analysis.exchangeFlops)
 */
export const formatExchangeFlops = (x: ExchangeFlops): string => {
  const { header, rows } = flopsTableRows(x)
  return [table(header, rows), ...x.notes.map((n) => `note: ${n}`)].join("\n")
}

// ---------------------------------------------------------------------------------------------
// optimize

const writeJson = (path: string, value: unknown) =>
  Effect.try({
    try: () => {
      mkdirSync(dirname(path), { recursive: true })
      writeFileSync(path, `${JSON.stringify(value, null, 2)}\n`)
    },
    catch: (e) =>
      new InvalidInput({ subject: "--out", problems: [`--out ${path}: ${e instanceof Error ? e.message : String(e)}`] })
  })

export const optimize = Command.make(
  "optimize",
  {
    store: storeFlag,
    sweep: sweepFlag,
    bins: binsFlag,
    candidates: candidatesFlag,
    baseline: baselineFlag,
    ties: tiesFlag,
    revisionVote: revisionVoteFlag,
    budget: Flag.Finite("budget").pipe(
      Flag.withDescription("Write the policy at this budget N only (default: one graph per budget)"),
      Flag.optional
    ),
    samples: Flag.Int("samples").pipe(
      Flag.withDescription("Fresh samples of the route's difficulty estimate"),
      Flag.withSchema(Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 4096 }))),
      Flag.withDefault(4)
    ),
    out: Flag.String("out").pipe(
      Flag.withDescription("A folder for compute-optimal-n<N>.json files, or a .json file with --budget"),
      Flag.withDefault("out/policies")
    )
  },
  Effect.fn("mull.optimize")(function* (flags) {
    const a = yield* analysed(flags.store, flags.sweep, {
      bins: flags.bins,
      candidates: flags.candidates,
      baseline: Option.getOrUndefined(flags.baseline),
      voting: votingOf(flags)
    })
    const p = a.policy
    const budget = Option.getOrUndefined(flags.budget)
    const measured = p.points.map((pt) => pt.budget)
    if (budget !== undefined && !measured.includes(budget))
      return yield* new InvalidInput({
        subject: "--budget",
        problems: [`--budget ${budget}: not a measured budget (budgets: ${measured.join(", ") || "none"})`]
      })
    const toFile = flags.out.endsWith(".json")
    if (toFile && budget === undefined && measured.length > 1)
      return yield* new InvalidInput({
        subject: "--out",
        problems: [`--out ${flags.out}: one file holds one budget; add --budget N or give a folder`]
      })
    const sizes = a.binning.sizes.join("/")
    yield* Console.log(
      [
        `Compute-optimal policy — sweep ${a.data.sweep}, ${p.binKind} bins (${p.binCount}; problems ${sizes}), candidates ${flags.candidates} (${p.candidates.length}), baseline ${p.baseline ?? "none (no weighted-best-of-n runs)"}`,
        simulatorNote(a),
        "policy (CV): cross-validated inside each bin (2 folds), ± standard error over problems;",
        "efficiency: the best-of-N budget that matches the policy's CV accuracy ÷ N; where best-of-N never reaches it, its ceiling is given instead.",
        "",
        formatPolicy(p),
        ...(p.unbinned > 0 ? ["", `note: ${p.unbinned} problems have runs but no difficulty record; left out`] : [])
      ].join("\n")
    )
    const router = a.routers?.[flags.bins === "predicted" ? "predicted" : "oracle"][flags.candidates]
    if (router !== undefined) {
      const { header, rows } = routerTableRows(router)
      yield* Console.log(
        [
          "",
          `Router — ${describeRouter(router)}; ${router.resamples} paired bootstrap resamples of problems:`,
          "",
          table(header, rows)
        ].join("\n")
      )
    }
    const points = budget === undefined ? p.points : p.points.filter((pt) => pt.budget === budget)
    const written: Array<string> = []
    const refs = strategyGraphs(a.data.meta.spec)
    // predicted bins: the router as it runs (thresholds of the estimate it computes, choices fitted on what it bins)
    const asRouter = flags.bins === "predicted" && router !== undefined && router.estimateSamples > 0
    if (asRouter && router.estimateSamples !== flags.samples)
      yield* Console.log(
        `note: the sweep's estimate has ${router.estimateSamples} samples; the graphs use that (not --samples ${flags.samples}), since their thresholds were fitted on it`
      )
    for (const pt of points) {
      const path = (name: string) => (toFile ? flags.out : join(flags.out, `${name}.json`))
      const graphRef = ({ strategy, graph }: { readonly strategy: string; readonly graph: string }) => {
        // a strategy run from a graph file: refer to that file from where the policy is written
        const ref = refs.get(strategy) ?? graph
        if (!Loader.isPath(ref)) return ref
        const rel = relative(dirname(resolve(path(policyGraphName(pt.budget)))), resolve(ref))
        return rel.startsWith(".") ? rel : `./${rel}`
      }
      const routed = asRouter ? router.points.find((r) => r.budget === pt.budget) : undefined
      const doc =
        routed !== undefined && router !== undefined
          ? routerGraph(routed, {
              graphRef,
              sweep: a.data.sweep,
              samples: router.estimateSamples,
              candidates: flags.candidates
            })
          : policyGraph(pt, {
              graphRef,
              thresholds: a.predicted.thresholds,
              sweep: a.data.sweep,
              binKind: p.binKind,
              samples: flags.samples
            })
      if (doc === undefined) {
        yield* Console.log(`N = ${pt.budget}: no configuration measured in any bin; no graph written`)
        continue
      }
      const file = path(doc.name)
      yield* writeJson(file, doc)
      const loaded = yield* Effect.result(Loader.fromJson(doc, { cwd: dirname(file) }))
      const problems = loaded._tag === "Success" ? validateGraph(loaded.success) : loaded.failure.problems
      written.push(file)
      for (const problem of problems) yield* Console.log(`warning: ${file}: ${problem}`)
    }
    if (written.length > 0)
      yield* Console.log(
        [
          "",
          asRouter
            ? `wrote ${written.length} route graph${written.length === 1 ? "" : "s"} (estimate: ${router?.estimateSamples} samples, PRM; thresholds fitted on that estimate):`
            : `wrote ${written.length} route graph${written.length === 1 ? "" : "s"} (estimate: ${flags.samples} samples, PRM; thresholds ${a.predicted.thresholds.map((t) => t.toFixed(3)).join(", ")}):`,
          ...written.map((w) => `  ${w}`),
          ...(p.binKind === "oracle"
            ? ["the graphs route by model-predicted difficulty to the choices fit on oracle bins (an approximation)"]
            : [])
        ].join("\n")
      )
  })
).pipe(
  Command.withDescription(
    "Fit the compute-optimal policy per (difficulty bin, budget) with cross-validation; compare with best-of-N; write route graphs"
  )
)

/** The flags `exchange` and `report` share, and the analysis they ask for. */
const analysedWithExchange = (flags: {
  readonly store: string
  readonly sweep: Option.Option<string>
  readonly bins: AnalysisOptions["bins"]
  readonly candidates: AnalysisOptions["candidates"]
  readonly baseline: Option.Option<string>
  readonly r: string
  readonly ratio: number
  readonly verifierParams: Option.Option<number>
  readonly ties: Option.Option<TieRule>
  readonly revisionVote: Option.Option<RevisionVote>
}): Effect.Effect<Analysis, InvalidInput> =>
  Effect.flatMap(parseRs(flags.r), (rs) =>
    analysed(flags.store, flags.sweep, {
      bins: flags.bins,
      candidates: flags.candidates,
      baseline: Option.getOrUndefined(flags.baseline),
      rs,
      ratio: flags.ratio,
      verifierParams: Option.getOrUndefined(flags.verifierParams),
      voting: votingOf(flags)
    })
  )

// ---------------------------------------------------------------------------------------------
// exchange

export const exchange = Command.make(
  "exchange",
  {
    store: storeFlag,
    sweep: sweepFlag,
    ratio: ratioFlag,
    r: rFlag,
    verifierParams: verifierParamsFlag,
    bins: binsFlag,
    candidates: candidatesFlag,
    baseline: baselineFlag,
    ties: tiesFlag,
    revisionVote: revisionVoteFlag
  },
  Effect.fn("mull.exchange")(function* (flags) {
    const a = yield* analysedWithExchange(flags)
    yield* Console.log(
      [
        `Exchange rate — sweep ${a.data.sweep}: a ${flags.ratio}× larger model answering once vs the small model with M× the inference tokens, at equal total FLOPs`,
        simulatorNote(a),
        "X = 6·P·D_pretrain, Y = 2·P·D_inference, R = D_inference/D_pretrain ⇒ M = ratio·(1 + 3/R) − 3/R (N = M generations of equal length)",
        `larger model: mean pass@1 of sweep ${a.data.sweep}/large; small model: ${a.policy.binKind}-bin compute-optimal policy (CV) and best-of-N, log2-interpolated at N = M`,
        "",
        formatExchange(a.exchange),
        "",
        `With the verifier's FLOPs counted (generator ${a.exchangeFlops.generatorParams.toExponential(2)}, verifier ${a.exchangeFlops.verifierParams.toExponential(2)} parameters: one scored generation = ${a.exchangeFlops.perScored.toFixed(2)} queries; majority needs no verifier); compute-optimal per oracle bin, 2-fold CV; cells: test-time / larger model:`,
        formatExchangeFlops(a.exchangeFlops)
      ].join("\n")
    )
  })
).pipe(Command.withDescription("FLOPs-matched comparison with a larger model (Snell et al. 2024 §7)"))

// ---------------------------------------------------------------------------------------------
// report

export const report = Command.make(
  "report",
  {
    store: storeFlag,
    sweep: sweepFlag,
    out: Flag.String("out").pipe(
      Flag.withDescription("Folder for report.html, report.md and the SVG charts"),
      Flag.withDefault("out")
    ),
    bins: binsFlag,
    candidates: candidatesFlag,
    baseline: baselineFlag,
    ratio: ratioFlag,
    r: rFlag,
    verifierParams: verifierParamsFlag,
    ties: tiesFlag,
    revisionVote: revisionVoteFlag
  },
  Effect.fn("mull.report")(function* (flags) {
    const a = yield* analysedWithExchange(flags)
    const built = yield* Report.build(a, { registry })
    const files = yield* Report.write(built, flags.out).pipe(
      Effect.mapError((e) => new InvalidInput({ subject: "--out", problems: [e.message] }))
    )
    yield* Console.log(
      [
        `Report of sweep ${a.data.sweep} (${a.data.runs.length} runs, ${built.charts.length} charts)`,
        simulatorNote(a),
        `The paper's findings: ${summarizeFindings(a.findings)}.`,
        ...(a.routers === undefined
          ? []
          : [
              `Headline — the router ${describeRouter(a.routers.predicted["paper-search"])}:`,
              headline(a.routers.predicted["paper-search"])
            ]),
        ...files.map((f) => `  ${f}`)
      ].join("\n")
    )
  })
).pipe(Command.withDescription("Write the HTML and Markdown report of a sweep (charts as SVG)"))
