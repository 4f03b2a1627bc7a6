/**
 * A deterministic regex tokenizer in the style of GPT-2/cl100k: a word with its leading space, up
 * to three digits, a LaTeX command (`\frac`), one punctuation mark, or a whitespace run is one
 * token. It is not any real model's tokenizer, but its counts are of the same order (≈ 4
 * characters per token on English, more tokens on LaTeX). The simulated backend counts with it
 * exactly; the replay backend approximates recorded text with it.
 *
 * @since 0.1.0
 */

const TOKEN = / ?\p{L}+| ?\p{N}{1,3}| ?\\[A-Za-z]+| ?[^\s\p{L}\p{N}]|\s+/gu

const SCAN = new RegExp(TOKEN)
const counts = new Map<string, number>()

/**
 * Number of tokens of a text.
 *
 * @example
 * countTokens("Step 1: let $x = 12345$.") // 11
 */
export const countTokens = (text: string): number => {
  // the same sentences and templates are counted again and again: remember short ones
  const cached = text.length <= 400 ? counts.get(text) : undefined
  if (cached !== undefined) return cached
  SCAN.lastIndex = 0
  let n = 0
  while (SCAN.exec(text) !== null) n++
  if (text.length <= 400) {
    if (counts.size >= 100_000) counts.clear()
    counts.set(text, n)
  }
  return n
}

/**
 * The longest prefix of a text with at most `tokens` tokens.
 *
 * @example
 * truncateTokens("one two three", 2) // "one two"
 */
export const truncateTokens = (text: string, tokens: number): string => {
  if (tokens <= 0) return ""
  const re = new RegExp(TOKEN)
  let n = 0
  let end = 0
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    end = m.index + m[0].length
    if (++n >= tokens) break
  }
  return text.slice(0, end)
}
