/**
 * Problems given only by their question get an id from a hash of the WHOLE question
 * (`Problem.questionId`), the one function the CLI (`mull run --question`), the embedding API
 * (`toProblem`, `runGraph`) and the service use. The id used to be the question's first 24 base64
 * characters, so these two questions shared an id — and a run's seeds.
 */
import { assert, describe, it } from "@effect/vitest"
import { questionId } from "../../src/domain/Problem.ts"
import { toProblem } from "../../src/Mull.ts"

const A = "What is the value of 2+2 in base ten?"
const B = "What is the value of 7*6 in base sixteen?"

describe("problem ids from questions", () => {
  it("two different questions get different ids, one question always the same", () => {
    assert.notStrictEqual(questionId(A), questionId(B))
    assert.strictEqual(questionId(A), questionId(A))
    assert.match(questionId(A), /^question\/[0-9a-f]{1,16}$/u)
    assert.match(questionId(A, "chat"), /^chat\/[0-9a-f]{1,16}$/u)
  })

  it("the embedding API uses it (an explicit id wins)", () => {
    assert.strictEqual(toProblem({ question: A }).id, questionId(A))
    assert.notStrictEqual(toProblem({ question: A }).id, toProblem({ question: B }).id)
    assert.strictEqual(toProblem({ id: "mine", question: A }).id, "mine")
  })
})
