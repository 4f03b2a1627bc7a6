/**
 * Monte Carlo tree search over reasoning steps, as pure bookkeeping: the tree's statistics, the
 * selection rules (UCT, PUCT, and AB-MCTS-style adaptive branching by Thompson sampling) and the
 * back-propagation. The `mcts` node (`nodes/mcts.ts`) pays for the expansions and scores; this
 * module only decides where to expand next. Nothing here reads a clock or a global random source:
 * Thompson draws come from a seeded hash, so the same seed gives the same tree.
 *
 * Statistics: every tree node is created with a value in [0, 1] (its PRM score, or the score of a
 * rollout from it) and counts as one visit of itself and of each ancestor — so a node's `visits`
 * is the size of its subtree, `sum / visits` the mean value over it (backup `mean`) and `best` the
 * largest (backup `max`).
 *
 * @since 0.3.0
 */
import { hash32, uniform } from "../domain/Hash.ts"

/** One node of the search tree; index 0 is the root (the question, no candidate). */
export interface TreeNode {
  readonly index: number
  /** the parent's index (-1 for the root) */
  readonly parent: number
  /** the candidate id (`""` for the root) */
  readonly id: string
  /** its own value when created (PRM score, or its rollout's) */
  readonly value: number
  /** a complete solution: never expanded */
  readonly terminal: boolean
  /** whether it can grow (not terminal, not at the solution cap) */
  readonly growable: boolean
  readonly children: Array<number>
  visits: number
  sum: number
  best: number
  /** its step expansion happened (fixed branching) */
  expanded: boolean
  /** nothing more can be expanded in its subtree */
  closed: boolean
}

export type Selection = "uct" | "puct"
export type Backup = "mean" | "max"
export type Branching = "fixed" | "adaptive"

export interface Policy {
  readonly selection: Selection
  /** the exploration constant */
  readonly c: number
  readonly backup: Backup
  readonly branching: Branching
  /** children per expansion (fixed), or at most per node (adaptive) */
  readonly k: number
}

/** Where to expand next: at `node`, `n` new children. */
export interface Expansion {
  readonly node: number
  readonly n: number
}

/**
 * A search tree holding only its root.
 *
 * @example
 * const tree = make() // tree.nodes.length === 1
 */
export const make = (): { readonly nodes: Array<TreeNode> } => ({
  nodes: [
    {
      index: 0,
      parent: -1,
      id: "",
      value: 0,
      terminal: false,
      growable: true,
      children: [],
      visits: 0,
      sum: 0,
      best: 0,
      expanded: false,
      closed: false
    }
  ]
})

export type Tree = ReturnType<typeof make>

const node = (tree: Tree, i: number): TreeNode => {
  const n = tree.nodes[i]
  // indices come from the tree itself: a miss is a bug in this module
  if (n === undefined) throw new Error(`mcts: no tree node ${i}`)
  return n
}

/** Whether a node has all the children it will get (fixed: expanded; adaptive: k of them). */
const full = (n: TreeNode, policy: Policy): boolean =>
  policy.branching === "fixed" ? n.expanded : n.children.length >= policy.k

/** Re-derives `closed` for a node and its ancestors (after it gained a child or was expanded). */
const close = (tree: Tree, from: number, policy: Policy): void => {
  for (let i = from; i >= 0; ) {
    const n = node(tree, i)
    const closed = n.terminal || !n.growable || (full(n, policy) && n.children.every((c) => node(tree, c).closed))
    if (closed === n.closed && i !== from) return
    n.closed = closed
    i = n.parent
  }
}

/**
 * Adds a child of `parent` with its value and back-propagates the value to every ancestor.
 *
 * @example
 * const i = add(tree, policy, 0, "s0", 0.7, false, true)
 */
export const add = (
  tree: Tree,
  policy: Policy,
  parent: number,
  id: string,
  value: number,
  terminal: boolean,
  growable: boolean
): number => {
  const index = tree.nodes.length
  tree.nodes.push({
    index,
    parent,
    id,
    value,
    terminal,
    growable: growable && !terminal,
    children: [],
    visits: 1,
    sum: value,
    best: value,
    expanded: false,
    closed: terminal || !growable
  })
  node(tree, parent).children.push(index)
  for (let i = parent; i >= 0; i = node(tree, i).parent) {
    const a = node(tree, i)
    a.visits += 1
    a.sum += value
    a.best = Math.max(a.best, value)
  }
  close(tree, parent, policy)
  return index
}

/**
 * Marks a node's step expansion done (fixed branching), even when the budget paid fewer than k
 * children: it is not expanded again.
 *
 * @example
 * expanded(tree, policy, 0)
 */
export const expanded = (tree: Tree, policy: Policy, i: number): void => {
  node(tree, i).expanded = true
  close(tree, i, policy)
}

/**
 * A node's value estimate Q: its subtree's mean value (backup `mean`) or best (`max`).
 *
 * @example
 * q(tree.nodes[1], "mean")
 */
export const q = (n: TreeNode, backup: Backup): number =>
  n.visits === 0 ? 0 : backup === "max" ? n.best : n.sum / n.visits

/**
 * UCT (Kocsis & Szepesvári) or PUCT (AlphaZero, rStar-Math) of a child: Q + c·√(ln N)/√n, or
 * Q + c·P·√N/(1+n) with P the child's own value normalised over its siblings'.
 *
 * @example
 * score(tree, policy, parent, child)
 */
export const score = (tree: Tree, policy: Policy, parent: TreeNode, child: TreeNode): number => {
  const big = Math.max(1, parent.visits)
  if (policy.selection === "uct") return q(child, policy.backup) + policy.c * Math.sqrt(Math.log(big) / child.visits)
  const siblings = parent.children.map((c) => node(tree, c).value)
  const total = siblings.reduce((a, b) => a + b, 0)
  const prior = total > 0 ? child.value / total : 1 / Math.max(1, siblings.length)
  return q(child, policy.backup) + (policy.c * prior * Math.sqrt(big)) / (1 + child.visits)
}

/** A stream of uniforms in (0, 1) from a 32-bit seed and an iteration (never from call order). */
export const uniforms = (seed: number, iteration: number): (() => number) => {
  const h = hash32(seed, iteration)
  let tag = 0
  return () => uniform(h, tag++)
}

/** A standard normal draw (Box–Muller). */
const normal = (u: () => number): number => Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u())

/** A Gamma(shape, 1) draw (Marsaglia & Tsang; shape < 1 boosted by U^(1/shape)). */
const gamma = (shape: number, u: () => number): number => {
  if (shape < 1) return gamma(shape + 1, u) * u() ** (1 / shape)
  const d = shape - 1 / 3
  const c = 1 / Math.sqrt(9 * d)
  for (;;) {
    const x = normal(u)
    const v = (1 + c * x) ** 3
    if (v > 0 && Math.log(u()) < 0.5 * x * x + d - d * v + d * Math.log(v)) return d * v
  }
}

/**
 * A Beta(a, b) draw from a uniform stream.
 *
 * @example
 * beta(2, 5, uniforms(1, 0)) // in (0, 1)
 */
export const beta = (a: number, b: number, u: () => number): number => {
  const x = gamma(a, u)
  const y = gamma(b, u)
  return x + y === 0 ? 0.5 : x / (x + y)
}

/**
 * Where the next expansion goes, or `undefined` when the whole tree is closed.
 *
 * - `fixed`: from the root, descend to the best open child by UCT/PUCT (ties: the earlier child)
 *   until a node not yet expanded; expand it by k children.
 * - `adaptive` (AB-MCTS-A, Inoue et al. 2025, with Thompson sampling): at each node, "wider" (a
 *   new child here, while it has fewer than k) and "deeper" (each open child) are arms. Wider draws
 *   from Beta(1 + Σv, 1 + Σ(1 − v)) over the values of the node's own children when created (what a
 *   new child is likely worth); deeper into child c draws from Beta(1 + sum_c, 1 + visits_c − sum_c)
 *   over c's subtree. The largest draw wins (ties: wider, then the earlier child); wider expands
 *   one child here, deeper descends and decides again. `u` gives the uniforms.
 *
 * @example
 * next(tree, policy, uniforms(seed, iteration)) // { node: 0, n: 4 } at first
 */
export const next = (tree: Tree, policy: Policy, u: () => number): Expansion | undefined => {
  let x = node(tree, 0)
  if (x.closed) return undefined
  for (;;) {
    const open = x.children.map((c) => node(tree, c)).filter((c) => !c.closed)
    if (policy.branching === "fixed") {
      if (!x.expanded) return { node: x.index, n: policy.k }
      const parent = x
      const best = argmax(open.map((c) => score(tree, policy, parent, c)))
      const to = open[best]
      if (to === undefined) return undefined
      x = to
      continue
    }
    const wider = x.children.length < policy.k && x.growable
    const own = x.children.map((c) => node(tree, c).value)
    const draws: Array<number> = []
    if (wider) {
      const s = own.reduce((a, b) => a + b, 0)
      draws.push(beta(1 + s, 1 + own.length - s, u))
    }
    for (const c of open) draws.push(beta(1 + c.sum, 1 + Math.max(0, c.visits - c.sum), u))
    const pick = argmax(draws)
    if (pick < 0) return undefined
    if (wider && pick === 0) return { node: x.index, n: 1 }
    const to = open[wider ? pick - 1 : pick]
    if (to === undefined) return undefined
    x = to
  }
}

/** Index of the largest value (the first on ties), -1 when empty. */
const argmax = (xs: ReadonlyArray<number>): number => {
  let best = -1
  let top = Number.NEGATIVE_INFINITY
  xs.forEach((x, i) => {
    if (best < 0 || x > top) {
      best = i
      top = x
    }
  })
  return best
}

/**
 * The path of the search's answer: from the root, the child with the highest Q (ties: more visits,
 * then the earlier child), down to a leaf. Returns the leaf's index (0 for an empty tree).
 *
 * @example
 * bestLeaf(tree, "mean")
 */
export const bestLeaf = (tree: Tree, backup: Backup): number => {
  let x = node(tree, 0)
  while (x.children.length > 0) {
    let to: TreeNode | undefined
    for (const c of x.children.map((i) => node(tree, i)))
      if (to === undefined || q(c, backup) > q(to, backup) || (q(c, backup) === q(to, backup) && c.visits > to.visits))
        to = c
    if (to === undefined) break
    x = to
  }
  return x.index
}
