/**
 * A bounded memo of judge scores by prompt: the PRM scores every step prefix of every candidate
 * each time a `score` node runs, so in a beam search all but the newest prefixes were judged in an
 * earlier round. A hit spends nothing (reported as the call's real spend); the logical cost on the
 * ledger is unchanged. The oldest entry goes first when the memo is full.
 *
 * @since 0.1.0
 */
export interface Memo {
  readonly get: (key: bigint) => number | undefined
  readonly set: (key: bigint, score: number) => void
  readonly size: () => number
}

/**
 * A memo of at most `capacity` scores, keyed by a 64-bit hash of the prompt's tokens
 * (`hash64(tokens)`).
 *
 * @example
 * const memo = makeMemo(2)
 * memo.set(hash64([1, 2]), 0.5)
 * memo.get(hash64([1, 2])) // 0.5
 */
export const makeMemo = (capacity: number): Memo => {
  const scores = new Map<bigint, number>()
  return {
    get: (key) => scores.get(key),
    set: (key, score) => {
      if (!scores.has(key) && scores.size >= capacity) {
        const oldest = scores.keys().next()
        if (oldest.done !== true) scores.delete(oldest.value)
      }
      scores.set(key, score)
    },
    size: () => scores.size
  }
}
