/**
 * The one way mull reports a value that does not decode: each problem of a Schema error as a
 * `path: message` line, the path in dots (`root.nodes.2.keep`, `prm.sd0`). Graph documents,
 * plugin configurations, sweep files, server requests, traces and backend replies all print their
 * problems through this module.
 *
 * @since 0.1.0
 */
import { type Schema, SchemaIssue } from "effect"

/** One problem: where (the path's segments; empty for the whole value) and what. */
export interface Issue {
  readonly path: ReadonlyArray<string>
  readonly message: string
}

const formatter = SchemaIssue.makeFormatterStandardSchemaV1()

/** A path segment as text: a key, an index, or Standard Schema's `{ key }` form. */
const segment = (p: unknown): string =>
  String(typeof p === "object" && p !== null && "key" in p ? (p as { readonly key: unknown }).key : p)

/**
 * The problems of a Schema error (or issue), in the order the decoder found them.
 *
 * @example
 * import { Schema } from "effect"
 * const r = Schema.decodeUnknownExit(Schema.Struct({ n: Schema.Int }))({ n: 1.5 })
 * // issuesOf(error) → [{ path: ["n"], message: "Expected an integer, got 1.5" }]
 */
export const issuesOf = (error: Schema.SchemaError | SchemaIssue.Issue): ReadonlyArray<Issue> =>
  formatter("issue" in error ? error.issue : error).issues.map((i) => ({
    path: (i.path ?? []).map(segment),
    message: i.message
  }))

/** How `formatIssues` writes its lines. */
export interface FormatOptions {
  /** what a problem of the whole value is called when there is no prefix (default `(document)`) */
  readonly root?: string | undefined
  /** at most this many lines (default: all) */
  readonly limit?: number | undefined
}

/**
 * One problem as a line: `prefix.path: message`; a problem of the whole value is named by the
 * prefix, or by `root` without one.
 *
 * @example
 * formatIssue({ path: ["prm", "sd0"], message: "Expected a value ≥ 0" }, "backend-config")
 * // "backend-config.prm.sd0: Expected a value ≥ 0"
 */
export const formatIssue = (issue: Issue, prefix = "", root = "(document)"): string => {
  const where = [prefix, ...issue.path].filter((s) => s !== "").join(".")
  return `${where === "" ? root : where}: ${issue.message}`
}

/**
 * A Schema error as one `path: message` line per problem (paths like `root.nodes.2.keep`).
 *
 * @example
 * formatIssues(error) // ["root.nodes.2.keep: Expected an integer, got 1.5"]
 * formatIssues(error, "config") // ["config.port: Expected an integer, got \"x\""]
 * formatIssues(error, "", { root: "(root)", limit: 3 })
 */
export const formatIssues = (
  error: Schema.SchemaError | SchemaIssue.Issue,
  prefix = "",
  options: FormatOptions = {}
): ReadonlyArray<string> => {
  const issues = issuesOf(error)
  return (options.limit === undefined ? issues : issues.slice(0, options.limit)).map((i) =>
    formatIssue(i, prefix, options.root)
  )
}
