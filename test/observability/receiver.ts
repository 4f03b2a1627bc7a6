/**
 * An OTLP/HTTP traces receiver on loopback for tests: it decodes what it receives with the
 * OpenTelemetry project's own protobuf definitions (`@opentelemetry/otlp-transformer`'s generated
 * `ExportTraceServiceRequest`) — or, for OTLP/JSON, parses it — and keeps every span.
 */
import { createServer, type Server } from "node:http"
import { createRequire } from "node:module"
import type { AddressInfo } from "node:net"

/** What the tests read of a span. */
export interface ReceivedSpan {
  readonly traceId: string
  readonly spanId: string
  readonly parentSpanId: string
  readonly name: string
  readonly kind: number
  readonly startMs: number
  readonly endMs: number
  readonly attributes: Readonly<Record<string, unknown>>
  readonly links: ReadonlyArray<{
    readonly traceId: string
    readonly spanId: string
    readonly attributes: Record<string, unknown>
  }>
}

interface AnyValue {
  readonly stringValue?: string
  readonly boolValue?: boolean
  readonly intValue?: string | number
  readonly doubleValue?: number
  readonly arrayValue?: { readonly values?: ReadonlyArray<AnyValue> }
}
interface KeyValue {
  readonly key: string
  readonly value?: AnyValue
}
interface WireSpan {
  readonly traceId: string
  readonly spanId: string
  readonly parentSpanId?: string
  readonly name: string
  readonly kind?: number | string
  readonly startTimeUnixNano: string | number
  readonly endTimeUnixNano: string | number
  readonly attributes?: ReadonlyArray<KeyValue>
  readonly links?: ReadonlyArray<{
    readonly traceId: string
    readonly spanId: string
    readonly attributes?: ReadonlyArray<KeyValue>
  }>
}
interface WireRequest {
  readonly resourceSpans?: ReadonlyArray<{
    readonly scopeSpans?: ReadonlyArray<{ readonly spans?: ReadonlyArray<WireSpan> }>
  }>
}

/** The generated message type, as much of it as is used here. */
interface MessageType {
  decode: (bytes: Uint8Array) => unknown
  toObject: (message: unknown, options: Record<string, unknown>) => WireRequest
}

const require = createRequire(import.meta.url)
const root = require("@opentelemetry/otlp-transformer/build/src/generated/root.js") as {
  opentelemetry: { proto: { collector: { trace: { v1: { ExportTraceServiceRequest: MessageType } } } } }
}
const ExportTraceServiceRequest = root.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest

const anyValue = (v: AnyValue | undefined): unknown => {
  if (v === undefined) return undefined
  if (v.stringValue !== undefined) return v.stringValue
  if (v.boolValue !== undefined) return v.boolValue
  if (v.intValue !== undefined) return Number(v.intValue)
  if (v.doubleValue !== undefined) return v.doubleValue
  if (v.arrayValue !== undefined) return (v.arrayValue.values ?? []).map(anyValue)
  return undefined
}
const record = (kvs: ReadonlyArray<KeyValue> | undefined): Record<string, unknown> =>
  Object.fromEntries((kvs ?? []).map((kv) => [kv.key, anyValue(kv.value)]))

/** Decodes an OTLP/protobuf export request with the official definitions (ids as hex). */
export const decodeProtobuf = (bytes: Uint8Array): WireRequest =>
  ExportTraceServiceRequest.toObject(ExportTraceServiceRequest.decode(bytes), {
    longs: String,
    bytes: String,
    defaults: false
  })

const hex = (id: string | undefined, json: boolean): string =>
  id === undefined || id === "" ? "" : json ? id : Buffer.from(id, "base64").toString("hex")

const spansOf = (request: WireRequest, json: boolean): Array<ReceivedSpan> =>
  (request.resourceSpans ?? []).flatMap((r) =>
    (r.scopeSpans ?? []).flatMap((s) =>
      (s.spans ?? []).map((span) => ({
        traceId: hex(span.traceId, json),
        spanId: hex(span.spanId, json),
        parentSpanId: hex(span.parentSpanId, json),
        name: span.name,
        kind: Number(span.kind ?? 0),
        startMs: Number(BigInt(span.startTimeUnixNano) / 1_000_000n),
        endMs: Number(BigInt(span.endTimeUnixNano) / 1_000_000n),
        attributes: record(span.attributes),
        links: (span.links ?? []).map((l) => ({
          traceId: hex(l.traceId, json),
          spanId: hex(l.spanId, json),
          attributes: record(l.attributes)
        }))
      }))
    )
  )

export interface Receiver {
  readonly url: string
  readonly spans: Array<ReceivedSpan>
  /** content types of the requests received */
  readonly contentTypes: Array<string>
  readonly close: () => Promise<void>
}

/** Starts a receiver; its traces endpoint is `url` (`http://127.0.0.1:PORT/v1/traces`). */
export const startReceiver = async (): Promise<Receiver> => {
  const spans: Array<ReceivedSpan> = []
  const contentTypes: Array<string> = []
  const server: Server = createServer((req, res) => {
    const chunks: Array<Buffer> = []
    req.on("data", (c: Buffer) => chunks.push(c))
    req.on("end", () => {
      const body = Buffer.concat(chunks)
      const type = req.headers["content-type"] ?? ""
      contentTypes.push(type)
      const json = type.includes("json")
      const request = json ? (JSON.parse(body.toString("utf8")) as WireRequest) : decodeProtobuf(body)
      spans.push(...spansOf(request, json))
      res.writeHead(200, { "content-type": json ? "application/json" : "application/x-protobuf" })
      res.end(json ? "{}" : "")
    })
  })
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}/v1/traces`,
    spans,
    contentTypes,
    close: () => new Promise((r) => server.close(() => r()))
  }
}
