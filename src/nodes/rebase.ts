/**
 * `rebase {width, rounds, balance, verifier, aggregate, temperature, maxTokens}`: REBASE, reward
 * balanced search (Wu et al. 2024, "Inference Scaling Laws"). It grows its own tree from the
 * question: `width` first steps, scored; then each round the width still open is shared across the
 * WHOLE frontier by softmax(score / balance), rounded by largest remainders so the shares sum to
 * exactly the width (ties to the larger weight, then the earlier node; `runtime/Rebase.ts`), and
 * each frontier node gets that many next steps (one call per node, seeded by its id), scored. Completed chains retire and
 * reduce the width by one each, as does a lane at the solution cap; the search ends when the width
 * is spent, the frontier is empty, `rounds` rounds have run, or the budget refuses (anytime: what
 * was paid stands). It appends the completed chains, the retired lanes and the last frontier
 * (at most `width` candidates) to its population: a following `expand until end` finishes the
 * frontier, a `select` votes.
 *
 * Cost: at most width first steps and width steps per round — (rounds + 1)·width sequences and
 * as many verifier calls' worth of candidates; one call per frontier node allotted children.
 *
 * @since 0.3.0
 */
import { Effect, Schema } from "effect"
import type { Candidate } from "../domain/Candidate.ts"
import * as CandidateId from "../domain/CandidateId.ts"
import * as Population from "../domain/Population.ts"
import * as Bound from "../graph/Bound.ts"
import { checkNums, checkVerifier, type VerifierRef } from "../graph/Check.ts"
import * as Field from "../graph/Field.ts"
import { type GenCall, generate } from "../runtime/Calls.ts"
import { type Frame, laneCap, num, type Sampling, sampling } from "../runtime/Env.ts"
import { announce, type Created, grow } from "../runtime/Grow.ts"
import { allocate } from "../runtime/Rebase.ts"
import type { RunError } from "../runtime/RunError.ts"
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

/** REBASE's balance temperature when a node does not say. */
export const DEFAULT_BALANCE = 0.2
/** Rounds at most when a node does not say (as the built-in beam searches). */
export const DEFAULT_ROUNDS = 40

const fields = Schema.Struct({
  type: Schema.Literal("rebase"),
  width: Field.num({ description: "The search width: first steps, and children shared per round (integer ≥ 0)" }),
  rounds: Field.optionalNum({
    description: "Expansion rounds at most after the first steps (integer ≥ 0)",
    default: DEFAULT_ROUNDS
  }),
  balance: Field.optionalNum({
    description: "The balance temperature: children ∝ softmax(score / balance) (number > 0)",
    default: DEFAULT_BALANCE
  }),
  verifier: Schema.optionalKey(Schema.String).annotateKey(verifierKey),
  aggregate: Schema.optionalKey(Aggregate).annotateKey(aggregateKey),
  temperature: Field.optionalNum(temperatureKey),
  maxTokens: Field.optionalNum({ ...maxTokensKey, description: `${maxTokensKey.description} (of one step)` }),
  ...comment
}).annotate({
  identifier: "RebaseNode",
  description:
    "REBASE (reward balanced search): grows a tree of steps from the question; each round the open width is shared over the whole frontier by softmax(score / balance), completed chains retire and shrink the width. Appends the completed chains and the last frontier. Cost: at most (rounds + 1)·width step sequences, each scored."
})

/** A `rebase` node as written. */
export type RebaseNode = typeof fields.Encoded
/** A `rebase` node as decoded. */
export type RebaseDoc = typeof fields.Type

/** A compiled `rebase` node. */
export interface RebaseFields extends Sampling {
  readonly width: Field.NumField
  readonly rounds: Field.NumField
  readonly balance: Field.NumField
  readonly verifier: VerifierRef
  readonly aggregate: Aggregate
}

export const rebase: NodeKind<"rebase", RebaseDoc, RebaseNode> = {
  type: "rebase",
  schema: () => fields,
  compile: (node, at) => {
    const path = at.path
    const f: RebaseFields = {
      width: Field.field(`${path}.width`, node.width, Field.INT0),
      rounds: Field.fieldOr(`${path}.rounds`, node.rounds, DEFAULT_ROUNDS, Field.INT0),
      balance: Field.fieldOr(`${path}.balance`, node.balance, DEFAULT_BALANCE, Field.POSITIVE),
      verifier: verifierOf(path, node.verifier),
      aggregate: node.aggregate ?? DEFAULT_AGGREGATE,
      ...samplingFields(path, node)
    }
    return planNode("rebase", at, {
      fields: f,
      scores: true,
      needs: [{ capability: "stepwise", path: `${path}.type` }],
      check: (scope) => {
        const problems = checkNums(scope, [f.width, f.rounds, f.balance, f.temperature, f.maxTokens])
        const v = checkVerifier(scope, f.verifier)
        return v === undefined ? problems : [...problems, v]
      },
      bound: (scope, pop) => {
        const w = Bound.hiOf(f.width, scope, pop)
        const rounds = Bound.hiOf(f.rounds, scope, pop) + 1
        const m = Bound.maxTokensBound(f.maxTokens, scope, pop, "step")
        const sequences = Bound.mul(w, rounds)
        return {
          cost: Bound.addBound(
            Bound.generation(scope, sequences, Bound.mul(sequences, m)),
            Bound.scaleBound(Bound.verification(scope, w), rounds)
          ),
          pop: { size: pop.size + w, active: pop.active + w, done: pop.done + w, chains: pop.chains + w }
        }
      },
      firstCall: (scope) => Bound.freshCall(f.width, f.maxTokens, "step", scope),
      run: (frame, population) =>
        Effect.gen(function* () {
          const counts = Population.counts(population)
          const width = yield* num(frame, f.width, counts)
          const rounds = yield* num(frame, f.rounds, counts)
          const balance = yield* num(frame, f.balance, counts)
          const { temperature, maxTokens } = yield* sampling(frame, f, counts, "step")
          if (width === 0) return population
          frame.env.lastScore = { verifier: f.verifier.name, aggregate: f.aggregate }
          const events = frame.env.events
          const visits: Array<{ id: string; visits: number; value: number }> = []
          const step = (calls: ReadonlyArray<GenCall>, parents: ReadonlyArray<Candidate | undefined>, ids: IdsOf) =>
            grown(frame, path, f, calls, parents, ids)

          // the first steps: one call of `width`, as a `sample` node's (sample first+i is continuation i)
          const first = frame.counter.next
          frame.counter.next += width
          const roots = yield* step(
            [
              {
                seedKey: CandidateId.sample(frame.prefix, first),
                prefix: undefined,
                n: width,
                minN: 1,
                until: "step",
                temperature,
                maxTokens
              }
            ],
            [undefined],
            (_, i) => CandidateId.sample(frame.prefix, first + i)
          )
          let stopped = roots.short
          const retired: Array<Candidate> = []
          let open = width
          let frontier: Array<Candidate> = []
          const settle = (children: ReadonlyArray<Candidate>) => {
            frontier = []
            for (const c of children)
              if (c.done || laneCap(frame, maxTokens, c) === 0) {
                retired.push(c)
                open--
              } else frontier.push(c)
          }
          settle(roots.children)
          for (let round = 0; round < rounds && !stopped && open > 0 && frontier.length > 0; round++) {
            const shares = allocate(
              frontier.map((c) => c.score),
              open,
              balance
            )
            const parents = frontier.filter((_, i) => (shares[i] ?? 0) > 0)
            frontier.forEach((c, i) => {
              visits.push({ id: c.id, visits: shares[i] ?? 0, value: c.score ?? 0 })
            })
            const dropped = frontier.filter((_, i) => (shares[i] ?? 0) === 0)
            if (dropped.length > 0 && events.enabled)
              yield* events.publish({
                _tag: "CandidatesPruned",
                node: path,
                kept: parents.map((c) => c.id),
                dropped: dropped.map((c) => c.id)
              })
            const next = yield* step(
              parents.map((c) => ({
                seedKey: c.id,
                prefix: c,
                n: shares[frontier.indexOf(c)] ?? 0,
                minN: 1,
                until: "step" as const,
                temperature,
                maxTokens: laneCap(frame, maxTokens, c)
              })),
              parents,
              (parent, i) => CandidateId.child(parent?.id ?? "", i)
            )
            stopped = next.short
            settle(next.children)
          }
          // the candidates never expanded again are leaves of the tree: their value is their score
          for (const c of [...retired, ...frontier]) visits.push({ id: c.id, visits: 0, value: c.score ?? 0 })
          if (events.enabled) yield* events.publish({ _tag: "TreeVisited", node: path, nodes: visits })
          return [...population, ...retired, ...frontier]
        })
    })
  }
}

/** The id of child `i` of a call's parent (`undefined`: a fresh sample). */
type IdsOf = (parent: Candidate | undefined, i: number) => string

/**
 * Pays a round's calls, grows and announces the children and scores them; `short` when the budget
 * paid less than asked (the search then ends with what was paid).
 */
const grown = (
  frame: Frame,
  path: string,
  f: RebaseFields,
  calls: ReadonlyArray<GenCall>,
  parents: ReadonlyArray<Candidate | undefined>,
  idOf: IdsOf
): Effect.Effect<{ readonly children: ReadonlyArray<Candidate>; readonly short: boolean }, RunError> =>
  Effect.gen(function* () {
    const results = yield* generate(frame, path, calls)
    const created: Array<Created> = []
    let short = false
    calls.forEach((call, j) => {
      const r = results[j]
      const parent = parents[j]
      if (r === undefined || r.generations.length < call.n) short = true
      for (const [i, generation] of (r?.generations ?? []).entries())
        created.push({
          candidate: grow(frame, path, idOf(parent, i), parent, generation, undefined, r?.cut[i] === true),
          generation
        })
    })
    yield* announce(frame, path, created)
    const fresh = created.map((c) => c.candidate)
    const children = yield* scoreNew(
      frame,
      path,
      f.verifier.name,
      f.aggregate,
      fresh,
      fresh.length > 0 && fresh.every((c) => c.done)
    )
    // a child the budget did not score is as good as unexplored: the search stops with it
    return { children, short: short || children.some((c) => c.score === undefined) }
  })
