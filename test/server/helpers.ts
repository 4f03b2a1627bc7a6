/** Starting `mull serve` in-process on a real loopback port, for tests. */
import { Context, Effect, Exit, Layer, Scope } from "effect"
import { HttpServer } from "effect/http"
import * as Faults from "../../plugins/faults/index.ts"
import * as Simulated from "../../plugins/simulated/index.ts"
import * as MathGrader from "../../src/answer/MathGrader.ts"
import { builtinDir } from "../../src/graph/Loader.ts"
import { policyOf, type ServerConfig } from "../../src/server/Policy.ts"
import * as Server from "../../src/server/Server.ts"

export interface Started {
  readonly url: string
  readonly parts: Server.ServerParts
  readonly close: () => Promise<void>
}

/** The simulated backend, optionally with latency per call and injected faults. */
export const simulated = (options: { readonly fixedMs?: number; readonly faults?: Faults.FaultOptions } = {}) => {
  const sim = Simulated.layer({
    worldSeed: 1,
    generator: { latency: { fixedMs: options.fixedMs ?? 0 }, concurrency: 100_000 },
    verifier: { latency: { fixedMs: options.fixedMs ?? 0 }, concurrency: 100_000 }
  })
  const backend = options.faults === undefined ? sim : Faults.layer(options.faults).pipe(Layer.provide(sim))
  return Layer.mergeAll(backend, MathGrader.layer)
}

/**
 * Starts a server on an ephemeral loopback port.
 *
 * @example
 * const server = await start({}); await fetch(`${server.url}/healthz`); await server.close()
 */
export const start = async (
  config: ServerConfig = {},
  options: {
    readonly token?: string
    readonly backend?: Layer.Layer<Server.ServedServices, unknown>
    /** a simulator for the cost route's dry runs (expected spend) */
    readonly planner?: Layer.Layer<Server.ServedServices, unknown>
  } = {}
): Promise<Started> => {
  const policy = policyOf({ ...config, port: 0, host: "127.0.0.1" }, builtinDir, options.token)
  const scope = await Effect.runPromise(Scope.make())
  const planner = options.planner
  const program = Effect.gen(function* () {
    const dry =
      planner === undefined ? undefined : yield* Effect.provide(Effect.context<Server.ServedServices>(), planner)
    const parts = yield* Server.makeParts(policy, { planner: dry })
    const context = yield* Layer.buildWithScope(Server.layer(parts), scope)
    const address = Context.get(context, HttpServer.HttpServer).address
    const port = "port" in address ? address.port : 0
    return { url: `http://127.0.0.1:${port}`, parts }
  }).pipe(Effect.provide(options.backend ?? simulated()))
  const { url, parts } = await Effect.runPromise(Effect.orDie(program))
  return { url, parts, close: () => Effect.runPromise(Scope.close(scope, Exit.void)) }
}

/** POSTs JSON. */
export const post = (url: string, body: unknown, headers: Record<string, string> = {}, signal?: AbortSignal) =>
  fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
    ...(signal === undefined ? {} : { signal })
  })

/** A chat request for a graph. */
export const chat = (
  model: string,
  question: string,
  mull: unknown = undefined,
  extra: Record<string, unknown> = {}
) => ({
  model,
  messages: [
    { role: "system", content: "You are a careful mathematician." },
    { role: "user", content: question }
  ],
  ...(mull === undefined ? {} : { mull }),
  ...extra
})

/** Reads one gauge or counter line of `/metrics`. */
export const metric = async (url: string, name: string, headers: Record<string, string> = {}): Promise<number> => {
  const text = await (await fetch(`${url}/metrics`, { headers })).text()
  const line = text.split("\n").find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`))
  return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(" ") + 1))
}

/** Waits until `check` holds (polling), or fails after `ms`. */
export const eventually = async (check: () => Promise<boolean>, ms = 5000): Promise<void> => {
  const t0 = Date.now()
  while (!(await check())) {
    if (Date.now() - t0 > ms) throw new Error("condition not reached in time")
    await new Promise((r) => setTimeout(r, 20))
  }
}
