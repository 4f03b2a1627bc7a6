/**
 * What a backend can do. The graph loader refuses a graph that needs a capability the chosen
 * backend lacks, naming both.
 *
 * @since 0.1.0
 */

/**
 * - `stepwise`: can continue a partial solution one step at a time (`until: "step"`) — needed by
 *   beam search, lookahead, DVTS, particle filtering;
 * - `revise`: can write a new attempt conditioned on previous attempts (sequential revisions);
 * - `seeded`: the same seed gives the same output, so runs are reproducible;
 * - `tokenizer`: input tokens are known exactly before a call (so input-token, FLOPs and USD
 *   limits can be enforced);
 * - `nSampling`: one call can return n samples;
 * - `logprobs`: gives its tokens' log-probabilities when asked (token confidence, DeepConf);
 * - `thinking`: thinks before answering, and continues or closes its thinking on request
 *   (`GenerateRequest.think`) — s1's budget forcing.
 */
export const CAPABILITIES = ["stepwise", "revise", "seeded", "tokenizer", "nSampling", "logprobs", "thinking"] as const

export type Capability = (typeof CAPABILITIES)[number]

/** What each capability means, for error messages and `mull graphs`. */
export const CAPABILITY_DESCRIPTIONS: Readonly<Record<Capability, string>> = {
  stepwise: "continue a partial solution one step at a time",
  revise: "write a new attempt conditioned on previous attempts",
  seeded: "reproduce an output from its seed",
  tokenizer: "count input tokens exactly before a call",
  nSampling: "return n samples from one call",
  logprobs: "give token log-probabilities (confidence) when asked",
  thinking: "think before answering, and continue or close the thinking on request (budget forcing)"
}
