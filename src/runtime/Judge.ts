/**
 * The consistency judge of free-text voting (universal self-consistency; `services/Judge.ts` has
 * the prompt and the reply's format). When a `select` votes on a free-text problem and the
 * candidates give more than one answer, one generator call reads the answers and names the most
 * consistent one and those that agree with it. The call is metered like any other — reserved
 * first (one call, one verifier call, and as verifier tokens the prompt's exact count where the
 * generator has a tokenizer, plus the judge's `maxTokens`), then committed — and charged to the
 * verifier meters: `verifierCalls` 1 and `verifierTokens` = the prompt's and the reply's tokens.
 * It is whole or nothing (no partial grant shrinks its `max_tokens`), and a failed or interrupted
 * attempt is charged as any call is (`Calls.paidCall`: its reservation once the request was sent,
 * one call for a refusal before any work).
 *
 * The judge is skipped, and the vote groups by normalised text alone, when there is one answer,
 * when the budget cannot pay for it, when `verifierTokens` is limited and the generator cannot
 * count the prompt (the reservation could not be exact), when `usd` (`flops`) is limited and no
 * verifier price (parameter count) is set to price it, and when the backend refuses it
 * (`Unsupported`, as replay does). A reply that names no response is paid for and ignored.
 *
 * @since 0.2.0
 */
import { Effect, type Scope } from "effect"
import type { Reservation, ReserveRequest } from "../budget/Ledger.ts"
import { seedOf } from "../domain/Hash.ts"
import * as Usage from "../domain/Usage.ts"
import type { BackendError } from "../services/BackendError.ts"
import type { GenerateRequest } from "../services/Generator.ts"
import { JUDGE_MAX_TOKENS, MAX_JUDGED, parseVerdict } from "../services/Judge.ts"
import { paidCall, reserveInOrder } from "./Calls.ts"
import type { Frame } from "./Env.ts"

/** One answer the judge reads: the ballot's id and its answer. */
export interface Judgeable {
  readonly id: string
  readonly answer: string
}

/** What the judge did: the chosen ballot and the ballots that agree with it, or why it did not run. */
export type JudgeOutcome =
  | { readonly _tag: "Chosen"; readonly chosen: string; readonly agreeing: ReadonlyArray<string> }
  | { readonly _tag: "Skipped"; readonly reason: string }

const skipped = (reason: string): JudgeOutcome => ({ _tag: "Skipped", reason })

/**
 * The judge's generation request over some answers, seeded by the run, the problem and the node.
 *
 * @example
 * judgeRequest(frame, "root.nodes.1", ["Paris", "Lyon"]).judge?.responses.length // 2
 */
export const judgeRequest = (frame: Frame, node: string, answers: ReadonlyArray<string>): GenerateRequest => ({
  problem: frame.env.problem,
  prefix: undefined,
  n: 1,
  until: "end",
  temperature: 0,
  maxTokens: Math.min(JUDGE_MAX_TOKENS, frame.env.generator.maxTokens),
  seed: seedOf(frame.env.runSeed, frame.env.problem.id, "judge", node),
  judge: { responses: answers }
})

/**
 * Asks the judge which of the ballots' answers is the most consistent (see the module doc). Only
 * the first `MAX_JUDGED` ballots are read.
 *
 * @example
 * const outcome = yield* judge(frame, "root.nodes.2", ballots)
 */
export const judge = (
  frame: Frame,
  node: string,
  ballots: ReadonlyArray<Judgeable>
): Effect.Effect<JudgeOutcome, BackendError> =>
  Effect.scoped(
    Effect.gen(function* () {
      const answers = frame.env.answers
      const read = ballots.slice(0, MAX_JUDGED)
      if (new Set(read.map((b) => answers.key(b.answer))).size < 2) return skipped("one answer")
      const request = judgeRequest(
        frame,
        node,
        read.map((b) => b.answer)
      )
      const gen = frame.env.generator
      const prompt = gen.promptTokens?.(request)
      if (prompt === undefined && frame.ledger.limits.verifierTokens !== undefined)
        return skipped("verifierTokens is limited and the generator cannot count the judge's prompt")
      const unpriced = unpricedLimit(frame)
      if (unpriced !== undefined) return skipped(unpriced)
      const wanted: ReserveRequest = {
        node,
        fixed: Usage.make({ calls: 1, verifierCalls: 1, verifierTokens: (prompt ?? 0) + request.maxTokens }),
        perUnit: Usage.zero,
        units: 1
      }
      const [reservation] = yield* reserveInOrder(frame, [wanted])
      if (reservation === undefined) return skipped("the budget cannot pay for the judge")
      const reply = yield* judgeCall(frame, wanted, reservation, request).pipe(
        Effect.catchIf(
          (e) => e.reason._tag === "Unsupported",
          (e) => Effect.succeed(skipped(`the ${e.backend} backend has no judge: ${e.reason.message}`))
        )
      )
      if (typeof reply !== "string") return reply ?? skipped("the budget cannot pay for the judge")
      const verdict = parseVerdict(reply, read.length)
      if (verdict === undefined)
        return skipped(`the judge's reply names no response: ${JSON.stringify(reply.slice(0, 120))}`)
      const id = (i: number): string => read[i]?.id ?? ""
      return { _tag: "Chosen", chosen: id(verdict.chosen), agreeing: verdict.agreeing.map(id) }
    })
  )

/**
 * Why a `usd` or `flops` limit could not count the judge, if so: the judge is charged to the
 * verifier meters, so it is priced with the verifier's price and parameters — which a graph that
 * never scores may leave unset (the run's limit check asks for them only when the graph scores).
 * Priced at nothing, the judge would pass a limit that is meant to bound what the backend did.
 */
export const unpricedLimit = (frame: Frame): string | undefined => {
  const { limits, pricing } = frame.ledger
  const unset = new Set(pricing.unset ?? [])
  if (limits.usd !== undefined && unset.has("verifier"))
    return "usd is limited and no verifier price is set (--price-verifier) to price the judge's tokens"
  if (limits.flops !== undefined && unset.has("verifierParams"))
    return "flops is limited and no verifier parameter count is set (--verifier-params) for the judge's tokens"
  return undefined
}

/** The paid judge call: the generator's one generation, charged to the verifier meters. */
const judgeCall = (
  frame: Frame,
  again: ReserveRequest,
  first: Reservation,
  request: GenerateRequest
): Effect.Effect<string | undefined, BackendError, Scope.Scope> =>
  paidCall(frame, frame.env.generator.retry, first, again, (_reservation, sent) =>
    frame.env.generatorPermits.withPermits(1)(
      Effect.clockWith((clock) => {
        const t0 = clock.currentTimeMillisUnsafe()
        // from here the provider may do (and bill) the work: an interruption is charged the reservation
        sent.value = true
        return Effect.map(frame.env.generator.generate(request), (result) => {
          const wallMs = clock.currentTimeMillisUnsafe() - t0
          const g = result.generations[0]
          const outputTokens = g?.outputTokens ?? 0
          const usage = Usage.make({
            calls: 1,
            verifierCalls: 1,
            verifierTokens: result.inputTokens + outputTokens,
            wallMs
          })
          const spent =
            result.spent === undefined
              ? usage
              : Usage.make({
                  calls: result.spent.calls,
                  verifierCalls: result.spent.calls === 0 ? 0 : 1,
                  verifierTokens: result.spent.inputTokens + result.spent.outputTokens,
                  wallMs
                })
          return { value: g === undefined ? "" : g.steps.map((s) => s.text).join(frame.env.delimiter), usage, spent }
        })
      })
    )
  )
