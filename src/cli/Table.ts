/**
 * Plain-text tables for the terminal.
 *
 * @since 0.1.0
 */

/**
 * Formats rows as an aligned table; numeric-looking cells are right-aligned.
 *
 * @example
 * table(["meter", "used"], [["sequences", "10"]])
 * // "meter      used\n---------  ----\nsequences    10"
 */
export const table = (header: ReadonlyArray<string>, rows: ReadonlyArray<ReadonlyArray<string>>): string => {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)))
  const numeric = /^[-+]?[\d.,]+(e[-+]?\d+)?%?$|^—$|^∞$/u
  const line = (cells: ReadonlyArray<string>) =>
    cells
      .map((c, i) => (numeric.test(c) && i > 0 ? c.padStart(widths[i] ?? 0) : c.padEnd(widths[i] ?? 0)))
      .join("  ")
      .trimEnd()
  return [line(header), widths.map((w) => "-".repeat(w)).join("  "), ...rows.map(line)].join("\n")
}

/**
 * An integer (|n| < 1e12) with thousands separators: what `n.toLocaleString("en-US")` prints, without
 * its first call's cost (loading ICU's number formatting, 15–35 ms of a cold `mull run`).
 *
 * @example
 * grouped(-1234567) // "-1,234,567"
 */
export const grouped = (n: number): string => {
  const digits = String(Math.abs(n)).replace(/\B(?=(\d{3})+$)/gu, ",")
  // toLocaleString keeps the sign of -0
  return n < 0 || Object.is(n, -0) ? `-${digits}` : digits
}

/**
 * A number for humans: integers with thousands separators, small floats with 3 significant
 * digits, large ones in exponent form, `∞` for infinity.
 *
 * @example
 * fmt(1234567) // "1,234,567"
 * fmt(0.000123) // "0.000123"
 * fmt(2.5e15) // "2.50e+15"
 */
export const fmt = (x: number): string => {
  if (x === Number.POSITIVE_INFINITY) return "∞"
  if (Number.isNaN(x)) return "—"
  if (Math.abs(x) >= 1e12) return x.toExponential(2)
  if (Number.isInteger(x)) return grouped(x)
  if (Math.abs(x) >= 100) return grouped(Math.round(x))
  return x.toPrecision(3)
}
