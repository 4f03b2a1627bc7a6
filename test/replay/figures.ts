/**
 * The Qwen-pool figures through the runtime, shared by the acceptance tests: for each of the 50
 * problems, the built-in majority, best-of-n and weighted-best-of-n graphs run on the replay
 * backend at N = 1, 2, 4 (averaged over seeds) and N = 8 (the whole pool, recorded order), graded
 * by the backend's own `Grader`.
 */
import { expect } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { loadQwenPool, layer as replayLayer } from "../../plugins/replay/index.ts"
import type { Problem } from "../../src/domain/Problem.ts"
import * as Loader from "../../src/graph/Loader.ts"
import { run } from "../../src/runtime/Run.ts"
import * as RunEvents from "../../src/runtime/RunEvents.ts"
import { Grader } from "../../src/services/Grader.ts"

/** Figure name and built-in graph. */
export const GRAPHS = [
  ["maj", "majority"],
  ["argmax", "best-of-n"],
  ["weighted", "weighted-best-of-n"]
] as const
export const SMALL_N = [1, 2, 4] as const
export const ALL_N = [1, 2, 4, 8] as const

export interface Figures {
  /** method → N → accuracy (averaged over seeds for N < 8) */
  readonly accuracy: Readonly<Record<string, Readonly<Record<number, number>>>>
  /** N → pass@N: some drawn response is right (averaged over seeds for N < 8) */
  readonly pass: Readonly<Record<number, number>>
  /** mean accuracy of one response over the 8 of each problem */
  readonly pass1: number
  /** runs made */
  readonly runs: number
}

/**
 * Runs every graph at N = 1, 2, 4 (`seeds` run seeds each) and N = 8 (seed 0) on every problem.
 *
 * @example
 * const figures = yield* measure("labels", 16)
 */
export const measure = (grading: "labels" | "math", seeds: number) =>
  Effect.gen(function* () {
    const problems = (yield* loadQwenPool()).problems
    const grader = yield* Grader
    const right = (problem: Problem, answer: string | undefined) =>
      answer !== undefined && grader.grade(problem, answer)
    const accuracy: Record<string, Record<number, number>> = {}
    const pass: Record<number, number> = {}
    let pass1 = 0
    let total = 0
    for (const [method, name] of GRAPHS) {
      const loaded = yield* Loader.load(name)
      const byN: Record<number, number> = {}
      for (const n of ALL_N) {
        const runSeeds = n === 8 ? [0] : Array.from({ length: seeds }, (_, s) => s)
        let correct = 0
        let passed = 0
        for (const seed of runSeeds)
          for (const problem of problems) {
            const result = yield* run(loaded, problem, { params: { N: n }, seed })
            if (result.population.length !== n) return yield* Effect.die(`expected ${n} candidates`)
            if (right(problem, result.answer)) correct++
            const grades = result.population.map((c) => right(problem, c.answer))
            if (grades.some((g) => g)) passed++
            if (n === 8 && method === "maj") pass1 += grades.filter((g) => g).length / 8
          }
        const runs = runSeeds.length * problems.length
        total += runs
        byN[n] = correct / runs
        if (method === "maj") pass[n] = passed / runs
      }
      accuracy[method] = byN
    }
    return { accuracy, pass, pass1: pass1 / problems.length, runs: total } satisfies Figures
  }).pipe(Effect.provide(Layer.mergeAll(replayLayer({ grading }), RunEvents.layerSilent)))

/**
 * The figures as a small table.
 *
 * @example
 * console.log(table("labels (recorded score)", figures, 16))
 */
export const table = (title: string, fig: Figures, seeds: number): string => {
  const f = (x: number | undefined) => (x === undefined ? "    -" : x.toFixed(3))
  const row = (name: string, get: (n: number) => number | undefined) =>
    `${name.padEnd(11)}${ALL_N.map((n) => f(get(n)).padStart(7)).join("")}`
  return [
    `Qwen pool on the replay backend, graded by ${title}; N < 8 averaged over ${seeds} seeds (${fig.runs} runs)`,
    `${"N".padEnd(11)}${ALL_N.map((n) => `${n}`.padStart(7)).join("")}`,
    ...GRAPHS.map(([m]) => row(`${m}@N`, (n) => fig.accuracy[m]?.[n])),
    row("pass@N", (n) => fig.pass[n]),
    `mean pass@1 over the 8 recorded responses: ${f(fig.pass1)} (${fig.pass1})`
  ].join("\n")
}

/**
 * Asserts that the N < 8 figures are sensible: each method between pass@1 and pass@N; pass@N grows
 * with N; at N = 1 all methods agree (one response) and average to about pass@1.
 *
 * @example
 * expectSensible(yield* measure("labels", 16))
 */
export const expectSensible = (fig: Figures): void => {
  for (const n of SMALL_N) {
    expect(fig.pass[n] ?? 0).toBeLessThanOrEqual(fig.pass[8] ?? 0)
    for (const [m] of GRAPHS) {
      const acc = fig.accuracy[m]?.[n] ?? 0
      expect(acc).toBeLessThanOrEqual(fig.pass[n] ?? 0)
      expect(acc).toBeGreaterThanOrEqual(fig.pass1 - 0.04)
      expect(acc).toBeLessThanOrEqual((fig.accuracy[m]?.[8] ?? 0) + 0.01)
    }
  }
  expect(fig.pass[1] ?? 0).toBeLessThanOrEqual(fig.pass[2] ?? 0)
  expect(fig.pass[2] ?? 0).toBeLessThanOrEqual(fig.pass[4] ?? 0)
  expect(fig.accuracy.maj?.[1]).toBe(fig.accuracy.argmax?.[1])
  expect(fig.accuracy.maj?.[1]).toBe(fig.accuracy.weighted?.[1])
  expect(fig.pass[1]).toBe(fig.accuracy.maj?.[1])
  expect(Math.abs((fig.accuracy.maj?.[1] ?? 0) - fig.pass1)).toBeLessThan(0.03)
}
