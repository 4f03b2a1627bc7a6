/**
 * `--otlp URL` (on `mull run`, `mull eval`, `mull serve` and `mull trace export`): spans exported
 * over OTLP/HTTP by Effect's own exporter (`effect/observability` `OtlpTracer`), so Langfuse,
 * Phoenix, Jaeger or any OpenTelemetry collector can read a search. With a tracer installed the
 * runtime opens a span per run, node and backend call (docs/observability.md); without the flag
 * it opens none.
 *
 * @since 0.2.0
 */
import { Layer, Option } from "effect"
import { Flag } from "effect/cli"
import { FetchHttpClient } from "effect/http"
import { OtlpExporter, OtlpSerialization, OtlpTracer } from "effect/observability"

/** `--otlp URL`: where to send spans (an OTLP/HTTP traces endpoint, e.g. `http://localhost:4318/v1/traces`). */
export const otlpFlag = Flag.String("otlp").pipe(
  Flag.withDescription(
    "Export spans (run, node, backend call; GenAI and OpenInference attributes) over OTLP/HTTP to this URL, e.g. http://localhost:4318/v1/traces"
  ),
  Flag.optional
)

/** The form an OTLP exporter sends: OTLP/JSON, or OTLP/protobuf (`--otlp-protocol`). */
export type OtlpProtocol = "json" | "protobuf"

/**
 * The OTLP tracer for a URL, or nothing. Spans are sent in batches and flushed when the program
 * ends (the layer's scope closes).
 *
 * @example
 * program.pipe(Effect.provide(otlpLayer(Option.some("http://localhost:4318/v1/traces"), "mull run")))
 */
export const otlpLayer = (
  url: Option.Option<string>,
  command: string,
  protocol: OtlpProtocol = "protobuf"
): Layer.Layer<OtlpExporter.Flusher> =>
  Option.isNone(url)
    ? OtlpExporter.layerFlusher
    : OtlpTracer.layer({
        url: url.value,
        resource: { serviceName: "mull", serviceVersion: "0.2.0", attributes: { "mull.command": command } },
        exportInterval: "1 second"
      }).pipe(
        Layer.provide(protocol === "json" ? OtlpSerialization.layerJson : OtlpSerialization.layerProtobuf),
        Layer.provide(FetchHttpClient.layer)
      )
