/**
 * Admission control: a concurrency limit and a bounded queue per server and per tenant. A request
 * is admitted at once while both its tenant and the server have a free slot; otherwise it waits in
 * a FIFO queue (a tenant at its limit waits while others are served) for at most `queueTimeoutMs`.
 * Beyond a queue it is refused at once: its tenant's queue full → 429, the server's → 503, a wait
 * that timed out → 503, each with a `Retry-After` estimated from recent service times.
 *
 * `Admission` is a service so that other stores can stand in for the in-memory one here — a fleet
 * of servers sharing per-tenant slots and budgets implements `admit` (and records spend through
 * the permit's `charge`) against its own storage.
 *
 * @since 0.2.0
 */
import { Context, Deferred, Effect, Exit, Layer, Schema, type Scope } from "effect"
import type { Usage } from "../domain/Usage.ts"

/** Why a request was not admitted. */
export const OverloadReason = Schema.Literals(["TenantBusy", "ServerBusy", "QueueTimeout", "ShuttingDown"])
export type OverloadReason = typeof OverloadReason.Type

const MESSAGES: Readonly<Record<OverloadReason, (seconds: number) => string>> = {
  TenantBusy: (s) => `too many requests from this client at once; retry after ${s} s`,
  ServerBusy: (s) => `the server is at capacity; retry after ${s} s`,
  QueueTimeout: (s) => `no slot became free in time; retry after ${s} s`,
  ShuttingDown: () => "the server is shutting down"
}

/** A request was not admitted; `status` is the HTTP status to answer with. */
export class Overloaded extends Schema.TaggedError<Overloaded>()("Overloaded", {
  reason: OverloadReason,
  tenant: Schema.String,
  /** when trying again is likely to succeed */
  retryAfterSeconds: Schema.Finite
}) {
  /** 429 when the tenant's own queue is full, 503 when the server is overloaded or stopping. */
  get status(): 429 | 503 {
    return this.reason === "TenantBusy" ? 429 : 503
  }
  override get message(): string {
    return MESSAGES[this.reason](this.retryAfterSeconds)
  }
}

/** What a request asks admission for. */
export interface Ticket {
  readonly tenant: string
  /** the route, for stores that keep separate limits per route */
  readonly route: string
}

/** An admitted request: its slot is held until the scope it was admitted in closes. */
export interface Permit {
  /** how long it waited in the queue, ms */
  readonly waitedMs: number
  /** records what the request spent (a fleet store debits its tenant; the in-memory store ignores it) */
  readonly charge: (spent: Usage) => Effect.Effect<void>
}

export interface AdmissionShape {
  /** waits for a slot, or fails at once (or after the queue timeout) with `Overloaded` */
  readonly admit: (ticket: Ticket) => Effect.Effect<Permit, Overloaded, Scope.Scope>
  /** requests running and waiting now */
  readonly load: () => { readonly running: number; readonly queued: number }
  /** refuse every request from now on (shutdown) */
  readonly close: () => void
}

/** The admission control of a server. */
export class Admission extends Context.Service<Admission, AdmissionShape>()("mull/server/Admission") {}

/** The limits of an admission queue. */
export interface Limits {
  readonly maxConcurrent: number
  readonly maxQueued: number
  readonly perTenantConcurrent: number
  readonly perTenantQueued: number
  readonly queueTimeoutMs: number
}

/** A request waiting for a slot. */
export interface Waiter {
  readonly tenant: string
  /** called once when the waiter is given a slot */
  readonly wake: () => void
  started: boolean
  cancelled: boolean
}

/** The outcome of asking for a slot. */
export type Entry =
  | { readonly _tag: "Run" }
  | { readonly _tag: "Queued"; readonly waiter: Waiter }
  | { readonly _tag: "Rejected"; readonly reason: "TenantBusy" | "ServerBusy" | "ShuttingDown" }

interface TenantLoad {
  running: number
  queued: number
}

/**
 * The pure core of admission: counters and a FIFO queue, no Effect. `enter` asks for a slot,
 * `leave` frees one (and wakes the first waiters that may now run), `cancel` withdraws a waiter.
 *
 * @example
 * const q = makeQueue({ maxConcurrent: 1, maxQueued: 1, perTenantConcurrent: 1, perTenantQueued: 1, queueTimeoutMs: 1000 })
 * q.enter("a", () => {})._tag // "Run"
 * q.enter("a", () => {})._tag // "Queued"
 * q.enter("b", () => {})._tag // "Rejected" (the server's queue is full)
 */
export const makeQueue = (limits: Limits) => {
  let running = 0
  let queued = 0
  let closed = false
  const tenants = new Map<string, TenantLoad>()
  let waiters: Array<Waiter> = []
  const loadOf = (tenant: string): TenantLoad => {
    let t = tenants.get(tenant)
    if (t === undefined) {
      t = { running: 0, queued: 0 }
      tenants.set(tenant, t)
    }
    return t
  }
  const forget = (tenant: string, t: TenantLoad) => {
    if (t.running === 0 && t.queued === 0) tenants.delete(tenant)
  }
  const canRun = (t: TenantLoad) => running < limits.maxConcurrent && t.running < limits.perTenantConcurrent
  /** Starts the first waiters that may run now, in order. */
  const drain = () => {
    if (waiters.length === 0 || running >= limits.maxConcurrent) return
    const rest: Array<Waiter> = []
    const started: Array<Waiter> = []
    for (const w of waiters) {
      if (w.cancelled || w.started) continue
      const t = loadOf(w.tenant)
      if (canRun(t)) {
        t.queued -= 1
        queued -= 1
        t.running += 1
        running += 1
        w.started = true
        started.push(w)
      } else rest.push(w)
    }
    waiters = rest
    // woken only once the state is whole: a waiter may run (and leave) inside its wake
    for (const w of started) w.wake()
  }
  return {
    enter: (tenant: string, wake: () => void): Entry => {
      if (closed) return { _tag: "Rejected", reason: "ShuttingDown" }
      const t = loadOf(tenant)
      // no waiter could run now (`drain` starts them as slots free up), so running at once when
      // there is room jumps ahead of nobody
      if (canRun(t)) {
        t.running += 1
        running += 1
        return { _tag: "Run" }
      }
      if (t.queued >= limits.perTenantQueued) {
        forget(tenant, t)
        return { _tag: "Rejected", reason: "TenantBusy" }
      }
      if (queued >= limits.maxQueued) {
        forget(tenant, t)
        return { _tag: "Rejected", reason: "ServerBusy" }
      }
      const waiter: Waiter = { tenant, wake, started: false, cancelled: false }
      t.queued += 1
      queued += 1
      waiters.push(waiter)
      return { _tag: "Queued", waiter }
    },
    leave: (tenant: string): void => {
      const t = loadOf(tenant)
      t.running -= 1
      running -= 1
      forget(tenant, t)
      drain()
    },
    /** Withdraws a waiter; returns false when it had already been given a slot (the caller must `leave`). */
    cancel: (waiter: Waiter): boolean => {
      if (waiter.started) return false
      if (!waiter.cancelled) {
        waiter.cancelled = true
        const t = loadOf(waiter.tenant)
        t.queued -= 1
        queued -= 1
        forget(waiter.tenant, t)
        waiters = waiters.filter((w) => w !== waiter)
      }
      return true
    },
    close: () => {
      closed = true
    },
    load: () => ({ running, queued }),
    tenantLoad: (tenant: string) => ({ ...(tenants.get(tenant) ?? { running: 0, queued: 0 }) })
  }
}

/**
 * How long to wait before trying again: the time for the queue ahead to drain at the recent mean
 * service time, between 1 and 60 seconds.
 *
 * @example
 * retryAfter(2000, 128, 64) // 4
 */
export const retryAfter = (meanServiceMs: number, ahead: number, slots: number): number =>
  Math.min(60, Math.max(1, Math.ceil((meanServiceMs * (ahead + 1)) / Math.max(1, slots) / 1000)))

/**
 * An in-memory admission control with these limits.
 *
 * @example
 * const admission = make(policy.admission)
 * yield* Effect.scoped(Effect.andThen(admission.admit({ tenant: "127.0.0.1", route: "/v1/chat/completions" }), work))
 */
export const make = (limits: Limits): AdmissionShape => {
  const queue = makeQueue(limits)
  // a moving mean of how long an admitted request holds its slot (seeded at one second)
  let meanMs = 1000
  const observe = (ms: number) => {
    meanMs = 0.9 * meanMs + 0.1 * ms
  }
  const overloaded = (reason: OverloadReason, tenant: string): Overloaded => {
    const load = queue.load()
    const seconds =
      reason === "TenantBusy"
        ? retryAfter(meanMs, queue.tenantLoad(tenant).queued, limits.perTenantConcurrent)
        : retryAfter(meanMs, load.queued, limits.maxConcurrent)
    return new Overloaded({ reason, tenant, retryAfterSeconds: seconds })
  }
  const charge = (): Effect.Effect<void> => Effect.void
  const admit = (ticket: Ticket): Effect.Effect<Permit, Overloaded, Scope.Scope> =>
    Effect.uninterruptibleMask((restore) =>
      Effect.gen(function* () {
        const t0 = Date.now()
        const woken = Deferred.makeUnsafe<void>()
        const entry = queue.enter(ticket.tenant, () => {
          Deferred.doneUnsafe(woken, Exit.void)
        })
        if (entry._tag === "Rejected") return yield* overloaded(entry.reason, ticket.tenant)
        if (entry._tag === "Queued") {
          const withdraw = Effect.sync(() => {
            if (!queue.cancel(entry.waiter)) queue.leave(ticket.tenant)
          })
          const ok = yield* restore(
            Deferred.await(woken).pipe(
              Effect.timeoutOption(limits.queueTimeoutMs),
              Effect.map((o) => o._tag === "Some")
            )
          ).pipe(Effect.onInterrupt(() => withdraw))
          if (!ok) {
            yield* withdraw
            return yield* overloaded("QueueTimeout", ticket.tenant)
          }
        }
        const admitted = Date.now()
        yield* Effect.addFinalizer(() =>
          Effect.sync(() => {
            observe(Date.now() - admitted)
            queue.leave(ticket.tenant)
          })
        )
        return { waitedMs: admitted - t0, charge } satisfies Permit
      })
    )
  return { admit, load: queue.load, close: queue.close }
}

/**
 * A layer with an in-memory admission control.
 *
 * @example
 * program.pipe(Effect.provide(layer(policy.admission)))
 */
export const layer = (limits: Limits): Layer.Layer<Admission> => Layer.sync(Admission, () => make(limits))
