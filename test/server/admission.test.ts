/**
 * Admission control: the pure queue (limits per server and per tenant, FIFO, withdrawal) and the
 * Effect service (waiting, the queue timeout, slots released with their scope).
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Fiber, Scope } from "effect"
import { make, makeQueue, type Overloaded, retryAfter } from "../../src/server/Admission.ts"

const limits = { maxConcurrent: 2, maxQueued: 2, perTenantConcurrent: 1, perTenantQueued: 1, queueTimeoutMs: 200 }

describe("the admission queue", () => {
  it("runs while both the tenant and the server have room, queues, then refuses", () => {
    const q = makeQueue(limits)
    const woken: Array<string> = []
    assert.strictEqual(q.enter("a", () => woken.push("a1"))._tag, "Run")
    assert.strictEqual(q.enter("b", () => woken.push("b1"))._tag, "Run")
    // the server is full: both wait
    assert.strictEqual(q.enter("a", () => woken.push("a2"))._tag, "Queued")
    // a's own queue is full: 429
    assert.deepStrictEqual(
      q.enter("a", () => woken.push("a3")),
      { _tag: "Rejected", reason: "TenantBusy" }
    )
    assert.strictEqual(q.enter("c", () => woken.push("c1"))._tag, "Queued")
    // the server's queue is full: 503
    assert.deepStrictEqual(
      q.enter("d", () => woken.push("d1")),
      { _tag: "Rejected", reason: "ServerBusy" }
    )
    // b leaves: a2 is first in line but a is at its limit; c1 runs
    q.leave("b")
    assert.deepStrictEqual(woken, ["c1"])
    q.leave("a")
    assert.deepStrictEqual(woken, ["c1", "a2"])
    assert.deepStrictEqual(q.load(), { running: 2, queued: 0 })
  })

  it("a tenant at its limit does not hold up others while the server has room", () => {
    const q = makeQueue({ ...limits, maxConcurrent: 3 })
    q.enter("a", () => {})
    assert.strictEqual(q.enter("a", () => {})._tag, "Queued")
    assert.strictEqual(q.enter("b", () => {})._tag, "Run")
  })

  it("a withdrawn waiter frees its place; one already started must leave instead", () => {
    const q = makeQueue(limits)
    q.enter("a", () => {})
    q.enter("b", () => {})
    const e = q.enter("c", () => {})
    assert.strictEqual(e._tag, "Queued")
    if (e._tag !== "Queued") return
    assert.isTrue(q.cancel(e.waiter))
    assert.deepStrictEqual(q.load(), { running: 2, queued: 0 })
    const f = q.enter("c", () => {})
    if (f._tag !== "Queued") return assert.fail("queued")
    q.leave("a")
    assert.isFalse(q.cancel(f.waiter))
  })

  it("closed: everything is refused as shutting down", () => {
    const q = makeQueue(limits)
    q.close()
    assert.deepStrictEqual(
      q.enter("a", () => {}),
      { _tag: "Rejected", reason: "ShuttingDown" }
    )
  })

  it("Retry-After: the time for the queue ahead to drain, 1 to 60 s", () => {
    assert.strictEqual(retryAfter(2000, 128, 64), 5)
    assert.strictEqual(retryAfter(10, 0, 64), 1)
    assert.strictEqual(retryAfter(60_000, 1000, 1), 60)
  })
})

describe("the admission service", () => {
  it.live("waits for a slot, gives up after the queue timeout, releases slots with their scopes", () =>
    Effect.gen(function* () {
      const admission = make({ ...limits, perTenantConcurrent: 2, perTenantQueued: 2 })
      const first = yield* Scope.make()
      const second = yield* Scope.make()
      yield* admission.admit({ tenant: "a", route: "r" }).pipe(Scope.provide(first))
      yield* admission.admit({ tenant: "a", route: "r" }).pipe(Scope.provide(second))
      const third = yield* Scope.make()
      const waiting = yield* admission.admit({ tenant: "a", route: "r" }).pipe(Scope.provide(third), Effect.forkChild)
      yield* Effect.sleep("20 millis")
      assert.deepStrictEqual(admission.load(), { running: 2, queued: 1 })
      yield* Scope.close(first, Exit.void)
      const admitted = yield* Fiber.join(waiting)
      assert.isAtLeast(admitted.waitedMs, 10)
      assert.deepStrictEqual(admission.load(), { running: 2, queued: 0 })
      const timedOut: Overloaded = yield* Effect.flip(Effect.scoped(admission.admit({ tenant: "a", route: "r" })))
      assert.strictEqual(timedOut.reason, "QueueTimeout")
      assert.strictEqual(timedOut.status, 503)
      assert.deepStrictEqual(admission.load(), { running: 2, queued: 0 })
      yield* Scope.close(second, Exit.void)
      yield* Scope.close(third, Exit.void)
      assert.deepStrictEqual(admission.load(), { running: 0, queued: 0 })
    })
  )
})
