/** The pure pieces of the simulator: distractors, tokenizer, step text, latents, lengths. */
import { describe, expect, it } from "@effect/vitest"
import fc from "fast-check"
import { makeDistractors, syntheticGold } from "../../plugins/simulated/Distractors.ts"
import { decodeConfigUnsafe, defaultConfig, isSimLatent } from "../../plugins/simulated/index.ts"
import { reviseAttempt } from "../../plugins/simulated/Revision.ts"
import { stepBodyTokens, stepText } from "../../plugins/simulated/Text.ts"
import { countTokens, truncateTokens } from "../../plugins/simulated/Tokens.ts"
import { childStep } from "../../plugins/simulated/Transition.ts"
import { drawDistractor, makeWorld } from "../../plugins/simulated/World.ts"
import { mathAnswerKey } from "../../src/answer/MathGrader.ts"
import { hash32 } from "../../src/domain/Hash.ts"

/** The value of a plain numeric answer (integer, decimal, a/b, \frac{a}{b}), or undefined. */
const numericValue = (s: string): number | undefined => {
  const t = s.trim()
  if (/^-?\d+(\.\d+)?$/u.test(t)) return Number(t)
  const f = /^(-?)\\frac\{(\d+)\}\{(\d+)\}$/u.exec(t) ?? /^(-?)()(\d+)\/(\d+)$/u.exec(t)
  if (f) return (f[1] === "-" ? -1 : 1) * (Number(f[2] || f[3]) / Number(f[f.length - 1]))
  return undefined
}

describe("distractors", () => {
  it("numeric golds: K distinct values, none equal to the gold", () => {
    for (const gold of [
      "42",
      "0",
      "-50",
      "2220",
      "0.5",
      "3.75",
      "-0.05",
      "\\frac{14}{3}",
      "-\\frac{1}{2}",
      "3/56",
      "1"
    ]) {
      const ds = makeDistractors(gold, 16, 12345)
      expect(ds.length).toBe(16)
      const values = ds.map(numericValue)
      for (const v of values) expect(v, `${gold}: ${ds.join(" | ")}`).toBeDefined()
      const g = numericValue(gold) ?? Number.NaN
      for (const v of values) expect(Math.abs((v ?? g) - g)).toBeGreaterThan(1e-12)
      expect(new Set(values.map((v) => v?.toFixed(12))).size).toBe(16)
    }
  })

  it("decimals stay decimals, fractions stay reduced fractions", () => {
    for (const d of makeDistractors("0.5", 16, 1)) expect(d).toMatch(/^-?\d+(\.\d+)?$/u)
    for (const d of makeDistractors("\\frac{14}{3}", 16, 1)) {
      const m = /\\frac\{(\d+)\}\{(\d+)\}/u.exec(d)
      if (m) {
        const [p, q] = [Number(m[1]), Number(m[2])]
        const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b))
        expect(gcd(p, q)).toBe(1)
      }
    }
  })

  it("non-numeric golds: K distinct structural variants, never the gold", () => {
    const golds = [
      "\\left( 3, \\frac{\\pi}{2} \\right)",
      "p - q",
      "\\text{Evelyn}",
      "90^\\circ",
      "3\\sqrt{13}",
      "x=5",
      "1,-2",
      "\\text{(C)}",
      "B",
      "\\pi"
    ]
    for (const gold of golds) {
      const ds = makeDistractors(gold, 16, 99)
      expect(ds.length).toBe(16)
      expect(new Set(ds).size).toBe(16)
      expect(ds).not.toContain(gold)
    }
    // v2's 64 distractors of the golds whose variants a MATH grader once proved equal to the gold:
    // a unit's exponent (stripped with the unit) and a brace-less fraction
    for (const gold of ["864 \\mbox{ inches}^2", "15\\mbox{ cm}^2", "\\frac 34"]) {
      const ds = makeDistractors(gold, 64, 7)
      expect(ds.length).toBe(64)
      for (const d of ds) expect(mathAnswerKey.equivalent(gold, d), `${gold} vs ${d}`).toBe(false)
    }
    expect(makeDistractors("\\frac 34", 8, 1)).toContain("\\frac{3}{2}")
    expect(makeDistractors("15\\mbox{ cm}^2", 8, 1)).toContain("16\\mbox{ cm}^2")
    expect(makeDistractors("\\text{(C)}", 4, 5).slice().sort()).toEqual([
      "\\text{(A)}",
      "\\text{(B)}",
      "\\text{(D)}",
      "\\text{(E)}"
    ])
  })

  it("the most popular distractor differs across problems; a synthetic gold is an integer", () => {
    const tops = new Set(Array.from({ length: 40 }, (_, i) => makeDistractors("42", 16, hash32(7, i))[0]))
    expect(tops.size).toBeGreaterThan(3)
    expect(syntheticGold(123)).toMatch(/^\d+$/u)
  })

  it("v1's distractor draw is skewed: distractor 1 takes about 20% of wrong answers", () => {
    const w = makeWorld(decodeConfigUnsafe({ model: "v1" }), { id: "p", question: "", meta: { level: 3, index: 1 } })
    const counts = new Array(17).fill(0)
    for (let i = 0; i < 20_000; i++) counts[drawDistractor(w.zcum, (i + 0.5) / 20_000)]++
    expect(counts[0]).toBe(0)
    expect(counts[1] / 20_000).toBeCloseTo(0.202, 2)
    expect(counts[1]).toBeGreaterThan(counts[2])
    expect(counts[2]).toBeGreaterThan(counts[16])
  })

  it("v2's wrong answers spread out as δ grows: the top distractor's share falls from ~9% to ~2%, z is clipped at 0", () => {
    const share = (difficulty: number) => {
      const w = makeWorld(defaultConfig, { id: "p", question: "", meta: { difficulty, index: 1 } })
      expect(w.zcum.length).toBe(64)
      return { z: w.zipf, top: w.zcum[0] ?? Number.NaN, last: 1 - (w.zcum[62] ?? Number.NaN) }
    }
    const easy = share(0.1)
    const hard = share(0.7)
    expect(easy.z).toBeCloseTo(0.615, 12)
    expect(easy.top).toBeGreaterThan(0.08)
    expect(easy.top).toBeLessThan(0.11)
    expect(hard.top).toBeGreaterThan(0.015)
    expect(hard.top).toBeLessThan(0.025)
    expect(easy.top).toBeGreaterThan(easy.last * 5)
    // from δ = 0.7/0.85 on, every distractor is equally likely
    const flat = share(0.9)
    expect(flat.z).toBe(0)
    expect(flat.top).toBeCloseTo(1 / 64, 12)
  })
})

describe("tokenizer", () => {
  it("splits words with their space, ≤ 3 digits, LaTeX commands, punctuation, whitespace runs", () => {
    expect(countTokens("")).toBe(0)
    expect(countTokens("Step 1: let $x = 12345$.")).toBe(11)
    expect(countTokens("\\frac{1}{2}")).toBe(7)
    expect(countTokens("a\n\nb")).toBe(3)
    expect(truncateTokens("one two three", 2)).toBe("one two")
    expect(truncateTokens("one two", 0)).toBe("")
  })

  it("truncation keeps exactly k tokens (property)", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), fc.nat(60), (text, k) => {
        const cut = truncateTokens(text, k)
        expect(text.startsWith(cut)).toBe(true)
        expect(countTokens(cut)).toBe(Math.min(k, countTokens(text)))
      }),
      { numRuns: 300 }
    )
  })
})

describe("step text", () => {
  const world = makeWorld(defaultConfig, { id: "p", question: "", gold: "\\frac{14}{3}", meta: { level: 4, index: 3 } })

  it("token counts are exact, steps are numbered, the final step boxes the answer (property)", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffffffff }), fc.nat(12), fc.boolean(), (h, depth, final) => {
        const { text, tokens } = stepText(world, h, depth, final ? "\\frac{14}{3}" : undefined)
        expect(countTokens(text)).toBe(tokens)
        expect(text.startsWith(`Step ${depth + 1}:`)).toBe(true)
        expect(/^\s|\s$/u.test(text)).toBe(false)
        if (final) expect(text.endsWith("Therefore, the final answer is $\\boxed{\\frac{14}{3}}$.")).toBe(true)
        else expect(text).not.toContain("boxed")
        expect(stepText(world, h, depth, undefined).text).toBe(stepText(world, h, depth, undefined).text)
      }),
      { numRuns: 300 }
    )
  })

  it("steps are tens to ~200 tokens and grow with difficulty", () => {
    const mean = (difficulty: number) => {
      const w = makeWorld(defaultConfig, { id: "p", question: "", meta: { difficulty, index: 1 } })
      let total = 0
      for (let i = 0; i < 2000; i++) total += stepText(w, hash32(5, i), 1, undefined).tokens
      return total / 2000
    }
    const easy = mean(0.1)
    const hard = mean(0.9)
    expect(easy).toBeGreaterThan(35)
    expect(hard).toBeGreaterThan(easy + 30)
    expect(hard).toBeLessThan(150)
    for (let i = 0; i < 2000; i++) {
      const n = stepBodyTokens(world, hash32(9, i))
      expect(n).toBeGreaterThanOrEqual(defaultConfig.text.minStepTokens)
      expect(n).toBeLessThanOrEqual(defaultConfig.text.maxStepTokens)
    }
  })
})

describe("latents and lengths", () => {
  const world = makeWorld(defaultConfig, { id: "p", question: "", meta: { level: 3, index: 10 } })

  it("generated latents pass the guard; malformed ones do not", () => {
    const first = childStep(world, 17, undefined)
    expect(isSimLatent(first)).toBe(true)
    expect(isSimLatent(childStep(world, 18, first))).toBe(true)
    for (const step of reviseAttempt(world, 99, { firstError: 1, answer: 2, length: world.L }))
      expect(isSimLatent(step)).toBe(true)
    for (const bad of [
      undefined,
      null,
      3,
      {},
      { ...first, state: 3 },
      { ...first, depth: first.length },
      { ...first, hash: -1 }
    ])
      expect(isSimLatent(bad)).toBe(false)
    expect(isSimLatent({ ...first, state: 0, answer: 2 })).toBe(false)
  })

  it("lineage lengths vary by ±1 around L by default, and equal L with jitter 0", () => {
    const lengths = new Set(Array.from({ length: 300 }, (_, i) => childStep(world, hash32(1, i), undefined).length))
    expect([...lengths].sort()).toEqual([world.L - 1, world.L, world.L + 1])
    const flat = makeWorld(decodeConfigUnsafe({ length: { jitter: 0 } }), {
      id: "p",
      question: "",
      meta: { level: 3, index: 10 }
    })
    for (let i = 0; i < 100; i++) expect(childStep(flat, hash32(1, i), undefined).length).toBe(flat.L)
  })

  it("jittered lengths keep pass@1 at s", () => {
    const w = makeWorld(defaultConfig, { id: "p", question: "", meta: { difficulty: 0.3, index: 4 } })
    let right = 0
    const n = 40_000
    for (let i = 0; i < n; i++) {
      let h = hash32(3, i)
      let l = childStep(w, h, undefined)
      while (l.depth < l.length - 1) {
        h = hash32(h, 0)
        l = childStep(w, h, l)
      }
      if (l.answer === 0) right++
    }
    expect(Math.abs(right / n - w.s)).toBeLessThan(0.015)
  })

  it("explicit difficulty overrides the level; a missing level is the default level", () => {
    const w = makeWorld(defaultConfig, { id: "p", question: "", meta: { level: 1, difficulty: 0.8 } })
    expect(w.delta).toBe(0.8)
    const d = makeWorld(defaultConfig, { id: "p", question: "", meta: {} })
    expect(d.level).toBe(3)
    expect(d.delta).toBeGreaterThanOrEqual(0.4)
    expect(d.delta).toBeLessThanOrEqual(0.6)
  })
})
