/**
 * `budget-forcing {n, maxThinking, minThinking, waits, wait, temperature, maxTokens}`: s1's budget
 * forcing (Muennighoff et al. 2025, "s1: Simple test-time scaling"). Each of `n` samples thinks
 * before it answers, through the generator's thinking phases (`GenerateRequest.think`, capability
 * `thinking`):
 *
 * - it thinks until the model ends its thinking or its thinking reaches `maxThinking` tokens;
 * - when the model ends its thinking before `minThinking` tokens, the end is suppressed: `wait`
 *   ("Wait") is appended to the thinking and the model goes on — at most `waits` times;
 * - at the cap the end of thinking is forced (the backend appends its end-of-thinking delimiter)
 *   and the model answers; the answer is read only from what follows the thinking.
 *
 * The node runs in rounds: each round makes, in sample order, one call for every sample still
 * going (the first round one call of `n` continuations, all samples reading the same prompt), so
 * what the budget pays never depends on timing and a seed gives the same result at any
 * concurrency. Sample k is continuation k of one seed in every phase. Cost per sample: at most
 * `waits + 2` calls and sequences (think phases, then the answer), `maxThinking` thinking tokens
 * (also output tokens), and `maxTokens` more output tokens for the answer; each call reserves its
 * caps first. Anytime: a think phase the budget cuts short or refuses ends the thinking there (the
 * sample answers with the thinking it has, as at the cap — with none if its first phase was
 * refused); each round makes its answers before its think phases; a sample whose answer the budget
 * refuses is paid for and dropped.
 *
 * @since 0.6.0
 */
import { Effect, Schema } from "effect"
import type { Candidate } from "../domain/Candidate.ts"
import * as CandidateId from "../domain/CandidateId.ts"
import * as Population from "../domain/Population.ts"
import * as Usage from "../domain/Usage.ts"
import * as Bound from "../graph/Bound.ts"
import { checkNums } from "../graph/Check.ts"
import * as Field from "../graph/Field.ts"
import { type GenCall, type Generated, generate } from "../runtime/Calls.ts"
import { maxTokensOf, num, type Sampling, sampling } from "../runtime/Env.ts"
import { announce, type Created, grow } from "../runtime/Grow.ts"
import type { Generation, ThinkRequest } from "../services/Generator.ts"
import { comment, maxTokensKey, samplingFields, temperatureKey } from "./Common.ts"
import { type NodeKind, planNode } from "./Kind.ts"

/** The most samples a `budget-forcing` node may ask for (each sample's later phases are requests of their own). */
export const MAX_SAMPLES = 10_000
/** The most times the end of thinking may be suppressed per sample. */
export const MAX_WAITS = 64

/** s1's word for going on thinking. */
export const DEFAULT_WAIT = "Wait"
export const DEFAULTS = { minThinking: 0, waits: 2 } as const

const SAMPLES: Field.FieldRule = { integer: true, min: 0, max: MAX_SAMPLES }
const WAITS: Field.FieldRule = { integer: true, min: 0, max: MAX_WAITS }

const fields = Schema.Struct({
  type: Schema.Literal("budget-forcing"),
  n: Field.num({ description: `How many samples (integer 0..${MAX_SAMPLES})` }),
  maxThinking: Field.num({
    description:
      "Thinking tokens of a sample, at most: at this cap the end of thinking is forced and the sample answers (integer ≥ 1)"
  }),
  minThinking: Field.optionalNum({
    description:
      "When the model ends its thinking before this many tokens, the end is suppressed and `wait` appended (integer ≥ 0)",
    default: DEFAULTS.minThinking
  }),
  waits: Field.optionalNum({
    description: `How many times per sample the end of thinking may be suppressed (integer 0..${MAX_WAITS})`,
    default: DEFAULTS.waits
  }),
  wait: Schema.optionalKey(Schema.NonEmptyString).annotateKey({
    description: "What is appended to the thinking to make the model go on",
    default: DEFAULT_WAIT
  }),
  temperature: Field.optionalNum(temperatureKey),
  maxTokens: Field.optionalNum({
    ...maxTokensKey,
    description:
      "Output tokens of a sample's answer after its thinking, at most (integer ≥ 1; default: the backend's solution cap)"
  }),
  ...comment
}).annotate({
  identifier: "BudgetForcingNode",
  description:
    "s1 budget forcing: each sample thinks up to maxThinking tokens; an end of thinking before minThinking is suppressed by appending wait (at most waits times); at the cap the end is forced and the sample answers. Needs capability thinking. Cost: per sample at most waits + 2 calls, maxThinking thinking tokens and maxThinking + maxTokens output tokens."
})

/** A `budget-forcing` node as written. */
export type BudgetForcingNode = typeof fields.Encoded
/** A `budget-forcing` node as decoded. */
export type BudgetForcingDoc = typeof fields.Type

/** A compiled `budget-forcing` node. */
export interface BudgetForcingFields extends Sampling {
  readonly n: Field.NumField
  readonly maxThinking: Field.NumField
  readonly minThinking: Field.NumField
  readonly waits: Field.NumField
  readonly wait: string
}

/** The thinking of one sample so far. */
export interface Thinking {
  /** what the model reads: its thinking and every appended `wait` */
  readonly text: string
  /** thinking tokens generated */
  readonly tokens: number
  /** ends suppressed */
  readonly waits: number
}

/** The rule of a node: its caps and its word. */
export interface ForcingRule {
  readonly maxThinking: number
  readonly minThinking: number
  readonly waits: number
  readonly wait: string
}

/** What a sample does after a think phase: think on (the end suppressed), or answer (`forced`: at the cap). */
export type Next =
  | { readonly _tag: "think"; readonly thinking: Thinking }
  | { readonly _tag: "answer"; readonly thinking: Thinking; readonly forced: boolean }

/**
 * s1's rule after one think phase: the thinking grows by the phase's text and tokens; a natural
 * end before `minThinking` (with waits left and room under the cap) is suppressed by appending
 * `wait`; otherwise the sample answers — `forced` when its thinking did not end by itself (the cap,
 * or a budget cut).
 *
 * @example
 * afterThinking({ text: "", tokens: 0, waits: 0 }, { thinking: "So x = 2.", outputTokens: 5, finishReason: "end" }, false,
 *   { maxThinking: 100, minThinking: 50, waits: 1, wait: "Wait" })
 * // { _tag: "think", thinking: { text: "So x = 2.\nWait", tokens: 5, waits: 1 } }
 */
export const afterThinking = (
  before: Thinking,
  g: Pick<Generation, "thinking" | "thinkingTokens" | "outputTokens" | "finishReason">,
  cut: boolean,
  rule: ForcingRule
): Next => {
  const piece = g.thinking ?? ""
  const tokens = before.tokens + (g.thinkingTokens ?? g.outputTokens)
  const text = before.text + piece
  const ended = g.finishReason === "end" && !cut
  if (ended && tokens < rule.minThinking && tokens < rule.maxThinking && before.waits < rule.waits) {
    const joint = text === "" || /\s$/u.test(text) ? "" : "\n"
    return { _tag: "think", thinking: { text: `${text}${joint}${rule.wait}`, tokens, waits: before.waits + 1 } }
  }
  return { _tag: "answer", thinking: { text, tokens, waits: before.waits }, forced: !ended }
}

/** A sample in progress. */
interface Lane {
  readonly index: number
  readonly phase: "think" | "answer"
  readonly thinking: Thinking
}

export const budgetForcing: NodeKind<"budget-forcing", BudgetForcingDoc, BudgetForcingNode> = {
  type: "budget-forcing",
  schema: () => fields,
  compile: (node, at) => {
    const path = at.path
    const f: BudgetForcingFields = {
      n: Field.field(`${path}.n`, node.n, SAMPLES),
      maxThinking: Field.field(`${path}.maxThinking`, node.maxThinking, Field.INT1),
      minThinking: Field.fieldOr(`${path}.minThinking`, node.minThinking, DEFAULTS.minThinking, Field.INT0),
      waits: Field.fieldOr(`${path}.waits`, node.waits, DEFAULTS.waits, WAITS),
      wait: node.wait ?? DEFAULT_WAIT,
      ...samplingFields(path, node)
    }
    // the appended words, bounded by their UTF-8 bytes (no byte-level tokenizer makes more tokens)
    const waitBytes = new TextEncoder().encode(`\n${f.wait}`).length
    return planNode("budget-forcing", at, {
      fields: f,
      needs: [{ capability: "thinking", path }],
      check: (scope) => checkNums(scope, [f.n, f.maxThinking, f.minThinking, f.waits, f.temperature, f.maxTokens]),
      bound: (scope, pop) => {
        const n = Bound.hiOf(f.n, scope, pop)
        const waits = Bound.hiOf(f.waits, scope, pop)
        // each think phase is capped by what is left of maxThinking and by the backend's cap
        const think = Math.min(Bound.hiOf(f.maxThinking, scope, pop), Bound.mul(waits + 1, scope.options.maxTokens))
        const answer = Bound.maxTokensBound(f.maxTokens, scope, pop, "end")
        // per sample: up to waits + 1 think phases and an answer, each a request that reads the
        // thinking so far (at most the cap, the appended words and the delimiters)
        const requests = Bound.mul(n, waits + 2)
        const extra = think + Bound.mul(waits, waitBytes) + 64
        const cost = Bound.generation(scope, requests, Bound.mul(n, think + answer), extra)
        return {
          cost: { ...cost, thinkingTokens: Bound.mul(n, think) },
          pop: { size: pop.size + n, active: pop.active + n, done: pop.done + n, chains: pop.chains + n }
        }
      },
      firstCall: (scope) => {
        if (Bound.hiOf(f.n, scope, Bound.EMPTY) === 0) return undefined
        const think = Math.min(Bound.hiOf(f.maxThinking, scope, Bound.EMPTY), scope.options.maxTokens)
        return {
          usage: Usage.make({ calls: 1, sequences: 1, outputTokens: think, thinkingTokens: think }),
          // thinking completes no candidate: the run keeps back a reserve to finish one (the
          // answer phases are finishing work and draw on it), as after a first step
          until: "step",
          shared: false
        }
      },
      run: (frame, population) =>
        Effect.gen(function* () {
          const counts = Population.counts(population)
          const n = yield* num(frame, f.n, counts)
          if (n === 0) return population
          const rule: ForcingRule = {
            maxThinking: yield* num(frame, f.maxThinking, counts),
            minThinking: yield* num(frame, f.minThinking, counts),
            waits: yield* num(frame, f.waits, counts),
            wait: f.wait
          }
          const { temperature, maxTokens } = yield* sampling(frame, f, counts, "end")
          const thinkCap = maxTokensOf(frame, undefined, "end")
          const first = frame.counter.next
          frame.counter.next = first + n
          const seedKey = CandidateId.sample(frame.prefix, first)
          const request = (lane: Lane, count: number): GenCall => {
            const think: ThinkRequest = { phase: lane.phase, ...lane.thinking }
            return {
              seedKey,
              index: lane.index,
              prefix: undefined,
              n: count,
              minN: 1,
              until: "end",
              temperature,
              maxTokens:
                lane.phase === "answer" ? maxTokens : Math.min(thinkCap, rule.maxThinking - lane.thinking.tokens),
              // the answer completes a candidate: it may draw on the run's reserve
              finishing: lane.phase === "answer",
              think
            }
          }
          const answered: Array<{ readonly index: number; readonly created: Created }> = []
          const start: Thinking = { text: "", tokens: 0, waits: 0 }
          // round 0: every sample's first think phase, one call of n continuations (one prompt)
          const [opening] = yield* generate(frame, path, [request({ index: 0, phase: "think", thinking: start }, n)])
          let lanes: Array<Lane> = []
          const advance = (lane: Lane, g: Generation, cut: boolean): Lane => {
            const next = afterThinking(lane.thinking, g, cut, rule)
            return { index: lane.index, phase: next._tag, thinking: next.thinking }
          }
          const paidOpening = opening?.generations ?? []
          for (let i = 0; i < n; i++) {
            const g = paidOpening[i]
            // a sample the budget would not let think answers with no thinking (its end forced at once)
            lanes.push(
              g === undefined
                ? { index: i, phase: "answer", thinking: start }
                : advance({ index: i, phase: "think", thinking: start }, g, opening?.cut[i] === true)
            )
          }
          // later rounds: one call per sample still going — answers first (they complete candidates),
          // then think phases, each in sample order
          while (lanes.length > 0) {
            lanes.sort((a, b) => (a.phase === b.phase ? a.index - b.index : a.phase === "answer" ? -1 : 1))
            const results: ReadonlyArray<Generated | undefined> = yield* generate(
              frame,
              path,
              lanes.map((lane) => request(lane, 1))
            )
            const next: Array<Lane> = []
            for (const [k, lane] of lanes.entries()) {
              const paid = results[k]
              const g = paid?.generations[0]
              if (paid === undefined || g === undefined) {
                // a think phase the budget refused ends the thinking there; a refused answer is
                // dropped (what the sample spent is paid)
                if (lane.phase === "think") next.push({ ...lane, phase: "answer" })
                continue
              }
              if (lane.phase === "think") {
                next.push(advance(lane, g, paid.cut[0] === true))
                continue
              }
              answered.push({
                index: lane.index,
                created: {
                  candidate: grow(
                    frame,
                    path,
                    CandidateId.sample(frame.prefix, first + lane.index),
                    undefined,
                    g,
                    undefined,
                    paid.cut[0] === true
                  ),
                  generation: g
                }
              })
            }
            lanes = next
          }
          // in sample order, whichever round each answered in
          const created = answered.sort((a, b) => a.index - b.index).map((a) => a.created)
          yield* announce(frame, path, created)
          const fresh: Array<Candidate> = created.map((c) => c.candidate)
          return [...population, ...fresh]
        })
    })
  }
}
