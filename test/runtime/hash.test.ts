/**
 * `hash64` seeds every backend call, so its values must never change: these were computed by the
 * first implementation (BigInt arithmetic over TextEncoder bytes) and pin the current one (32-bit
 * halves, ASCII hashed without encoding).
 */
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { hash64, seedOf } from "../../src/domain/Hash.ts"

describe("hash64", () => {
  it.each([
    [[0n, "test/algebra/1.json", "s0", "root.nodes.0"], 11317677611915985536n],
    [[7n, "gsm8k/12", "b3/s0.1.2~1", "root.nodes.1.body.nodes.2[beam-search].root"], 8939997249117143556n],
    [["énoncé", "中文", "😀", 42], 17394268218630105343n],
    [["x".repeat(300), 1], 114145238575108440n],
    [["é".repeat(200)], 11455999296943843676n],
    [[18446744073709551615n, -3, 0.5, ""], 11991833963336937082n]
  ] as const)("keeps its values (%#)", (parts, expected) => {
    expect(hash64(parts)).toBe(expected)
  })

  // the definition in BigInt arithmetic over encoded bytes: FNV-1a 64 over each part's 3-byte
  // length prefix, tag and UTF-8 text, then MurmurHash3's fmix64
  const reference = (parts: ReadonlyArray<string | number | bigint>): bigint => {
    const M = (1n << 64n) - 1n
    let h = 0xcbf29ce484222325n
    for (const part of parts) {
      const text = typeof part === "string" ? `s${part}` : `n${part.toString()}`
      const bytes = new TextEncoder().encode(text)
      const n = bytes.length
      for (const b of [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, ...bytes])
        h = ((h ^ BigInt(b)) * 0x100000001b3n) & M
    }
    h ^= h >> 33n
    h = (h * 0xff51afd7ed558ccdn) & M
    h ^= h >> 33n
    h = (h * 0xc4ceb9fe1a85ec53n) & M
    h ^= h >> 33n
    return h
  }

  it("is its definition in BigInt arithmetic (property)", () => {
    const part = fc.oneof(
      fc.string({ unit: "grapheme", maxLength: 40 }),
      fc.string({ maxLength: 40 }),
      fc.integer(),
      fc.bigInt({ min: 0n, max: (1n << 64n) - 1n })
    )
    fc.assert(
      fc.property(fc.array(part, { maxLength: 5 }), (parts) => {
        expect(hash64(parts)).toBe(reference(parts))
      })
    )
  })

  it("seedOf is the hash of its parts", () => {
    expect(seedOf(0, "test/algebra/1.json", "s0", "root.nodes.0")).toBe(11317677611915985536n)
  })

  // seedOf keeps the hash state of its last run seed and problem: whatever the order of calls,
  // each is still the hash of its own four parts
  it("seedOf is the hash of its parts in any sequence of calls (property)", () => {
    const text = fc.string({ unit: "grapheme", maxLength: 12 })
    const call = fc.tuple(
      fc.oneof(fc.integer({ min: 0, max: 3 }), fc.bigInt({ min: 0n, max: 3n }), fc.constant(2 ** 60)),
      fc.constantFrom("p", "q", "é"),
      text,
      text
    )
    fc.assert(
      fc.property(fc.array(call, { maxLength: 12 }), (calls) => {
        for (const [runSeed, problem, candidate, node] of calls)
          expect(seedOf(runSeed, problem, candidate, node)).toBe(
            hash64([Number.isSafeInteger(runSeed) ? runSeed : BigInt(runSeed), problem, candidate, node])
          )
      })
    )
  })
})
