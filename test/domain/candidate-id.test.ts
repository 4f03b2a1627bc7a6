/**
 * The candidate-id grammar (src/domain/CandidateId.ts): the ids the runtime makes read back to what
 * made them, and every reader (the trace viewer's branch bands and copy and revision detection)
 * agrees with the makers.
 */
import { assert, describe, it } from "@effect/vitest"
import fc from "fast-check"
import * as CandidateId from "../../src/domain/CandidateId.ts"

const step: fc.Arbitrary<CandidateId.Step> = fc.oneof(
  fc.nat(20).map((index) => ({ _tag: "Child" as const, index })),
  fc.integer({ min: 1, max: 9 }).map((index) => ({ _tag: "Revision" as const, index })),
  fc.integer({ min: 1, max: 9 }).map((index) => ({ _tag: "Copy" as const, index }))
)
const parsed: fc.Arbitrary<CandidateId.Parsed> = fc.record({
  branches: fc.array(fc.nat(300), { maxLength: 3 }),
  sample: fc.nat(1000),
  steps: fc.array(step, { maxLength: 6 })
})

describe("candidate ids", () => {
  it("are made as the docs say", () => {
    assert.strictEqual(CandidateId.sample("", 3), "s3")
    assert.strictEqual(CandidateId.sample(CandidateId.branch(CandidateId.branch("", 2), 0), 1), "b2/b0/s1")
    assert.strictEqual(CandidateId.branchGroup("b2/", 0), "b2/b0")
    assert.strictEqual(CandidateId.child(CandidateId.child("s3", 1), 0), "s3.1.0")
    assert.strictEqual(CandidateId.revision("s0", 2), "s0.r2")
    assert.strictEqual(CandidateId.copy("s3.1", 2), "s3.1~2")
    assert.strictEqual(CandidateId.rollout("s3", 0), "s3#0")
  })

  it("read back: branches, copies, revisions", () => {
    assert.strictEqual(CandidateId.groupOf("b2/b0/s1.3"), "b2/b0/")
    assert.strictEqual(CandidateId.topGroupOf("b2/b0/s1.3"), "b2/")
    assert.isUndefined(CandidateId.groupOf("s1.3"))
    assert.strictEqual(CandidateId.copyOf("s3.1~2"), "s3.1")
    assert.isUndefined(CandidateId.copyOf("s3.1"))
    assert.isTrue(CandidateId.isRevision("b1/s0.r2"))
    assert.isFalse(CandidateId.isRevision("s0.r2.1"))
    assert.deepStrictEqual(CandidateId.parse("b2/s3.1.r2~1"), {
      branches: [2],
      sample: 3,
      steps: [
        { _tag: "Child", index: 1 },
        { _tag: "Revision", index: 2 },
        { _tag: "Copy", index: 1 }
      ]
    })
    assert.isUndefined(CandidateId.parse("x3"))
    assert.isUndefined(CandidateId.parse("s3#0"))
  })

  it("format and parse are inverse, and the readers agree with the makers", () => {
    fc.assert(
      fc.property(parsed, (p) => {
        const id = CandidateId.format(p)
        assert.deepStrictEqual(CandidateId.parse(id), p)
        const prefix = p.branches.reduce((acc, j) => CandidateId.branch(acc, j), "")
        assert.strictEqual(CandidateId.groupOf(id), prefix === "" ? undefined : prefix)
        const top = p.branches[0]
        assert.strictEqual(CandidateId.topGroupOf(id), top === undefined ? undefined : `b${top}/`)
        const last = p.steps[p.steps.length - 1]
        assert.strictEqual(CandidateId.isRevision(id), last?._tag === "Revision")
        assert.strictEqual(
          CandidateId.copyOf(id),
          last?._tag === "Copy" ? CandidateId.format({ ...p, steps: p.steps.slice(0, -1) }) : undefined
        )
      }),
      { numRuns: 500 }
    )
  })
})
