/**
 * The Tokenizer port: exact token counts, where the backend can give them.
 *
 * @since 0.1.0
 */
import { Context } from "effect"

export interface TokenizerShape {
  readonly name: string
  /** tokens of a text */
  readonly count: (text: string) => number
}

export class Tokenizer extends Context.Service<Tokenizer, TokenizerShape>()("mull/services/Tokenizer") {}
