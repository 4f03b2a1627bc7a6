/**
 * A trace file → the viewer's HTML page: parse the JSONL, build the tree (grouping answers with
 * the run's answer key), render the budget chart to SVG, and lay out the page.
 *
 * @since 0.1.0
 */
import { Effect, Result, Schema } from "effect"
import { budgetChart } from "../charts/BudgetChart.ts"
import * as Vega from "../charts/Vega.ts"
import { renderPage } from "./Page.ts"
import { parseTrace } from "./TraceEvent.ts"
import { type AnswerGrouping, buildTree, type TraceModel } from "./TraceTree.ts"

/** A trace that cannot be read: one `line N: message` per problem. */
export class TraceError extends Schema.TaggedError<TraceError>()("TraceError", {
  problems: Schema.Array(Schema.String)
}) {
  override get message(): string {
    return this.problems.join("\n")
  }
}

/**
 * Builds the viewer page of a JSONL trace.
 *
 * @example
 * const { html, model } = yield* tracePage(readFileSync("run.jsonl", "utf8"), mathAnswerKey)
 */
export const tracePage = Effect.fn("tracePage")(function* (
  text: string,
  grouping?: AnswerGrouping
): Effect.fn.Return<{ readonly html: string; readonly model: TraceModel }, TraceError> {
  const lines = parseTrace(text)
  if (Result.isFailure(lines)) return yield* new TraceError({ problems: lines.failure })
  const model = buildTree(lines.success, grouping)
  const svg =
    model.charges.length === 0 ? "" : yield* Vega.render(budgetChart(model.charges, model.run.limits), "budget")
  return { html: renderPage(model, svg), model }
})
