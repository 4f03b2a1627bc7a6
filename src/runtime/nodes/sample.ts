/**
 * `sample {n, until, temperature, maxTokens}`: appends n fresh candidates from the problem — a
 * first step (`until: "step"`) or a whole solution (`until: "end"`). Fresh sample k of a branch is
 * `${prefix}s${k}`; each is one call seeded by its id, so the first 64 samples of best-of-256 are
 * best-of-64's samples. Cost: n sequences.
 *
 * @since 0.1.0
 */
import { Effect } from "effect"
import type { Candidate } from "../../domain/Candidate.ts"
import * as Population from "../../domain/Population.ts"
import { Defaults, type SampleNode } from "../../graph/Graph.ts"
import { generate } from "../Calls.ts"
import { type Frame, INT0, INT1, maxTokensOf, NONNEG, num, numOr, pathOf } from "../Env.ts"
import { announce, type Created, grow } from "../Grow.ts"
import type { RunError } from "../RunError.ts"

/** Fresh samples, without adding them to a population (also used by `route`'s estimate). */
export const freshSamples = (
  frame: Frame,
  node: string,
  n: number,
  until: "step" | "end",
  temperature: number,
  maxTokens: number
): Effect.Effect<ReadonlyArray<Candidate>, RunError> =>
  Effect.gen(function* () {
    const first = frame.counter.next
    frame.counter.next += n
    const ids = Array.from({ length: n }, (_, i) => `${frame.prefix}s${first + i}`)
    const results = yield* generate(
      frame,
      node,
      ids.map((id) => ({ seedKey: id, prefix: undefined, n: 1, until, temperature, maxTokens }))
    )
    const created: Array<Created> = []
    results.forEach((r, i) => {
      const generation = r?.generations[0]
      const id = ids[i]
      if (generation === undefined || id === undefined) return
      created.push({ candidate: grow(frame, node, id, undefined, generation), generation })
    })
    yield* announce(frame, node, created)
    return created.map((c) => c.candidate)
  })

export const run = (frame: Frame, node: SampleNode, path: string, population: Population.Population) =>
  Effect.gen(function* () {
    const counts = Population.counts(population)
    const n = yield* num(frame, `${path}.n`, node.n, INT0, counts)
    const temperature = yield* numOr(
      frame,
      `${path}.temperature`,
      node.temperature,
      Defaults.temperature,
      NONNEG,
      counts
    )
    const requested =
      node.maxTokens === undefined ? undefined : yield* num(frame, `${path}.maxTokens`, node.maxTokens, INT1, counts)
    const fresh = yield* freshSamples(
      frame,
      pathOf(frame, path),
      n,
      node.until,
      temperature,
      maxTokensOf(frame, requested)
    )
    return [...population, ...fresh]
  })
