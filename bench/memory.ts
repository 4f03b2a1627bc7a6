/**
 * Figure 3, memory: peak heap of a beam search (N lanes, M = 4, 40 rounds on long simulated
 * solutions), and what its result retains per step. Candidates share their prefixes (a step list
 * is a persistent linked list, `src/domain/Steps.ts`), so what is retained grows with the distinct
 * steps generated, not with N × depth (one copy of its prefix per candidate, N × depth² over a
 * run). Runs in a child process with `--expose-gc`, so heap readings are taken after a full
 * collection and no other figure's garbage is counted.
 *
 * @since 0.1.0
 */
import { execFileSync } from "node:child_process"
import { fileURLToPath } from "node:url"
import { Effect } from "effect"
import type { Steps } from "../src/domain/Steps.ts"
import { run } from "../src/runtime/Run.ts"
import { layerSilent } from "../src/runtime/RunEvents.ts"
import type { GenerateRequest, GeneratorShape } from "../src/services/Generator.ts"
import { backendOf, graph, LONG, problem, provide } from "./World.ts"

/** What one beam search retained and peaked at. */
export interface MemoryResult {
  readonly N: number
  readonly rounds: number
  /** heap used after a full collection before the run (backend and dataset loaded) */
  readonly baseBytes: number
  /** largest heap used seen at any backend call, above the base (garbage included) */
  readonly peakBytes: number
  /** heap still used after a full collection with the result held, above the base */
  readonly retainedBytes: number
  /** steps the backend generated during the run */
  readonly generatedSteps: number
  /** distinct step nodes reachable from the final population (what sharing keeps) */
  readonly sharedSteps: number
  /** Σ steps of the final candidates (what one copy of its prefix per candidate would keep) */
  readonly copiedSteps: number
  readonly candidates: number
  readonly ms: number
}

declare const gc: (() => void) | undefined

const collect = () => {
  if (typeof gc !== "function") throw new Error("run with --expose-gc")
  gc()
  gc()
}

/** Distinct step nodes reachable from some step lists. */
const distinctSteps = (lists: ReadonlyArray<Steps | undefined>): number => {
  const seen = new Set<Steps>()
  for (let s of lists) {
    while (s !== undefined && !seen.has(s)) {
      seen.add(s)
      s = s.parent
    }
  }
  return seen.size
}

/**
 * One beam search, measured in this process (which must have `--expose-gc`).
 *
 * @example
 * const r = await measureHere(1024, 40)
 */
export const measureHere = async (N: number, rounds: number): Promise<MemoryResult> => {
  const backend = await backendOf(LONG)
  const loaded = await graph("beam-search")
  const p = await problem(17)
  let peak = 0
  let generated = 0
  const watch: GeneratorShape = {
    ...backend.generator,
    generate: (request: GenerateRequest) =>
      Effect.map(backend.generator.generate(request), (result) => {
        const used = process.memoryUsage().heapUsed
        if (used > peak) peak = used
        for (const g of result.generations) generated += g.steps.length
        return result
      })
  }
  const ports = { generator: watch, verifier: backend.verifier }
  const once = (n: number, r: number) =>
    Effect.runPromise(
      provide(ports, run(loaded, p, { params: { N: n, M: 4, rounds: r }, seed: 0 }).pipe(Effect.provide(layerSilent)))
    )
  await once(16, 2) // warm up: code, world cache, dataset
  collect()
  const base = process.memoryUsage().heapUsed
  peak = base
  generated = 0
  const t0 = performance.now()
  const result = await once(N, rounds)
  const ms = performance.now() - t0
  collect()
  const retained = process.memoryUsage().heapUsed - base
  const lists = result.population.map((c) => c.steps)
  let copied = 0
  for (const s of lists) copied += s?.length ?? 0
  return {
    N,
    rounds,
    baseBytes: base,
    peakBytes: peak - base,
    retainedBytes: retained,
    generatedSteps: generated,
    sharedSteps: distinctSteps(lists),
    copiedSteps: copied,
    // keeps the result alive until here
    candidates: result.population.length,
    ms
  }
}

/**
 * One beam search measured in a fresh child process (`node --expose-gc bench/memory.ts N rounds`).
 *
 * @example
 * const r = measure(1024, 40)
 */
export const measure = (N: number, rounds: number): MemoryResult => {
  const out = execFileSync(
    process.execPath,
    ["--expose-gc", fileURLToPath(import.meta.url), String(N), String(rounds)],
    { encoding: "utf8", maxBuffer: 1 << 20 }
  )
  return JSON.parse(out) as MemoryResult
}

if (import.meta.main) {
  const N = Number(process.argv[2] ?? 1024)
  const rounds = Number(process.argv[3] ?? 40)
  process.stdout.write(JSON.stringify(await measureHere(N, rounds)))
}
