/**
 * Approximate token counts for recorded text. A recording keeps no token ids and replay has no
 * model tokenizer, so counts are *approximate*: the regex tokenizer the simulated backend counts
 * with (`src/services/RegexTokens.ts`: a word with its leading space, up to three digits, a LaTeX
 * command such as `\frac`, one punctuation mark, or a whitespace run is one token). On Qwen2.5-Math
 * responses it is of the order of a BPE tokenizer's count (≈ 3 characters per token on LaTeX-heavy
 * text), not equal to it. Because counts are approximate, replay declares no `tokenizer` capability.
 *
 * @since 0.1.0
 */

export {
  /** approximate number of tokens of a text */
  countTokens as approximateTokens,
  truncateTokens
} from "../../src/services/RegexTokens.ts"
