/**
 * `expand {n, until, temperature, maxTokens, among: active}`: replaces each active candidate by n
 * children (`${id}.0` … `${id}.${n-1}`), one call per parent seeded by the parent's id; done
 * candidates pass through. Under a tight budget a parent may get fewer children (a partial grant),
 * children cut short (a partial grant in tokens), or none (it then stays as it was); expansions to
 * the end pay the best-scored parents first. No lane grows past the backend's solution cap.
 * Cost: n sequences per active candidate.
 *
 * `n` may read the candidate it expands (`candidate.score`, `candidate.rank`, … — `runtime/Where.ts`),
 * so each parent gets its own width: `"candidate.rank < 2 ? 4 : 1"` gives the two best-scored
 * active candidates 4 children each and the rest 1 (rank 0 = best among the active candidates
 * that can grow; unscored last, ties in population order). The static bound charges every active
 * candidate the largest width `n` can take (over scores in [0, 1] and ranks below the population
 * bound).
 *
 * @since 0.1.0
 */
import { Effect, Schema } from "effect"
import type { Candidate } from "../domain/Candidate.ts"
import * as CandidateId from "../domain/CandidateId.ts"
import * as Population from "../domain/Population.ts"
import * as Bound from "../graph/Bound.ts"
import { checkNums } from "../graph/Check.ts"
import * as Expression from "../graph/Expression.ts"
import * as Field from "../graph/Field.ts"
import * as Scope from "../graph/Scope.ts"
import { type GenCall, generate } from "../runtime/Calls.ts"
import { type Frame, laneCap, num, type Sampling, sampling } from "../runtime/Env.ts"
import { announce, type Created, grow } from "../runtime/Grow.ts"
import { InvalidValue } from "../runtime/RunError.ts"
import * as Where from "../runtime/Where.ts"
import { comment, maxTokensKey, samplingFields, temperatureKey, Until } from "./Common.ts"
import { type NodeKind, planNode } from "./Kind.ts"

const fields = Schema.Struct({
  type: Schema.Literal("expand"),
  n: Field.num({
    description:
      "Children per active candidate (integer ≥ 1); may read candidate.score, candidate.rank, … for a width per candidate"
  }),
  until: Until,
  temperature: Field.optionalNum(temperatureKey),
  maxTokens: Field.optionalNum(maxTokensKey),
  among: Schema.optionalKey(Schema.Literal("active")).annotateKey({
    description: "Which candidates are expanded: the active (not done) ones",
    default: "active"
  }),
  ...comment
}).annotate({
  identifier: "ExpandNode",
  description:
    "Replaces each active candidate by n children; done candidates pass through. Cost: n sequences per active candidate."
})

/** An `expand` node as written. */
export type ExpandNode = typeof fields.Encoded
/** An `expand` node as decoded. */
export type ExpandDoc = typeof fields.Type

/** A compiled `expand` node. */
export interface ExpandFields extends Sampling {
  readonly n: Field.NumField
  readonly until: "step" | "end"
  readonly among: "active"
}

export const expand: NodeKind<"expand", ExpandDoc, ExpandNode> = {
  type: "expand",
  schema: () => fields,
  compile: (node, at) => {
    const path = at.path
    const f: ExpandFields = {
      n: Field.field(`${path}.n`, node.n, Field.INT1),
      until: node.until,
      among: node.among ?? "active",
      ...samplingFields(path, node)
    }
    return planNode("expand", at, {
      fields: f,
      needs: f.until === "step" ? [{ capability: "stepwise", path: `${path}.until` }] : [],
      lanes: f.until === "step" ? "deepen" : "keep",
      check: (scope) => [...Where.checkCandidateNums(scope, [f.n]), ...checkNums(scope, [f.temperature, f.maxTokens])],
      bound: (scope, pop) => {
        // a width per candidate: every active candidate may get the largest
        const n = Bound.hiOf(f.n, scope, pop, (name) => Where.candidateRange(name, pop.active))
        const m = Bound.maxTokensBound(f.maxTokens, scope, pop, f.until)
        const a = pop.active
        return {
          cost: Bound.generation(scope, Bound.mul(a, n), Bound.mul(Bound.mul(a, n), m)),
          pop: {
            size: pop.size + Bound.mul(a, Math.max(0, n - 1)),
            active: Bound.mul(a, n),
            done: pop.done + Bound.mul(a, n),
            chains: pop.chains + Bound.mul(a, n)
          }
        }
      },
      run: Effect.fnUntraced(function* (frame, population) {
        const counts = Population.counts(population)
        const { temperature, maxTokens } = yield* sampling(frame, f, counts, f.until)
        // a lane at the solution cap cannot grow: it stays as it is
        const growable = population.filter((c) => !c.done && laneCap(frame, maxTokens, c) > 0)
        const widths = yield* widthsOf(frame, f.n, counts, growable)
        // expansions to the end complete candidates: under a budget that cannot pay for every
        // parent, the best-scored are paid first (stable: ties keep population order)
        const parents =
          f.until === "end"
            ? [...growable].sort(
                (a, b) => (b.score ?? Number.NEGATIVE_INFINITY) - (a.score ?? Number.NEGATIVE_INFINITY)
              )
            : growable
        const calls: Array<GenCall> = parents.map((c) => ({
          seedKey: c.id,
          prefix: c,
          n: typeof widths === "number" ? widths : (widths.get(c) ?? 1),
          minN: 1,
          until: f.until,
          temperature,
          maxTokens: laneCap(frame, maxTokens, c),
          finishing: f.until === "end"
        }))
        const results = yield* generate(frame, path, calls)
        // keyed by the parent object, not its id: a deep beam's ids are long strings, hashed
        // afresh every round
        const childrenOf = new Map<Candidate, ReadonlyArray<Candidate>>()
        // the (candidate, generation) pairs only for a listener to `CandidateCreated`
        const listened = frame.env.events.enabled
        const created: Array<Created> = []
        parents.forEach((parent, i) => {
          const r = results[i]
          if (r === undefined || r.generations.length === 0) return
          const kids = r.generations.map((generation, k) => {
            const candidate = grow(
              frame,
              path,
              CandidateId.child(parent.id, k),
              parent,
              generation,
              undefined,
              r.cut[k] === true
            )
            if (listened) created.push({ candidate, generation })
            return candidate
          })
          childrenOf.set(parent, kids)
        })
        yield* announce(frame, path, created)
        const out: Array<Candidate> = []
        for (const c of population) {
          const kids = childrenOf.get(c)
          if (kids === undefined) out.push(c)
          else for (const k of kids) out.push(k)
        }
        return out
      })
    })
  }
}

/**
 * The width of the growable candidates: `n` once for all (a number), or — when `n` reads the
 * candidate — once per candidate (keyed by the candidate), ranked among the growable ones.
 */
const widthsOf = (
  frame: Frame,
  n: Field.NumField,
  counts: Population.Counts,
  growable: ReadonlyArray<Candidate>
): Effect.Effect<number | ReadonlyMap<Candidate, number>, InvalidValue> => {
  if (!Where.readsCandidate(n)) return num(frame, n, counts)
  const stats = Where.candidateStats(growable, frame.env.answers)
  const rest = Scope.lookup(
    frame.params,
    frame.ledger.limits,
    counts,
    n.remaining ? frame.ledger.remainingUnsafe : undefined
  )
  const out = new Map<Candidate, number>()
  for (let i = 0; i < growable.length; i++) {
    const c = growable[i]
    const s = stats[i]
    if (c === undefined || s === undefined) continue
    const w = Expression.evaluate(n.expr, Where.candidateLookup(s, rest))
    const why = Field.valueProblem(n, w)
    if (why !== undefined)
      return Effect.fail(new InvalidValue({ path: n.path, problem: `${why} for candidate ${c.id}` }))
    out.set(c, w)
  }
  return Effect.succeed(out)
}
