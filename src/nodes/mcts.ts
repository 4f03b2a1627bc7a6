/**
 * `mcts {iterations, k, selection, c, backup, branching, rollout, verifier, aggregate, temperature,
 * maxTokens}`: Monte Carlo tree search over reasoning steps, as in rStar-Math and llm-reasoners,
 * with AB-MCTS's adaptive branching as an option. It grows its own tree from the question and keeps
 * statistics over all of it (`runtime/Mcts.ts`). Each iteration:
 *
 * 1. **selection** — `fixed` branching: descend from the root by UCT or PUCT over the children's
 *    values until a node not yet expanded; `adaptive` (AB-MCTS-A with Thompson sampling): at each
 *    node choose between a new child here ("wider") and descending into a child ("deeper") by
 *    the largest Beta draw, seeded (same seed ⇒ same tree);
 * 2. **expansion** — k next steps of that node in one call (`fixed`), or one (`adaptive`: child j
 *    of a node is continuation j of its seed, so the children are those of one call of k);
 *    each new step is scored by the verifier (its value);
 * 3. **rollout** (optional) — the best new child is completed to the end in one call and scored;
 *    the completion joins the tree as that child's first child, and its score is its value;
 * 4. **back-propagation** — every new node counts as one visit of each ancestor with its value:
 *    Q is the mean value over a node's subtree (`backup: mean`) or its best (`max`).
 *
 * A complete solution or a lane at the solution cap is never expanded; a subtree with nothing left
 * to expand is closed, and the search ends when the root is closed, after `iterations`, or when
 * the budget refuses (anytime: what was paid stands). It appends every complete solution of the
 * tree and the leaf the search would answer with (highest-Q path) when that leaf is still open.
 *
 * Cost: per iteration at most k step sequences (fixed; 1 adaptive) in one call and k verifier
 * candidates, and with rollouts one more sequence to the end and one verifier candidate.
 *
 * @since 0.3.0
 */
import { Effect, Schema } from "effect"
import type { Candidate } from "../domain/Candidate.ts"
import * as CandidateId from "../domain/CandidateId.ts"
import { seed32, seedOf } from "../domain/Hash.ts"
import * as Population from "../domain/Population.ts"
import * as Bound from "../graph/Bound.ts"
import { checkNums, checkVerifier, type VerifierRef } from "../graph/Check.ts"
import * as Field from "../graph/Field.ts"
import { generate } from "../runtime/Calls.ts"
import { laneCap, maxTokensOf, num, type Sampling, sampling } from "../runtime/Env.ts"
import { announce, grow } from "../runtime/Grow.ts"
import * as Mcts from "../runtime/Mcts.ts"
import { scoreNew } from "../runtime/Scored.ts"
import {
  Aggregate,
  aggregateKey,
  comment,
  DEFAULT_AGGREGATE,
  maxTokensKey,
  samplingFields,
  temperatureKey,
  verifierKey,
  verifierOf
} from "./Common.ts"
import { type NodeKind, planNode } from "./Kind.ts"

/** The exploration constant when a node does not say (UCT's √2). */
export const DEFAULT_C = Math.SQRT2

const fields = Schema.Struct({
  type: Schema.Literal("mcts"),
  iterations: Field.num({ description: "Selection–expansion iterations at most (integer ≥ 0)" }),
  k: Field.num({
    description: "Children per expansion (fixed branching), or at most per node (adaptive) (integer ≥ 1)"
  }),
  selection: Schema.optionalKey(Schema.Literals(["uct", "puct"])).annotateKey({
    description: "How fixed branching picks a child: UCT, or PUCT with the children's own values as priors",
    default: "uct"
  }),
  c: Field.optionalNum({ description: "The exploration constant (number ≥ 0)", default: DEFAULT_C }),
  backup: Schema.optionalKey(Schema.Literals(["mean", "max"])).annotateKey({
    description: "A node's value Q: the mean value over its subtree, or the best",
    default: "mean"
  }),
  branching: Schema.optionalKey(Schema.Literals(["fixed", "adaptive"])).annotateKey({
    description:
      "fixed: expand k children at once; adaptive (AB-MCTS): Thompson sampling decides wider (a new child) or deeper at each node",
    default: "fixed"
  }),
  rollout: Schema.optionalKey(Schema.Boolean).annotateKey({
    description: "Complete the best new child to the end each iteration and take the completion's score as its value",
    default: false
  }),
  keep: Schema.optionalKey(Schema.Literals(["solutions", "best"])).annotateKey({
    description:
      "What it appends: every complete solution of the tree and its best open leaf, or only the end of the highest-Q path (the search's own answer)",
    default: "solutions"
  }),
  verifier: Schema.optionalKey(Schema.String).annotateKey(verifierKey),
  aggregate: Schema.optionalKey(Aggregate).annotateKey(aggregateKey),
  temperature: Field.optionalNum(temperatureKey),
  maxTokens: Field.optionalNum({ ...maxTokensKey, description: `${maxTokensKey.description} (of one step)` }),
  ...comment
}).annotate({
  identifier: "MctsNode",
  description:
    "Monte Carlo tree search over steps: UCT/PUCT selection over verifier values (or AB-MCTS adaptive wider-or-deeper branching), expansion, optional rollouts, back-propagation over the whole tree. Appends the tree's complete solutions and its best open leaf. Cost: per iteration at most k step sequences (1 adaptive) and k verifier candidates, plus one rollout and its score."
})

/** An `mcts` node as written. */
export type MctsNode = typeof fields.Encoded
/** An `mcts` node as decoded. */
export type MctsDoc = typeof fields.Type

/** A compiled `mcts` node. */
export interface MctsFields extends Sampling {
  readonly iterations: Field.NumField
  readonly k: Field.NumField
  readonly c: Field.NumField
  readonly selection: Mcts.Selection
  readonly backup: Mcts.Backup
  readonly branching: Mcts.Branching
  readonly rollout: boolean
  readonly keep: "solutions" | "best"
  readonly verifier: VerifierRef
  readonly aggregate: Aggregate
}

export const mcts: NodeKind<"mcts", MctsDoc, MctsNode> = {
  type: "mcts",
  schema: () => fields,
  compile: (node, at) => {
    const path = at.path
    const f: MctsFields = {
      iterations: Field.field(`${path}.iterations`, node.iterations, Field.INT0),
      k: Field.field(`${path}.k`, node.k, Field.INT1),
      c: Field.fieldOr(`${path}.c`, node.c, DEFAULT_C, Field.NONNEG),
      selection: node.selection ?? "uct",
      backup: node.backup ?? "mean",
      branching: node.branching ?? "fixed",
      rollout: node.rollout ?? false,
      keep: node.keep ?? "solutions",
      verifier: verifierOf(path, node.verifier),
      aggregate: node.aggregate ?? DEFAULT_AGGREGATE,
      ...samplingFields(path, node)
    }
    return planNode("mcts", at, {
      fields: f,
      scores: true,
      needs: [{ capability: "stepwise", path: `${path}.type` }],
      check: (scope) => {
        const problems = checkNums(scope, [f.iterations, f.k, f.c, f.temperature, f.maxTokens])
        const v = checkVerifier(scope, f.verifier)
        return v === undefined ? problems : [...problems, v]
      },
      bound: (scope, pop) => {
        const iterations = Bound.hiOf(f.iterations, scope, pop)
        const k = f.branching === "fixed" ? Bound.hiOf(f.k, scope, pop) : Math.min(1, Bound.hiOf(f.k, scope, pop))
        const m = Bound.maxTokensBound(f.maxTokens, scope, pop, "step")
        const steps = Bound.mul(iterations, k)
        const rollouts = f.rollout ? iterations : 0
        const end = Bound.maxTokensBound(undefined, scope, pop, "end")
        const cost = [
          Bound.generation(scope, steps, Bound.mul(steps, m)),
          Bound.scaleBound(Bound.verification(scope, k), iterations),
          Bound.generation(scope, rollouts, Bound.mul(rollouts, end)),
          Bound.scaleBound(Bound.verification(scope, 1), rollouts)
        ].reduce(Bound.addBound)
        const grown = steps + rollouts
        return {
          cost,
          pop: {
            size: pop.size + grown + 1,
            active: pop.active + 1,
            done: pop.done + grown,
            chains: pop.chains + grown + 1
          }
        }
      },
      firstCall: (scope) => Bound.freshCall(f.iterations, f.maxTokens, "step", scope),
      run: (frame, population) =>
        Effect.gen(function* () {
          const counts = Population.counts(population)
          const iterations = yield* num(frame, f.iterations, counts)
          const k = yield* num(frame, f.k, counts)
          const c = yield* num(frame, f.c, counts)
          const { temperature, maxTokens } = yield* sampling(frame, f, counts, "step")
          if (iterations === 0) return population
          frame.env.lastScore = { verifier: f.verifier.name, aggregate: f.aggregate }
          const policy: Mcts.Policy = { selection: f.selection, c, backup: f.backup, branching: f.branching, k }
          const tree = Mcts.make()
          // tree node index → its candidate (the root has none)
          const candidates: Array<Candidate | undefined> = [undefined]
          const seed = seed32(seedOf(frame.env.runSeed, frame.env.problem.id, `${frame.prefix}@${frame.round}`, path))
          // the root's children are fresh samples: child j is sample first+j, continuation j of one seed
          const first = frame.counter.next
          const rootSeed = CandidateId.sample(frame.prefix, first)
          const endCap = maxTokensOf(frame, undefined, "end")
          const idOf = (at: number, j: number): string =>
            at === 0 ? CandidateId.sample(frame.prefix, first + j) : CandidateId.child(tree.nodes[at]?.id ?? "", j)
          const adopt = (at: number, c: Candidate): number => {
            const i = Mcts.add(
              tree,
              policy,
              at,
              c.id,
              c.score ?? 0,
              c.done,
              !c.done && laneCap(frame, maxTokens, c) > 0
            )
            candidates[i] = c
            if (at === 0)
              frame.counter.next = Math.max(frame.counter.next, first + (tree.nodes[0]?.children.length ?? 0))
            return i
          }

          for (let iteration = 0; iteration < iterations; iteration++) {
            const where = Mcts.next(tree, policy, Mcts.uniforms(seed, iteration))
            if (where === undefined) break
            const at = where.node
            const parent = candidates[at]
            const j0 = tree.nodes[at]?.children.length ?? 0
            const [paid] = yield* generate(frame, path, [
              {
                seedKey: at === 0 ? rootSeed : (parent?.id ?? ""),
                index: j0,
                prefix: parent,
                n: where.n,
                minN: 1,
                until: "step",
                temperature,
                maxTokens: laneCap(frame, maxTokens, parent)
              }
            ])
            const generations = paid?.generations ?? []
            const created = generations.map((generation, i) => ({
              candidate: grow(frame, path, idOf(at, j0 + i), parent, generation, undefined, paid?.cut[i] === true),
              generation
            }))
            yield* announce(frame, path, created)
            const fresh = created.map((x) => x.candidate)
            const scored = yield* scoreNew(
              frame,
              path,
              f.verifier.name,
              f.aggregate,
              fresh,
              fresh.length > 0 && fresh.every((x) => x.done)
            )
            const added = scored.map((x) => adopt(at, x))
            if (f.branching === "fixed") Mcts.expanded(tree, policy, at)
            let short = generations.length < where.n || scored.some((x) => x.score === undefined)
            // the rollout: the best new open child (the first on ties) completed to the end
            if (f.rollout && !short) {
              let best: number | undefined
              for (const i of added) {
                const n = tree.nodes[i]
                if (n === undefined || !n.growable) continue
                if (best === undefined || n.value > (tree.nodes[best]?.value ?? 0)) best = i
              }
              const from = best === undefined ? undefined : candidates[best]
              if (best !== undefined && from !== undefined) {
                const [done] = yield* generate(frame, path, [
                  {
                    seedKey: from.id,
                    index: 0,
                    prefix: from,
                    n: 1,
                    minN: 1,
                    until: "end",
                    temperature,
                    maxTokens: laneCap(frame, endCap, from),
                    finishing: true
                  }
                ])
                const g = done?.generations[0]
                if (g === undefined) short = true
                else {
                  const leaf = grow(
                    frame,
                    path,
                    CandidateId.child(from.id, 0),
                    from,
                    g,
                    undefined,
                    done?.cut[0] === true
                  )
                  yield* announce(frame, path, [{ candidate: leaf, generation: g }])
                  const [rolled] = yield* scoreNew(frame, path, f.verifier.name, f.aggregate, [leaf], leaf.done)
                  if (rolled === undefined || rolled.score === undefined) short = true
                  // an unfinished rollout (cut by the budget) is still the best value known of it
                  if (rolled !== undefined) adopt(best, rolled)
                }
              }
            }
            if (short) break
          }

          if (frame.env.events.enabled)
            yield* frame.env.events.publish({
              _tag: "TreeVisited",
              node: path,
              nodes: tree.nodes.slice(1).map((n) => ({ id: n.id, visits: n.visits, value: Mcts.q(n, f.backup) }))
            })
          const solutions = tree.nodes.flatMap((n) => {
            const x = candidates[n.index]
            return x?.done ? [x] : []
          })
          const leaf = candidates[Mcts.bestLeaf(tree, f.backup)]
          if (f.keep === "best") return leaf === undefined ? population : [...population, leaf]
          return [...population, ...solutions, ...(leaf === undefined || leaf.done ? [] : [leaf])]
        })
    })
  }
}
