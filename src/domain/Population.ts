/**
 * A population: the ordered candidates flowing between graph nodes. Nodes map a population to a
 * population; order is significant (it is the order of creation, and breaks ties).
 *
 * @since 0.1.0
 */
import type { Candidate } from "./Candidate.ts"

export type Population = ReadonlyArray<Candidate>

/** The empty population. */
export const empty: Population = []

/**
 * The candidates that can still be extended.
 *
 * @example
 * active(pop).length
 */
export const active = (pop: Population): Population => pop.filter((c) => !c.done)

/** The complete candidates. */
export const done = (pop: Population): Population => pop.filter((c) => c.done)

/** Counts used by graph expressions (`population.size`, `population.active`, `population.done`). */
export interface Counts {
  readonly size: number
  readonly active: number
  readonly done: number
}

/**
 * Counts of a population.
 *
 * @example
 * counts([]) // { size: 0, active: 0, done: 0 }
 */
export const counts = (pop: Population): Counts => {
  let d = 0
  for (const c of pop) if (c.done) d++
  return { size: pop.length, active: pop.length - d, done: d }
}
