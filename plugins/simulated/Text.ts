/**
 * Step text: "Step k: …" — math-flavoured prose and LaTeX of a realistic length, deterministic
 * from the step's node hash. The final step ends with "Therefore, the final answer is
 * $\boxed{ANSWER}$." so that answer extraction and grading run for real. A step's body has a
 * log-normal token length around `stepTokensBase + stepTokensPerDifficulty·δ`, clipped to
 * [minStepTokens, maxStepTokens]; the final step adds its answer sentence on top.
 *
 * @since 0.1.0
 */
import { uniform } from "../../src/domain/Hash.ts"
import { T_TEXT, T_TEXT_LEN_A, T_TEXT_LEN_B } from "./Tags.ts"
import { countTokens } from "./Tokens.ts"
import type { World } from "./World.ts"

const VARS = ["x", "y", "n", "a", "b", "k", "m", "t", "r", "d"]

type Draw = (lo: number, hi: number) => number

const SENTENCES: ReadonlyArray<(v: string, r: Draw) => string> = [
  (v, r) => ` We substitute $${v} = ${r(2, 99)}$ into the expression.`,
  (v, r) => ` This gives $${v}^2 + ${r(2, 20)}${v} = ${r(10, 999)}$.`,
  (v, r) => ` Simplifying, we get $${v} = \\frac{${r(1, 99)}}{${r(2, 30)}}$.`,
  (_, r) => {
    const a = r(2, 40)
    const b = r(2, 40)
    return ` Note that $${a} \\cdot ${b} = ${a * b}$.`
  },
  (v) => ` Since $${v} > 0$, we can divide both sides by $${v}$.`,
  (v, r) => {
    const a = r(2, 30)
    return ` Expanding, $(${v} + ${a})(${v} - ${a}) = ${v}^2 - ${a * a}$.`
  },
  (v) => ` Let us write the condition as an equation in $${v}$.`,
  (_, r) => {
    const n = r(3, 60)
    return ` The sum of the first ${n} terms is $\\frac{${n}(${n}+1)}{2} = ${(n * (n + 1)) / 2}$.`
  },
  () => " By the Pythagorean theorem, $a^2 + b^2 = c^2$.",
  (v) => ` Now we count the cases where $${v}$ is even.`,
  (v, r) => ` Combining like terms yields $${r(2, 30)}${v} - ${r(2, 200)} = 0$.`,
  (v, r) => ` Then $${v} = ${r(2, 99)}$ satisfies both equations.`,
  (_, r) => {
    const n = r(2, 40)
    return ` Taking the square root, $\\sqrt{${n * n}} = ${n}$.`
  },
  () => " We check that this value lies in the domain.",
  (v, r) => {
    const a = r(2, 12)
    const b = r(2, 50)
    return ` Multiplying both sides by $${a}$, we obtain $${v} = ${a * b}$.`
  },
  (_, r) => {
    const m = r(20, 999)
    const n = r(3, 19)
    return ` The remainder when $${m}$ is divided by $${n}$ is $${m % n}$.`
  },
  (_, r) => {
    const a = 2 * r(1, 20)
    const b = r(2, 30)
    return ` The area of the triangle is $\\frac{1}{2} \\cdot ${a} \\cdot ${b} = ${(a * b) / 2}$.`
  },
  (v) => ` Using the quadratic formula, $${v} = \\frac{-b \\pm \\sqrt{b^2 - 4ac}}{2a}$.`,
  (_, r) => ` So the probability is $\\frac{${r(1, 9)}}{${r(10, 99)}}$.`,
  (_, r) => {
    const a = r(2, 30)
    const b = r(2, 30)
    return ` In total, there are $${a} \\times ${b} = ${a * b}$ possibilities.`
  },
  (v, r) => ` We know that $\\sin^2 ${v} + \\cos^2 ${v} = 1$, so $\\cos ${v} = \\frac{${r(1, 12)}}{13}$.`,
  (v, r) => ` The function $f(${v}) = ${v}^3 - ${r(2, 9)}${v}$ is increasing for $${v} > ${r(1, 5)}$.`,
  (v, r) => ` Let $${v}$ be the number of ways to choose the remaining ${r(2, 9)} items.`,
  (_, r) => ` By symmetry, it suffices to consider the case $a \\le b \\le c$ with $a + b + c = ${r(6, 60)}$.`
]

const FILLERS = [" Indeed.", " This works.", " We simplify.", " So far so good.", " Let us double-check this."]
const FILLER_TOKENS = FILLERS.map(countTokens)

/**
 * The body length (tokens, header included) of the step with node hash `hash`.
 *
 * @example
 * stepBodyTokens(world, latent.hash) // ≈ 50 + 70·δ
 */
export const stepBodyTokens = (world: World, hash: number): number => {
  const t = world.config.text
  const u1 = uniform(hash, T_TEXT_LEN_A)
  const u2 = uniform(hash, T_TEXT_LEN_B)
  const z = Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2)
  const mean = t.stepTokensBase + t.stepTokensPerDifficulty * world.delta
  return Math.min(t.maxStepTokens, Math.max(t.minStepTokens, Math.round(mean * Math.exp(t.stepTokensSpread * z))))
}

/** The sentence that ends a final step. */
export const finalSentence = (answer: string): string => ` Therefore, the final answer is $\\boxed{${answer}}$.`

/**
 * The text of a step and its exact token count (`countTokens(text) === tokens`).
 *
 * @example
 * stepText(world, latent.hash, 0, undefined).text // "Step 1: We substitute $x = 17$ into …"
 * stepText(world, latent.hash, 5, "42").text.endsWith("$\\boxed{42}$.") // true
 */
export const stepText = (
  world: World,
  hash: number,
  depth: number,
  finalAnswer: string | undefined
): { readonly text: string; readonly tokens: number } => {
  const seed = uniform(hash, T_TEXT) * 4294967296
  let k = 0
  const next = () => uniform(seed >>> 0, k++)
  const draw: Draw = (lo, hi) => lo + Math.floor(next() * (hi - lo + 1))
  const target = stepBodyTokens(world, hash)
  const parts = [`Step ${depth + 1}:`]
  let tokens = countTokens(parts[0] ?? "")
  let misses = 0
  while (misses < 4 && tokens < target) {
    const make = SENTENCES[Math.floor(next() * SENTENCES.length)] ?? SENTENCES[0]
    const v = VARS[Math.floor(next() * VARS.length)] ?? "x"
    const sentence = make ? make(v, draw) : ""
    const n = countTokens(sentence)
    if (tokens + n <= target) {
      parts.push(sentence)
      tokens += n
    } else misses++
  }
  for (let i = 0; i < FILLERS.length && tokens < target - 1; i++) {
    const j = (i + Math.floor(next() * FILLERS.length)) % FILLERS.length
    const n = FILLER_TOKENS[j] ?? 0
    if (tokens + n <= target) {
      parts.push(FILLERS[j] ?? "")
      tokens += n
    }
  }
  if (finalAnswer !== undefined) {
    const end = finalSentence(finalAnswer)
    parts.push(end)
    tokens += countTokens(end)
  }
  return { text: parts.join(""), tokens }
}
