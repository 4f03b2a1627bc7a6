/**
 * `revise {context, temperature, maxTokens}` (Snell et al. 2024 §6, sequential revisions): for
 * each revision chain, writes a new attempt conditioned on up to `context` previous attempts of
 * that chain (oldest first). A candidate outside any chain starts a chain of its own (its id,
 * index 0); attempt k of chain `c` is `c.rk`. Old attempts stay in the population; new attempts
 * are appended in chain order. Cost: one sequence per chain.
 *
 * With `where` (a condition over `candidate.*` — `runtime/Where.ts` — params, `budget.*`,
 * `remaining.*`, `population.*`), only the chains whose head meets it are revised; the others are
 * kept unchanged, and still vote. The head's stats are taken among the chain heads: `candidate.rank`
 * is its rank by score among the heads, `candidate.share` its answer's share of the heads' answers,
 * so `"candidate.share < 0.5"` revises the attempts that disagree with the majority. The static
 * bound still charges every chain (a bound holds whatever the condition selects).
 *
 * @since 0.1.0
 */
import { Effect, Schema } from "effect"
import { type Candidate, chainOf } from "../domain/Candidate.ts"
import * as CandidateId from "../domain/CandidateId.ts"
import * as Population from "../domain/Population.ts"
import * as Bound from "../graph/Bound.ts"
import { type CheckScope, checkNums } from "../graph/Check.ts"
import * as Field from "../graph/Field.ts"
import * as Scope from "../graph/Scope.ts"
import { type GenCall, generate } from "../runtime/Calls.ts"
import { num, type Sampling, sampling } from "../runtime/Env.ts"
import { announce, type Created, grow } from "../runtime/Grow.ts"
import * as Stop from "../runtime/Stop.ts"
import * as Where from "../runtime/Where.ts"
import { comment, maxTokensKey, samplingFields, temperatureKey } from "./Common.ts"
import { type NodeKind, planNode } from "./Kind.ts"

/** How many previous attempts a revision reads when the node does not say. */
export const DEFAULT_CONTEXT = 4

const fields = Schema.Struct({
  type: Schema.Literal("revise"),
  context: Field.optionalNum({
    description: "Previous attempts of the chain in the prompt, at most (integer ≥ 1)",
    default: DEFAULT_CONTEXT
  }),
  temperature: Field.optionalNum(temperatureKey),
  maxTokens: Field.optionalNum(maxTokensKey),
  where: Schema.optionalKey(Schema.String).annotateKey({
    description:
      'Revise only the chains whose head meets this condition: comparisons (>=, >, <=, <, ==, !=) of expressions joined by "and"/"or", over candidate.score, candidate.rank, candidate.scored, candidate.answered, candidate.done, candidate.votes, candidate.share (among the chain heads), params, budget.*, remaining.* and population.*; the other chains are kept unchanged'
  }),
  ...comment
}).annotate({
  identifier: "ReviseNode",
  description:
    "For each chain head, writes a new attempt conditioned on up to `context` previous attempts of its chain. Cost: one sequence per chain."
})

/** A `revise` node as written. */
export type ReviseNode = typeof fields.Encoded
/** A `revise` node as decoded. */
export type ReviseDoc = typeof fields.Type

/** A compiled `revise` node. */
export interface ReviseFields extends Sampling {
  readonly context: Field.NumField
  /** the chains revised: all, a condition over the head, or why the condition does not parse */
  readonly where: Stop.Condition | { readonly invalid: string } | undefined
}

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

export const revise: NodeKind<"revise", ReviseDoc, ReviseNode> = {
  type: "revise",
  schema: () => fields,
  compile: (node, at) => {
    const path = at.path
    const f: ReviseFields = {
      context: Field.fieldOr(`${path}.context`, node.context, DEFAULT_CONTEXT, Field.INT1),
      where: whereOf(node.where),
      ...samplingFields(path, node)
    }
    return planNode("revise", at, {
      fields: f,
      needs: [{ capability: "revise", path }],
      check: (scope) => [
        ...checkNums(scope, [f.context, f.temperature, f.maxTokens]),
        ...checkWhere(`${path}.where`, f.where, scope)
      ],
      bound: (scope, pop) => {
        const c = Math.min(pop.chains, pop.size)
        const m = Bound.maxTokensBound(f.maxTokens, scope, pop)
        // each revision's prompt carries up to `context` previous attempts of at most `m` tokens
        const context = Math.min(Bound.hiOf(f.context, scope, pop), pop.size)
        return {
          cost: Bound.generation(scope, c, Bound.mul(c, m), Bound.mul(context, m)),
          pop: { size: pop.size + c, active: pop.active + c, done: pop.done + c, chains: c }
        }
      },
      run: (frame, population) =>
        Effect.gen(function* () {
          const counts = Population.counts(population)
          const context = yield* num(frame, f.context, counts)
          const { temperature, maxTokens } = yield* sampling(frame, f, counts, "end")
          const heads: Array<{
            readonly chain: string
            readonly index: number
            readonly attempts: ReadonlyArray<Candidate>
            readonly head: Candidate
          }> = []
          for (const [chain, attempts] of chains(population)) {
            const head = attempts[attempts.length - 1]
            if (head === undefined) continue
            heads.push({ chain, index: chainOf(head).index + 1, attempts, head })
          }
          if (f.where !== undefined && "any" in f.where) {
            const where = f.where
            const stats = Where.candidateStats(
              heads.map((h) => h.head),
              frame.env.answers
            )
            const rest = Scope.lookup(frame.params, frame.ledger.limits, counts, frame.ledger.remainingUnsafe)
            const chosen = heads.filter((_, i) => {
              const s = stats[i]
              return s !== undefined && Stop.holds(where, Where.candidateLookup(s, rest))
            })
            heads.splice(0, heads.length, ...chosen)
          }
          const calls: Array<GenCall> = heads.map((h) => ({
            seedKey: CandidateId.revision(h.chain, h.index),
            prefix: undefined,
            context: h.attempts.slice(-context),
            n: 1,
            until: "end",
            temperature,
            maxTokens,
            // a revision is a whole attempt: finishing work
            finishing: true
          }))
          const results = yield* generate(frame, path, calls)
          const created: Array<Created> = []
          heads.forEach((h, i) => {
            const generation = results[i]?.generations[0]
            const head = h.attempts[h.attempts.length - 1]
            if (generation === undefined || head === undefined) return
            const candidate = grow(
              frame,
              path,
              CandidateId.revision(h.chain, h.index),
              undefined,
              generation,
              { id: h.chain, index: h.index },
              results[i]?.cut[0] === true
            )
            created.push({
              candidate: {
                ...candidate,
                parentId: head.id,
                ...(head.group === undefined ? {} : { group: head.group })
              },
              generation
            })
          })
          yield* announce(frame, path, created)
          return [...population, ...created.map((c) => c.candidate)]
        })
    })
  }
}

const whereOf = (text: string | undefined): ReviseFields["where"] => {
  if (text === undefined) return undefined
  const r = Stop.parseCondition(text)
  return r.ok ? r.condition : { invalid: r.message }
}

/**
 * The problems of a `where` condition: its syntax, and names that are neither a candidate's nor
 * the usual ones.
 *
 * @example
 * checkWhere("root.nodes.2.where", whereOf("candidate.rnak < 2"), scope) // ['root.nodes.2.where: unknown name …']
 */
export const checkWhere = (path: string, where: ReviseFields["where"], scope: CheckScope): ReadonlyArray<string> => {
  if (where === undefined) return []
  if ("invalid" in where) return [`${path}: ${where.invalid}`]
  return Stop.conditionNames(where).flatMap((name) => {
    const why = name.startsWith("candidate.") ? Where.unknownCandidateName(name) : Scope.unknownName(name, scope.params)
    return why === undefined ? [] : [`${path}: ${why}`]
  })
}
