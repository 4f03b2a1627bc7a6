/**
 * What the attack tests share: a watch on `/healthz` that records every answer that was not a 200
 * while an attack runs, raw sockets, and the heap after a full GC.
 */
import { connect, type Socket } from "node:net"
import { setFlagsFromString } from "node:v8"
import { runInNewContext } from "node:vm"
import { Worker } from "node:worker_threads"

setFlagsFromString("--expose-gc")
const gc = runInNewContext("gc") as () => void

/** The heap after a full GC, bytes. */
export const heapAfterGc = (): number => {
  for (let i = 0; i < 3; i++) gc()
  return process.memoryUsage().heapUsed
}

export const MiB = 2 ** 20

/** The poller, run in a worker thread: a probe from outside the server's event loop. */
const POLLER = `
const { parentPort, workerData } = require("node:worker_threads")
const { url, everyMs, timeoutMs } = workerData
let polls = 0
let slowestMs = 0
const failures = []
let running = true
parentPort.on("message", () => { running = false })
;(async () => {
  while (running) {
    const t0 = Date.now()
    try {
      const res = await fetch(url + "/healthz", { signal: AbortSignal.timeout(timeoutMs) })
      if (res.status !== 200) failures.push("status " + res.status)
      await res.text()
    } catch (e) {
      failures.push(e instanceof Error ? e.message : String(e))
    }
    polls += 1
    slowestMs = Math.max(slowestMs, Date.now() - t0)
    await new Promise((r) => setTimeout(r, Math.max(0, everyMs - (Date.now() - t0))))
  }
  parentPort.postMessage({ polls, failures, slowestMs })
})()
`

/**
 * Polls `/healthz` every `everyMs` until stopped (each poll waits up to `timeoutMs`); `stop`
 * resolves with how many polls, which failed, and the slowest answer. The polls come from a
 * worker thread, as a probe from another machine would: a client on the test's own event loop
 * is slowed by the very load it watches (its requests were written seconds late, and the server
 * rightly answered them 408).
 */
export const watchHealth = (url: string, options: { readonly everyMs?: number; readonly timeoutMs?: number } = {}) => {
  const worker = new Worker(POLLER, {
    eval: true,
    workerData: { url, everyMs: options.everyMs ?? 50, timeoutMs: options.timeoutMs ?? 2000 }
  })
  const result = new Promise<{ polls: number; failures: Array<string>; slowestMs: number }>((resolve, reject) => {
    worker.once("message", resolve)
    worker.once("error", reject)
  })
  return {
    stop: async () => {
      worker.postMessage("stop")
      const r = await result
      await worker.terminate()
      return r
    }
  }
}

/** A raw TCP connection, with when it closed (from its opening on) and all it received. */
export interface Raw {
  readonly socket: Socket
  /** resolves when the connection closes, with ms since it opened */
  readonly closed: Promise<number>
  readonly received: () => string
}

/** Opens a raw TCP connection to a server URL. */
export const openSocket = (url: string): Promise<Raw> =>
  new Promise((resolve, reject) => {
    const u = new URL(url)
    const t0 = Date.now()
    const chunks: Array<Buffer> = []
    const socket = connect({ host: u.hostname, port: Number(u.port) })
    const closed = new Promise<number>((done) => socket.once("close", () => done(Date.now() - t0)))
    socket.on("data", (c: Buffer) => chunks.push(c))
    socket.once("connect", () => resolve({ socket, closed, received: () => Buffer.concat(chunks).toString("utf8") }))
    socket.on("error", (e) => reject(e))
  })

/** What a connection received until it closed (or `ms` passed). */
export const readAll = async (raw: Raw, ms: number): Promise<{ text: string; closed: boolean; afterMs: number }> => {
  const t0 = Date.now()
  const closed = await Promise.race([
    raw.closed.then(() => true),
    new Promise<boolean>((r) => setTimeout(() => r(false), ms))
  ])
  return { text: raw.received(), closed, afterMs: Date.now() - t0 }
}

/** The status and JSON body of a raw HTTP/1.1 response. */
export const parseRaw = (text: string): { status: number; headers: string; body: string } => {
  const end = text.indexOf("\r\n\r\n")
  const head = end < 0 ? text : text.slice(0, end)
  const status = Number(/^HTTP\/1\.1 (\d{3})/u.exec(head)?.[1] ?? "0")
  return { status, headers: head, body: end < 0 ? "" : text.slice(end + 4) }
}
