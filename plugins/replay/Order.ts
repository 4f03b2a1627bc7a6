/**
 * The seeded order in which replay draws a pool's recorded responses: without replacement, a
 * permutation determined by the problem and the call's seed (a forward Fisher–Yates shuffle whose
 * uniforms come from `Hash.uniform`), so the first k of n draws are the same for any n < pool size.
 *
 * Drawing the whole pool (n = pool size) returns it in **recorded order**: every order of the
 * whole pool is the same multiset of responses, and recorded order is the one that reproduces
 * published figures (whose ties go to the response seen first).
 *
 * @since 0.1.0
 */
import { hash32, hashString32, seed32, uniform } from "../../src/domain/Hash.ts"

/**
 * The seeded permutation of `0 … size − 1` for a problem and a call seed.
 *
 * @example
 * permutation("qwen-pool/0", 7n, 8) // e.g. [5, 0, 3, 7, 1, 6, 2, 4]
 */
export const permutation = (problemId: string, seed: bigint, size: number): ReadonlyArray<number> => {
  const perm = Array.from({ length: size }, (_, i) => i)
  const h = hash32(seed32(seed), hashString32(problemId))
  for (let i = 0; i < size - 1; i++) {
    const j = i + Math.floor(uniform(h, i) * (size - i))
    const a = perm[i] ?? i
    perm[i] = perm[j] ?? j
    perm[j] = a
  }
  return perm
}

/**
 * The pool indices of `n` draws (0 ≤ n ≤ size): the first n of the seeded permutation, or the
 * whole pool in recorded order when n = size.
 *
 * @example
 * draw("qwen-pool/0", 7n, 8, 8) // [0, 1, 2, 3, 4, 5, 6, 7]
 * draw("qwen-pool/0", 7n, 8, 3) // the first 3 of permutation("qwen-pool/0", 7n, 8)
 */
export const draw = (problemId: string, seed: bigint, size: number, n: number): ReadonlyArray<number> =>
  n >= size ? Array.from({ length: size }, (_, i) => i) : permutation(problemId, seed, size).slice(0, n)
