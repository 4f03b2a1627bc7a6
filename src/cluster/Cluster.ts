/**
 * mull on Effect's cluster: the sharding layers of a runner (`mull runner --cluster URL`) and of a
 * client that only submits work (`mull eval --cluster URL`), both over PostgreSQL — messages in
 * `SqlMessageStorage`, runners and shard locks in `SqlRunnerStorage` (PostgreSQL advisory locks:
 * no connection pooler that shares a server connection among clients may sit in between) — and
 * runners talking over TCP sockets (`@effect/platform-node`'s socket runner). The layers are
 * composed here, not with `NodeClusterSocket.layer`, so that the timing below is mull's and no
 * environment variable (`PORT`, `HOST`…) silently reconfigures a runner.
 *
 * @since 0.2.0
 */
import * as NodeClusterSocket from "@effect/platform-node/NodeClusterSocket"
import * as NodeCrypto from "@effect/platform-node/NodeCrypto"
import { Duration, Layer, Option } from "effect"
import {
  RunnerAddress,
  RunnerHealth,
  Runners,
  ShardingConfig,
  SocketRunner,
  SqlMessageStorage,
  SqlRunnerStorage
} from "effect/cluster"
import { RpcSerialization } from "effect/rpc"

/** The prefix of the cluster's own tables (`mull_cluster_messages`, `…_runners`, `…_locks`…). */
export const TABLE_PREFIX = "mull_cluster"

/** Where a runner listens and how other runners reach it. */
export interface RunnerEndpoint {
  /** the address other runners and clients connect to (a host name or IP they can resolve) */
  readonly host: string
  readonly port: number
  /** the interface to listen on (default: `host`) */
  readonly listenHost?: string | undefined
}

/** How a runner's health is checked: pinged by a peer, or its Kubernetes pod's readiness. */
export type Health = "ping" | "k8s"

/**
 * mull's sharding timing. A killed runner is found by a peer's pings (every 3 s, a few retries)
 * and its shards move; a runner that stops refreshing its locks (a frozen process) loses them
 * after 20 s. Messages are polled from storage every second, so work submitted while no runner
 * could be told about it starts within a second of a runner taking its shard.
 */
export const TIMING = {
  shardsPerGroup: 300,
  entityMessagePollInterval: Duration.seconds(1),
  refreshAssignmentsInterval: Duration.seconds(2),
  runnerHealthCheckInterval: Duration.seconds(3),
  shardLockRefreshInterval: Duration.seconds(5),
  shardLockExpiration: Duration.seconds(20)
} as const

const config = (runner: RunnerEndpoint | undefined) =>
  ShardingConfig.layer({
    ...TIMING,
    runnerAddress: runner === undefined ? Option.none() : Option.some(RunnerAddress.make(runner.host, runner.port)),
    runnerListenAddress:
      runner?.listenHost === undefined ? Option.none() : Option.some(RunnerAddress.make(runner.listenHost, runner.port))
  })

const storage = Layer.provideMerge(
  SqlMessageStorage.layerWith({ prefix: TABLE_PREFIX }).pipe(Layer.provide(NodeCrypto.layerDigest)),
  Layer.orDie(SqlRunnerStorage.layerWith({ prefix: TABLE_PREFIX }))
)

const serialization = RpcSerialization.layerSchemaBinary()

/**
 * A runner's sharding: it listens on `endpoint`, takes its share of the shards, runs the entities
 * registered with it, and checks its peers' health. Needs a PostgreSQL `SqlClient`.
 *
 * @example
 * SweepCells.layer(options).pipe(Layer.provide(runnerLayer({ host: "10.0.0.7", port: 34431 })), Layer.provide(pg))
 */
export const runnerLayer = (endpoint: RunnerEndpoint, health: Health = "ping") => {
  const runnerHealth =
    health === "k8s"
      ? RunnerHealth.layerK8s().pipe(Layer.provide(NodeClusterSocket.layerK8sHttpClient))
      : RunnerHealth.layerPing.pipe(
          Layer.provide(Runners.layerRpc),
          Layer.provide(NodeClusterSocket.layerClientProtocol)
        )
  return SocketRunner.layer.pipe(
    Layer.provide([NodeClusterSocket.layerSocketServer, NodeClusterSocket.layerClientProtocol]),
    Layer.provide(runnerHealth),
    Layer.provideMerge(storage),
    Layer.provide(config(endpoint)),
    Layer.provide(serialization)
  )
}

/**
 * A client's sharding: it sends messages (persisted ones to storage, and a notice to the runner
 * holding the shard) but hosts no shard. Needs a PostgreSQL `SqlClient`.
 *
 * @example
 * submit.pipe(Effect.provide(clientLayer.pipe(Layer.provideMerge(pg))))
 */
export const clientLayer = SocketRunner.layerClientOnly.pipe(
  Layer.provide(NodeClusterSocket.layerClientProtocol),
  Layer.provideMerge(storage),
  Layer.provide(config(undefined)),
  Layer.provide(serialization)
)
