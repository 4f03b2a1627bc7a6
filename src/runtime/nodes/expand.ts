/**
 * `expand {n, until, temperature, maxTokens, among: active}`: replaces each active candidate by n
 * children (`${id}.0` … `${id}.${n-1}`), one call per parent seeded by the parent's id; done
 * candidates pass through. Under a tight budget a parent may get fewer children (a partial grant)
 * or none (it then stays as it was). Cost: n sequences per active candidate.
 *
 * @since 0.1.0
 */
import { Effect } from "effect"
import type { Candidate } from "../../domain/Candidate.ts"
import * as Population from "../../domain/Population.ts"
import type { ExpandNode } from "../../graph/Graph.ts"
import { type GenCall, generate } from "../Calls.ts"
import { type Frame, INT1, num, pathOf, sampling } from "../Env.ts"
import { announce, type Created, grow } from "../Grow.ts"

export const run = (frame: Frame, node: ExpandNode, path: string, population: Population.Population) =>
  Effect.gen(function* () {
    const counts = Population.counts(population)
    const n = yield* num(frame, `${path}.n`, node.n, INT1, counts)
    const { temperature, maxTokens } = yield* sampling(frame, path, node, counts)
    const where = pathOf(frame, path)
    const parents = population.filter((c) => !c.done)
    const calls: Array<GenCall> = parents.map((c) => ({
      seedKey: c.id,
      prefix: c,
      n,
      minN: 1,
      until: node.until,
      temperature,
      maxTokens
    }))
    const results = yield* generate(frame, where, calls)
    const childrenOf = new Map<string, ReadonlyArray<Candidate>>()
    const created: Array<Created> = []
    parents.forEach((parent, i) => {
      const r = results[i]
      if (r === undefined) return
      const kids = r.generations.map((generation, k) => {
        const candidate = grow(frame, where, `${parent.id}.${k}`, parent, generation)
        created.push({ candidate, generation })
        return candidate
      })
      childrenOf.set(parent.id, kids)
    })
    yield* announce(frame, where, created)
    return population.flatMap((c) => childrenOf.get(c.id) ?? [c])
  })
