/**
 * The simulated tokenizer: the deterministic regex tokenizer of `src/services/RegexTokens.ts`. Its
 * counts are exact for the simulator (its text is made of these tokens), so the simulated backend
 * declares the `tokenizer` capability.
 *
 * @since 0.1.0
 */
export { countTokens, truncateTokens } from "../../src/services/RegexTokens.ts"
