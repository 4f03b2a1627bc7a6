/**
 * `mull runner --cluster URL [--host H] [--port P] [--listen H] [--concurrency C] [--health ping|k8s] [--report-every S]`:
 * a runner of sharded sweeps (docs/scale-out.md). It joins the cluster whose PostgreSQL is at URL
 * (or `MULL_CLUSTER`), takes its share of the shards, and runs the cells `mull eval --cluster`
 * submits, on the backends of this machine's registry, until interrupted.
 *
 * @since 0.2.0
 */
import { hostname } from "node:os"
import { Effect, Option } from "effect"
import { Command, Flag } from "effect/cli"
import { registry } from "../backends/Registry.ts"
import { isPostgresUrl } from "../eval/Store.ts"
import { InvalidInput } from "./InvalidInput.ts"

export const runnerCommand = Command.make(
  "runner",
  {
    cluster: Flag.String("cluster").pipe(
      Flag.withDescription(
        "The cluster's PostgreSQL URL (default: MULL_CLUSTER; prefer it, a flag shows in the process list)"
      ),
      Flag.optional
    ),
    host: Flag.String("host").pipe(
      Flag.withDescription("The address other runners and `mull eval` reach this runner at (default: the host name)"),
      Flag.optional
    ),
    port: Flag.Int("port").pipe(Flag.withDescription("The port to listen on (default 34431)"), Flag.withDefault(34431)),
    listen: Flag.String("listen").pipe(
      Flag.withDescription("The interface to listen on (default: --host; 0.0.0.0 for all)"),
      Flag.optional
    ),
    concurrency: Flag.Int("concurrency").pipe(
      Flag.withDescription("Cells this runner runs at once (default 8)"),
      Flag.withDefault(8)
    ),
    reportEvery: Flag.Int("report-every").pipe(
      Flag.withDescription("Print what the runner did every this many seconds (default 30; 0: never)"),
      Flag.withDefault(30)
    ),
    health: Flag.Literals("health", ["ping", "k8s"]).pipe(
      Flag.withDescription("How peers check this runner: ping it, or read its Kubernetes pod's readiness"),
      Flag.withDefault("ping" as const)
    )
  },
  Effect.fn(function* (flags) {
    const url =
      Option.getOrUndefined(flags.cluster) ?? (process.env.MULL_CLUSTER === "" ? undefined : process.env.MULL_CLUSTER)
    const problems: Array<string> = []
    if (url === undefined) problems.push("--cluster: give the cluster's postgres:// URL (or set MULL_CLUSTER)")
    else if (!isPostgresUrl(url)) problems.push("--cluster: expected a postgres:// or postgresql:// URL")
    if (flags.port < 1 || flags.port > 65535) problems.push(`--port: ${flags.port} is not a port (1–65535)`)
    if (flags.reportEvery < 0) problems.push(`--report-every: expected 0 or more seconds, got ${flags.reportEvery}`)
    if (flags.concurrency < 1) problems.push(`--concurrency: expected at least 1, got ${flags.concurrency}`)
    if (url === undefined || problems.length > 0) return yield* new InvalidInput({ subject: "runner", problems })
    const host = Option.getOrElse(flags.host, () => hostname())
    // the cluster's modules are loaded only by the commands that use them
    const { runRunner } = yield* Effect.promise(() => import("../cluster/Launch.ts"))
    return yield* runRunner({
      url,
      endpoint: { host, port: flags.port, listenHost: Option.getOrUndefined(flags.listen) },
      health: flags.health,
      registry,
      concurrency: flags.concurrency,
      reportEveryMs: flags.reportEvery * 1000
    })
  })
).pipe(Command.withDescription("Run cells of sharded sweeps (mull eval --cluster) on this machine"))
