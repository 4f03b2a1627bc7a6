/**
 * The trace viewer's tree layout: left to right, one column per depth, one row per visible leaf,
 * each parent centred on its first and last visible child (a tidy tree without overlaps). The
 * viewer re-runs it in the page whenever a subtree is collapsed or pruned candidates are shown or
 * hidden, so the function is self-contained — no imports, no free variables — and `Page.ts`
 * embeds its source (`layoutTree.toString()`) in the HTML: one implementation, tested here.
 *
 * @since 0.1.0
 */

/** Where each node of a tree goes. Hidden nodes have depth -1 and row NaN. */
export interface Layout {
  /** column of each node (the root is 0) */
  readonly depth: ReadonlyArray<number>
  /** row of each node: leaves take whole rows in depth-first order; parents sit between children */
  readonly row: ReadonlyArray<number>
  /** the visible nodes, depth-first (parents before children) */
  readonly order: ReadonlyArray<number>
  /** number of leaf rows */
  readonly rows: number
  /** deepest column */
  readonly depthMax: number
}

/**
 * Lays out the tree rooted at node 0. A collapsed node shows no children; a hidden node (and its
 * subtree) is not shown at all. Iterative, so a 10,000-node tree or a long revision chain cannot
 * overflow the stack; linear time.
 *
 * @example
 * // 0 → 1, 2; 1 → 3
 * layoutTree([[1, 2], [3], [], []], [false, false, false, false], [false, false, false, false])
 * // { depth: [0, 1, 1, 2], row: [0.5, 0, 1, 0], order: [0, 1, 3, 2], rows: 2, depthMax: 2 }
 */
export const layoutTree = (
  children: ReadonlyArray<ReadonlyArray<number>>,
  collapsed: ReadonlyArray<boolean>,
  hidden: ReadonlyArray<boolean>
): Layout => {
  const n = children.length
  const depth: Array<number> = new Array(n).fill(-1)
  const row: Array<number> = new Array(n).fill(Number.NaN)
  const order: Array<number> = []
  // visible children of each shown node, so the second pass does not filter again
  const shown: Array<Array<number> | undefined> = new Array(n)
  let depthMax = 0
  if (n === 0) return { depth, row, order, rows: 0, depthMax }
  depth[0] = 0
  const stack = [0]
  while (stack.length > 0) {
    const v = stack.pop() as number
    order.push(v)
    const d = depth[v] as number
    if (d > depthMax) depthMax = d
    const kids = collapsed[v] === true ? [] : (children[v] ?? []).filter((c) => hidden[c] !== true)
    shown[v] = kids
    for (let k = kids.length - 1; k >= 0; k--) {
      const c = kids[k] as number
      depth[c] = d + 1
      stack.push(c)
    }
  }
  let rows = 0
  for (const v of order) if ((shown[v] as Array<number>).length === 0) row[v] = rows++
  for (let k = order.length - 1; k >= 0; k--) {
    const v = order[k] as number
    const kids = shown[v] as Array<number>
    if (kids.length > 0)
      row[v] = ((row[kids[0] as number] as number) + (row[kids[kids.length - 1] as number] as number)) / 2
  }
  return { depth, row, order, rows, depthMax }
}
