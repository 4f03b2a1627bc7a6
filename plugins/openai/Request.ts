/**
 * A generation request as an HTTP request body (pure). Whole solutions and revisions go through
 * `/v1/chat/completions`; continuing a partial solution (a step, or the rest of a beam) goes
 * through `/v1/completions` with the problem rendered under the model's chat template and the
 * partial solution appended, or through chat with vLLM's `continue_final_message`. A step stops at
 * the step delimiter, kept in the output where the server can keep it.
 *
 * @since 0.1.0
 */
import * as Steps from "../../src/domain/Steps.ts"
import type { GenerateRequest, ThinkRequest } from "../../src/services/Generator.ts"
import * as Prompt from "../../src/services/Prompt.ts"
import type { ResolvedOpenAiConfig } from "./Config.ts"
import type { ChatBody, CompletionBody, SamplingBody, TokenizeBody } from "./Wire.ts"

/** Where a request goes and what the model reads. */
export type Route =
  | { readonly kind: "chat"; readonly messages: ReadonlyArray<Prompt.Message>; readonly continueFinal: boolean }
  | { readonly kind: "completion"; readonly prompt: string }

/** Why a request cannot be sent to this server. */
export interface Refusal {
  readonly message: string
}

/**
 * The route of a request, or why this server cannot serve it (a continuation on a server with
 * `stepMode: "none"`).
 *
 * @example
 * const route = routeOf(config, { ...request, until: "end", prefix: undefined })
 * "kind" in route ? route.kind : route.message // "chat"
 */
export const routeOf = (config: ResolvedOpenAiConfig, request: GenerateRequest): Route | Refusal => {
  const msgs = Prompt.requestMessages(request, config.system)
  if (request.think !== undefined) {
    const partial = thinkingText(config, request.think)
    switch (config.stepMode) {
      case "none":
        return {
          message: `the ${config.server} server cannot continue a partial answer (no raw completions under a chat template, no continue_final_message), so budget forcing (a thinking phase: continuing or closing the thinking) is refused; set stepMode in the backend config if your server can`
        }
      case "completions":
        return { kind: "completion", prompt: Prompt.render(config.template, msgs, partial) }
      case "continue":
        return { kind: "chat", messages: [...msgs, { role: "assistant", content: partial }], continueFinal: true }
    }
  }
  const continuing = request.prefix !== undefined || request.until === "step"
  if (!continuing) return { kind: "chat", messages: msgs, continueFinal: false }
  const partial = Prompt.continuation(request.prefix, config.stepDelimiter)
  switch (config.stepMode) {
    case "none":
      return {
        message: `the ${config.server} server cannot continue a partial solution (no raw completions under a chat template, no continue_final_message), so step-level search (beam search, lookahead, DVTS, particle filtering) is refused; set stepMode in the backend config if your server can`
      }
    case "completions":
      return { kind: "completion", prompt: Prompt.render(config.template, msgs, partial) }
    case "continue":
      // an empty final message cannot be continued: open the assistant's turn instead
      return partial === ""
        ? { kind: "chat", messages: msgs, continueFinal: false }
        : { kind: "chat", messages: [...msgs, { role: "assistant", content: partial }], continueFinal: true }
  }
}

/**
 * What the model reads of a thinking sample after the chat template's assistant head: the open tag
 * and the thinking so far; for the answer phase also the close tag (the end of thinking, forced or
 * natural) and a blank line, after which the model writes its answer.
 *
 * @example
 * thinkingText(config, { phase: "answer", text: "So x = 2.\nWait", tokens: 5, waits: 1 }) // "<think>\nSo x = 2.\nWait\n</think>\n\n"
 */
export const thinkingText = (config: Pick<ResolvedOpenAiConfig, "thinkTags">, think: ThinkRequest): string => {
  const { open, close } = config.thinkTags
  if (think.phase === "think") return `${open}\n${think.text}`
  const joint = think.text === "" || /\s$/u.test(think.text) ? "" : "\n"
  return `${open}\n${think.text}${joint}${close}\n\n`
}

export const isRefusal = (r: Route | Refusal): r is Refusal => !("kind" in r)

/**
 * The seed of continuation `i` of a request as a non-negative 31-bit integer, accepted by every
 * server: the request's seed for a single request with `n`, and a distinct seed per request when
 * the n continuations are separate requests.
 *
 * @example
 * seedOf(5n, 0) // 5
 */
export const seedOf = (seed: bigint, i: number): number =>
  Number((BigInt.asUintN(64, seed) + BigInt(i) * 0x9e3779b97f4a7c15n) % 2147483647n)

/** The text of the partial solution a request continues ("" for a fresh one). */
export const prefixText = (config: ResolvedOpenAiConfig, request: GenerateRequest): string =>
  Steps.text(request.prefix?.steps, config.stepDelimiter)

const sampling = (
  config: ResolvedOpenAiConfig,
  request: GenerateRequest,
  n: number,
  seedIndex: number
): SamplingBody => ({
  model: config.model,
  ...(n > 1 ? { n } : {}),
  temperature: request.temperature,
  ...(config.topP === undefined ? {} : { top_p: config.topP }),
  max_tokens: request.maxTokens,
  ...(config.seeded ? { seed: seedOf(request.seed, seedIndex) } : {}),
  ...(request.until === "step"
    ? {
        stop: [config.stepDelimiter],
        ...(config.keepStop === "include_stop_str_in_output" ? { include_stop_str_in_output: true } : {}),
        ...(config.keepStop === "no_stop_trim" ? { no_stop_trim: true } : {})
      }
    : {})
})

/**
 * The body of one HTTP request: `n` continuations (n > 1 only on servers that support it),
 * seeded with continuation `seedIndex`'s seed.
 *
 * @example
 * bodyOf(config, request, route, 4, 0) // { model, n: 4, temperature, max_tokens, seed, stop: ["\n\n"], … }
 */
export const bodyOf = (
  config: ResolvedOpenAiConfig,
  request: GenerateRequest,
  route: Route,
  n: number,
  seedIndex: number
): ChatBody | CompletionBody => {
  // a think phase stops where the model ends its thinking (the close tag)
  const base: SamplingBody =
    request.think?.phase === "think"
      ? { ...sampling(config, request, n, seedIndex), stop: [config.thinkTags.close] }
      : sampling(config, request, n, seedIndex)
  const top = topOf(config, request)
  if (route.kind === "completion")
    return {
      ...base,
      prompt: route.prompt,
      ...(top === undefined ? {} : { logprobs: top }),
      // the rendered template carries its own special tokens (e.g. Llama 3's BOS)
      ...(config.server === "vllm" ? { add_special_tokens: false } : {})
    }
  return {
    ...base,
    messages: route.messages,
    ...(top === undefined ? {} : { logprobs: true, top_logprobs: top }),
    ...(route.continueFinal ? { continue_final_message: true, add_generation_prompt: false } : {})
  }
}

/** How many top log-probabilities to ask for: the configured count, or more if the request asks. */
const topOf = (config: ResolvedOpenAiConfig, request: GenerateRequest): number | undefined =>
  config.logprobs === undefined ? request.logprobs : Math.max(config.logprobs, request.logprobs ?? 0)

/** The `/tokenize` body that counts exactly what a route's model reads. */
export const tokenizeBodyOf = (config: ResolvedOpenAiConfig, route: Route): TokenizeBody =>
  route.kind === "completion"
    ? { model: config.model, prompt: route.prompt, add_special_tokens: false }
    : route.continueFinal
      ? { model: config.model, messages: route.messages, continue_final_message: true }
      : { model: config.model, messages: route.messages, add_generation_prompt: true }

/** A cache key for a route's prompt. */
export const promptKey = (route: Route): string =>
  route.kind === "completion" ? `c:${route.prompt}` : `m:${route.continueFinal}:${JSON.stringify(route.messages)}`

const encoder = new TextEncoder()

/**
 * An upper bound on a route's prompt tokens before its exact count is known: the UTF-8 bytes of
 * what the model reads, plus 128 for what a server's template may add (special tokens, a date line). Byte-level BPE
 * (Llama 3, Qwen, GPT) and byte-fallback SentencePiece tokenizers never make more tokens than
 * bytes, so a reservation of this bound is never exceeded.
 *
 * @example
 * promptBound({ kind: "completion", prompt: "abc" }) // 131
 */
export const promptBound = (route: Route): number => {
  const text = route.kind === "completion" ? route.prompt : Prompt.render("chatml", route.messages, "")
  return encoder.encode(text).length + 128
}
