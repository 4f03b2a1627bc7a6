/**
 * Hash tags of the simulated backend. A draw is `uniform(nodeHash, tag)`; tags are ≥ 2^31 so they
 * never collide with child indices (the i-th child of node h is `hash32(h, i)`). The first block
 * is sim.py's and sim2.py's, value for value, so the models agree number for number.
 *
 * @since 0.1.0
 */

// sim.py's tags
export const T_DELTA = 0x80000001
export const T_LEN = 0x80000002
export const T_STEP = 0x80000011
export const T_PERS = 0x80000012
export const T_ANS = 0x80000013
export const T_PRM = 0x80000014
export const T_FADE = 0x80000015
export const T_TREE = 0x80000021
export const T_ORACLE = 0x80000022
export const T_REV = 0x80000023
export const T_BREAK = 0x80000031
export const T_ANCHOR = 0x80000032
export const T_LOCAL = 0x80000033
export const T_BPOS = 0x80000034
export const T_KEEP = 0x80000035

// sim2.py's new tags
/** a persuasive wrong step answers the shared misconception (distractor 1) */
export const T_ATTR = 0x80000016
/** the problem is beyond the model (drawn at the problem hash) */
export const T_CEIL = 0x80000017
/** a chain stuck on a wrong approach keeps it again */
export const T_STICK = 0x80000036

/** The greedy child of node h is `hash32(h, GREEDY)` (temperature 0). */
export const GREEDY = 0x7fffffff

// mull's own tags (not in sim.py)
/** per-lineage length jitter, drawn at a lineage's first step */
export const T_LEN_JITTER = 0x80000041
/** step text: length draws and the text generator's seed */
export const T_TEXT_LEN_A = 0x80000051
export const T_TEXT_LEN_B = 0x80000052
export const T_TEXT = 0x80000053
/** synthetic gold answer and the order of the distractors */
export const T_GOLD = 0x80000061
export const T_DISTRACTORS = 0x80000062
