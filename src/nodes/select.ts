/**
 * `select {method, among, hierarchical}`: picks the final answer among the done candidates that
 * have one (or, when none is done — the budget ran out — among every candidate with an answer):
 * majority vote, best (argmax score), or weighted (sum of scores per equivalent answer). With
 * `hierarchical: "chain"`, within each revision chain first, then across chains. Equal votes go to
 * the answer seen first, or with `ties: "score"` to the larger total score. Unscored
 * candidates vote with score 0. The population passes through unchanged — except that, in the
 * run's own frame (not a parallel branch), when the budget refused anything, the runtime first
 * finishes (`runtime/Finish.ts`): it completes the best partial candidates and scores the complete
 * ones from the run's reserve, so that the vote has something complete. Cost: none of its own.
 *
 * @since 0.1.0
 */
import { Effect, Schema } from "effect"
import { kindOf } from "../domain/AnswerKind.ts"
import type { Candidate } from "../domain/Candidate.ts"
import * as Usage from "../domain/Usage.ts"
import * as Bound from "../graph/Bound.ts"
import type { Frame } from "../runtime/Env.ts"
import { finish } from "../runtime/Finish.ts"
import { judge as askJudge, type JudgeOutcome } from "../runtime/Judge.ts"
import type { RunError } from "../runtime/RunError.ts"
import { type ChainBallot, judgedKey, type Ties, vote, voteHierarchical, voteJudged } from "../runtime/Vote.ts"
import { comment } from "./Common.ts"
import { type NodeKind, planNode } from "./Kind.ts"

const fields = Schema.Struct({
  type: Schema.Literal("select"),
  method: Schema.Literals(["majority", "best", "weighted"]).annotateKey({
    description:
      "majority: the answer most candidates give; best: the highest-scored candidate's; weighted: the answer with the largest sum of scores"
  }),
  among: Schema.optionalKey(Schema.Literals(["done", "all"])).annotateKey({
    description: "The pool: done candidates with an answer (every answered one when none is done), or all",
    default: "done"
  }),
  hierarchical: Schema.optionalKey(Schema.Literal("chain")).annotateKey({
    description: "chain: pick a winner within each revision chain first, then vote across chains (§6)"
  }),
  ties: Schema.optionalKey(Schema.Literals(["first", "score"])).annotateKey({
    description:
      "Equal votes: first, the answer seen first; score, the answer with the larger total score (then the first seen), as the simulator reference's majority vote",
    default: "first"
  }),
  judge: Schema.optionalKey(Schema.Literals(["auto", "off"])).annotateKey({
    description:
      "auto: on a free-text problem, majority and weighted votes ask a consistency judge (one model call, charged to the verifier meters) which answers agree (docs/grading.md); off: group free text by its normalised words only",
    default: "auto"
  }),
  ...comment
}).annotate({
  identifier: "SelectNode",
  description:
    "Picks the final answer: majority vote, argmax score, or weighted vote (sum of scores per equivalent answer). In the run's own frame, when the budget refused anything, it first completes the best partial candidates and scores the complete ones from the run's reserve to finish. Cost: none of its own."
})

/** A `select` node as written. */
export type SelectNode = typeof fields.Encoded
/** A `select` node as decoded. */
export type SelectDoc = typeof fields.Type

/** A compiled `select` node. */
export interface SelectFields {
  readonly method: "majority" | "best" | "weighted"
  readonly among: "done" | "all"
  readonly hierarchical: "chain" | undefined
  readonly ties: Ties
  readonly judge: "auto" | "off"
}

/** Whether a select asks the judge on a free-text problem: a vote (not `best`) with `judge: auto`. */
const judges = (f: SelectFields): boolean => f.judge === "auto" && f.method !== "best"

/** The judge's worst case: one call, one verifier call, and verifier tokens no bound knows (its prompt holds the answers). */
const judgeBound = (scope: Bound.BoundScope, f: SelectFields): Usage.Usage =>
  scope.options.answerKind === "free" && judges(f)
    ? Usage.make({ calls: 1, verifierCalls: 1, verifierTokens: Number.POSITIVE_INFINITY })
    : Usage.zero

/** The judge's verdict on a free-text problem's ballots, when this select asks one. */
const verdictOf = (
  frame: Frame,
  path: string,
  f: SelectFields,
  ballots: ReadonlyArray<ChainBallot>
): Effect.Effect<JudgeOutcome | undefined, RunError> =>
  judges(f) && kindOf(frame.env.problem) === "free" ? askJudge(frame, path, ballots) : Effect.succeed(undefined)

/** The ballots of a population: its answered candidates (the complete ones, unless `among: "all"` or none is). */
const ballotsOf = (f: SelectFields, population: ReadonlyArray<Candidate>): ReadonlyArray<ChainBallot> => {
  // one pass: the answered candidates, and of them the complete ones
  const answered: Array<Candidate> = []
  const done: Array<Candidate> = []
  for (const c of population)
    if (c.answer !== undefined) {
      answered.push(c)
      if (c.done) done.push(c)
    }
  const pool = f.among === "all" || done.length === 0 ? answered : done
  return pool.map((c) => ({
    id: c.id,
    answer: c.answer ?? "",
    score: c.score ?? 0,
    // `chainOf(c).id`, without the reference it builds for a candidate outside any chain
    chain: c.chain?.id ?? c.id
  }))
}

/**
 * Votes (with the judge's verdict, if any) and records the choice in the frame's selection;
 * returns how many ballots there were and the ranking.
 */
const choose = (
  frame: Frame,
  f: SelectFields,
  population: ReadonlyArray<Candidate>,
  outcome: JudgeOutcome | undefined
): { readonly pool: number; readonly ranking: ReturnType<typeof vote> } => {
  const ballots = ballotsOf(f, population)
  const verdict = outcome?._tag === "Chosen" ? outcome : undefined
  const answers = verdict === undefined ? frame.env.answers : judgedKey(frame.env.answers, ballots, verdict)
  const ranking =
    f.hierarchical === "chain"
      ? voteHierarchical(ballots, f.method, answers, f.ties)
      : verdict === undefined
        ? vote(ballots, f.method, answers, f.ties)
        : voteJudged(ballots, f.method, frame.env.answers, verdict)
  const top = ranking[0]
  const chosen = top === undefined ? undefined : population.find((c) => c.id === top.best)
  const sel = frame.selection
  sel.ranking = ranking
  if (top === undefined) {
    delete sel.answer
    delete sel.chosen
  } else {
    sel.answer = chosen?.answer ?? top.answer
    if (chosen !== undefined) sel.chosen = chosen
  }
  return { pool: ballots.length, ranking }
}

export const select: NodeKind<"select", SelectDoc, SelectNode> = {
  type: "select",
  schema: () => fields,
  compile: (node, at) => {
    const path = at.path
    const f: SelectFields = {
      method: node.method,
      among: node.among ?? "done",
      hierarchical: node.hierarchical,
      ties: node.ties ?? "first",
      judge: node.judge ?? "auto"
    }
    const node_ = planNode("select", at, {
      fields: f,
      answers: true,
      lanes: "keep",
      check: () => [],
      bound: (scope, pop) => {
        // a free-text problem's vote may ask the judge (one call), wherever the select is
        const judged = judgeBound(scope, f)
        // the finisher runs only in the run's own frame, and only when a limit refused something
        if (scope.share || Object.keys(scope.limits).length === 0) return { cost: judged, pop }
        const lanes = pop.active + 1
        const cost = Bound.addBound(
          Bound.addBound(
            Bound.generation(scope, lanes, Bound.mul(lanes, scope.options.maxTokens)),
            Bound.verification(scope, pop.size + 1)
          ),
          judged
        )
        return {
          cost,
          pop: { size: pop.size + 1, active: pop.active + 1, done: pop.done + lanes, chains: pop.chains + 1 }
        }
      },
      // with no reserve to finish, no judge to ask and no listener, a select is plain work (a
      // vote): one step, not a generator stepping through effects that answer at once
      run: (frame, given) =>
        frame.hold === undefined && !frame.env.events.enabled && !(judges(f) && kindOf(frame.env.problem) === "free")
          ? Effect.sync(() => {
              choose(frame, f, given, undefined)
              return given
            })
          : selectWith(frame, given)
    })
    /** A select that finishes candidates, asks the judge or publishes its choice. */
    const selectWith = Effect.fnUntraced(function* (frame: Frame, given: ReadonlyArray<Candidate>) {
      const population = yield* finish(frame, given, path)
      const outcome = yield* verdictOf(frame, path, f, ballotsOf(f, population))
      const { pool, ranking } = choose(frame, f, population, outcome)
      const sel = frame.selection
      if (frame.env.events.enabled)
        yield* frame.env.events.publish({
          _tag: "Selected",
          node: path,
          ...(sel.answer === undefined ? {} : { answer: sel.answer }),
          ...(sel.chosen === undefined ? {} : { chosen: sel.chosen.id }),
          method: f.method,
          ...(f.hierarchical === undefined ? {} : { hierarchical: f.hierarchical }),
          ...(outcome === undefined
            ? {}
            : {
                judge:
                  outcome._tag === "Chosen"
                    ? { chosen: outcome.chosen, agreeing: outcome.agreeing.length }
                    : { skipped: outcome.reason }
              }),
          candidates: pool,
          ranking: ranking.slice(0, 10)
        })
      return population
    })
    return node_
  }
}
