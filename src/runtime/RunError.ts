/**
 * Errors a run can end with. Running out of budget is *not* one of them: the run answers from
 * what exists and reports `exhausted: true`.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"
import type { BackendError } from "../services/BackendError.ts"

/** A numeric field evaluated at run time (it reads the population) gave a value its node cannot use. */
export class InvalidValue extends Schema.TaggedError<InvalidValue>()("InvalidValue", {
  path: Schema.String,
  problem: Schema.String
}) {
  override get message(): string {
    return `${this.path}: ${this.problem}`
  }
}

/** The budget cannot pay even for the first call of the graph: the run is refused before it starts. */
export class BudgetTooSmall extends Schema.TaggedError<BudgetTooSmall>()("BudgetTooSmall", {
  problems: Schema.Array(Schema.String)
}) {
  override get message(): string {
    return `the budget cannot pay for the graph's first call:\n${this.problems.map((p) => `  ${p}`).join("\n")}`
  }
}

export type RunError = InvalidValue | BudgetTooSmall | BackendError
