/**
 * The Node HTTP server under the service, with what Node itself provides against resource
 * exhaustion: time limits on headers, on the whole request and on idle keep-alive connections
 * (checked every second, not Node's default 30 s), a cap on open connections — past it the oldest
 * connection with no request in flight is closed to make room, or, when every one is busy, the new
 * one — and JSON error replies for requests Node refuses before the service sees them. `GET
 * /healthz` is answered here, by Node, not by the service's fibers: a liveness probe must not wait
 * behind the runs it reports on (20 large searches in flight kept Effect's scheduler busy for
 * seconds at a time on two loaded cores, and probes timed out while Node itself was responsive).
 *
 * @since 0.2.0
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http"
import type { Socket } from "node:net"
import * as Metrics from "./Metrics.ts"
import type { Policy } from "./Policy.ts"
import { errorBody } from "./Wire.ts"

/** Headers larger than this get 431 (Node's default is 16 KiB too; stated here so it is documented). */
export const MAX_HEADER_BYTES = 16 * 1024

const REASONS: Readonly<Record<number, string>> = {
  400: "Bad Request",
  408: "Request Timeout",
  413: "Payload Too Large",
  431: "Request Header Fields Too Large"
}

/** A raw HTTP/1.1 error reply with an OpenAI-style JSON body, closing the connection. */
const rawReply = (status: number, message: string, code: string): string => {
  const body = JSON.stringify(errorBody(status, message, code))
  return [
    `HTTP/1.1 ${status} ${REASONS[status] ?? "Error"}`,
    "content-type: application/json",
    `content-length: ${Buffer.byteLength(body)}`,
    "connection: close",
    "",
    body
  ].join("\r\n")
}

interface Tracked {
  /** requests in flight on the connection */
  busy: number
}

/** Whether a request is `GET /healthz` (any query). */
const isHealth = (request: IncomingMessage): boolean => {
  if (request.method !== "GET" && request.method !== "HEAD") return false
  const url = request.url ?? ""
  const path = url.indexOf("?") < 0 ? url : url.slice(0, url.indexOf("?"))
  return path === "/healthz"
}

/**
 * A Node HTTP server configured by the policy's timeouts and connection cap, counting what it
 * closes in `metrics`; `health` is the body of `GET /healthz`, answered without the service.
 *
 * @example
 * NodeHttpServer.layer(() => hardenedServer(policy, metrics, () => ({ status: "ok" })), { port: policy.port, host: policy.host })
 */
export const hardenedServer = (policy: Policy, metrics: Metrics.Metrics, health: () => unknown): Server => {
  const t = policy.timeouts
  const server = createServer({
    headersTimeout: t.headersMs,
    // the whole request: its headers, then its body (Node answers 408 through `clientError` below)
    requestTimeout: t.headersMs + t.bodyMs,
    keepAliveTimeout: t.idleMs,
    connectionsCheckingInterval: Math.max(100, Math.min(1000, Math.floor(t.headersMs / 2))),
    maxHeaderSize: MAX_HEADER_BYTES
  })
  server.maxHeadersCount = 200
  // `request` listeners (the service's among them) never see a health probe: it is answered here
  const emit = server.emit.bind(server)
  server.emit = ((event: string | symbol, ...args: Array<unknown>): boolean => {
    if (event === "request") {
      const [request, response] = args as [IncomingMessage, ServerResponse]
      if (isHealth(request)) {
        const t0 = performance.now()
        const body = JSON.stringify(health())
        response.writeHead(200, {
          "content-type": "application/json",
          "content-length": Buffer.byteLength(body),
          "cache-control": "no-store"
        })
        response.end(request.method === "HEAD" ? undefined : body)
        Metrics.observeRequest(metrics, "/healthz", 200, (performance.now() - t0) / 1000)
        return true
      }
    }
    return emit(event, ...args)
  }) as typeof server.emit
  const sockets = new Map<Socket, Tracked>()
  server.on("connection", (socket: Socket) => {
    const tracked: Tracked = { busy: 0 }
    // a connection that never sends a request: Node's header timer starts with the first byte
    socket.setTimeout(t.headersMs, () => {
      if (tracked.busy > 0) return
      Metrics.count(metrics, { _tag: "ConnectionClosed", why: "timeout" })
      socket.destroy()
    })
    sockets.set(socket, tracked)
    metrics.connectionsOpen.value += 1
    socket.once("close", () => {
      sockets.delete(socket)
      metrics.connectionsOpen.value -= 1
    })
    if (sockets.size <= t.maxConnections) return
    // Map order is age order: the oldest idle connection makes room for the new one
    for (const [other, state] of sockets) {
      if (other === socket || state.busy > 0) continue
      other.destroy()
      Metrics.count(metrics, { _tag: "ConnectionClosed", why: "evicted" })
      return
    }
    socket.destroy()
    Metrics.count(metrics, { _tag: "ConnectionClosed", why: "refused" })
  })
  server.on("request", (request: IncomingMessage, response: ServerResponse) => {
    const state = sockets.get(request.socket)
    if (state === undefined) return
    state.busy += 1
    // a request in flight is bounded by the service's own timers, not by silence on the socket
    request.socket.setTimeout(0)
    response.once("close", () => {
      state.busy -= 1
    })
  })
  server.on("clientError", (error: Error & { readonly code?: string }, socket: Socket) => {
    const timedOut = error.code === "ERR_HTTP_REQUEST_TIMEOUT" || error.code === "ERR_HTTP_HEADERS_TIMEOUT"
    Metrics.count(metrics, { _tag: "ConnectionClosed", why: timedOut ? "timeout" : "malformed" })
    // a response already under way (or a reset connection) cannot get another one
    const inFlight = (socket as Socket & { readonly _httpMessage?: { readonly headersSent?: boolean } })._httpMessage
    if (error.code === "ECONNRESET" || !socket.writable || inFlight?.headersSent === true) {
      socket.destroy()
      return
    }
    const reply = timedOut
      ? rawReply(
          408,
          `the request did not arrive in time (headers within ${t.headersMs} ms, the whole request within ${t.headersMs + t.bodyMs} ms)`,
          "request_timeout"
        )
      : error.code === "HPE_HEADER_OVERFLOW"
        ? rawReply(431, `request headers are larger than ${MAX_HEADER_BYTES} bytes`, "headers_too_large")
        : rawReply(400, `malformed HTTP request (${error.code ?? "parse error"})`, "bad_request")
    socket.end(reply)
  })
  return server
}
