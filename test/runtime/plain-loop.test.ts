/**
 * The plain loop of `bench/PlainLoop.ts` (figure 1's baseline) makes exactly the runtime's calls
 * and gives its answers: small beam searches (long solutions cut by the round cap, short ones that
 * finish by themselves, a width that does not divide N) and best-of-N, on the simulated backend and
 * on recorded answers, checked call for call and answer for answer (`checkSame`, which throws on
 * any difference) — so the baseline cannot drift from the runtime unnoticed.
 */
import { assert, describe, it } from "@effect/vitest"
import { beamCase, bestOfNCase, measureOverhead } from "../../bench/overhead.ts"
import { callDifference, type LoggedCall } from "../../bench/PlainLoop.ts"
import * as World from "../../bench/World.ts"

const { LONG } = World

describe("plain loop", () => {
  const cases = [
    beamCase(8, 2, 5, LONG),
    beamCase(8, 3, 40, {}),
    beamCase(16, 4, 40, {}),
    bestOfNCase(16),
    bestOfNCase(1)
  ]
  for (const c of cases)
    for (const recorded of [false, true])
      it(`${c.label}, ${recorded ? "recorded answers" : "simulated"}: same calls and answers as the runtime`, async () => {
        // measureOverhead checks both sides answer for answer after every run, and call for call
        // on the repetition after the timed ones
        const r = await measureOverhead(c, { reps: 2, warmup: 0, problems: 3, recorded })
        assert.isAbove(r.calls, 0)
      }, 60_000)

  it("a different answer or call is caught", async () => {
    const base = bestOfNCase(4)
    const off = {
      ...base,
      plain: (...args: Parameters<typeof base.plain>) => {
        const r = base.plain(...args)
        return { ...r, calls: r.calls + 1 }
      }
    }
    let failed = false
    try {
      await measureOverhead(off, { reps: 1, warmup: 0, problems: 1 })
    } catch (e) {
      failed = String(e).includes("differ in calls")
    }
    assert.isTrue(failed)
    // the same meters and answers but another request: the call logs differ
    const problem = await World.problem(0)
    const ask = (seed: bigint): LoggedCall => ({
      generate: { problem, prefix: undefined, n: 1, until: "end", temperature: 0.8, maxTokens: 16, seed }
    })
    assert.strictEqual(callDifference([ask(1n)], [ask(1n)]), undefined)
    assert.match(callDifference([ask(1n)], [ask(2n)]) ?? "", /call 0 differs/u)
    assert.match(callDifference([ask(1n)], []) ?? "", /1 calls against 0/u)
  })
})
