/**
 * Content hashes for seeds and simulated draws.
 *
 * Two families live here:
 *
 * - a 32-bit mixer (`mix32`, `hash32`, `uniform`) — the exact hash of the calibrated simulator
 *   reference (`shared/simulator-reference/sim.py`), so the simulated backend can be compared with
 *   it number for number;
 * - a 64-bit hash (`hash64`, `seedOf`) — the seed of every backend call, derived from what the
 *   call *is* (run seed, problem, candidate, node) and never from call order.
 *
 * @since 0.1.0
 */

/**
 * The 32-bit finaliser of the simulator reference (a "lowbias32" variant).
 *
 * @example
 * mix32(12345) // 2435775735
 */
export const mix32 = (x: number): number => {
  let h = x >>> 0
  h ^= h >>> 16
  h = Math.imul(h, 0x7feb352d)
  h ^= h >>> 15
  h = Math.imul(h, 0x846ca68b)
  h ^= h >>> 16
  return h >>> 0
}

/**
 * Combines two unsigned 32-bit values: `mix32(a ^ mix32(b + 0x9E3779B9))`.
 *
 * @example
 * hash32(1, 2) // 587229646
 */
export const hash32 = (a: number, b: number): number => mix32((a ^ mix32((b + 0x9e3779b9) >>> 0)) >>> 0)

/**
 * A uniform draw in (0, 1) from a node hash and a tag: `(hash32(h, tag) + 0.5) / 2^32`.
 *
 * @example
 * const u = uniform(hash32(1, 2), 0x80000011) // 0 < u < 1
 */
export const uniform = (h: number, tag: number): number => (hash32(h, tag) + 0.5) / 4294967296

/**
 * (hi·2^32 + lo)·(chi·2^32 + clo) mod 2^64, in 32-bit halves: the low product is split in 16-bit
 * limbs so every partial product is exact in a double (no BigInt allocated per multiply).
 */
const mul64 = (hi: number, lo: number, chi: number, clo: number): readonly [number, number] => {
  const a0 = lo & 0xffff
  const a1 = lo >>> 16
  const b0 = clo & 0xffff
  const b1 = clo >>> 16
  const mid = a0 * b1 + a1 * b0
  const low = a0 * b0 + (mid % 65536) * 65536
  const carry = Math.floor(low / 4294967296)
  const high = a1 * b1 + Math.floor(mid / 65536) + carry + Math.imul(hi, clo) + Math.imul(lo, chi)
  return [high >>> 0, low >>> 0]
}

/** MurmurHash3's 64-bit finaliser on (hi, lo) halves. */
const fmix64 = (hi0: number, lo0: number): bigint => {
  let hi = hi0 >>> 0
  let lo = lo0 >>> 0
  // h ^= h >> 33: the high half shifted by one lands in the low half
  lo = (lo ^ (hi >>> 1)) >>> 0
  ;[hi, lo] = mul64(hi, lo, 0xff51afd7, 0xed558ccd)
  lo = (lo ^ (hi >>> 1)) >>> 0
  ;[hi, lo] = mul64(hi, lo, 0xc4ceb9fe, 0x1a85ec53)
  lo = (lo ^ (hi >>> 1)) >>> 0
  // the two halves written into one 64-bit word and read as a bigint: one bigint made, not the
  // four of `(BigInt(hi) << 32n) | BigInt(lo)`
  halves[LOW] = lo
  halves[1 - LOW] = hi
  return word[0] as bigint
}

const halves = new Uint32Array(2)
const word = new BigUint64Array(halves.buffer)
/** Which 32-bit half of a 64-bit word holds its low bits on this machine (0 when little-endian). */
const LOW = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1 ? 0 : 1

const encoder = new TextEncoder()
let scratch = new Uint8Array(256)

// The FNV state between parts, in module variables: `absorb` runs once per part of every seed,
// and returning a pair would allocate one. (Its loops work on locals: a module variable lives in
// a context slot, read and written at every byte.)
let stateHi = 0
let stateLo = 0

/** Hashes one part into the state (`stateHi`, `stateLo`): its length prefix and tag, then its bytes. */
const absorb = (part: string | number | bigint): void => {
  let hi = stateHi
  let lo = stateLo
  // the part's text is its tag ("s" or "n") and the string: the tag is hashed as a byte of its
  // own, not prepended — a template string of a long id is a copy, flattened again for every hash
  const body = typeof part === "string" ? part : part.toString()
  const tag = typeof part === "string" ? 0x73 : 0x6e
  // ASCII text (ids, node paths, numbers) is its own UTF-8: its code units are hashed without
  // encoding it first (the same bytes); on the first other character, start over with the encoder
  const h0 = hi
  const l0 = lo
  let n = body.length + 1
  let ascii = true
  // three bytes of length prefix and the tag, then the text's bytes (two loops: no branch on
  // the position per byte)
  for (let i = 0; i < 4; i++) {
    lo = (lo ^ (i < 3 ? (n >>> (8 * i)) & 0xff : tag)) >>> 0
    // (hi·2^32 + lo)·(2^40 + 0x1b3) mod 2^64; p < 2^41, so its high word truncates with `| 0`
    const p = lo * 0x1b3
    hi = (Math.imul(hi, 0x1b3) + ((p / 4294967296) | 0) + (lo << 8)) >>> 0
    lo = p >>> 0
  }
  for (let i = 0; i < body.length; i++) {
    const byte = body.charCodeAt(i)
    if (byte > 0x7f) {
      ascii = false
      break
    }
    lo = (lo ^ byte) >>> 0
    const p = lo * 0x1b3
    hi = (Math.imul(hi, 0x1b3) + ((p / 4294967296) | 0) + (lo << 8)) >>> 0
    lo = p >>> 0
  }
  if (!ascii) {
    hi = h0
    lo = l0
    const text = `${tag === 0x73 ? "s" : "n"}${body}`
    if (scratch.length < text.length * 3 + 3) scratch = new Uint8Array(text.length * 3 + 3)
    n = encoder.encodeInto(text, scratch.subarray(3)).written
    scratch[0] = n & 0xff
    scratch[1] = (n >>> 8) & 0xff
    scratch[2] = (n >>> 16) & 0xff
    for (let i = 0; i < n + 3; i++) {
      lo = (lo ^ (scratch[i] ?? 0)) >>> 0
      const p = lo * 0x1b3
      hi = (Math.imul(hi, 0x1b3) + ((p / 4294967296) | 0) + (lo << 8)) >>> 0
      lo = p >>> 0
    }
  }
  stateHi = hi
  stateLo = lo
}

/**
 * A 64-bit hash of a list of strings and numbers: FNV-1a over the UTF-8 bytes of each part
 * (each part is length-prefixed, so `["ab","c"]` and `["a","bc"]` differ), finished with
 * MurmurHash3's `fmix64` avalanche. Returns an unsigned 64-bit `bigint`.
 *
 * The FNV loop runs on two 32-bit halves (the prime is 2^40 + 0x1b3, so a multiply is a shift and
 * a small product): keys of long prefixes are hashed for every cached call.
 *
 * @example
 * hash64(["seed", 7]) === hash64(["seed", 7]) // true
 */
export const hash64 = (parts: ReadonlyArray<string | number | bigint>): bigint => {
  // FNV-1a 64 offset basis 0xcbf29ce484222325 as (hi, lo)
  stateHi = 0xcbf29ce4
  stateLo = 0x84222325
  for (const part of parts) absorb(part)
  return fmix64(stateHi, stateLo)
}

/**
 * The seed of one backend call: a 64-bit hash of the run seed, the problem id, the candidate id
 * (the prefix being extended, or the id of the fresh sample) and the path of the graph node that
 * asks. Every random choice of every backend is derived from it, so a run gives the same result at
 * concurrency 1 and 64 and two runs that ask for the same thing get the same answer.
 *
 * @example
 * seedOf(0, "test/algebra/1.json", "s3", "root.nodes.0") // a bigint in [0, 2^64)
 */
export const seedOf = (runSeed: number | bigint, problemId: string, candidateId: string, nodePath: string): bigint => {
  // a safe integer spells the same digits as its bigint (both are hashed as "n" + digits): no
  // bigint made per call
  const seed = typeof runSeed === "number" && Number.isSafeInteger(runSeed) ? runSeed : BigInt(runSeed)
  // `hash64([seed, problemId, candidateId, nodePath])`, with the state after the first two parts
  // kept from the last call: a run's calls share them (a 256-branch fan-out hashes them 256 times)
  if (seed !== prefix.seed || problemId !== prefix.problemId) {
    stateHi = 0xcbf29ce4
    stateLo = 0x84222325
    absorb(seed)
    absorb(problemId)
    prefix = { seed, problemId, hi: stateHi, lo: stateLo }
  } else {
    stateHi = prefix.hi
    stateLo = prefix.lo
  }
  absorb(candidateId)
  absorb(nodePath)
  return fmix64(stateHi, stateLo)
}

/** The FNV state after the run seed and problem of the last `seedOf`. */
let prefix: { readonly seed: number | bigint; readonly problemId: string; readonly hi: number; readonly lo: number } = {
  seed: Number.NaN,
  problemId: "",
  hi: 0,
  lo: 0
}

/**
 * Folds a 64-bit seed to 32 bits (xor of the halves), for backends with 32-bit generators.
 *
 * @example
 * seed32(seedOf(0, "p", "s0", "root")) // an integer in [0, 2^32)
 */
export const seed32 = (seed: bigint): number => Number((seed ^ (seed >> 32n)) & 0xffffffffn) >>> 0

/**
 * Folds a 64-bit seed to a non-negative safe integer (53 bits), for JSON and HTTP APIs that take a
 * numeric seed.
 *
 * @example
 * Number.isSafeInteger(seedToSafeInteger(seedOf(0, "p", "s0", "root"))) // true
 */
export const seedToSafeInteger = (seed: bigint): number => Number(seed & ((1n << 53n) - 1n))

/**
 * A 32-bit hash of a string (FNV-1a over UTF-8, then `mix32`), for deriving per-problem hashes
 * from string ids.
 *
 * @example
 * hashString32("test/algebra/1.json") // an integer in [0, 2^32)
 */
export const hashString32 = (text: string): number => {
  let h = 0x811c9dc5
  for (const b of encoder.encode(text)) {
    h ^= b
    h = Math.imul(h, 0x01000193)
  }
  return mix32(h >>> 0)
}
