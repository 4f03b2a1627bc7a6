/**
 * Generative verification (`score` with `generative`; the prompts and parsing are
 * `services/GenVerify.ts`): each candidate is checked by a generator call of `samples`
 * verification samples — LLM-as-a-judge or a ThinkPRM-style verification chain of thought — and
 * its step scores are the mean verdict of the samples that parsed.
 *
 * Metered like the consistency judge (`Judge.ts`) and charged to the **verifier** meters: each
 * candidate's call is reserved first, whole or nothing (calls: 1, or `samples` on a server without
 * `n`; `verifierCalls` 1; `verifierTokens` the prompt's tokens — exact where the generator can
 * count them — plus `samples · maxTokens`), then committed with what the backend reports
 * (`verifierTokens` = prompt + every sample's output). A failed or interrupted call is charged as
 * any call is (`Calls.paidCall`). Candidates are reserved in population order, so a budget that
 * runs out leaves the later ones unscored (they rank last and vote with weight 0), as for a reward
 * model. A reply that is not `n` samples each within `maxTokens` is a `BadResponse`.
 *
 * With `verdict: "probability"` (think only) each sample's final score is ThinkPRM's P("yes") at the
 * verdict token, which the backend gives as `Generation.verdictYes` (the request asks for
 * `VERDICT_TOP_LOGPROBS` top log-probabilities); a backend that returns a yes/no verdict without it
 * fails the node with `Unsupported` naming `<path>.generative.verdict`.
 *
 * A candidate is left unscored — never given a made-up score — when its call cannot be paid, when
 * `verifierTokens` is limited and the generator cannot count the prompt, when `usd`/`flops` is
 * limited and no verifier price/parameter count is set, and when no sample's reply parses (e.g. a
 * chain cut by `maxTokens` before its verdict); with `onUnparsed: "fail"` the last case ends the
 * run with a `BadResponse` naming the node and quoting the reply instead.
 *
 * @since 0.5.0
 */
import { Effect, type Scope } from "effect"
import type { ReserveRequest } from "../budget/Ledger.ts"
import type { Candidate } from "../domain/Candidate.ts"
import { seedOf } from "../domain/Hash.ts"
import * as Steps from "../domain/Steps.ts"
import * as Usage from "../domain/Usage.ts"
import { type BackendError, backendError } from "../services/BackendError.ts"
import type { GenerateRequest, Generation } from "../services/Generator.ts"
import {
  meanVerdict,
  parseVerdict,
  type Style,
  saysYesOrNo,
  VERDICT_TOP_LOGPROBS,
  type Verdict,
  type VerdictMode,
  withProbability
} from "../services/GenVerify.ts"
import { paidCall, reserveInOrder } from "./Calls.ts"
import type { Frame } from "./Env.ts"
import { unpricedLimit } from "./Judge.ts"

/** How a generative verifier is asked. */
export interface GenerativeSpec {
  readonly style: Style
  /** verification samples per candidate */
  readonly samples: number
  readonly temperature: number
  /** output tokens of one verification sample, at most */
  readonly maxTokens: number
  readonly onUnparsed: "unscored" | "fail"
  /** the final verdict parsed, or read as P("yes") from log-probabilities (default parse) */
  readonly verdict?: VerdictMode
}

/**
 * The verification request of one candidate, seeded by the run, the problem, the candidate and the node.
 *
 * @example
 * verifyRequest(frame, "root.nodes.1", candidate, spec).verify?.style // "think"
 */
export const verifyRequest = (
  frame: Frame,
  node: string,
  candidate: Candidate,
  spec: GenerativeSpec
): GenerateRequest => ({
  problem: frame.env.problem,
  prefix: undefined,
  n: spec.samples,
  until: "end",
  temperature: spec.temperature,
  maxTokens: Math.min(spec.maxTokens, frame.env.generator.maxTokens),
  seed: seedOf(frame.env.runSeed, frame.env.problem.id, candidate.id, `${node}#verify`),
  ...(spec.verdict === "probability" ? { logprobs: VERDICT_TOP_LOGPROBS } : {}),
  verify: {
    style: spec.style,
    steps: Steps.toArray(candidate.steps).map((s) => s.text),
    candidate,
    ...(spec.verdict === "probability" ? { verdict: "probability" as const } : {})
  }
})

/**
 * The step scores of each candidate (`undefined`: unscored, see the module doc), in order.
 *
 * @example
 * const scores = yield* verifyGenerative(frame, "root.nodes.1", candidates, spec, true)
 */
export const verifyGenerative = (
  frame: Frame,
  node: string,
  candidates: ReadonlyArray<Candidate>,
  spec: GenerativeSpec,
  finishing: boolean
): Effect.Effect<ReadonlyArray<ReadonlyArray<number> | undefined>, BackendError> =>
  Effect.scoped(
    Effect.gen(function* () {
      const gen = frame.env.generator
      const none = candidates.map(() => undefined)
      if (candidates.length === 0 || spec.samples === 0) return none
      const requests = candidates.map((c) => verifyRequest(frame, node, c, spec))
      const prompts = requests.map((r) => gen.promptTokens?.(r))
      if (prompts.some((p) => p === undefined) && frame.ledger.limits.verifierTokens !== undefined) return none
      if (unpricedLimit(frame) !== undefined) return none
      const calls = gen.capabilities.has("nSampling") ? 1 : spec.samples
      const hold = finishing && frame.hold !== undefined ? { hold: frame.hold } : {}
      const wanted: ReadonlyArray<ReserveRequest> = requests.map((r, i) => ({
        node,
        fixed: Usage.make({
          calls,
          verifierCalls: 1,
          verifierTokens: (prompts[i] ?? 0) + r.n * r.maxTokens
        }),
        perUnit: Usage.zero,
        units: 1,
        ...hold
      }))
      const reservations = yield* reserveInOrder(frame, wanted)
      return yield* Effect.forEach(
        candidates,
        (candidate, i): Effect.Effect<ReadonlyArray<number> | undefined, BackendError, Scope.Scope> => {
          const first = reservations[i]
          const request = requests[i]
          const again = wanted[i]
          if (first === undefined || request === undefined || again === undefined) return Effect.succeed(undefined)
          return paidCall(frame, gen.retry, first, again, (_reservation, sent) =>
            frame.env.generatorPermits.withPermits(1)(
              Effect.clockWith((clock) => {
                const t0 = clock.currentTimeMillisUnsafe()
                // from here the provider may do (and bill) the work: an interruption is charged the reservation
                sent.value = true
                return Effect.flatMap(gen.generate(request), (result) => {
                  const wallMs = clock.currentTimeMillisUnsafe() - t0
                  // what was reserved bounds what is charged: a reply outside it is a bad response
                  const bad = badReply(request, result.generations)
                  if (bad !== undefined)
                    return Effect.fail(backendError({ backend: gen.backend, operation: "verify" }, "BadResponse", bad))
                  let output = 0
                  for (const g of result.generations) output += g.outputTokens
                  const usage = Usage.make({
                    calls,
                    verifierCalls: 1,
                    verifierTokens: result.inputTokens + output,
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
                  const replies = result.generations.map((g) => ({
                    text: g.steps.map((s) => s.text).join(frame.env.delimiter),
                    yes: g.verdictYes
                  }))
                  return Effect.succeed({ value: replies, usage, spent })
                })
              })
            )
          ).pipe(
            Effect.flatMap((replies) => {
              const task = request.verify
              if (replies === undefined || task === undefined) return Effect.succeed(undefined)
              const parsed: ReadonlyArray<Verdict> = replies.map((r) => parseVerdict(r.text, task))
              const probability = spec.verdict === "probability"
              // a yes/no verdict always has log-probabilities at its token when the backend gives them
              if (probability && replies.some((r) => r.yes === undefined && saysYesOrNo(r.text)))
                return Effect.fail(
                  backendError(
                    { backend: gen.backend, operation: "verify" },
                    "Unsupported",
                    `${node}.generative.verdict: "probability" reads P("yes") from the log-probabilities at the verdict token, which backend ${gen.backend} did not return for candidate ${candidate.id}; use verdict "parse"`
                  )
                )
              const verdicts = probability ? parsed.map((v, i) => withProbability(v, replies[i]?.yes)) : parsed
              const scores = meanVerdict(verdicts)
              if (scores !== undefined || spec.onUnparsed === "unscored") return Effect.succeed(scores)
              const why = verdicts.find((v) => !v.ok)
              return Effect.fail(
                backendError(
                  { backend: gen.backend, operation: "verify" },
                  "BadResponse",
                  `${node}.generative: no verification sample of candidate ${candidate.id} has a verdict (${why !== undefined && !why.ok ? why.why : "no samples"}): ${JSON.stringify((replies[0]?.text ?? "").slice(-200))}`
                )
              )
            })
          )
        },
        { concurrency: "unbounded" }
      )
    })
  )

/** Why a verification reply cannot be charged as reserved: not `n` samples, or a sample past `maxTokens`. */
const badReply = (request: GenerateRequest, generations: ReadonlyArray<Generation>): string | undefined => {
  if (generations.length !== request.n) return `asked for ${request.n} verification samples, got ${generations.length}`
  for (const [i, g] of generations.entries())
    if (!(Number.isInteger(g.outputTokens) && g.outputTokens >= 0 && g.outputTokens <= request.maxTokens))
      return `verification sample ${i} reports ${g.outputTokens} output tokens; maxTokens is ${request.maxTokens}`
  return undefined
}
