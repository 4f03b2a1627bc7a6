/**
 * Approximate token counts for recorded text. A recording keeps no token ids and replay has no
 * model tokenizer, so counts are *approximate*: the same deterministic rule as the simulated
 * backend's tokenizer (a word with its leading space, up to three digits, a LaTeX command such as
 * `\frac`, one punctuation mark, or a whitespace run is one token). On Qwen2.5-Math responses it
 * is of the order of a BPE tokenizer's count (≈ 3 characters per token on LaTeX-heavy text), not
 * equal to it. Because counts are approximate, replay declares no `tokenizer` capability.
 *
 * @since 0.1.0
 */

const TOKEN = / ?\p{L}+| ?\p{N}{1,3}| ?\\[A-Za-z]+| ?[^\s\p{L}\p{N}]|\s+/gu

/** The name of the approximate tokenizer, as the `Tokenizer` port reports it. */
export const TOKENIZER_NAME = "replay-approximate"

/**
 * Approximate number of tokens of a text.
 *
 * @example
 * approximateTokens("Step 1: let $x = 12345$.") // 11
 */
export const approximateTokens = (text: string): number => {
  const re = new RegExp(TOKEN)
  let n = 0
  while (re.exec(text) !== null) n++
  return n
}

/**
 * The longest prefix of a text with at most `tokens` approximate tokens.
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
