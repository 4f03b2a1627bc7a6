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
  if (Number.isInteger(x)) return x.toLocaleString("en-US")
  if (Math.abs(x) >= 100) return Math.round(x).toLocaleString("en-US")
  return x.toPrecision(3)
}
