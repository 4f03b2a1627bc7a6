/**
 * Who holds a claim on a piece of a sweep, and whether that holder is gone. A claim's owner names
 * its host, process and thread (`mull/<host>/<pid>/<thread>/<nonce>`), so a process on the same
 * host can tell that a holder was killed (its pid is no longer alive) and take the work over at
 * once instead of waiting for the claim to expire. Holders on other hosts are trusted until their
 * claim expires.
 *
 * @since 0.2.0
 */
import { randomBytes } from "node:crypto"
import { hostname } from "node:os"
import { threadId } from "node:worker_threads"

/** How long a claim lasts without renewal. */
export const CLAIM_TTL_MS = 30_000

/** How often a holder renews its claims: well within their lifetime. */
export const renewEvery = (ttlMs: number): number => Math.max(50, Math.floor(ttlMs / 3))

/**
 * A fresh owner name for this thread.
 *
 * @example
 * claimOwner() // "mull/build-7/48213/0/9f2c41d0"
 */
export const claimOwner = (): string =>
  `mull/${hostname()}/${process.pid}/${threadId}/${randomBytes(4).toString("hex")}`

/** The parts of an owner name, when it is one. */
export const parseOwner = (
  owner: string
): { readonly host: string; readonly pid: number; readonly thread: number } | undefined => {
  const m = /^mull\/(.+)\/(\d+)\/(\d+)\/[0-9a-f]+$/u.exec(owner)
  if (m === null) return undefined
  return { host: m[1] ?? "", pid: Number(m[2]), thread: Number(m[3]) }
}

/** Whether a process id is alive on this host (EPERM: alive, but someone else's). */
const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM"
  }
}

/**
 * Whether a claim's holder is known to be dead: it ran on this host, in another process, and that
 * process is gone. A holder elsewhere, or unknown, is not (its claim expires instead).
 *
 * @example
 * isAbandoned("mull/build-7/999999/0/00") // true on build-7 when no process 999999 runs
 */
export const isAbandoned = (holder: string, isAlive: (pid: number) => boolean = alive): boolean => {
  const h = parseOwner(holder)
  return h !== undefined && h.host === hostname() && h.pid !== process.pid && !isAlive(h.pid)
}
