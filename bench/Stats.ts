/**
 * Repetitions and their summary: median and spread (min–max), and the clock.
 *
 * @since 0.1.0
 */

/** A summary of repeated measurements. */
export interface Summary {
  readonly median: number
  readonly min: number
  readonly max: number
  readonly n: number
}

/**
 * Median and range of a sample.
 *
 * @example
 * summarize([3, 1, 2]) // { median: 2, min: 1, max: 3, n: 3 }
 */
export const summarize = (xs: ReadonlyArray<number>): Summary => {
  const s = [...xs].sort((a, b) => a - b)
  const n = s.length
  if (n === 0) return { median: Number.NaN, min: Number.NaN, max: Number.NaN, n: 0 }
  const mid = Math.floor(n / 2)
  const median = n % 2 === 1 ? (s[mid] ?? Number.NaN) : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2
  return { median, min: s[0] ?? Number.NaN, max: s[n - 1] ?? Number.NaN, n }
}

/** Milliseconds since an arbitrary origin, sub-millisecond. */
export const now = (): number => performance.now()

/**
 * CPU milliseconds this process has used (user + system, all threads: GC helpers included).
 *
 * @example
 * const t0 = cpuMs(); work(); const used = cpuMs() - t0
 */
export const cpuMs = (): number => {
  const u = process.cpuUsage()
  return (u.user + u.system) / 1000
}

/**
 * Times an async function once, in milliseconds.
 *
 * @example
 * const ms = await time(() => runOnce())
 */
export const time = async (f: () => Promise<unknown>): Promise<number> => {
  const t0 = now()
  await f()
  return now() - t0
}

/**
 * Formats a number with a fixed number of significant decimals.
 *
 * @example
 * fmt(1.23456, 2) // "1.23"
 */
export const fmt = (x: number, digits = 2): string =>
  Number.isFinite(x) ? x.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits }) : "—"

/**
 * "median (min–max)" of a summary.
 *
 * @example
 * spread(summarize([1, 2, 3]), 1) // "2.0 (1.0–3.0)"
 */
export const spread = (s: Summary, digits = 2): string =>
  `${fmt(s.median, digits)} (${fmt(s.min, digits)}–${fmt(s.max, digits)})`
