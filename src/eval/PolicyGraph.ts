/**
 * The compute-optimal policy at one budget as a graph document: a `route` node that estimates a
 * question's difficulty as the mean final PRM score of a few fresh samples (the paper's
 * model-predicted difficulty, §3.2), bins it with the thresholds of the model-predicted bins, and
 * runs the configuration the policy chose for that bin through a `use` node with that
 * configuration's params at the budget.
 *
 * The route always bins by the model-predicted estimate — the only difficulty known at
 * deployment. When the policy was fit on oracle bins, case i is oracle bin i's choice, reached
 * through predicted bin i's thresholds (an approximation the description states). The estimate's
 * samples stay in the population, so the graph spends `samples` more generations than N.
 *
 * @since 0.1.0
 */
import type { GraphDocument, Node } from "../graph/Graph.ts"
import type { BinKind } from "./Bins.ts"
import type { BinChoice, PolicyPoint } from "./ComputeOptimal.ts"

export interface PolicyGraphOptions {
  /** descending score thresholds between the bins (`count − 1` of them), from `predictedBins` */
  readonly thresholds: ReadonlyArray<number>
  /** the sweep the policy was fit on (cited in the description) */
  readonly sweep: string
  /** which bins the policy was fit on */
  readonly binKind: BinKind
  /** fresh samples of the difficulty estimate (default 4) */
  readonly samples?: number | undefined
  /** the verifier of the estimate (default `prm`) */
  readonly verifier?: string | undefined
  /** the `use` reference of a chosen configuration (default: its graph's name, a built-in) */
  readonly graphRef?: ((choice: { readonly strategy: string; readonly graph: string }) => string) | undefined
}

/**
 * The name of the policy graph at a budget.
 *
 * @example
 * policyGraphName(16) // "compute-optimal-n16"
 */
export const policyGraphName = (budget: number): string => `compute-optimal-n${budget}`

const round = (x: number) => Number(x.toPrecision(4))

/** Each bin's choice, an empty bin borrowing the nearest chosen bin's (the easier one on a tie). */
const filled = (
  bins: ReadonlyArray<BinChoice>
): ReadonlyArray<{ choice: BinChoice; borrowed: boolean }> | undefined => {
  const chosen = bins.filter((b) => b.strategy !== undefined && b.graph !== undefined)
  if (chosen.length === 0) return undefined
  return bins.map((b) => {
    if (b.strategy !== undefined && b.graph !== undefined) return { choice: b, borrowed: false }
    const nearest = [...chosen].sort((x, y) => Math.abs(x.bin - b.bin) - Math.abs(y.bin - b.bin) || x.bin - y.bin)[0]
    return { choice: nearest ?? b, borrowed: true }
  })
}

/**
 * The `route` graph of the policy at one budget; `undefined` when no bin has a choice.
 *
 * @example
 * const doc = policyGraph(policy.points[1], { thresholds: predicted.thresholds, sweep: "main", binKind: "oracle" })
 * doc?.root // { type: "route", estimate: { samples: 4, verifier: "prm" }, bins: [...], cases: [{ type: "use", … }, …] }
 */
export const policyGraph = (point: PolicyPoint, options: PolicyGraphOptions): GraphDocument | undefined => {
  const count = options.thresholds.length + 1
  if (point.bins.length !== count)
    throw new RangeError(
      `the policy has ${point.bins.length} bins but ${options.thresholds.length} thresholds were given`
    )
  const cases = filled(point.bins)
  if (cases === undefined) return undefined
  const samples = options.samples ?? 4
  const verifier = options.verifier ?? "prm"
  const nodes: Array<Node> = cases.map(({ choice, borrowed }, i) => {
    const where =
      i === 0
        ? `estimate ≥ ${round(options.thresholds[0] ?? 0)}`
        : i === count - 1
          ? `estimate < ${round(options.thresholds[count - 2] ?? 0)}`
          : `${round(options.thresholds[i - 1] ?? 0)} > estimate ≥ ${round(options.thresholds[i] ?? 0)}`
    const what = borrowed
      ? `no problems in this bin: bin ${choice.bin}'s choice`
      : `${choice.problems} problems, in-sample ${round(choice.inSample)}, cross-validated ${round(choice.crossValidated)}`
    return {
      type: "use",
      graph:
        choice.strategy !== undefined && choice.graph !== undefined && options.graphRef !== undefined
          ? options.graphRef({ strategy: choice.strategy, graph: choice.graph })
          : (choice.graph ?? "weighted-best-of-n"),
      ...(choice.params === undefined ? {} : { params: { ...choice.params } }),
      comment: `bin ${i + 1}${i === 0 ? " (easiest)" : i === count - 1 ? " (hardest)" : ""}, ${where}: ${choice.strategy ?? "?"} (${what})`
    }
  })
  const approx =
    options.binKind === "oracle"
      ? " Chosen per oracle bin (pass@1), routed by predicted-bin thresholds (mean final PRM score): an approximation."
      : " Chosen and routed per model-predicted bin (mean final PRM score)."
  return {
    name: policyGraphName(point.budget),
    description:
      `Compute-optimal policy at N = ${point.budget}: estimate difficulty from ${samples} samples, then run the configuration chosen for its bin ` +
      `(cross-validated accuracy ${round(point.accuracy)} on sweep "${options.sweep}"). The estimate costs ${samples} extra samples.`,
    reproduces:
      `Snell et al. 2024 §3.2 (difficulty bins, compute-optimal strategy per bin and budget); fit by mull optimize on sweep "${options.sweep}" ` +
      `with two-fold cross-validation inside each of ${count} bins.${approx}`,
    root: {
      type: "route",
      estimate: { samples, verifier },
      bins: [...options.thresholds],
      cases: nodes
    }
  }
}

/** What `routerGraph` needs from a router's point (see `Router.ts`). */
export interface RouterGraphPoint {
  readonly budget: number
  readonly accuracy: { readonly value: number; readonly lo: number; readonly hi: number }
  readonly thresholds: ReadonlyArray<number>
  readonly choices: ReadonlyArray<{
    readonly bin: number
    readonly problems: number
    readonly strategy: string
    readonly graph: string
    readonly params: { readonly [name: string]: number }
    readonly accuracy: number
  }>
}

/**
 * The `route` graph of a router fitted on model-predicted difficulty as it runs: the thresholds
 * are quantiles of the same `samples`-sample estimate the graph computes, and each bin's choice
 * was fitted on the problems that estimate puts there. Its description cites the held-out
 * accuracy (the estimate charged).
 *
 * @example
 * const doc = routerGraph(router.points[1], { sweep: "paper", samples: 4 })
 * doc?.root // { type: "route", estimate: { samples: 4, verifier: "prm" }, bins: [...], cases: [...] }
 */
export const routerGraph = (
  point: RouterGraphPoint,
  options: Omit<PolicyGraphOptions, "thresholds" | "binKind"> & { readonly candidates?: string | undefined }
): GraphDocument | undefined => {
  if (point.choices.length === 0) return undefined
  const samples = options.samples ?? 4
  const verifier = options.verifier ?? "prm"
  const t = point.thresholds
  const count = t.length + 1
  const nodes: Array<Node> = Array.from({ length: count }, (_, i) => {
    const choice =
      point.choices.find((c) => c.bin === i + 1) ??
      [...point.choices].sort((x, y) => Math.abs(x.bin - i - 1) - Math.abs(y.bin - i - 1) || x.bin - y.bin)[0]
    const where =
      i === 0
        ? `estimate ≥ ${round(t[0] ?? 0)}`
        : i === count - 1
          ? `estimate < ${round(t[count - 2] ?? 0)}`
          : `${round(t[i - 1] ?? 0)} > estimate ≥ ${round(t[i] ?? 0)}`
    const what =
      choice === undefined || choice.bin !== i + 1
        ? "no problems in this bin: the nearest bin's choice"
        : `${choice.problems} problems, accuracy ${round(choice.accuracy)} on them`
    return {
      type: "use",
      graph:
        choice === undefined
          ? "weighted-best-of-n"
          : options.graphRef !== undefined
            ? options.graphRef({ strategy: choice.strategy, graph: choice.graph })
            : choice.graph,
      ...(choice === undefined ? {} : { params: { ...choice.params } }),
      comment: `bin ${i + 1}${i === 0 ? " (easiest)" : i === count - 1 ? " (hardest)" : ""}, ${where}: ${choice?.strategy ?? "?"} (${what})`
    }
  })
  const a = point.accuracy
  return {
    name: policyGraphName(point.budget),
    description:
      `Compute-optimal router at N = ${point.budget}: estimate difficulty from the mean PRM score of ${samples} fresh samples, then run the configuration chosen for its bin. ` +
      `Held-out accuracy ${round(a.value)} [${round(a.lo)}, ${round(a.hi)}] on sweep "${options.sweep}" with the estimate charged (${point.budget} + ${samples} generations).`,
    reproduces:
      `Snell et al. 2024 §3.2 (model-predicted difficulty bins, compute-optimal strategy per bin and budget); fit by mull optimize on sweep "${options.sweep}"` +
      `${options.candidates === undefined ? "" : ` (candidates: ${options.candidates})`}: thresholds are the quintiles of the ${samples}-sample estimate and the choices are fitted on the problems it bins; ` +
      "evaluated by 2-fold cross-validation (fold = problem position mod 2).",
    root: {
      type: "route",
      estimate: { samples, verifier },
      bins: [...t],
      cases: nodes
    }
  }
}
