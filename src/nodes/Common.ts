/**
 * Fields several node kinds share — a generating node's `temperature` and `maxTokens`, a scoring
 * node's `verifier` and `aggregate`, every node's `comment` — declared once, with their defaults.
 *
 * @since 0.2.0
 */
import { Schema } from "effect"
import type { VerifierRef } from "../graph/Check.ts"
import * as Field from "../graph/Field.ts"
import { AGGREGATES } from "../runtime/Aggregate.ts"
import type { Sampling } from "../runtime/Env.ts"

/** How step scores become a score (`runtime/Aggregate.ts`). */
export const Aggregate = Schema.Literals(AGGREGATES)
export type Aggregate = typeof Aggregate.Type

/** The default sampling temperature of a generating node. */
export const DEFAULT_TEMPERATURE = 0.8
/** The verifier a scoring node uses when it names none. */
export const DEFAULT_VERIFIER = "prm"
/** How step scores become a candidate's score when a node does not say. */
export const DEFAULT_AGGREGATE: Aggregate = "last"

/** `comment`: free text on any node. */
export const comment = {
  comment: Schema.optionalKey(Schema.String.annotate({ description: "Free text, ignored" }))
}

/** Key annotations (description, default) shared by several nodes; the reference (docs/reference.md) prints them. */
export const temperatureKey = { description: "Sampling temperature (number ≥ 0)", default: DEFAULT_TEMPERATURE }
export const maxTokensKey = {
  description:
    "Output tokens of one generated sequence, at most (integer ≥ 1; default: the backend's cap of one step for until step, of a whole solution for until end; never more than the solution cap)"
}
export const verifierKey = {
  description: "Which of the backend's verifiers scores (the simulated backend has prm and orm)",
  default: DEFAULT_VERIFIER
}
export const aggregateKey = {
  description: "How a candidate's step scores become its score: last (the last step's), min, prod or mean",
  default: DEFAULT_AGGREGATE
}

/** How far a generation goes. */
export const Until = Schema.Literals(["step", "end"]).annotate({
  description: '"step": one more reasoning step; "end": to the end of the solution'
})

/**
 * The sampling fields of a generating node at `path`: its temperature (default 0.8 unless given)
 * and its `maxTokens` when written.
 *
 * @example
 * samplingFields("root.nodes.0", node) // { temperature: NumField, maxTokens: undefined }
 */
export const samplingFields = (
  path: string,
  node: { readonly temperature?: Field.ParsedNum; readonly maxTokens?: Field.ParsedNum },
  defaultTemperature: number = DEFAULT_TEMPERATURE
): Sampling => ({
  temperature: Field.fieldOr(`${path}.temperature`, node.temperature, defaultTemperature, Field.NONNEG),
  maxTokens: Field.optionalField(`${path}.maxTokens`, node.maxTokens, Field.INT1)
})

/**
 * The verifier a scoring node at `path` uses: the one it names, else the default.
 *
 * @example
 * verifierOf("root.nodes.1", undefined) // { name: "prm", path: "root.nodes.1.verifier", implicit: true }
 */
export const verifierOf = (path: string, name: string | undefined): VerifierRef => ({
  name: name ?? DEFAULT_VERIFIER,
  path: `${path}.verifier`,
  implicit: name === undefined
})
