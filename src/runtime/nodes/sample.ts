/**
 * `sample {n, until, temperature, maxTokens}`: appends n fresh candidates from the problem — a
 * first step (`until: "step"`) or a whole solution (`until: "end"`). Fresh sample k of a branch is
 * `${prefix}s${k}`. The node makes one call with n continuations, seeded by its first sample's id,
 * so the first 64 samples of best-of-256 are best-of-64's samples; under a tight budget it is
 * granted fewer (at least one). Cost: 1 call, n sequences.
 *
 * @since 0.1.0
 */
import { Effect } from "effect"
import type { Candidate } from "../../domain/Candidate.ts"
import * as Population from "../../domain/Population.ts"
import type { SampleNode } from "../../graph/Graph.ts"
import { generate } from "../Calls.ts"
import { type Frame, INT0, num, pathOf, sampling } from "../Env.ts"
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
  Effect.suspend(() => {
    if (n === 0) return Effect.succeed([])
    const first = frame.counter.next
    frame.counter.next += n
    // one call for the node's n samples (servers share the prompt), seeded by the first sample's
    // id: sample first+i is continuation i, whatever n is — so best-of-64 gets best-of-256's first 64
    const results = generate(frame, node, [
      { seedKey: `${frame.prefix}s${first}`, prefix: undefined, n, minN: 1, until, temperature, maxTokens }
    ])
    return Effect.flatMap(results, (results) => {
      const created: Array<Created> = (results[0]?.generations ?? []).map((generation, i) => ({
        candidate: grow(frame, node, `${frame.prefix}s${first + i}`, undefined, generation),
        generation
      }))
      return Effect.as(
        announce(frame, node, created),
        created.map((c) => c.candidate)
      )
    })
  })

export const run = (frame: Frame, node: SampleNode, path: string, population: Population.Population) =>
  Effect.suspend(() => {
    const counts = Population.counts(population)
    return Effect.flatMap(num(frame, `${path}.n`, node.n, INT0, counts), (n) =>
      Effect.flatMap(sampling(frame, path, node, counts), ({ temperature, maxTokens }) =>
        Effect.map(freshSamples(frame, pathOf(frame, path), n, node.until, temperature, maxTokens), (fresh) => [
          ...population,
          ...fresh
        ])
      )
    )
  })
