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

const hiOf = (value: Num | undefined, fallback: number, env: Env, pop: PopulationBound): number => {
  if (value === undefined) return fallback
  const r = Expression.evaluateInterval(Scope.exprOf(value), (name) => {
    const p = env.params[name]
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
  return Number.isNaN(r.hi) ? Number.POSITIVE_INFINITY : Math.max(0, r.hi)
}

const mt = (value: Num | undefined, env: Env, pop: PopulationBound) =>
  Math.min(hiOf(value, env.opts.maxTokens, env, pop), env.opts.maxTokens)

const gen = (env: Env, calls: number, sequences: number, outputTokens: number): Usage.Usage =>
  Usage.make({
    calls,
    sequences,
    outputTokens,
    inputTokens:
      env.opts.promptTokens === undefined ? (calls > 0 ? Number.POSITIVE_INFINITY : 0) : calls * env.opts.promptTokens
  })

const ver = (env: Env, n: number): Usage.Usage =>
  Usage.make({
    calls: n,
    verifierCalls: n,
    verifierTokens:
      env.opts.verifierTokens === undefined ? (n > 0 ? Number.POSITIVE_INFINITY : 0) : n * env.opts.verifierTokens
  })

const safe = (x: number) => (Number.isNaN(x) ? Number.POSITIVE_INFINITY : x)
const addU = (a: Usage.Usage, b: Usage.Usage): Usage.Usage => {
  const s = Usage.add(a, b)
  return Usage.make(Object.fromEntries(Usage.METERS.map((m) => [m, safe(s[m])])))
}

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
        cost: gen(env, n, n, n * m),
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
        cost: gen(env, a, a * n, a * n * m),
        pop: {
          size: pop.size + a * Math.max(0, n - 1),
          active: a * n,
          done: pop.done + a * n,
          chains: pop.chains + a * n
        }
      }
    }
    case "score": {
      let cost = ver(env, pop.size)
      if (node.lookahead !== undefined) {
        const k = hiOf(node.lookahead.steps, 0, env, pop)
        const m = mt(node.lookahead.maxTokens, env, pop)
        cost = addU(cost, gen(env, pop.active * k, pop.active * k, pop.active * k * m))
      }
      return { cost, pop }
    }
    case "prune": {
      const keep = hiOf(node.keep, 0, env, pop)
      const sample = node.mode === "sample"
      const among = node.among ?? Defaults.prunAmong
      if (among === "active") {
        const active = sample ? (pop.active > 0 ? keep : 0) : Math.min(pop.active, keep)
        return {
          cost: Usage.zero,
          pop: {
            size: pop.size - pop.active + active,
            active,
            done: pop.done,
            chains: Math.min(pop.chains, pop.size - pop.active + active)
          }
        }
      }
      const size = sample ? (pop.size > 0 ? keep : 0) : Math.min(pop.size, keep)
      return {
        cost: Usage.zero,
        pop: {
          size,
          active: Math.min(size, sample ? keep : pop.active),
          done: Math.min(size, sample ? keep : pop.done),
          chains: Math.min(pop.chains, size)
        }
      }
    }
    case "revise": {
      const c = Math.min(pop.chains, pop.size)
      const m = mt(node.maxTokens, env, pop)
      return {
        cost: gen(env, c, c, c * m),
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
      for (let r = 0; r < max; r++) {
        const out = step(loaded, node.body, `${path}.body`, env, p)
        cost = addU(cost, out.cost)
        const same =
          out.pop.size === p.size &&
          out.pop.active === p.active &&
          out.pop.done === p.done &&
          out.pop.chains === p.chains
        p = out.pop
        if (same) {
          // a fixpoint: every further round costs the same
          cost = addU(cost, Usage.scale(out.cost, max - r - 1))
          break
        }
      }
      return { cost, pop: p }
    }
    case "parallel": {
      const b = hiOf(node.branches, 1, env, pop)
      const one = step(loaded, node.body, `${path}.body`, env, EMPTY)
      return {
        cost: Usage.scale(one.cost, b),
        pop: {
          size: pop.size + b * one.pop.size,
          active: pop.active + b * one.pop.active,
          done: pop.done + b * one.pop.done,
          chains: pop.chains + b * one.pop.chains
        }
      }
    }
    case "route": {
      const s = hiOf(node.estimate.samples, 1, env, pop)
      const m = mt(node.estimate.maxTokens, env, pop)
      const est = addU(gen(env, s, s, s * m), ver(env, s))
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
        out = {
          size: Math.max(out.size, r.pop.size),
          active: Math.max(out.active, r.pop.active),
          done: Math.max(out.done, r.pop.done),
          chains: Math.max(out.chains, r.pop.chains)
        }
      })
      return { cost: addU(est, worst), pop: out }
    }
    case "use": {
      const target = loaded.uses.get(path)
      if (target === undefined) return { cost: Usage.zero, pop }
      const params: Record<string, Expression.Interval> = {}
      for (const [k, v] of Object.entries(target.doc.params ?? {})) params[k] = { lo: v, hi: v }
      for (const [k, v] of Object.entries(node.params ?? {})) {
        const hi = hiOf(v, 0, env, pop)
        const lo = -hiOf(typeof v === "number" ? -v : `-(${v})`, 0, env, pop)
        params[k] = { lo, hi }
      }
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
  const env: Env = {
    params: Object.fromEntries(Object.entries(params).map(([k, v]) => [k, { lo: v, hi: v }])),
    limits: options.limits ?? {},
    opts: options
  }
  const first = (g: LoadedGraph, node: Node, path: string): Usage.Usage | undefined => {
    switch (node.type) {
      case "sample":
        if (hiOf(node.n, 0, env, EMPTY) === 0) return undefined
        return Usage.make({ calls: 1, sequences: 1, outputTokens: mt(node.maxTokens, env, EMPTY) })
      case "route":
        return Usage.make({ calls: 1, sequences: 1, outputTokens: mt(node.estimate.maxTokens, env, EMPTY) })
      case "sequence":
        for (let i = 0; i < node.nodes.length; i++) {
          const c = node.nodes[i]
          const r = c === undefined ? undefined : first(g, c, `${path}.nodes.${i}`)
          if (r !== undefined) return r
        }
        return undefined
      case "repeat":
      case "parallel":
        return first(g, node.body, `${path}.body`)
      case "use": {
        const t = g.uses.get(path)
        return t === undefined ? undefined : first(t, t.doc.root, "root")
      }
      default:
        return undefined
    }
  }
  return first(loaded, loaded.doc.root, "root") ?? Usage.zero
}
