/**
 * The static cost bound: an upper bound on every meter of a run, computed from the graph, its
 * params, the budget and the backend's `maxTokens` before anything runs (`mull cost`). It is an
 * abstract interpretation of the graph over upper bounds of the population (size, active, done,
 * revision chains); numeric fields are evaluated over intervals, population counts ranging over
 * `[0, bound]`. Invariant (property-tested): a run's actual usage never exceeds it.
 *
 * Input tokens, verifier tokens, FLOPs and USD depend on prompt lengths, which the graph does not
 * know: they are bounded only when a bound on one call's prompt is given (`promptTokens`, e.g.
 * the question plus the longest prefix the backend accepts); otherwise they are `Infinity`.
 *
 * @since 0.1.0
 */
import type { Limits } from "../budget/Limits.ts"
import * as Usage from "../domain/Usage.ts"
import * as Expression from "./Expression.ts"
import { Defaults, type Node, type Num } from "./Graph.ts"
import type { LoadedGraph } from "./Loader.ts"
import * as Scope from "./Scope.ts"
import { effectiveParams } from "./Validate.ts"

/** Upper bounds of a population. */
export interface PopulationBound {
  readonly size: number
  readonly active: number
  readonly done: number
  /** distinct revision chains */
  readonly chains: number
}

export interface CostOptions {
  readonly params?: Scope.Params
  readonly limits?: Limits
  /** the backend's largest `maxTokens` of one call (nodes' own `maxTokens` are capped by it) */
  readonly maxTokens: number
  /** an upper bound on one generator call's prompt tokens, if known */
  readonly promptTokens?: number
  /** an upper bound on the tokens one verifier call reads, if known */
  readonly verifierTokens?: number
}

export interface CostBound {
  /** upper bound per meter (`Infinity` where unbounded); FLOPs, USD and wall time are not bounded here */
  readonly usage: Usage.Usage
  /** upper bound of the final population */
  readonly population: PopulationBound
}

type Env = {
  readonly params: { readonly [k: string]: Expression.Interval }
  readonly limits: Limits
  readonly opts: CostOptions
}

const EMPTY: PopulationBound = { size: 0, active: 0, done: 0, chains: 0 }
const MAX_ROUNDS = 100_000

/** The interval of a numeric field over the params' intervals and the population's bounds. */
const intervalOf = (value: Num, env: Env, pop: PopulationBound): Expression.Interval => {
  const r = Expression.evaluateInterval(Scope.exprOf(value), (name) => {
    // own params only: `__proto__` (an unknown name) would otherwise read Object.prototype
    const p = Object.hasOwn(env.params, name) ? env.params[name] : undefined
    if (p !== undefined) return p
    if (name.startsWith("budget.")) {
      const v = Scope.lookup({}, env.limits)(name)
      return v === undefined ? undefined : { lo: v, hi: v }
    }
    if (name === "population.size") return { lo: 0, hi: pop.size }
    if (name === "population.active") return { lo: 0, hi: pop.active }
    if (name === "population.done") return { lo: 0, hi: pop.done }
    return undefined
  })
  return {
    lo: Number.isNaN(r.lo) ? Number.NEGATIVE_INFINITY : r.lo,
    hi: Number.isNaN(r.hi) ? Number.POSITIVE_INFINITY : r.hi
  }
}

const hiOf = (value: Num | undefined, fallback: number, env: Env, pop: PopulationBound): number =>
  value === undefined ? fallback : Math.max(0, intervalOf(value, env, pop).hi)

const mt = (value: Num | undefined, env: Env, pop: PopulationBound) =>
  Math.min(hiOf(value, env.opts.maxTokens, env, pop), env.opts.maxTokens)

const gen = (env: Env, calls: number, sequences: number, outputTokens: number): Usage.Usage =>
  Usage.make({
    calls,
    sequences,
    outputTokens,
    inputTokens:
      env.opts.promptTokens === undefined
        ? calls > 0
          ? Number.POSITIVE_INFINITY
          : 0
        : mul(calls, env.opts.promptTokens)
  })

const ver = (env: Env, n: number): Usage.Usage =>
  Usage.make({
    calls: n,
    verifierCalls: n,
    verifierTokens:
      env.opts.verifierTokens === undefined ? (n > 0 ? Number.POSITIVE_INFINITY : 0) : mul(n, env.opts.verifierTokens)
  })

const safe = (x: number) => (Number.isNaN(x) ? Number.POSITIVE_INFINITY : x)
/** A product of upper bounds: none of something unbounded, or unboundedly many free things, is 0 (not NaN). */
const mul = (a: number, b: number) => (a === 0 || b === 0 ? 0 : a * b)
const scaleU = (u: Usage.Usage, k: number): Usage.Usage =>
  Usage.make(Object.fromEntries(Usage.METERS.map((m) => [m, mul(u[m], k)])))
const addU = (a: Usage.Usage, b: Usage.Usage): Usage.Usage => {
  const s = Usage.add(a, b)
  return Usage.make(Object.fromEntries(Usage.METERS.map((m) => [m, safe(s[m])])))
}

/** The least bound of two populations' bounds. */
const joinPop = (a: PopulationBound, b: PopulationBound): PopulationBound => ({
  size: Math.max(a.size, b.size),
  active: Math.max(a.active, b.active),
  done: Math.max(a.done, b.done),
  chains: Math.max(a.chains, b.chains)
})

const step = (
  loaded: LoadedGraph,
  node: Node,
  path: string,
  env: Env,
  pop: PopulationBound
): { readonly cost: Usage.Usage; readonly pop: PopulationBound } => {
  switch (node.type) {
    case "sample": {
      const n = hiOf(node.n, 0, env, pop)
      const m = mt(node.maxTokens, env, pop)
      return {
        cost: gen(env, n, n, mul(n, m)),
        pop: {
          size: pop.size + n,
          active: pop.active + n,
          done: pop.done + n,
          chains: pop.chains + n
        }
      }
    }
    case "expand": {
      const n = hiOf(node.n, 1, env, pop)
      const m = mt(node.maxTokens, env, pop)
      const a = pop.active
      return {
        cost: gen(env, a, mul(a, n), mul(mul(a, n), m)),
        pop: {
          size: pop.size + mul(a, Math.max(0, n - 1)),
          active: mul(a, n),
          done: pop.done + mul(a, n),
          chains: pop.chains + mul(a, n)
        }
      }
    }
    case "score": {
      let cost = ver(env, pop.size)
      if (node.lookahead !== undefined) {
        const k = hiOf(node.lookahead.steps, 0, env, pop)
        const m = mt(node.lookahead.maxTokens, env, pop)
        cost = addU(cost, gen(env, mul(pop.active, k), mul(pop.active, k), mul(mul(pop.active, k), m)))
      }
      return { cost, pop }
    }
    case "prune": {
      const keep = hiOf(node.keep, 0, env, pop)
      const sample = node.mode === "sample"
      const among = node.among ?? Defaults.prunAmong
      // a sampling prune's extra copies of a candidate outside any chain are chains of their own
      const chains = (size: number) => Math.min(size, sample ? pop.chains + keep : pop.chains)
      if (among === "active") {
        const active = sample ? (pop.active > 0 ? keep : 0) : Math.min(pop.active, keep)
        // candidates outside the pool are the done ones: at most `done` of them (`size − active` is
        // no bound, since `size`, `active` and `done` are separate upper bounds)
        const outside = Math.min(pop.size, pop.done)
        const size = sample ? outside + active : Math.min(pop.size, outside + active)
        return {
          cost: Usage.zero,
          pop: { size, active, done: pop.done, chains: chains(size) }
        }
      }
      const size = sample ? (pop.size > 0 ? keep : 0) : Math.min(pop.size, keep)
      return {
        cost: Usage.zero,
        pop: {
          size,
          active: Math.min(size, sample ? keep : pop.active),
          done: Math.min(size, sample ? keep : pop.done),
          chains: chains(size)
        }
      }
    }
    case "revise": {
      const c = Math.min(pop.chains, pop.size)
      const m = mt(node.maxTokens, env, pop)
      return {
        cost: gen(env, c, c, mul(c, m)),
        pop: { size: pop.size + c, active: pop.active + c, done: pop.done + c, chains: c }
      }
    }
    case "select":
      return { cost: Usage.zero, pop }
    case "sequence": {
      let cost = Usage.zero
      let p = pop
      node.nodes.forEach((child, i) => {
        const r = step(loaded, child, `${path}.nodes.${i}`, env, p)
        cost = addU(cost, r.cost)
        p = r.pop
      })
      return { cost, pop: p }
    }
    case "repeat": {
      const max = hiOf(node.max, 0, env, pop)
      if (!Number.isFinite(max) || max > MAX_ROUNDS) {
        const once = step(loaded, node.body, `${path}.body`, env, pop)
        const inf = Usage.make(
          Object.fromEntries(Usage.METERS.map((m) => [m, once.cost[m] > 0 ? Number.POSITIVE_INFINITY : 0]))
        )
        return {
          cost: inf,
          pop: {
            size: Number.POSITIVE_INFINITY,
            active: Number.POSITIVE_INFINITY,
            done: Number.POSITIVE_INFINITY,
            chains: Number.POSITIVE_INFINITY
          }
        }
      }
      let cost = Usage.zero
      let p = pop
      // the loop may stop after any round (no-active, done >= …, a refusal), so the population
      // that leaves it is bounded by the join over every round count, not by the last round's
      let joined = pop
      for (let r = 0; r < max; r++) {
        const out = step(loaded, node.body, `${path}.body`, env, p)
        cost = addU(cost, out.cost)
        const same =
          out.pop.size === p.size &&
          out.pop.active === p.active &&
          out.pop.done === p.done &&
          out.pop.chains === p.chains
        p = out.pop
        joined = joinPop(joined, p)
        if (same) {
          // a fixpoint: every further round costs the same
          cost = addU(cost, Usage.scale(out.cost, max - r - 1))
          break
        }
      }
      return { cost, pop: joined }
    }
    case "parallel": {
      const b = hiOf(node.branches, 1, env, pop)
      const one = step(loaded, node.body, `${path}.body`, env, EMPTY)
      return {
        cost: scaleU(one.cost, b),
        pop: {
          size: pop.size + mul(b, one.pop.size),
          active: pop.active + mul(b, one.pop.active),
          done: pop.done + mul(b, one.pop.done),
          chains: pop.chains + mul(b, one.pop.chains)
        }
      }
    }
    case "route": {
      const s = hiOf(node.estimate.samples, 1, env, pop)
      const m = mt(node.estimate.maxTokens, env, pop)
      const est = addU(gen(env, s, s, mul(s, m)), ver(env, s))
      const inner: PopulationBound = {
        size: pop.size + s,
        active: pop.active + s,
        done: pop.done + s,
        chains: pop.chains + s
      }
      let worst = Usage.zero
      let out = inner
      node.cases.forEach((c, i) => {
        const r = step(loaded, c, `${path}.cases.${i}`, env, inner)
        worst = Usage.max(worst, r.cost)
        out = joinPop(out, r.pop)
      })
      return { cost: addU(est, worst), pop: out }
    }
    case "use": {
      const target = loaded.uses.get(path)
      if (target === undefined) return { cost: Usage.zero, pop }
      const params: Record<string, Expression.Interval> = {}
      for (const [k, v] of Object.entries(target.doc.params ?? {})) params[k] = { lo: v, hi: v }
      // the used graph's params range over the intervals of their expressions (not clamped at 0:
      // a divisor known to be ≥ 1 must stay so)
      for (const [k, v] of Object.entries(node.params ?? {})) params[k] = intervalOf(v, env, pop)
      return step(target, target.doc.root, "root", { ...env, params }, pop)
    }
  }
}

/**
 * The static upper bound on every meter of a run.
 *
 * @example
 * staticCost(loaded, { params: { N: 16 }, maxTokens: 1024 }).usage.sequences // e.g. 16 × rounds …
 */
export const staticCost = (loaded: LoadedGraph, options: CostOptions): CostBound => {
  const { params } = effectiveParams(loaded.doc, options.params ?? {})
  const intervals: Record<string, Expression.Interval> = {}
  for (const [k, v] of Object.entries(params)) intervals[k] = { lo: v, hi: v }
  const r = step(
    loaded,
    loaded.doc.root,
    "root",
    { params: intervals, limits: options.limits ?? {}, opts: options },
    EMPTY
  )
  return {
    usage: {
      ...r.cost,
      flops: Number.POSITIVE_INFINITY,
      usd: Number.POSITIVE_INFINITY,
      wallMs: Number.POSITIVE_INFINITY
    },
    population: r.pop
  }
}

/**
 * The least a run must be able to pay for to produce anything: the first generation call of the
 * graph (one call, one sequence, its `maxTokens`), found in execution order; zero if the graph
 * never generates. The runtime refuses a run whose budget cannot pay this.
 *
 * @example
 * minimumCost(loaded, { maxTokens: 1024 }) // { calls: 1, sequences: 1, outputTokens: 1024, … }
 */
export const minimumCost = (loaded: LoadedGraph, options: CostOptions): Usage.Usage => {
  const { params } = effectiveParams(loaded.doc, options.params ?? {})
  const top: Env = {
    params: Object.fromEntries(Object.entries(params).map(([k, v]) => [k, { lo: v, hi: v }])),
    limits: options.limits ?? {},
    opts: options
  }
  const first = (g: LoadedGraph, node: Node, path: string, env: Env): Usage.Usage | undefined => {
    switch (node.type) {
      case "sample":
        if (hiOf(node.n, 0, env, EMPTY) === 0) return undefined
        return Usage.make({ calls: 1, sequences: 1, outputTokens: mt(node.maxTokens, env, EMPTY) })
      case "route":
        return Usage.make({ calls: 1, sequences: 1, outputTokens: mt(node.estimate.maxTokens, env, EMPTY) })
      case "sequence":
        for (let i = 0; i < node.nodes.length; i++) {
          const c = node.nodes[i]
          const r = c === undefined ? undefined : first(g, c, `${path}.nodes.${i}`, env)
          if (r !== undefined) return r
        }
        return undefined
      case "repeat": {
        // before the first call the population is empty: a loop that stops when nothing is active
        // (the default), or whose `done >= x` already holds, or that has no round, never runs
        if (hiOf(node.max, 0, env, EMPTY) < 1) return undefined
        const until = node.until ?? Defaults.repeatUntil
        if (until === "no-active") return undefined
        const threshold = /^\s*done\s*>=\s*(.+)$/u.exec(until)?.[1]
        if (threshold !== undefined && intervalOf(threshold, env, EMPTY).hi <= 0) return undefined
        return first(g, node.body, `${path}.body`, env)
      }
      case "parallel":
        return first(g, node.body, `${path}.body`, env)
      case "use": {
        const t = g.uses.get(path)
        if (t === undefined) return undefined
        // the used graph's own params, as `step` evaluates them
        const inner: Record<string, Expression.Interval> = {}
        for (const [k, v] of Object.entries(t.doc.params ?? {})) inner[k] = { lo: v, hi: v }
        for (const [k, v] of Object.entries(node.params ?? {})) inner[k] = intervalOf(v, env, EMPTY)
        return first(t, t.doc.root, "root", { ...env, params: inner })
      }
      default:
        return undefined
    }
  }
  return first(loaded, loaded.doc.root, "root", top) ?? Usage.zero
}
