/**
 * Runs mull's graphs on the reference simulator's own node numbering, so that a strategy run by
 * mull's runtime can be compared with sim2.py's `beam`, `dvts` and `revision_grid` leaf for leaf.
 *
 * The simulated backend seeds every call with the runtime's `seedOf(runSeed, problem, candidate,
 * node)`; sim2.py numbers nodes by their place in one tree instead: the i-th first step of a search
 * is `H(tree, i)`, the e-th child of node h is `H(h, e)`, attempt t of revision chain c has root
 * `H(H(rev, c), t)`. `treeGenerator` wraps the backend's Generator and rewrites each request to
 * the reference's numbering — nothing else: the graph's nodes (sample, score, prune, expand,
 * revise, select) and the backend's model run as they always do.
 *
 * - a fresh sample whose seed the table knows (`fresh`: the seed of a sample node's call → the
 *   index of its first sample in the reference's numbering) gets continuations `H(tree, o + i)`
 *   (search) or becomes attempt 0 of chain o (revisions);
 * - a continuation of a prefix gets `H(h, e)`, h the prefix's last node;
 * - a revision of chain c after t attempts is attempt t + 1 of chain c.
 */
import { Effect } from "effect"
import { isSimLatent, lastLatent } from "../../plugins/simulated/index.ts"
import type { World } from "../../plugins/simulated/World.ts"
import { hash32, seedOf } from "../../src/domain/Hash.ts"
import type { Problem } from "../../src/domain/Problem.ts"
import { type BackendError, backendError } from "../../src/services/BackendError.ts"
import type { GenerateRequest, GenerateResult, GeneratorShape } from "../../src/services/Generator.ts"

/** Where a sample node's call starts in the reference's numbering, by the call's seed. */
export type FreshTable = ReadonlyMap<bigint, number>

/**
 * The seeds of sample-node calls: `[seedKey, nodePath, offset]` — e.g. `["s0", "root.nodes.0", 0]`
 * for a search's first level, `["b3/s0", "root.nodes.0.body.nodes.0", 3 * M]` for DVTS subtree 3.
 */
export const freshTable = (
  runSeed: number,
  problem: Problem,
  entries: ReadonlyArray<readonly [string, string, number]>
): FreshTable => new Map(entries.map(([key, path, offset]) => [seedOf(runSeed, problem.id, key, path), offset]))

const fail = (message: string) =>
  Effect.fail(backendError({ backend: "simulated", operation: "generate" }, "InvalidRequest", message))

/**
 * The backend's Generator on the reference's numbering (see the module doc). `mode` says what a
 * fresh sample is: the first steps of a search, or the first attempt of a revision chain.
 */
export const treeGenerator = (
  inner: GeneratorShape,
  world: (problem: Problem) => Effect.Effect<World, BackendError>,
  fresh: FreshTable,
  mode: "search" | "revisions"
): GeneratorShape => {
  // the last node of every attempt written so far → (chain, attempt)
  const attempts = new Map<number, readonly [number, number]>()
  const nth = (request: GenerateRequest, seed: number, index: number) =>
    Effect.map(inner.generate({ ...request, seed: BigInt(seed), n: index + request.n }), (r) => ({
      ...r,
      generations: r.generations.slice(index)
    }))
  const record = (chain: number, attempt: number) => (r: GenerateResult) => {
    for (const g of r.generations) {
      const latent = g.steps[g.steps.length - 1]?.latent
      if (isSimLatent(latent)) attempts.set(latent.hash, [chain, attempt])
    }
  }
  const generate = (request: GenerateRequest) =>
    Effect.gen(function* () {
      const w = yield* world(request.problem)
      if (request.context !== undefined) {
        const last = request.context[request.context.length - 1]
        const latent = last === undefined ? undefined : lastLatent(last)
        const known = latent === undefined ? undefined : attempts.get(latent.hash)
        if (known === undefined || request.n !== 1) return yield* fail("revision of an attempt the tree did not write")
        const [chain, t] = known
        const r = yield* nth(request, hash32(w.rev, chain), t + 1)
        record(chain, t + 1)(r)
        return r
      }
      if (request.prefix !== undefined) {
        const latent = lastLatent(request.prefix)
        if (latent === undefined) return yield* fail("prefix without a latent")
        return yield* inner.generate({ ...request, seed: BigInt(latent.hash) })
      }
      const offset = fresh.get(request.seed)
      if (offset === undefined) return yield* fail(`a sample call the table does not know (seed ${request.seed})`)
      if (mode === "search") return yield* nth(request, w.tree, offset)
      if (request.n !== 1) return yield* fail("a revision chain starts with one sample")
      // attempt 0 of chain `offset`: the reference's fresh attempt, root H(H(rev, c), 0)
      const r = yield* inner.generate({ ...request, context: [], seed: BigInt(hash32(w.rev, offset)) })
      record(offset, 0)(r)
      return r
    })
  return { ...inner, generate }
}
