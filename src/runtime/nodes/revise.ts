/**
 * `revise {context, temperature, maxTokens}` (Snell et al. 2024 §6, sequential revisions): for
 * each revision chain, writes a new attempt conditioned on up to `context` previous attempts of
 * that chain (oldest first). A candidate outside any chain starts a chain of its own (its id,
 * index 0); attempt k of chain `c` is `c.rk`. Old attempts stay in the population; new attempts
 * are appended in chain order. Cost: one sequence per chain.
 *
 * @since 0.1.0
 */
import { Effect } from "effect"
import { type Candidate, chainOf } from "../../domain/Candidate.ts"
import * as Population from "../../domain/Population.ts"
import { Defaults, type ReviseNode } from "../../graph/Graph.ts"
import { type GenCall, generate } from "../Calls.ts"
import { type Frame, INT1, numOr, pathOf, sampling } from "../Env.ts"
import { announce, type Created, grow } from "../Grow.ts"

/**
 * The attempts of each chain, by index, chains in order of first appearance.
 *
 * @example
 * chains(population).get("s0") // [s0, s0.r1, s0.r2]
 */
export const chains = (population: Population.Population): ReadonlyMap<string, ReadonlyArray<Candidate>> => {
  const out = new Map<string, Array<Candidate>>()
  for (const c of population) {
    const id = chainOf(c).id
    const list = out.get(id)
    if (list === undefined) out.set(id, [c])
    else list.push(c)
  }
  for (const list of out.values()) list.sort((a, b) => chainOf(a).index - chainOf(b).index)
  return out
}

export const run = (frame: Frame, node: ReviseNode, path: string, population: Population.Population) =>
  Effect.gen(function* () {
    const counts = Population.counts(population)
    const context = yield* numOr(frame, `${path}.context`, node.context, Defaults.reviseContext, INT1, counts)
    const { temperature, maxTokens } = yield* sampling(frame, path, node, counts)
    const where = pathOf(frame, path)
    const heads: Array<{
      readonly chain: string
      readonly index: number
      readonly attempts: ReadonlyArray<Candidate>
    }> = []
    for (const [chain, attempts] of chains(population)) {
      const head = attempts[attempts.length - 1]
      if (head === undefined) continue
      heads.push({ chain, index: chainOf(head).index + 1, attempts })
    }
    const calls: Array<GenCall> = heads.map((h) => ({
      seedKey: `${h.chain}.r${h.index}`,
      prefix: undefined,
      context: h.attempts.slice(-context),
      n: 1,
      until: "end",
      temperature,
      maxTokens
    }))
    const results = yield* generate(frame, where, calls)
    const created: Array<Created> = []
    heads.forEach((h, i) => {
      const generation = results[i]?.generations[0]
      const head = h.attempts[h.attempts.length - 1]
      if (generation === undefined || head === undefined) return
      const candidate = grow(frame, where, `${h.chain}.r${h.index}`, undefined, generation, {
        id: h.chain,
        index: h.index
      })
      created.push({
        candidate: { ...candidate, parentId: head.id, ...(head.group === undefined ? {} : { group: head.group }) },
        generation
      })
    })
    yield* announce(frame, where, created)
    return [...population, ...created.map((c) => c.candidate)]
  })
