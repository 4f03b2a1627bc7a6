/**
 * The Ledger: the budget of a run. Every backend call reserves its worst case first, and the
 * ledger grants a reservation only if `committed + reserved + request ≤ limit` for every limited
 * meter — so no strategy can overspend, at any concurrency. After the call the node commits what
 * it really used and the rest is released. Reservations are scoped: if the call fails or is
 * interrupted, closing the scope releases them.
 *
 * Token meters are integers, summed and compared exactly (no tolerance: a limit of 3e9 never
 * grants 3e9 + 1); FLOPs and USD are derived from the token totals with the run's `Pricing` (never
 * accumulated), so totals do not depend on the order of commits.
 *
 * Two refinements serve anytime runs (docs/concepts.md#anytime-behaviour):
 * - a **hold** keeps part of the budget back (a run's reserve to finish a candidate): ordinary
 *   requests cannot use it, a request that names the hold (finishing work) can, and what it takes
 *   leaves the hold, so `committed + reserved ≤ limit` holds throughout;
 * - a request may let one per-unit meter **shrink** (a call's `max_tokens`): when not even one
 *   unit fits at full size, one unit is granted with as much of that meter as remains.
 *
 * @since 0.1.0
 */
import { Context, Effect, Layer, Schema, Scope, type Types } from "effect"
import type { NodeUsage } from "../domain/RunResult.ts"
import * as Usage from "../domain/Usage.ts"
import * as Limits from "./Limits.ts"
import * as Pricing from "./Pricing.ts"

/** The ledger refused a reservation: paying for even the least acceptable part would pass a limit. */
export class BudgetRefused extends Schema.TaggedError<BudgetRefused>()("BudgetRefused", {
  node: Schema.String,
  meter: Schema.String,
  /** what the least acceptable grant would have needed on that meter */
  requested: Schema.Finite,
  /** what is left on that meter (limit − committed − reserved) */
  available: Schema.Finite
}) {
  override get message(): string {
    return `budget refused at ${this.node}: ${this.meter} needs ${this.requested}, ${this.available} left`
  }
}

export interface ReserveRequest {
  /** the graph node that pays (its JSON path) */
  readonly node: string
  /** usage that does not depend on the number of units (one call, the prompt's input tokens…) */
  readonly fixed: Usage.Usage
  /** worst-case usage of one unit (one sequence: 1 sequence, maxTokens output tokens…) */
  readonly perUnit: Usage.Usage
  /** units wanted */
  readonly units: number
  /**
   * Units of different costs (e.g. candidates to score, each with its own token count): unit i
   * costs `unitCosts[i]`, `perUnit` is ignored, and a partial grant is the longest prefix that fits.
   */
  readonly unitCosts?: ReadonlyArray<Usage.Usage>
  /** least acceptable number of units; defaults to `units` (all or nothing) */
  readonly minUnits?: number
  /**
   * A per-unit meter that may shrink: when not even `minUnits` units fit, one unit is granted with
   * the most of `meter` (at least `min`) that fits — a call with `max_tokens` cut to what remains.
   * Only for requests without `unitCosts` and with `minUnits` ≤ 1. Meters in `with` shrink along
   * with it, each to at most the amount granted (a call's thinking tokens, part of its output).
   */
  readonly shrink?: { readonly meter: Usage.Meter; readonly min: number; readonly with?: ReadonlyArray<Usage.Meter> }
  /** a hold this request may draw on (finishing work); what it is granted leaves the hold first */
  readonly hold?: Hold
  /** an ask that will be made again if refused: its refusal is not counted, and nothing shrinks */
  readonly tentative?: boolean
}

/** Budget kept back by `hold`: only requests that name it may use it. */
export interface Hold {
  readonly id: number
  readonly node: string
}

export interface Reservation {
  readonly id: number
  readonly node: string
  /** units granted (≤ requested, ≥ minUnits) */
  readonly units: number
  /** the reserved worst case (token meters; FLOPs and USD are derived) */
  readonly usage: Usage.Usage
  /** when the request's `shrink` meter was cut: its per-unit amount granted (less than asked) */
  readonly shrunk?: number
}

/** What `reserveAll` granted: the reservations of a prefix of the requests, and the refusal that ended it. */
export interface Granted {
  /** one per request granted, in order: requests `0 … reservations.length − 1` */
  readonly reservations: ReadonlyArray<Reservation>
  /** why request `reservations.length` was refused; absent when every request was granted */
  readonly refusal?: BudgetRefused
}

/** A usage overrun: a call reported more than it reserved on a meter (a misbehaving backend). */
export interface Overrun {
  readonly node: string
  readonly meter: Usage.Meter
  readonly reserved: number
  readonly actual: number
}

export interface LedgerSnapshot {
  readonly limits: Limits.Limits
  /** what has been spent (logical cost: cache hits included) */
  readonly committed: Usage.Usage
  /** what open reservations and holds keep (holds included) */
  readonly reserved: Usage.Usage
  /** what holds keep back */
  readonly held: Usage.Usage
  /** what backends really spent (cache hits excluded) */
  readonly backend: Usage.Usage
  /** committed usage per node, sorted by node path; sums to `committed` */
  readonly byNode: ReadonlyArray<NodeUsage>
  /** reservations neither committed nor released, and holds not released */
  readonly open: number
  /** how many reservations were refused */
  readonly refusals: number
  readonly overruns: ReadonlyArray<Overrun>
}

/** A limited meter on which some usage passes the limit by itself. */
export interface Shortfall {
  readonly meter: Usage.Meter
  /** what the usage needs on that meter (FLOPs and USD priced with the ledger's pricing) */
  readonly needs: number
  readonly limit: number
}

/**
 * A ledger's `commit`. The ledger `make` builds also commits in plain code (`now`: what the effect
 * does, done at once), for a caller that settles a call in a finalizer (`Calls.paidOnce`, once per
 * backend call). A wrapper that replaces `commit` gives a function without `now`, so its own
 * effect is what runs; one that keeps the inner `commit` keeps its `now` too.
 */
export interface Commit {
  (reservation: Reservation, actual: Usage.Usage, backend?: Usage.Usage): Effect.Effect<void>
  readonly now?: (reservation: Reservation, actual: Usage.Usage, backend?: Usage.Usage) => void
}

export interface LedgerShape {
  readonly limits: Limits.Limits
  readonly pricing: Pricing.Pricing
  /**
   * The limited meters on which `usage` by itself passes the limit, by the rule that grants
   * reservations: what this ledger could never grant, even with nothing spent or held (the run's
   * "budget too small" check asks this).
   */
  readonly shortfall: (usage: Usage.Usage) => ReadonlyArray<Shortfall>
  /**
   * Reserves the worst case of a call, atomically; grants the largest number of units in
   * `[minUnits, units]` that fits every limit, or fails with `BudgetRefused`. The reservation is
   * released when the enclosing scope closes unless committed before.
   */
  readonly reserve: (request: ReserveRequest) => Effect.Effect<Reservation, BudgetRefused, Scope.Scope>
  /**
   * Reserves `requests` in order, exactly as `reserve` would one after another, and stops at the
   * first refusal: a node's calls reserved in one step. Every grant is released when the
   * enclosing scope closes unless committed before. `reserveEachWith(reserve)` builds it from
   * `reserve`; a ledger that wraps another and changes `reserve` must give its own `reserveAll`
   * too (a spread of the inner ledger would otherwise keep the inner one's, bypassing the wrapper).
   */
  readonly reserveAll: (requests: ReadonlyArray<ReserveRequest>) => Effect.Effect<Granted, never, Scope.Scope>
  /**
   * Settles a reservation with what the call really used (`actual`, logical cost) and what the
   * backend really spent (`backend`, defaults to `actual`; zero for a cache hit). See `Commit` for
   * its plain-code form.
   */
  readonly commit: Commit
  /** Settles a reservation without spending (idempotent). */
  readonly release: (reservation: Reservation) => Effect.Effect<void>
  /**
   * Keeps `usage` back for requests that name the hold (`ReserveRequest.hold`), if it fits every
   * limit now; `undefined` when it does not (nothing is held then).
   */
  readonly hold: (node: string, usage: Usage.Usage) => Effect.Effect<Hold | undefined>
  /** Gives back what a hold still keeps (idempotent). */
  readonly releaseHold: (hold: Hold) => Effect.Effect<void>
  /**
   * What an ordinary request could still be granted on each limited meter now (limit − committed
   * − reserved, holds included): what expressions read as `remaining.<meter>`.
   */
  readonly remainingUnsafe: () => Limits.Limits
  readonly snapshot: Effect.Effect<LedgerSnapshot>
}

/** The budget ledger of a run. */
export class Ledger extends Context.Service<Ledger, LedgerShape>()("mull/budget/Ledger") {}

// written out, not `{ ...u, flops: 0, usd: 0 }`: every reservation and commit takes a few, and a
// spread of a usage costs several times these reads
const baseOnly = (u: Usage.Usage): Usage.Usage => ({
  calls: u.calls,
  sequences: u.sequences,
  inputTokens: u.inputTokens,
  outputTokens: u.outputTokens,
  thinkingTokens: u.thinkingTokens,
  verifierCalls: u.verifierCalls,
  verifierTokens: u.verifierTokens,
  flops: 0,
  usd: 0,
  wallMs: u.wallMs
})

/**
 * Adds `u`'s base meters (every meter but FLOPs and USD, which are derived when read) into a
 * running total, in place: the ledger's totals change on every reservation and commit, and a new
 * usage object each time (ten fields) costs more than the sums. The same sums as `Usage.add` of
 * `baseOnly(u)`, in the same order, so the totals are the same to the last bit.
 */
const addBaseInto = (total: Types.Mutable<Usage.Usage>, u: Usage.Usage): void => {
  total.calls += u.calls
  total.sequences += u.sequences
  total.inputTokens += u.inputTokens
  total.outputTokens += u.outputTokens
  total.thinkingTokens += u.thinkingTokens
  total.verifierCalls += u.verifierCalls
  total.verifierTokens += u.verifierTokens
  total.wallMs += u.wallMs
}

/** `addBaseInto`'s inverse: takes `u`'s base meters out of a running total, in place. */
const subtractBaseInto = (total: Types.Mutable<Usage.Usage>, u: Usage.Usage): void => {
  total.calls -= u.calls
  total.sequences -= u.sequences
  total.inputTokens -= u.inputTokens
  total.outputTokens -= u.outputTokens
  total.thinkingTokens -= u.thinkingTokens
  total.verifierCalls -= u.verifierCalls
  total.verifierTokens -= u.verifierTokens
  total.wallMs -= u.wallMs
}

/**
 * `fixed + units · perUnit` on the base meters (FLOPs and USD 0): `Usage.add(baseOnly(fixed),
 * Usage.scale(baseOnly(perUnit), units))` as one object — the same sums — for the grant of a whole
 * request (every call of a run without a limit takes one).
 */
const wholeCost = (fixed: Usage.Usage, perUnit: Usage.Usage, units: number): Usage.Usage => ({
  calls: fixed.calls + perUnit.calls * units,
  sequences: fixed.sequences + perUnit.sequences * units,
  inputTokens: fixed.inputTokens + perUnit.inputTokens * units,
  outputTokens: fixed.outputTokens + perUnit.outputTokens * units,
  thinkingTokens: fixed.thinkingTokens + perUnit.thinkingTokens * units,
  verifierCalls: fixed.verifierCalls + perUnit.verifierCalls * units,
  verifierTokens: fixed.verifierTokens + perUnit.verifierTokens * units,
  flops: 0,
  usd: 0,
  wallMs: fixed.wallMs + perUnit.wallMs * units
})

/**
 * `baseOnly(fixed + Σ unitCosts)`, added into one new object (a verifier batch of 256 candidates
 * asks with 256 unit costs; a `Usage.add` each built 256 objects): the same sums in the same order.
 */
const sumBase = (fixed: Usage.Usage, unitCosts: ReadonlyArray<Usage.Usage>): Usage.Usage => {
  const total: Types.Mutable<Usage.Usage> = { ...baseOnly(fixed) }
  for (const u of unitCosts) addBaseInto(total, u)
  return total
}

/** Whether `actual` passes `granted` on a meter the ledger checks (every base meter but wall time). */
const overran = (actual: Usage.Usage, granted: Usage.Usage): boolean =>
  actual.calls > granted.calls ||
  actual.sequences > granted.sequences ||
  actual.inputTokens > granted.inputTokens ||
  actual.outputTokens > granted.outputTokens ||
  actual.thinkingTokens > granted.thinkingTokens ||
  actual.verifierCalls > granted.verifierCalls ||
  actual.verifierTokens > granted.verifierTokens

/** One meter of `Pricing.derive(pricing, u)`, without building the derived usage. */
const metered = (pricing: Pricing.Pricing, u: Usage.Usage, meter: Usage.Meter): number =>
  meter === "flops" || meter === "usd" ? Pricing.derive(pricing, u)[meter] : u[meter]

/** No overruns (shared by snapshots: nobody writes to it). */
const NO_OVERRUNS: ReadonlyArray<Overrun> = Object.freeze([])

/** No per-node usage yet (shared likewise). */
const NO_NODES: ReadonlyArray<NodeUsage> = Object.freeze([])

/** The token meters a hold keeps (FLOPs and USD are derived from them). */
const HELD: ReadonlyArray<Usage.Meter> = [
  "calls",
  "sequences",
  "inputTokens",
  "outputTokens",
  "thinkingTokens",
  "verifierCalls",
  "verifierTokens"
]

/** Per meter, the smaller of two usages (what a grant takes out of a hold). */
const overlap = (a: Usage.Usage, b: Usage.Usage): Usage.Usage =>
  Usage.make(Object.fromEntries(HELD.map((m) => [m, Math.max(0, Math.min(a[m], b[m]))])))

/**
 * The pure core of the ledger: state and the grant rule, without Effect. `Ledger.make` wraps it;
 * the model-based tests drive it directly too.
 */
export const makeState = (limits: Limits.Limits, pricing: Pricing.Pricing = Pricing.free) => {
  // running totals, changed in place (`addBaseInto`): they never leave the ledger — a snapshot, the
  // remaining budget and the grant rule read copies (`Pricing.derive`, `Usage.add`). Their FLOPs
  // and USD stay 0: derived when read. (`reserved`'s base meters are those of the grants, which
  // carry no FLOPs or USD either.)
  const committed: Types.Mutable<Usage.Usage> = { ...Usage.zero }
  // counts every change of state: a snapshot taken with nothing changed since the last is that one
  let changes = 0
  const reserved: Types.Mutable<Usage.Usage> = { ...Usage.zero }
  const backend: Types.Mutable<Usage.Usage> = { ...Usage.zero }
  let refusals = 0
  let nextId = 0
  // per node: its running total, the `changes` count at its last commit, its entry as last priced
  const byNode = new Map<
    string,
    {
      readonly total: Types.Mutable<Usage.Usage>
      changedAt: number
      priced: { readonly changes: number; readonly entry: NodeUsage } | undefined
    }
  >()
  const unlimited = Usage.METERS.every((m) => limits[m] === undefined)
  const open = new Map<number, Reservation>()
  const holds = new Map<number, { readonly hold: Hold; usage: Usage.Usage }>()
  const overruns: Array<Overrun> = []

  /** The grant rule on one meter: a total (token meters; FLOPs and USD derived) within the limit. */
  const fits = (meter: Usage.Meter, limit: number, total: Usage.Usage): boolean =>
    metered(pricing, total, meter) <= limit + Limits.allowance(meter, limit)

  /** Units grantable on one meter, given the cost of the first k units; -1 when even none fit. */
  const unitsFor = (
    meter: Usage.Meter,
    base: Usage.Usage,
    costOf: (k: number) => Usage.Usage,
    units: number
  ): number => {
    const limit = limits[meter]
    if (limit === undefined) return units
    const ok = (k: number) => fits(meter, limit, Usage.add(base, costOf(k)))
    if (ok(units)) return units
    if (!ok(0)) return -1
    // the metered total is non-decreasing in k: binary search the largest k that fits
    let lo = 0
    let hi = units
    while (hi - lo > 1) {
      const mid = Math.floor((lo + hi) / 2)
      if (ok(mid)) lo = mid
      else hi = mid
    }
    return lo
  }

  /** The worst-case cost of the first k units of a request. */
  const costFunction = (request: ReserveRequest): ((k: number) => Usage.Usage) => {
    const fixed = baseOnly(request.fixed)
    if (request.unitCosts === undefined) {
      const perUnit = baseOnly(request.perUnit)
      return (k) => Usage.add(fixed, Usage.scale(perUnit, k))
    }
    const unitCosts = request.unitCosts
    // the whole request's cost is one pass (what every ask with no binding limit needs: a verifier
    // batch of 256 candidates asks once); prefix sums are built only for a binary search
    let whole: Usage.Usage | undefined
    let sums: Array<Usage.Usage> | undefined
    return (k) => {
      if (k >= unitCosts.length) {
        if (whole === undefined) whole = sumBase(fixed, unitCosts)
        return whole
      }
      if (sums === undefined) {
        sums = [fixed]
        for (const u of unitCosts) sums.push(Usage.add(sums[sums.length - 1] ?? fixed, baseOnly(u)))
      }
      return sums[Math.max(0, k)] ?? fixed
    }
  }

  /** Whether `usage` on top of `base` fits every limit. */
  const fitsAll = (base: Usage.Usage, usage: Usage.Usage): boolean => {
    const total = Usage.add(base, usage)
    for (const meter of Usage.METERS) {
      const limit = limits[meter]
      if (limit !== undefined && !fits(meter, limit, total)) return false
    }
    return true
  }

  /**
   * One unit of a shrinkable request with as much of its shrink meter as fits (≥ its `min`), or
   * undefined. The metered totals are non-decreasing in that amount: binary search it.
   */
  const shrunkUnit = (
    request: ReserveRequest,
    base: Usage.Usage,
    kept: Usage.Usage
  ): { readonly usage: Usage.Usage; readonly amount: number } | undefined => {
    const shrink = request.shrink
    if (shrink === undefined || request.unitCosts !== undefined || request.units < 1) return undefined
    const full = Math.floor(request.perUnit[shrink.meter])
    const tied = (t: number): Usage.Usage => {
      let u: Usage.Usage = { ...request.perUnit, [shrink.meter]: t }
      for (const m of shrink.with ?? []) u = { ...u, [m]: Math.min(request.perUnit[m], t) }
      return u
    }
    const costAt = (t: number) => Usage.add(baseOnly(request.fixed), baseOnly(tied(t)))
    const min = Math.max(0, Math.ceil(shrink.min))
    const ok = (t: number) => fitsAll(base, Usage.max(costAt(t), kept))
    if (min > full || !ok(min)) return undefined
    let lo = min
    let hi = full
    while (lo < hi) {
      const mid = Math.ceil((lo + hi) / 2)
      if (ok(mid)) lo = mid
      else hi = mid - 1
    }
    return { usage: costAt(lo), amount: lo }
  }

  const tryReserve = (
    request: ReserveRequest
  ):
    | { readonly _tag: "Granted"; readonly reservation: Reservation }
    | { readonly _tag: "Refused"; readonly error: BudgetRefused } => {
    const asked = request.unitCosts === undefined ? request.units : request.unitCosts.length
    const units = Math.max(0, Math.floor(asked))
    const minUnits = Math.min(units, Math.max(0, Math.floor(request.minUnits ?? units)))
    // no limit and no hold: every unit is granted at its worst case (what the loop below finds
    // for unlimited meters, without its closures and sums)
    if (unlimited && request.hold === undefined && units >= minUnits) return grantWhole(request, units)
    const costOf = costFunction(request)
    // A request that names a hold may use what the hold keeps back: after the grant the hold keeps
    // only what the grant does not cover, so the total in use becomes (in use − hold) + the
    // larger of the grant and the hold, meter by meter — checked as such, so that the derived
    // meters (USD, FLOPs) stay within their limits too.
    const held = request.hold === undefined ? undefined : holds.get(request.hold.id)
    const kept = held?.usage ?? Usage.zero
    const inUse = Usage.add(committed, reserved)
    const base = held === undefined ? inUse : Usage.subtract(inUse, kept)
    const inUseWith = held === undefined ? costOf : (k: number) => Usage.max(costOf(k), kept)
    let grant = units
    let binding: Usage.Meter | undefined
    for (const meter of Usage.METERS) {
      const k = unitsFor(meter, base, inUseWith, grant)
      if (k < grant) {
        grant = k
        binding = meter
      }
      if (grant < minUnits) break
    }
    let usage: Usage.Usage | undefined
    let shrunk: number | undefined
    if (grant >= minUnits && grant >= 0) usage = costOf(grant)
    else if (minUnits <= 1 && request.tentative !== true) {
      const one = shrunkUnit(request, base, kept)
      if (one !== undefined) {
        grant = 1
        usage = one.usage
        shrunk = one.amount
      }
    }
    if (usage === undefined) {
      if (request.tentative !== true) {
        refusals++
        changes++
      }
      const meter = binding ?? "calls"
      const limit = limits[meter] ?? Number.POSITIVE_INFINITY
      const spentOrHeld = Pricing.derive(pricing, base)[meter]
      const need = Pricing.derive(pricing, costOf(Math.max(minUnits, 1)))[meter]
      // what the hold would have covered is not "left" for an ordinary request: report it as such
      return {
        _tag: "Refused",
        error: new BudgetRefused({
          node: request.node,
          meter,
          requested: need,
          available: Math.max(0, limit - spentOrHeld)
        })
      }
    }
    const reservation: Reservation =
      shrunk === undefined
        ? { id: nextId++, node: request.node, units: grant, usage }
        : { id: nextId++, node: request.node, units: grant, usage, shrunk }
    addBaseInto(reserved, usage)
    changes++
    if (held !== undefined) {
      // what the grant takes out of the hold is no longer kept twice
      const taken = overlap(held.usage, usage)
      held.usage = Usage.subtract(held.usage, taken)
      subtractBaseInto(reserved, taken)
    }
    open.set(reservation.id, reservation)
    return { _tag: "Granted", reservation }
  }

  /** A grant of every unit asked, at its worst case: what `tryReserve` grants without limits. */
  const grantWhole = (
    request: ReserveRequest,
    units: number
  ): { readonly _tag: "Granted"; readonly reservation: Reservation } => {
    let usage: Usage.Usage
    if (request.unitCosts === undefined) usage = wholeCost(request.fixed, request.perUnit, units)
    else usage = sumBase(request.fixed, request.unitCosts)
    const reservation: Reservation = { id: nextId++, node: request.node, units, usage }
    addBaseInto(reserved, usage)
    changes++
    open.set(reservation.id, reservation)
    return { _tag: "Granted", reservation }
  }

  const settle = (reservation: Reservation): boolean => {
    if (!open.delete(reservation.id)) return false
    subtractBaseInto(reserved, reservation.usage)
    changes++
    return true
  }

  const hold = (node: string, usage: Usage.Usage): Hold | undefined => {
    const u = Usage.make(Object.fromEntries(HELD.map((m) => [m, Math.max(0, usage[m])])))
    if (!fitsAll(Usage.add(committed, reserved), u)) return undefined
    const h: Hold = { id: nextId++, node }
    holds.set(h.id, { hold: h, usage: u })
    addBaseInto(reserved, u)
    changes++
    return h
  }

  const releaseHold = (h: Hold): void => {
    const entry = holds.get(h.id)
    if (entry === undefined) return
    holds.delete(h.id)
    subtractBaseInto(reserved, entry.usage)
    changes++
  }

  // Meters whose committed total must never pass what was reserved: the limited ones, and the
  // token meters when FLOPs or USD (derived from them) are limited.
  const tokenMeters: ReadonlyArray<Usage.Meter> = ["inputTokens", "outputTokens", "verifierTokens"]
  const capped = new Set<Usage.Meter>(
    Usage.METERS.filter(
      (m) => limits[m] !== undefined || (tokenMeters.includes(m) && (limits.flops ?? limits.usd) !== undefined)
    )
  )

  const commit = (reservation: Reservation, actual: Usage.Usage, spent: Usage.Usage = actual): void => {
    if (!settle(reservation)) return
    // FLOPs and USD of `actual` are never added (derived when read): only its base meters count
    let a = actual
    // the meter-by-meter check below, only when some meter passed its grant (a backend that
    // reports more than it was granted misbehaves: nearly every commit skips it)
    if (overran(actual, reservation.usage))
      for (const meter of Usage.METERS) {
        if (meter === "wallMs" || meter === "flops" || meter === "usd") continue
        if (a[meter] > reservation.usage[meter]) {
          overruns.push({ node: reservation.node, meter, reserved: reservation.usage[meter], actual: a[meter] })
          // a misbehaving backend reported more than it was granted: the ledger charges what was
          // reserved on a limited meter (so no limit is ever passed) and records the overrun; the
          // backend meter keeps the real figure
          if (capped.has(meter)) a = { ...a, [meter]: reservation.usage[meter] }
        }
      }
    addBaseInto(committed, a)
    changes++
    addBaseInto(backend, spent)
    addBaseInto(nodeTotal(reservation.node), a)
    byNodeList = undefined
  }

  const heldTotal = (): Usage.Usage => Usage.sum([...holds.values()].map((h) => h.usage))

  // The per-node list, kept sorted by path as nodes first commit (a graph has a handful). A commit
  // adds into its node's running total; the list handed out is rebuilt, and each node's entry
  // priced, only when a snapshot asks after a commit (a `repeat` takes two snapshots a round, a
  // fan-out commits 256 times between two: pricing at every commit cost more than the commit)
  const nodeOrder: Array<string> = []
  let byNodeList: ReadonlyArray<NodeUsage> | undefined = NO_NODES
  /** A node's running total, made (and the node put in path order) at its first commit. */
  const nodeTotal = (node: string): Types.Mutable<Usage.Usage> => {
    let entry = byNode.get(node)
    if (entry === undefined) {
      entry = { total: { ...Usage.zero }, changedAt: 0, priced: undefined }
      byNode.set(node, entry)
      let i = nodeOrder.length
      while (i > 0 && (nodeOrder[i - 1] as string) > node) i--
      nodeOrder.splice(i, 0, node)
    }
    entry.changedAt = changes
    return entry.total
  }
  const byNodeNow = (): ReadonlyArray<NodeUsage> => {
    if (byNodeList === undefined) {
      const list: Array<NodeUsage> = []
      for (const node of nodeOrder) {
        const entry = byNode.get(node)
        if (entry === undefined) continue
        // an entry priced since the node's last commit is still right
        if (entry.priced === undefined || entry.priced.changes !== entry.changedAt)
          entry.priced = { changes: entry.changedAt, entry: { node, usage: Pricing.derive(pricing, entry.total) } }
        list.push(entry.priced.entry)
      }
      byNodeList = list
    }
    return byNodeList
  }

  let last: { readonly changes: number; readonly snapshot: LedgerSnapshot } | undefined
  // a `repeat` takes a snapshot after each round and another before the next, with nothing
  // changed between them: the second is the first (snapshots are never written to)
  const snapshot = (): LedgerSnapshot => {
    if (last !== undefined && last.changes === changes) return last.snapshot
    const snap = snapshotNow()
    last = { changes, snapshot: snap }
    return snap
  }

  const snapshotNow = (): LedgerSnapshot => ({
    limits,
    committed: Pricing.derive(pricing, committed),
    reserved: Pricing.derive(pricing, reserved),
    // nothing held prices at zero on every meter
    held: holds.size === 0 ? Usage.zero : Pricing.derive(pricing, heldTotal()),
    backend: Pricing.derive(pricing, backend),
    byNode: byNodeNow(),
    open: open.size + holds.size,
    refusals,
    overruns: overruns.length === 0 ? NO_OVERRUNS : [...overruns]
  })

  const remaining = (): Limits.Limits => {
    const used = Pricing.derive(pricing, Usage.add(committed, reserved))
    const out: Partial<Record<Usage.Meter, number>> = {}
    for (const meter of Usage.METERS) {
      const limit = limits[meter]
      if (limit !== undefined) out[meter] = Math.max(0, limit - used[meter])
    }
    return out
  }

  const shortfall = (usage: Usage.Usage): ReadonlyArray<Shortfall> => {
    const base = baseOnly(usage)
    const out: Array<Shortfall> = []
    for (const meter of Usage.METERS) {
      const limit = limits[meter]
      if (limit !== undefined && !fits(meter, limit, base))
        out.push({ meter, needs: Pricing.derive(pricing, base)[meter], limit })
    }
    return out
  }

  return { tryReserve, commit, release: settle, hold, releaseHold, remaining, snapshot, shortfall }
}

/**
 * Runs `grant` with the scope in context, uninterruptibly, so that a grant and the finalizer that
 * releases it are never separated. Unlike `Effect.acquireRelease`, the finalizer does not capture
 * the fiber's context (restoring it copies the whole context once per reservation): releasing a
 * reservation needs none.
 */
const scopedGrant = <A, E>(
  grant: (scope: Scope.Scope) => Effect.Effect<A, E, Scope.Scope>
): Effect.Effect<A, E, Scope.Scope> =>
  // the scope read from the fiber in the step that grants (one effect, not a service lookup and
  // a flatMap: every backend call reserves)
  Effect.uninterruptible(
    Effect.withFiber((fiber) => grant(Context.get(fiber.context as Context.Context<Scope.Scope>, Scope.Scope)))
  )

/**
 * `reserveAll` built from a ledger's `reserve`: each request in turn, stopping at the first
 * refusal. A ledger that wraps another and changes `reserve` gives this as its `reserveAll`.
 *
 * @example
 * const wrapped: LedgerShape = { ...inner, reserve, reserveAll: reserveEachWith(reserve) }
 */
export const reserveEachWith =
  (reserve: LedgerShape["reserve"]): LedgerShape["reserveAll"] =>
  (requests) =>
    reserveEach(reserve, requests)

const reserveEach = Effect.fnUntraced(function* (
  reserve: LedgerShape["reserve"],
  requests: ReadonlyArray<ReserveRequest>
) {
  const reservations: Array<Reservation> = []
  for (const request of requests) {
    const r = yield* Effect.result(reserve(request))
    if (r._tag === "Failure") return { reservations, refusal: r.failure } satisfies Granted
    reservations.push(r.success)
  }
  return { reservations } satisfies Granted
})

/**
 * A ledger with the given limits and pricing.
 *
 * @example
 * const program = Effect.gen(function*() {
 *   const ledger = yield* make({ sequences: 10 })
 *   yield* Effect.scoped(Effect.gen(function*() {
 *     const r = yield* ledger.reserve({ node: "root", fixed: Usage.zero, perUnit: Usage.make({ sequences: 1 }), units: 64, minUnits: 1 })
 *     // r.units === 10
 *     yield* ledger.commit(r, Usage.make({ sequences: r.units }))
 *   }))
 * })
 */
export const make = (limits: Limits.Limits, pricing: Pricing.Pricing = Pricing.free): Effect.Effect<LedgerShape> =>
  Effect.sync(() => makeUnsafe(limits, pricing))

/**
 * `make`, outside Effect: a ledger is plain state, and every run makes one.
 *
 * @example
 * const ledger = makeUnsafe({ sequences: 10 })
 */
export const makeUnsafe = (limits: Limits.Limits, pricing: Pricing.Pricing = Pricing.free): LedgerShape => {
  const state = makeState(limits, pricing)
  // One finalizer per scope, not per reservation: it releases every reservation granted in that
  // scope that is still open (releasing a settled one does nothing, and releases commute). A node
  // reserves all its calls in one scope; a finalizer each would cost an effect per reservation
  // and make closing the scope step through them one effect at a time. Once the finalizer has
  // run, the scope's list is gone, so a grant in a closed scope registers a finalizer again (and
  // `Scope.addFinalizer` runs it at once, as before).
  const granted = new WeakMap<Scope.Scope, Array<Reservation>>()
  /** Puts grants in their scope's list; the finalizer to add when the scope has none yet. */
  const inScope = (scope: Scope.Scope, grants: ReadonlyArray<Reservation>): Effect.Effect<void> | undefined => {
    const list = granted.get(scope)
    if (list !== undefined) {
      for (const r of grants) list.push(r)
      return undefined
    }
    const fresh = [...grants]
    granted.set(scope, fresh)
    return Scope.addFinalizer(
      scope,
      Effect.sync(() => {
        granted.delete(scope)
        for (const r of fresh) state.release(r)
      })
    )
  }
  const reserve = (request: ReserveRequest): Effect.Effect<Reservation, BudgetRefused, Scope.Scope> =>
    scopedGrant((scope) => {
      const outcome = state.tryReserve(request)
      if (outcome._tag === "Refused") return Effect.fail(outcome.error)
      const reservation = outcome.reservation
      const finalizer = inScope(scope, [reservation])
      return finalizer === undefined ? Effect.succeed(reservation) : Effect.as(finalizer, reservation)
    })
  // a node's calls in one step: the grant loop is plain code, and the grants join the scope's list
  // together (one step for 16 calls where `reserve` takes four or five each)
  const reserveAll = (requests: ReadonlyArray<ReserveRequest>): Effect.Effect<Granted, never, Scope.Scope> =>
    scopedGrant((scope) => {
      const reservations: Array<Reservation> = []
      let refusal: BudgetRefused | undefined
      for (const request of requests) {
        const outcome = state.tryReserve(request)
        if (outcome._tag === "Refused") {
          refusal = outcome.error
          break
        }
        reservations.push(outcome.reservation)
      }
      const out: Granted = refusal === undefined ? { reservations } : { reservations, refusal }
      const finalizer = reservations.length === 0 ? undefined : inScope(scope, reservations)
      return finalizer === undefined ? Effect.succeed(out) : Effect.as(finalizer, out)
    })
  return Ledger.of({
    limits,
    pricing,
    shortfall: state.shortfall,
    reserve,
    reserveAll,
    commit: Object.assign(
      (reservation: Reservation, actual: Usage.Usage, spent?: Usage.Usage) =>
        Effect.sync(() => state.commit(reservation, actual, spent)),
      { now: state.commit }
    ),
    release: (reservation) =>
      Effect.sync(() => {
        state.release(reservation)
      }),
    hold: (node, usage) => Effect.sync(() => state.hold(node, usage)),
    releaseHold: (h) => Effect.sync(() => state.releaseHold(h)),
    remainingUnsafe: state.remaining,
    snapshot: Effect.sync(state.snapshot)
  })
}

/**
 * A layer with a fresh ledger.
 *
 * @example
 * program.pipe(Effect.provide(layer({ sequences: 10 })))
 */
export const layer = (limits: Limits.Limits, pricing: Pricing.Pricing = Pricing.free): Layer.Layer<Ledger> =>
  Layer.effect(Ledger, make(limits, pricing))

/**
 * The equal share of what remains of a ledger's limits for one of `parts` parts: integer meters
 * are floored, so the shares never sum past what remains.
 *
 * @example
 * shareOf({ sequences: 10 }, { committed, reserved }, 3) // { sequences: 3 } when nothing is spent or held
 */
export const shareOf = (
  limits: Limits.Limits,
  snapshot: Pick<LedgerSnapshot, "committed" | "reserved">,
  parts: number
): Limits.Limits => {
  const out: Partial<Record<Usage.Meter, number>> = {}
  for (const meter of Usage.METERS) {
    const limit = limits[meter]
    if (limit === undefined) continue
    const left = Math.max(0, limit - snapshot.committed[meter] - snapshot.reserved[meter])
    out[meter] = meter === "flops" || meter === "usd" ? (left / parts) * (1 - 1e-12) : Math.floor(left / parts)
  }
  return out
}

/**
 * A ledger that pays from a share of `parent`: it enforces its own `limits` (the share) and
 * reserves and commits everything in the parent too, so the parent's per-node attribution stays
 * complete. Parallel branches each get one, so what a branch can spend never depends on how fast
 * the other branches run.
 *
 * @example
 * const branch = yield* makeShare(parent, shareOf(parent.limits, yield* parent.snapshot, 4))
 */
export const makeShare = (parent: LedgerShape, limits: Limits.Limits): Effect.Effect<LedgerShape> =>
  Effect.sync(() => makeShareUnsafe(parent, limits))

/**
 * `makeShare`, outside Effect: a share is plain state, and a fan-out makes one per branch in one
 * pass before any branch starts.
 *
 * @example
 * const branches = Array.from({ length: 4 }, () => makeShareUnsafe(parent, share))
 */
export const makeShareUnsafe = (parent: LedgerShape, limits: Limits.Limits): LedgerShape => {
  const state = makeState(limits, parent.pricing)
  const inParent = new Map<number, Reservation>()
  // a share's hold is held in the parent too, so the parent side of a finishing grant can draw on it
  const holdsInParent = new Map<number, Hold>()
  // callbacks, not a generator: every call a parallel branch makes reserves here (see Calls.ts
  // on what creating a generator closure costs)
  const reserve = (request: ReserveRequest): Effect.Effect<Reservation, BudgetRefused, Scope.Scope> =>
    scopedGrant((scope) => {
      const outcome = state.tryReserve(request)
      if (outcome._tag === "Refused") return Effect.fail(outcome.error)
      const mine = outcome.reservation
      const parentHold = request.hold === undefined ? undefined : holdsInParent.get(request.hold.id)
      const up: ReserveRequest =
        parentHold === undefined
          ? { node: request.node, fixed: mine.usage, perUnit: Usage.zero, units: 1 }
          : { node: request.node, fixed: mine.usage, perUnit: Usage.zero, units: 1, hold: parentHold }
      // the parent always has room for a share's grant; if a float edge says otherwise, refuse
      return Effect.matchEffect(parent.reserve(up), {
        onFailure: (refusal) => {
          state.release(mine)
          return Effect.fail(refusal)
        },
        onSuccess: (inUp) => {
          inParent.set(mine.id, inUp)
          return Effect.as(Scope.addFinalizer(scope, release(mine)), mine)
        }
      })
    })
  /** Settles a reservation here and, once, its twin in the parent. */
  const settleParent = (mine: Reservation, settle: (p: Reservation) => Effect.Effect<void>) =>
    Effect.suspend(() => {
      const p = inParent.get(mine.id)
      if (p === undefined) return Effect.void
      inParent.delete(mine.id)
      return settle(p)
    })
  const release = (mine: Reservation) =>
    Effect.suspend(() => {
      state.release(mine)
      return settleParent(mine, parent.release)
    })
  const hold = (node: string, usage: Usage.Usage): Effect.Effect<Hold | undefined> =>
    Effect.suspend(() => {
      const mine = state.hold(node, usage)
      if (mine === undefined) return Effect.succeed(undefined)
      return Effect.map(parent.hold(node, usage), (up) => {
        if (up === undefined) {
          state.releaseHold(mine)
          return undefined
        }
        holdsInParent.set(mine.id, up)
        return mine
      })
    })
  const releaseHold = (mine: Hold): Effect.Effect<void> =>
    Effect.suspend(() => {
      state.releaseHold(mine)
      const up = holdsInParent.get(mine.id)
      if (up === undefined) return Effect.void
      holdsInParent.delete(mine.id)
      return parent.releaseHold(up)
    })
  return Ledger.of({
    limits,
    pricing: parent.pricing,
    shortfall: state.shortfall,
    reserve,
    // each grant here is one in the parent too: built from `reserve`
    reserveAll: reserveEachWith(reserve),
    commit: (mine, actual, spent) =>
      Effect.suspend(() => {
        state.commit(mine, actual, spent)
        return settleParent(mine, (p) => parent.commit(p, actual, spent))
      }),
    release,
    hold,
    releaseHold,
    remainingUnsafe: state.remaining,
    snapshot: Effect.sync(state.snapshot)
  })
}

/**
 * The ledger, counting its open reservations into `gauge` (shared by many ledgers: the service's
 * "reservations outstanding" metric). A reservation counts from its grant until it is committed,
 * released, or its scope closes.
 *
 * @example
 * const ledger = tracked(yield* make({ sequences: 64 }), outstanding)
 */
export const tracked = (inner: LedgerShape, gauge: { value: number }): LedgerShape => {
  const open = new Set<number>()
  const settle = (r: Reservation) =>
    Effect.sync(() => {
      if (open.delete(r.id)) gauge.value -= 1
    })
  return Ledger.of({
    ...inner,
    reserve: (request) =>
      Effect.tap(inner.reserve(request), (r) =>
        Effect.andThen(
          Effect.sync(() => {
            open.add(r.id)
            gauge.value += 1
          }),
          // a finalizer that needs no context (`Effect.addFinalizer` would restore the fiber's)
          Effect.flatMap(Effect.scope, (scope) => Scope.addFinalizer(scope, settle(r)))
        )
      ),
    reserveAll: (requests) =>
      Effect.tap(inner.reserveAll(requests), (granted) => {
        const rs = granted.reservations
        if (rs.length === 0) return Effect.void
        return Effect.andThen(
          Effect.sync(() => {
            for (const r of rs) open.add(r.id)
            gauge.value += rs.length
          }),
          Effect.flatMap(Effect.scope, (scope) =>
            Scope.addFinalizer(
              scope,
              Effect.sync(() => {
                for (const r of rs) if (open.delete(r.id)) gauge.value -= 1
              })
            )
          )
        )
      }),
    commit: (r, actual, spent) => Effect.andThen(inner.commit(r, actual, spent), settle(r)),
    release: (r) => Effect.andThen(inner.release(r), settle(r))
  })
}
