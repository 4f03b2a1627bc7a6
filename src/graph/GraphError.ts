/**
 * The error of a graph that cannot be loaded or run: one `path: message` line per problem.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"

export class GraphError extends Schema.TaggedError<GraphError>()("GraphError", {
  /** the graph's name or file */
  graph: Schema.String,
  /** one `path: message` line per problem, paths like `root.nodes.2.body.keep` */
  problems: Schema.Array(Schema.String)
}) {
  override get message(): string {
    return `invalid graph ${this.graph}:\n${this.problems.map((p) => `  ${p}`).join("\n")}`
  }
}
