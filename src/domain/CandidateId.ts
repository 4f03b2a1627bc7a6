/**
 * Candidate ids: deterministic paths fixed by the graph, made here and read back here.
 *
 * ```
 * id      = branch* sample step*
 * branch  = "b" int "/"            a parallel branch: b2/ (nested: b2/b0/)
 * sample  = "s" int                the k-th fresh sample of its branch: s3
 * step    = "." int                the i-th child of an expansion: s3.1, s3.1.0
 *         | ".r" int               revision k of the chain started by the id before it: s0.r2
 *         | "~" int                the j-th extra copy drawn by a sampling prune: s3~1
 * ```
 *
 * A lookahead rollout step is `<id>#<k>`: a request's seed key, never a candidate of the population.
 *
 * @since 0.2.0
 */

/**
 * The id prefix of parallel branch `j` inside the branch with prefix `prefix` (`""` at the top).
 *
 * @example
 * branch("", 2) // "b2/"
 * branch("b2/", 0) // "b2/b0/"
 */
export const branch = (prefix: string, j: number): string => `${prefix}b${j}/`

/**
 * The group of parallel branch `j` (its prefix without the slash), what candidates made in it carry.
 *
 * @example
 * branchGroup("b2/", 0) // "b2/b0"
 */
export const branchGroup = (prefix: string, j: number): string => `${prefix}b${j}`

/**
 * The k-th fresh sample of the branch with prefix `prefix`.
 *
 * @example
 * sample("b2/", 3) // "b2/s3"
 */
export const sample = (prefix: string, k: number): string => `${prefix}s${k}`

/**
 * The i-th child of a candidate (an expansion).
 *
 * @example
 * child("s3.1", 0) // "s3.1.0"
 */
export const child = (parent: string, i: number): string => `${parent}.${i}`

/**
 * Attempt `index` of the revision chain `chain` (the id of the chain's first attempt).
 *
 * @example
 * revision("s0", 2) // "s0.r2"
 */
export const revision = (chain: string, index: number): string => `${chain}.r${index}`

/**
 * The j-th extra copy of a candidate drawn by a sampling prune (copies are numbered from 1).
 *
 * @example
 * copy("s3.1", 2) // "s3.1~2"
 */
export const copy = (id: string, j: number): string => `${id}~${j}`

/**
 * The seed key of step `k` of a candidate's lookahead rollout.
 *
 * @example
 * rollout("s3", 0) // "s3#0"
 */
export const rollout = (id: string, k: number): string => `${id}#${k}`

/**
 * The parallel branch prefix of an id (every level), or `undefined` outside any branch.
 *
 * @example
 * groupOf("b2/b0/s1.3") // "b2/b0/"
 */
export const groupOf = (id: string): string | undefined => {
  const slash = id.lastIndexOf("/")
  return slash < 0 ? undefined : id.slice(0, slash + 1)
}

/**
 * The top-level parallel branch of an id, or `undefined` outside any branch. Self-contained (the
 * trace viewer's page embeds its source).
 *
 * @example
 * topGroupOf("b2/b0/s1.3") // "b2/"
 */
export const topGroupOf = (id: string): string | undefined => {
  const slash = id.indexOf("/")
  return slash < 0 ? undefined : id.slice(0, slash + 1)
}

const COPY = /~\d+$/u
const REVISION = /\.r\d+$/u

/**
 * Whether an id is a revision (its last step is `.r<k>`).
 *
 * @example
 * isRevision("b1/s0.r2") // true
 */
export const isRevision = (id: string): boolean => REVISION.test(id)

/**
 * The candidate an extra copy was drawn from, or `undefined` when the id is not a copy.
 *
 * @example
 * copyOf("s3.1~2") // "s3.1"
 */
export const copyOf = (id: string): string | undefined => (COPY.test(id) ? id.replace(COPY, "") : undefined)

/** One step after the fresh sample of an id. */
export type Step =
  | { readonly _tag: "Child"; readonly index: number }
  | { readonly _tag: "Revision"; readonly index: number }
  | { readonly _tag: "Copy"; readonly index: number }

/** An id read back. */
export interface Parsed {
  /** the parallel branches, outermost first */
  readonly branches: ReadonlyArray<number>
  /** the fresh sample's number within its branch */
  readonly sample: number
  readonly steps: ReadonlyArray<Step>
}

const ID = /^((?:b\d+\/)*)s(\d+)((?:\.\d+|\.r\d+|~\d+)*)$/u
const STEP = /\.r(\d+)|\.(\d+)|~(\d+)/gu

/**
 * Reads an id back, or `undefined` when it does not follow the grammar.
 *
 * @example
 * parse("b2/s3.1.r2~1") // { branches: [2], sample: 3, steps: [Child 1, Revision 2, Copy 1] }
 */
export const parse = (id: string): Parsed | undefined => {
  const m = ID.exec(id)
  if (m === null) return undefined
  const branches = (m[1] ?? "")
    .split("/")
    .filter((b) => b !== "")
    .map((b) => Number(b.slice(1)))
  const steps: Array<Step> = []
  for (const s of (m[3] ?? "").matchAll(STEP)) {
    if (s[1] !== undefined) steps.push({ _tag: "Revision", index: Number(s[1]) })
    else if (s[2] !== undefined) steps.push({ _tag: "Child", index: Number(s[2]) })
    else if (s[3] !== undefined) steps.push({ _tag: "Copy", index: Number(s[3]) })
  }
  return { branches, sample: Number(m[2]), steps }
}

/**
 * Writes a parsed id back (the inverse of `parse`).
 *
 * @example
 * format({ branches: [2], sample: 3, steps: [{ _tag: "Child", index: 1 }] }) // "b2/s3.1"
 */
export const format = (p: Parsed): string => {
  let id = sample(
    p.branches.reduce((prefix, j) => branch(prefix, j), ""),
    p.sample
  )
  for (const s of p.steps)
    id = s._tag === "Child" ? child(id, s.index) : s._tag === "Revision" ? revision(id, s.index) : copy(id, s.index)
  return id
}
