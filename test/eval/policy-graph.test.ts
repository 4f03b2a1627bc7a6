/** The policy as a `route` graph: it loads, validates, runs on the simulated backend, and routes by its thresholds. */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { backendLayer } from "../../src/backends/Registry.ts"
import { makeProblem } from "../../src/domain/Problem.ts"
import { configurations } from "../../src/eval/Accuracy.ts"
import { oracleBins, predictedBins } from "../../src/eval/Bins.ts"
import { type BinChoice, optimize, type PolicyPoint } from "../../src/eval/ComputeOptimal.ts"
import { policyGraph, policyGraphName } from "../../src/eval/PolicyGraph.ts"
import type { GraphDocument } from "../../src/graph/Graph.ts"
import * as Loader from "../../src/graph/Loader.ts"
import { validate } from "../../src/graph/Validate.ts"
import { run } from "../../src/runtime/Run.ts"
import { layerSilent } from "../../src/runtime/RunEvents.ts"
import { Generator } from "../../src/services/Generator.ts"
import { Verifier } from "../../src/services/Verifier.ts"
import { sweep } from "./synthetic.ts"

const data = sweep({ problems: 60, seeds: 1 })
const configs = configurations(data.runs)
const predicted = predictedBins(data.difficulties)
const policy = optimize(configs, { binning: oracleBins(data.difficulties) })
const point16 = policy.points.find((p) => p.budget === 16)

const services = Layer.mergeAll(backendLayer("simulated"), layerSilent)
const problem = makeProblem({ id: "test/algebra/77.json", question: "Compute $2+3$.", gold: "5", meta: { level: 3 } })

const docOf = (point: PolicyPoint | undefined, thresholds = predicted.thresholds): GraphDocument => {
  if (point === undefined) throw new Error("no policy point")
  const doc = policyGraph(point, { thresholds, sweep: "main", binKind: "oracle" })
  if (doc === undefined) throw new Error("no graph")
  return doc
}

describe("policy graph", () => {
  it("is a route on the predicted thresholds with one `use` per bin at the budget's params", () => {
    const doc = docOf(point16)
    expect(doc.name).toBe("compute-optimal-n16")
    expect(policyGraphName(4)).toBe("compute-optimal-n4")
    expect(doc.reproduces).toContain("§3.2")
    expect(doc.reproduces).toContain('sweep "main"')
    const root = doc.root
    if (root.type !== "route") throw new Error("not a route")
    expect(root.estimate).toEqual({ samples: 4, verifier: "prm" })
    expect(root.bins).toEqual(predicted.thresholds)
    expect(root.cases.length).toBe(5)
    root.cases.forEach((c, i) => {
      const choice = point16?.bins[i]
      expect(c).toMatchObject({ type: "use", graph: choice?.graph, params: choice?.params })
      if (c.type === "use") expect(c.params?.N).toBe(16)
    })
  })

  it.effect("loads with Loader.fromJson and validates with no problems, also against the backend", () =>
    Effect.gen(function* () {
      for (const point of policy.points) {
        const loaded = yield* Loader.fromJson(docOf(point))
        expect(validate(loaded)).toEqual([])
        const generator = yield* Generator
        const verifier = yield* Verifier
        expect(
          validate(loaded, {
            backend: { name: generator.backend, capabilities: generator.capabilities, verifiers: verifier.verifiers }
          })
        ).toEqual([])
      }
    }).pipe(Effect.provide(services))
  )

  it.effect("runs on the simulated backend, and routes by the estimate", () =>
    Effect.gen(function* () {
      const base = docOf(point16)
      const loaded = yield* Loader.fromJson(base)
      const result = yield* run(loaded, problem, { seed: 0 })
      expect(result.answer).toBeDefined()
      // the estimate's 4 samples stay in the population
      expect(result.population.filter((c) => c.origin.node.includes("estimate")).length).toBe(4)
      // thresholds below any score: the easiest case runs; above any score: the hardest
      const easiest = yield* run(yield* Loader.fromJson(docOf(point16, [-1, -2, -3, -4])), problem, { seed: 0 })
      expect(easiest.ledger.some((e) => e.node.includes("cases.0"))).toBe(true)
      expect(easiest.ledger.some((e) => /cases\.[1-4]/u.test(e.node))).toBe(false)
      const hardest = yield* run(yield* Loader.fromJson(docOf(point16, [4, 3, 2, 1.5])), problem, { seed: 0 })
      expect(hardest.ledger.some((e) => e.node.includes("cases.4"))).toBe(true)
      expect(hardest.ledger.some((e) => /cases\.[0-3]/u.test(e.node))).toBe(false)
    }).pipe(Effect.provide(services))
  )

  it("an empty bin borrows the nearest chosen bin's configuration", () => {
    const empty: BinChoice = {
      bin: 2,
      problems: 0,
      strategy: undefined,
      graph: undefined,
      params: undefined,
      inSample: Number.NaN,
      folds: [
        { scoredOn: 0, strategy: undefined, problems: 0, accuracy: Number.NaN, fallback: false },
        { scoredOn: 1, strategy: undefined, problems: 0, accuracy: Number.NaN, fallback: false }
      ],
      crossValidated: Number.NaN
    }
    const full = (bin: number, graph: string): BinChoice => ({
      ...empty,
      bin,
      problems: 3,
      strategy: graph,
      graph,
      params: { N: 4 }
    })
    const point: PolicyPoint = {
      budget: 4,
      accuracy: 0.5,
      stderr: 0.1,
      inSample: 0.5,
      problems: 6,
      bins: [full(1, "majority"), { ...empty, bin: 2 }, full(3, "best-of-n")],
      baseline: undefined,
      match: { kind: "none" },
      efficiency: { kind: "none" }
    }
    const doc = docOf(point, [0.7, 0.4])
    expect(doc.root.type === "route" ? doc.root.cases.map((c) => (c.type === "use" ? c.graph : "")) : []).toEqual([
      "majority",
      "majority",
      "best-of-n"
    ])
    expect(
      policyGraph(
        { ...point, bins: [empty, { ...empty, bin: 2 }, { ...empty, bin: 3 }] },
        {
          thresholds: [0.7, 0.4],
          sweep: "s",
          binKind: "predicted"
        }
      )
    ).toBeUndefined()
    expect(() => docOf(point, [0.5])).toThrow(RangeError)
  })

  it("a strategy run from a graph file is referred to by the reference given", () => {
    const point = point16
    if (point === undefined) throw new Error("no point")
    const doc = policyGraph(point, {
      thresholds: predicted.thresholds,
      sweep: "main",
      binKind: "predicted",
      samples: 8,
      graphRef: ({ graph }) => `../graphs/${graph}.json`
    })
    const root = doc?.root
    expect(root?.type === "route" ? root.estimate.samples : 0).toBe(8)
    expect(
      root?.type === "route" ? root.cases.every((c) => c.type === "use" && c.graph.startsWith("../graphs/")) : false
    ).toBe(true)
  })
})
