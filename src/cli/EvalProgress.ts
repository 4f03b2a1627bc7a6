/**
 * Progress of a sweep on the terminal: runs done, rate, ETA and cache hits — redrawn in place on a
 * TTY (at most every 200 ms), one line every 5 s otherwise.
 *
 * @since 0.1.0
 */
import type { Progress } from "../eval/Runner.ts"

const duration = (ms: number): string => {
  if (!Number.isFinite(ms)) return "?"
  const s = Math.round(ms / 1000)
  return s >= 3600
    ? `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`
    : s >= 60
      ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`
      : `${s}s`
}

/**
 * A progress callback for `runSweep` that draws a bar on stderr.
 *
 * @example
 * runSweep(spec, { onProgress: progressBar("paper") })
 */
export const progressBar = (label: string): ((p: Progress) => void) => {
  const tty = process.stderr.isTTY === true
  let last = 0
  return (p) => {
    const now = Date.now()
    const finished = p.done === p.total
    if (!finished && now - last < (tty ? 200 : 5000)) return
    last = now
    const frac = p.total === 0 ? 1 : p.done / p.total
    const width = 24
    const bar = `${"█".repeat(Math.round(frac * width))}${"░".repeat(width - Math.round(frac * width))}`
    const rate = p.done / Math.max(1e-9, p.elapsedMs / 1000)
    const eta = rate > 0 ? ((p.total - p.done) / rate) * 1000 : Number.POSITIVE_INFINITY
    const lookups = p.cache.hits + p.cache.misses
    const line = `${label} ${bar} ${p.done}/${p.total} runs${p.skipped > 0 ? ` (+${p.skipped} already stored)` : ""} · ${rate.toFixed(1)}/s · elapsed ${duration(p.elapsedMs)} · ETA ${duration(eta)}${lookups > 0 ? ` · cache ${Math.round((100 * p.cache.hits) / lookups)}% hits` : ""}`
    if (tty)
      process.stderr.write(`\r\x1b[2K${line.slice(0, (process.stderr.columns ?? 160) - 1)}${finished ? "\n" : ""}`)
    else process.stderr.write(`${line}\n`)
  }
}
