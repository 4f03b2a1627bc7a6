/**
 * The simulated generative verifier (`src/services/GenVerify.ts`): a model of LLM-as-a-judge and
 * of a ThinkPRM-style verification chain of thought, reading the candidate's latent as the PRM does
 * (`Prm.ts`) but with the strengths the literature reports for verifiers that reason: it reads the
 * whole solution, so its noise grows with difficulty three times more slowly than the PRM's
 * (sd = 0.6 + 0.8·δ logit units against the PRM's 0.6 + 2.4·δ by default), and a persuasive wrong
 * lineage fools it a quarter as much (a bonus of 0.25·the PRM's). So it is about as good as the PRM
 * on easy questions and better on hard ones — and it pays for it in tokens: a verification chain
 * writes ~40–110 tokens per step of the solution (longer on harder problems), a judge ~30.
 *
 * Each call draws a systematic judgement per candidate (`uniform(step hash, T_GV)`: every sample
 * of one candidate shares it, as samples of one model share its blind spots) and per sample a noise
 * of its own, scaled by the temperature (none at 0), from the call's seed and the sample's index —
 * so sample i is the same whatever `n` is. A judge rates 1 + round(9·p); a chain says yes when p >
 * 0.5, and when it says no it names the lineage's first wrong step (a random one for a right
 * lineage). Replies are written in the format `GenVerify.parseVerdict` reads, counted by the
 * simulated tokenizer and cut at `maxTokens` (a cut chain loses its verdict). Nothing here is drawn
 * for requests without `verify`, so the simulator's numbers for other runs are unchanged.
 *
 * ThinkPRM's P("yes") (`verify.verdict: "probability"`): the chain's verdict token is "yes" exactly
 * when p > 0.5, so the probability the sample puts on "yes" at that token is p itself — the same
 * belief its written verdict rounds (`Generation.verdictYes` = p, for a chain not cut before its
 * verdict). Nothing new is drawn: the written replies, and every parsed score, stay as they were.
 *
 * @since 0.5.0
 */
import { Result } from "effect"
import { hash32, seed32, uniform } from "../../src/domain/Hash.ts"
import type { GenerateRequest, GenerateResult, Generation } from "../../src/services/Generator.ts"
import { judgeText, thinkText, verifyPrompt } from "../../src/services/GenVerify.ts"
import { lastLatent } from "./Latent.ts"
import { countTokens, truncateTokens } from "./Tokens.ts"
import type { World } from "./World.ts"

/** The systematic judgement of a candidate, and a sample's noise. */
const T_GV = 0x6e7f0001
const T_GV_SAMPLE = 0x6e7f0002
const T_GV_STEP = 0x6e7f0003

/** √3/π: scales a standard logistic variable to unit variance. */
const LOGI = Math.sqrt(3) / Math.PI

/** The generative verifier's noise: sd = SD0 + SD1·δ (the PRM's default slope is 2.4). */
export const SD0 = 0.6
export const SD1 = 0.8
/** How much of the PRM's persuasive bonus fools it. */
export const PERSUASION = 0.25
/** A sample's own noise at temperature ≥ 1, in logit units. */
export const SAMPLE_SD = 1

/** What a verification chain writes for one step: one sentence per repeat (1 + ⌊2δ⌋ repeats). */
const CHECK =
  "Let me recompute this step from the previous ones and check every quantity it uses against the problem statement."

const logit = (u: number): number => Math.log(u / (1 - u))

const promptOf = (request: GenerateRequest): string =>
  request.verify === undefined
    ? ""
    : `<|im_start|>user\n${verifyPrompt(request.problem.question, request.verify)}<|im_end|>\n<|im_start|>assistant\n`

/**
 * Exact prompt tokens of a verification request.
 *
 * @example
 * verifyPromptTokens(request) > 0 // true
 */
export const verifyPromptTokens = (request: GenerateRequest): number => countTokens(promptOf(request))

/**
 * The probability the verifier's sample `i` gives that the candidate is right (see the module doc).
 *
 * @example
 * judgedRight(world, latent, seed, 0, 0) // in (0, 1)
 */
export const judgedRight = (
  world: World,
  latent: { readonly hash: number; readonly state: 0 | 1 | 2 },
  seed: number,
  index: number,
  temperature: number
): number => {
  const prm = world.config.prm
  const m = latent.state === 0 ? prm.muRight : latent.state === 1 ? prm.muWrong : prm.muRight + PERSUASION * world.bonus
  const sd = SD0 + SD1 * world.delta
  const systematic = sd * LOGI * logit(uniform(latent.hash, T_GV))
  const own = Math.min(1, temperature) * SAMPLE_SD * LOGI * logit(uniform(hash32(seed, index), T_GV_SAMPLE))
  return 1 / (1 + Math.exp(-(m + systematic + own)))
}

/**
 * The verification call's generations (see the module doc), or why the request cannot be served.
 *
 * @example
 * verifyGeneration(world, { ...request, verify: { style: "think", steps, candidate } })
 */
export const verifyGeneration = (world: World, request: GenerateRequest): Result.Result<GenerateResult, string> => {
  const task = request.verify
  if (task === undefined) return Result.fail("not a verification request")
  const candidate = task.candidate
  const latent = candidate === undefined ? undefined : lastLatent(candidate)
  if (latent === undefined)
    return Result.fail(
      `verify: candidate ${candidate?.id ?? "(none)"} has no simulator latent (was it produced by another backend?)`
    )
  if (latent.world !== world.ph)
    return Result.fail(`verify: candidate ${candidate?.id ?? ""} was generated for another problem or world`)
  const seed = seed32(request.seed)
  const first = request.index ?? 0
  const n = task.steps.length
  const repeats = 1 + Math.floor(2 * world.delta)
  const check = Array.from({ length: repeats }, () => CHECK).join(" ")
  const generations: Array<Generation> = []
  for (let i = 0; i < request.n; i++) {
    const p = judgedRight(world, latent, seed, first + i, request.temperature)
    let text: string
    if (task.style === "judge") text = judgeText(Math.max(1, Math.min(10, 1 + Math.round(9 * p))))
    else {
      const right = p > 0.5
      // a "no" names the lineage's first wrong step (a random step of a right lineage)
      const wrongAt = right
        ? -1
        : latent.state !== 0
          ? Math.min(latent.firstError, n - 1)
          : Math.floor(uniform(hash32(seed, first + i), T_GV_STEP) * n)
      text = thinkText(
        Array.from({ length: n }, (_, k) => k !== wrongAt),
        right,
        check
      )
    }
    const full = countTokens(text)
    const cut = full > request.maxTokens
    const out = cut ? truncateTokens(text, request.maxTokens) : text
    const outputTokens = cut ? countTokens(out) : full
    // the verdict token's P("yes"): the belief the written verdict rounds (a cut chain has no verdict token)
    const yes = task.style === "think" && task.verdict === "probability" && !cut ? { verdictYes: p } : {}
    generations.push({
      steps: [{ text: out, tokens: outputTokens }],
      done: true,
      outputTokens,
      finishReason: cut ? "length" : "end",
      ...yes
    })
  }
  return Result.succeed({ generations, inputTokens: verifyPromptTokens(request) })
}
