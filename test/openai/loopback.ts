/**
 * A scripted OpenAI-compatible server on a loopback port, for the openai and prm-http tests: each
 * request is answered by the current handler with a recorded body, an error status, a delay, a
 * truncated body or a reset connection. Every request (path, JSON body, headers) is recorded.
 */
import { readFileSync } from "node:fs"
import { createServer, type IncomingHttpHeaders, type Server } from "node:http"
import type { AddressInfo } from "node:net"
import { join } from "node:path"

/** What the server does with one request. */
export type Action =
  | {
      readonly status?: number
      readonly body: unknown
      readonly headers?: Record<string, string>
      readonly delayMs?: number
    }
  | { readonly raw: string; readonly status?: number }
  /** sends the headers and half of the body, then resets the connection */
  | { readonly cutBody: string }
  | { readonly destroy: true }

export interface Recorded {
  readonly path: string
  readonly body: Record<string, unknown>
  readonly headers: IncomingHttpHeaders
}

export type Handler = (path: string, body: Record<string, unknown>, index: number) => Action

export interface Loopback {
  readonly url: string
  readonly requests: Array<Recorded>
  handle: (handler: Handler) => void
  close: () => Promise<void>
}

/** A recorded response body from `test/fixtures/<dir>/<name>`. */
export const fixture = (dir: string, name: string): Record<string, unknown> =>
  JSON.parse(readFileSync(join(import.meta.dirname, "..", "fixtures", dir, name), "utf8")) as Record<string, unknown>

/** Starts the server on an ephemeral loopback port. */
export const startLoopback = async (): Promise<Loopback> => {
  let handler: Handler = () => ({ status: 404, body: { error: { message: "no handler" } } })
  const requests: Array<Recorded> = []
  const server: Server = createServer((req, res) => {
    const chunks: Array<Buffer> = []
    req.on("data", (c: Buffer) => chunks.push(c))
    req.on("end", () => {
      const text = Buffer.concat(chunks).toString("utf8")
      let body: Record<string, unknown> = {}
      try {
        body = text === "" ? {} : (JSON.parse(text) as Record<string, unknown>)
      } catch {
        body = { unparsable: text }
      }
      const path = req.url ?? "/"
      const index = requests.length
      requests.push({ path, body, headers: req.headers })
      const action = handler(path, body, index)
      if ("destroy" in action) {
        req.socket.destroy()
        return
      }
      if ("cutBody" in action) {
        res.writeHead(200, { "content-type": "application/json", "content-length": String(action.cutBody.length) })
        res.write(action.cutBody.slice(0, Math.floor(action.cutBody.length / 2)))
        setTimeout(() => req.socket.destroy(), 5)
        return
      }
      if ("raw" in action) {
        res.writeHead(action.status ?? 200, { "content-type": "application/json" })
        res.end(action.raw)
        return
      }
      const send = () => {
        if (res.destroyed) return
        res.writeHead(action.status ?? 200, { "content-type": "application/json", ...action.headers })
        res.end(JSON.stringify(action.body))
      }
      if (action.delayMs === undefined) send()
      else setTimeout(send, action.delayMs)
    })
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    handle: (h) => {
      handler = h
      requests.length = 0
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      })
  }
}
