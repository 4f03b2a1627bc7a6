/**
 * The CLI's error for bad input (a graph, a flag value, a data file): one `path: message` line per
 * problem, printed without a stack trace; the process exits with status 2.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"

export class InvalidInput extends Schema.TaggedError<InvalidInput>()("InvalidInput", {
  /** what was being read, e.g. `graph beam-search` or `--param` */
  subject: Schema.String,
  /** one `path: message` line per problem */
  problems: Schema.Array(Schema.String)
}) {
  override get message(): string {
    return `${this.subject}:\n${this.problems.join("\n")}`
  }
}
