/**
 * A generation request, served by the pure model: which steps each continuation gets, their
 * text and tokens. Continuation i depends only on (problem world, prefix latent or previous
 * attempt, seed, i, temperature, until, maxTokens) — never on call order, concurrency or n.
 *
 * - temperature > 0: continuation i's first new step has node hash `hash32(seed32(seed), i)` and
 *   each further step is the child `hash32(h, 0)` of the previous one (sim.py `samples`);
 * - temperature 0 (greedy) ignores the seed: the next step is `hash32(parentHash, GREEDY)`, from
 *   `world.tree` when there is no prefix (sim.py `rollout_score`);
 * - a revision (context present) is one attempt with root `hash32(seed32(seed), i)` (greedy:
 *   `hash32(lastStepOfPreviousAttempt, GREEDY)`), see Revision.ts.
 *
 * @since 0.1.0
 */
import { Result } from "effect"
import type { Candidate } from "../../src/domain/Candidate.ts"
import { hash32, seed32 } from "../../src/domain/Hash.ts"
import type { Step } from "../../src/domain/Steps.ts"
import type { GenerateRequest, GenerateResult, Generation } from "../../src/services/Generator.ts"
import { isSimLatent, type SimLatent } from "./Latent.ts"
import { promptTokens } from "./Prompt.ts"
import { reviseAttempt } from "./Revision.ts"
import { GREEDY } from "./Tags.ts"
import { finalSentence, stepText } from "./Text.ts"
import { countTokens, truncateTokens } from "./Tokens.ts"
import { childStep } from "./Transition.ts"
import type { World } from "./World.ts"

/** The largest n of one call (a guard against accidental huge requests). */
export const MAX_N = 1_000_000

/**
 * The latent of a candidate's last step, checked against the world; a message naming the
 * problem if it is missing, malformed or from another problem.
 *
 * @example
 * candidateLatent(world, prefix, "prefix") // Result.succeed(latent) for a simulated prefix
 */
export const candidateLatent = (world: World, candidate: Candidate, what: string): Result.Result<SimLatent, string> => {
  const steps = candidate.steps
  if (steps === undefined) return Result.fail(`${what} ${candidate.id} has no steps`)
  const latent = steps.step.latent
  if (!isSimLatent(latent))
    return Result.fail(
      `${what} ${candidate.id}: step ${steps.length} has no simulator latent (was it produced by another backend?)`
    )
  if (latent.world !== world.ph || latent.answer >= world.answers.length)
    return Result.fail(`${what} ${candidate.id} was generated for another problem or world (world ${latent.world})`)
  return Result.succeed(latent)
}

const checkRequest = (request: GenerateRequest): string | undefined => {
  const { n, temperature, maxTokens, until, seed, context, prefix } = request
  if (!Number.isInteger(n) || n < 0 || n > MAX_N) return `n: expected an integer in 0..${MAX_N}, got ${n}`
  if (typeof temperature !== "number" || !Number.isFinite(temperature) || temperature < 0)
    return `temperature: expected a finite number ≥ 0, got ${temperature}`
  if (!Number.isInteger(maxTokens) || maxTokens < 1) return `maxTokens: expected a positive integer, got ${maxTokens}`
  if (until !== "step" && until !== "end") return `until: expected "step" or "end", got ${String(until)}`
  if (typeof seed !== "bigint") return `seed: expected a bigint, got ${typeof seed}`
  if (context !== undefined && prefix !== undefined)
    return "context: a revision starts a new attempt; prefix must be undefined"
  if (context !== undefined && until !== "end") return 'until: a revision writes a whole attempt; expected "end"'
  return undefined
}

/**
 * A step, built by a constructor, not a literal: V8 may decide that a literal's objects outlive the
 * young generation and allocate them in the old one from then on; a dead step there keeps its young
 * text and latent alive through later scavenges (docs/performance.md, "Measuring, sixth pass").
 */
const stepOf = (text: string, tokens: number, latent: SimLatent): Step => {
  const step = new Object() as { text: string; tokens: number; latent: SimLatent }
  step.text = text
  step.tokens = tokens
  step.latent = latent
  return step
}

/** Renders a run of latents as steps, stopping at the final step, after one step (until "step") or at maxTokens. */
const render = (world: World, latents: Iterable<SimLatent>, until: "step" | "end", maxTokens: number): Generation => {
  const steps: Array<Step> = []
  let out = 0
  for (const latent of latents) {
    if (out >= maxTokens) return { steps, done: false, outputTokens: out, finishReason: "length" }
    const final = latent.depth === latent.length - 1
    const answer = final ? world.answers[latent.answer] : undefined
    const { text, tokens } = stepText(world, latent.hash, latent.depth, answer)
    if (out + tokens > maxTokens) {
      const room = maxTokens - out
      steps.push({ text: truncateTokens(text, room), tokens: room, latent: { ...latent, truncated: true } })
      return { steps, done: false, outputTokens: maxTokens, finishReason: "length" }
    }
    steps.push(stepOf(text, tokens, latent))
    out += tokens
    if (final && answer !== undefined) return { steps, done: true, answer, outputTokens: out, finishReason: "end" }
    if (until === "step") return { steps, done: false, outputTokens: out, finishReason: "step" }
  }
  return { steps, done: false, outputTokens: out, finishReason: "step" }
}

/** The lineage from `parent` on: child after child, as far as the consumer reads. */
function* lineage(world: World, parent: SimLatent | undefined, first: number, greedy: boolean): Generator<SimLatent> {
  let h = first
  let p = parent
  while (true) {
    const latent = childStep(world, h, p)
    yield latent
    if (latent.depth === latent.length - 1) return
    p = latent
    h = hash32(h, greedy ? GREEDY : 0)
  }
}

/** A truncated final step is completed by a short closing step that states the answer. */
const closing = (world: World, latent: SimLatent, maxTokens: number): Generation => {
  const answer = world.answers[latent.answer] ?? ""
  const text = finalSentence(answer).trimStart()
  const tokens = countTokens(text)
  const done = { ...latent, truncated: false }
  if (tokens > maxTokens)
    return {
      steps: [{ text: truncateTokens(text, maxTokens), tokens: maxTokens, latent: { ...done, truncated: true } }],
      done: false,
      outputTokens: maxTokens,
      finishReason: "length"
    }
  return { steps: [{ text, tokens, latent: done }], done: true, answer, outputTokens: tokens, finishReason: "end" }
}

/**
 * Serves a generation request. Fails (with a message for an `InvalidRequest`) on a malformed
 * request, a prefix or previous attempt that is not a simulated one of this problem, or a prefix
 * that is already complete.
 *
 * @example
 * const result = generate(world, { problem, prefix: undefined, n: 4, until: "end", temperature: 0.8, maxTokens: 4096, seed: 1n }, 4096)
 * // Result.succeed({ generations: [4 complete solutions], inputTokens })
 */
export const generate = (
  world: World,
  request: GenerateRequest,
  maxTokensCap: number
): Result.Result<GenerateResult, string> => {
  const bad = checkRequest(request)
  if (bad !== undefined) return Result.fail(bad)
  const maxTokens = Math.min(request.maxTokens, maxTokensCap)
  const greedy = request.temperature === 0
  const root = seed32(request.seed)
  // continuation i of a request that starts at `index` is continuation index + i of its seed
  const offset = request.index ?? 0
  const generations: Array<Generation> = []

  if (request.context !== undefined) {
    const last = request.context[request.context.length - 1]
    let prevLatent: SimLatent | undefined
    if (last !== undefined) {
      const latent = candidateLatent(world, last, "previous attempt")
      if (Result.isFailure(latent)) return Result.fail(`context.${request.context.length - 1}: ${latent.failure}`)
      prevLatent = latent.success
    }
    const prev =
      prevLatent === undefined
        ? undefined
        : {
            firstError: prevLatent.firstError,
            answer: prevLatent.answer,
            length: prevLatent.length,
            stuck: prevLatent.stuck === true
          }
    for (let i = 0; i < request.n; i++) {
      const r = greedy ? hash32(prevLatent?.hash ?? world.rev, GREEDY) : hash32(root, offset + i)
      generations.push(render(world, reviseAttempt(world, r, prev), "end", maxTokens))
    }
  } else {
    let parent: SimLatent | undefined
    if (request.prefix !== undefined && request.prefix.steps !== undefined) {
      const latent = candidateLatent(world, request.prefix, "prefix")
      if (Result.isFailure(latent)) return Result.fail(`prefix: ${latent.failure}`)
      parent = latent.success
      if (parent.depth === parent.length - 1 && !parent.truncated)
        return Result.fail(`prefix: candidate ${request.prefix.id} is already complete`)
    }
    for (let i = 0; i < request.n; i++) {
      if (parent?.truncated && parent.depth === parent.length - 1) {
        generations.push(closing(world, parent, maxTokens))
        continue
      }
      const first = greedy ? hash32(parent?.hash ?? world.tree, GREEDY) : hash32(root, offset + i)
      generations.push(render(world, lineage(world, parent, first, greedy), request.until, maxTokens))
    }
  }
  return Result.succeed({ generations, inputTokens: promptTokens(request.problem, request.prefix, request.context) })
}
