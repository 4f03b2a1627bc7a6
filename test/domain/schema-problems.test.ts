/** The one Schema-error formatter: `path: message` lines, a prefix, the name of the whole value, a limit. */
import { describe, expect, it } from "@effect/vitest"
import { Exit, Schema } from "effect"
import { formatIssue, formatIssues, issuesOf } from "../../src/domain/SchemaProblems.ts"
import { formatIssues as graphFormatIssues } from "../../src/graph/Graph.ts"

const Knobs = Schema.Struct({
  n: Schema.Int,
  prm: Schema.Struct({ sd0: Schema.Finite.check(Schema.isGreaterThanOrEqualTo(0)) }),
  tags: Schema.Array(Schema.String)
})

const errorOf = (input: unknown): Schema.SchemaError => {
  const exit = Schema.decodeUnknownExit(Knobs)(input, { errors: "all", onExcessProperty: "error" })
  if (Exit.isSuccess(exit)) throw new Error("expected a failure")
  const error = exit.cause.reasons.find((r) => r._tag === "Fail")
  if (error === undefined || error._tag !== "Fail") throw new Error("expected a typed failure")
  return error.error
}

describe("SchemaProblems", () => {
  it("one line per problem, paths in dots (array indices included)", () => {
    const e = errorOf({ n: 1.5, prm: { sd0: -1 }, tags: ["a", 2], extra: true })
    expect(issuesOf(e).map((i) => i.path.join("."))).toEqual(["extra", "n", "prm.sd0", "tags.1"])
    const lines = formatIssues(e)
    expect(lines).toHaveLength(4)
    expect(lines[0]).toBe("extra: Expected no excess property")
    expect(lines[1]).toMatch(/^n: Expected an integer/u)
    expect(lines[2]).toMatch(/^prm\.sd0: /u)
  })

  it("a prefix goes before every path and names the whole value", () => {
    expect(formatIssues(errorOf({ n: "x", prm: { sd0: 0 }, tags: [] }), "config")[0]).toMatch(/^config\.n: /u)
    expect(formatIssues(errorOf("nope"), "backend-config")).toEqual([expect.stringMatching(/^backend-config: /u)])
    expect(formatIssues(errorOf("nope"))[0]).toMatch(/^\(document\): /u)
    expect(formatIssues(errorOf("nope"), "", { root: "(root)" })[0]).toMatch(/^\(root\): /u)
  })

  it("a limit keeps the first lines", () => {
    const e = errorOf({ n: 1.5, prm: { sd0: -1 }, tags: [1, 2, 3] })
    expect(formatIssues(e)).toHaveLength(5)
    expect(formatIssues(e, "", { limit: 2 })).toEqual(formatIssues(e).slice(0, 2))
  })

  it("formatIssue renders one issue; the graph module re-exports the same formatter", () => {
    expect(formatIssue({ path: ["prm", "sd0"], message: "bad" }, "backend-config")).toBe("backend-config.prm.sd0: bad")
    expect(formatIssue({ path: [], message: "bad" })).toBe("(document): bad")
    expect(graphFormatIssues).toBe(formatIssues)
  })
})
