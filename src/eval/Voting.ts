/**
 * The stated voting options of an analysis (issue 18): how majority voting breaks ties and how
 * revisions vote. Each is a graph variant a sweep may run — `majority` (ties to the answer seen
 * first) or `majority-prm-ties` (ties to the larger PRM score sum, as the simulator reference);
 * `hybrid-revisions` (hierarchical: best within each chain, then across chains, as the paper) or
 * `hybrid-revisions-flat` (one weighted vote over every attempt, as the reference). A sweep may run
 * both variants (they share their generations through the cache); the findings, routers, policy
 * and exchange rate then see only the chosen one, so no policy picks between two votes of the same
 * samples. Both variants stay in the accuracy tables.
 *
 * @since 0.1.0
 */
import type { Configuration } from "./Accuracy.ts"

export const TIE_RULES = ["first", "score"] as const
export type TieRule = (typeof TIE_RULES)[number]
export const REVISION_VOTES = ["hierarchical", "flat"] as const
export type RevisionVote = (typeof REVISION_VOTES)[number]

/** The options an analysis used. */
export interface Voting {
  readonly ties: TieRule
  readonly revisions: RevisionVote
}

/** The graph of each majority tie rule. */
export const TIE_GRAPHS: { readonly [K in TieRule]: string } = { first: "majority", score: "majority-prm-ties" }
/** The graph of each revision vote. */
export const REVISION_VOTE_GRAPHS: { readonly [K in RevisionVote]: string } = {
  hierarchical: "hybrid-revisions",
  flat: "hybrid-revisions-flat"
}

const pick = <K extends string>(
  graphs: { readonly [k in K]: string },
  keys: ReadonlyArray<K>,
  present: ReadonlySet<string>,
  requested: K | undefined
): K => {
  if (requested !== undefined) return requested
  // the sweep's own choice when it ran one variant; else the first (mull's default)
  const ran = keys.filter((k) => present.has(graphs[k]))
  return ran.length === 1 && ran[0] !== undefined ? ran[0] : (keys[0] as K)
}

/**
 * The voting options of an analysis: the requested ones, else the variant the sweep ran, else
 * mull's defaults (ties to the first seen, hierarchical revisions).
 *
 * @example
 * resolveVoting(configs, {}) // { ties: "first", revisions: "hierarchical" } for sweeps/paper.json
 * resolveVoting(configs, { revisions: "flat" }).revisions // "flat"
 */
export const resolveVoting = (
  configs: ReadonlyArray<Pick<Configuration, "graph">>,
  requested: Partial<Voting> = {}
): Voting => {
  const present = new Set(configs.map((c) => c.graph))
  return {
    ties: pick(TIE_GRAPHS, TIE_RULES, present, requested.ties),
    revisions: pick(REVISION_VOTE_GRAPHS, REVISION_VOTES, present, requested.revisions)
  }
}

/**
 * The configurations an analysis uses under a voting choice: those of the other variants left out.
 *
 * @example
 * withVoting(configs, { ties: "first", revisions: "flat" }).some((c) => c.graph === "hybrid-revisions") // false
 */
export const withVoting = <C extends Pick<Configuration, "graph">>(
  configs: ReadonlyArray<C>,
  voting: Voting
): ReadonlyArray<C> => {
  const unused = new Set([
    ...TIE_RULES.filter((k) => k !== voting.ties).map((k) => TIE_GRAPHS[k]),
    ...REVISION_VOTES.filter((k) => k !== voting.revisions).map((k) => REVISION_VOTE_GRAPHS[k])
  ])
  return configs.filter((c) => !unused.has(c.graph))
}

/**
 * The voting options in words, for a report's method section.
 *
 * @example
 * describeVoting({ ties: "first", revisions: "hierarchical" })
 */
export const describeVoting = (v: Voting): string =>
  [
    v.ties === "first"
      ? "Majority voting breaks a tie by the answer seen first (`majority`; the simulator reference breaks it by the larger PRM score sum: `majority-prm-ties`, `--ties score`)."
      : "Majority voting breaks a tie by the larger PRM score sum, as the simulator reference (`majority-prm-ties`; mull's default breaks it by the answer seen first: `--ties first`).",
    v.revisions === "hierarchical"
      ? "Revisions vote hierarchically (`hybrid-revisions`: weighted best within each chain, then across chains, as the paper §6; the reference votes flat over every attempt: `hybrid-revisions-flat`, `--revision-vote flat`)."
      : "Revisions vote flat (`hybrid-revisions-flat`: one weighted vote over every attempt, as the simulator reference; the paper §6 votes hierarchically: `hybrid-revisions`, `--revision-vote hierarchical`).",
    "Weighted selection sums the PRM scores per answer; its ties go to the answer seen first."
  ].join(" ")
