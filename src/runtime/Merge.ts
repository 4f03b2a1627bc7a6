/**
 * Merging equivalent answers into groups, exactly and without a cap: an answer joins the group
 * with its key (O(1)), else the first earlier group whose answer `equivalent` calls equal, else
 * a new group. When the answer key has `cells`, an answer is compared only with the groups whose
 * answer shares one of its cells and with the groups whose cells are unknown, in first-seen
 * order — the groups skipped are those `equivalent` cannot call equal, so the result is the
 * unbounded pairwise merge's, at a fraction of its `equivalent` calls.
 *
 * @since 0.4.0
 */
import type { AnswerKeyShape } from "../services/Grader.ts"

/** No groups to compare with. */
const NONE: ReadonlyArray<number> = Object.freeze([])

/** Two ascending lists of group indices as one, each index once. */
const mergeAscending = (
  a: ReadonlyArray<number> | undefined,
  b: ReadonlyArray<number> | undefined
): ReadonlyArray<number> => {
  if (a === undefined || a.length === 0) return b ?? NONE
  if (b === undefined || b.length === 0) return a
  const out: Array<number> = []
  let i = 0
  let j = 0
  while (i < a.length || j < b.length) {
    const x = a[i] ?? Number.POSITIVE_INFINITY
    const y = b[j] ?? Number.POSITIVE_INFINITY
    if (x <= y) {
      out.push(x)
      i++
      if (x === y) j++
    } else {
      out.push(y)
      j++
    }
  }
  return out
}

/**
 * Groups answers in first-seen order; `make` builds a group for its first answer.
 *
 * @example
 * const m = new Merger(mathAnswerKey, (answer) => ({ answer, n: 0 }))
 * m.find("(x+1)^2").index === m.find("x^2+2x+1").index // true
 */
export class Merger<G extends { readonly answer: string }> {
  private readonly answers: AnswerKeyShape
  private readonly make: (answer: string) => G
  private readonly byKey = new Map<string, number>()
  private readonly bySpelling = new Map<string, number>()
  readonly groups: Array<G> = []
  /** group indices by cell, ascending */
  private readonly inCell = new Map<string, Array<number>>()
  /** groups whose answer has no cells: every answer is compared with them */
  private readonly unknown: Array<number> = []
  /** `equivalent` calls made (for tests and the bench) */
  comparisons = 0
  constructor(answers: AnswerKeyShape, make: (answer: string) => G) {
    this.answers = answers
    this.make = make
  }
  /** the group of an answer (created if none is equivalent) and its index in `groups` */
  find(answer: string): { readonly group: G; readonly index: number } {
    const index = this.indexOf(answer)
    // every index stored points into `groups`
    return { group: this.groups[index] as G, index }
  }
  /** the group of an answer (created if none is equivalent): `find(answer).group`, without the pair */
  groupOf(answer: string): G {
    // every index stored points into `groups`
    return this.groups[this.indexOf(answer)] as G
  }
  /** the index in `groups` of an answer's group (created if none is equivalent) */
  indexOf(answer: string): number {
    // a spelling seen before is in the group it joined then (its key, and so its group, depend on
    // the spelling alone): most ballots repeat a few spellings, and a key normalises the text
    const seen = this.bySpelling.get(answer)
    if (seen !== undefined) return seen
    const key = this.answers.key(answer)
    let index = this.byKey.get(key)
    if (index === undefined) {
      if (this.groups.length === 0) {
        // the first group: nothing to compare it with yet, so its cells are read only when an
        // answer with another key comes (a one-candidate vote never reads them)
        index = 0
        this.groups.push(this.make(answer))
      } else {
        if (!this.firstIndexed) this.indexFirst()
        const cells = this.answers.cells?.(answer)
        index = this.firstEquivalent(answer, cells)
        if (index === undefined) {
          index = this.groups.length
          this.groups.push(this.make(answer))
          this.index(index, cells)
        }
      }
      this.byKey.set(key, index)
    }
    this.bySpelling.set(answer, index)
    return index
  }
  /** whether the first group is in the cell index (it goes in when a second key comes) */
  private firstIndexed = false
  private indexFirst(): void {
    this.firstIndexed = true
    const first = this.groups[0]
    if (first !== undefined) this.index(0, this.answers.cells?.(first.answer))
  }
  /** files group `index` under its cells (or with the groups of unknown cells) */
  private index(index: number, cells: ReadonlyArray<string> | undefined): void {
    if (cells === undefined) this.unknown.push(index)
    else
      for (let k = 0; k < cells.length; k++) {
        const c = cells[k] as string
        // a cell listed twice files the group once (most answers have one cell: no set to build)
        if (cells.indexOf(c) < k) continue
        const list = this.inCell.get(c)
        if (list === undefined) this.inCell.set(c, [index])
        else list.push(index)
      }
  }
  private firstEquivalent(answer: string, cells: ReadonlyArray<string> | undefined): number | undefined {
    const candidates = cells === undefined ? undefined : this.candidates(cells)
    const n = candidates === undefined ? this.groups.length : candidates.length
    for (let j = 0; j < n; j++) {
      const i = candidates === undefined ? j : (candidates[j] ?? -1)
      const g = this.groups[i]
      if (g === undefined) continue
      this.comparisons++
      if (this.answers.equivalent(g.answer, answer)) return i
    }
    return undefined
  }
  /** the groups sharing a cell with `cells`, and those with unknown cells, in first-seen order */
  private candidates(cells: ReadonlyArray<string>): ReadonlyArray<number> {
    // one cell and no group of unknown cells: that cell's list, already ascending (groups are
    // filed in the order they are made)
    if (this.unknown.length === 0) {
      if (cells.length === 1) return this.inCell.get(cells[0] as string) ?? NONE
      // two cells (a number's two cells around its value): the two ascending lists merged
      if (cells.length === 2)
        return mergeAscending(this.inCell.get(cells[0] as string), this.inCell.get(cells[1] as string))
    }
    const seen = new Set<number>(this.unknown)
    for (const c of cells) for (const i of this.inCell.get(c) ?? []) seen.add(i)
    return [...seen].sort((a, b) => a - b)
  }
}
