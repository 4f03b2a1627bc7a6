/**
 * The submitting side of a sharded sweep (`mull eval --cluster URL`): validate the sweep here (a
 * bad configuration fails before anything is sent), record its spec and setup in the PostgreSQL
 * results store, send every unfinished cell as a persisted message to its problem's entity, and
 * follow progress across all runners by reading the store — the same progress line as a local
 * sweep. Cells stored earlier are skipped (a resubmitted or resumed sweep sends only what is
 * missing); a cell that failed on a runner stops the follow with its error, and submitting again
 * retries it.
 *
 * @since 0.2.0
 */
import { Effect, Layer, Schema } from "effect"
import { SqlClient } from "effect/sql"
import type { DatasetError } from "../data/Dataset.ts"
import * as PgStore from "../eval/PgStore.ts"
import { finishedItems, type Item, type Progress, prepare, recordSetup, type Summary } from "../eval/Runner.ts"
import { redactUrl, StoreError } from "../eval/Store.ts"
import type { SweepError, SweepSpec } from "../eval/Sweep.ts"
import type { GraphError } from "../graph/GraphError.ts"
import type { Registry } from "../services/Backend.ts"
import { ensureFailures, entityId, type Failure, failuresOf, SweepProblem, specHash, specMetaKey } from "./Cells.ts"
import { clientLayer, TABLE_PREFIX } from "./Cluster.ts"

/** Cells of a sharded sweep failed on runners. */
export class CellsFailed extends Schema.TaggedError<CellsFailed>()("CellsFailed", {
  sweep: Schema.String,
  failures: Schema.Array(
    Schema.Struct({
      key: Schema.String,
      attempt: Schema.Number,
      runner: Schema.String,
      tag: Schema.String,
      message: Schema.String
    })
  )
}) {
  override get message(): string {
    const shown = this.failures.slice(0, 5).map((f) => `  cell ${f.key} on ${f.runner} (${f.tag}): ${f.message}`)
    const more = this.failures.length > 5 ? [`  … and ${this.failures.length - 5} more`] : []
    return [
      `sweep ${this.sweep}: ${this.failures.length} cell(s) failed on the cluster (run mull eval again to retry them):`,
      ...shown,
      ...more
    ].join("\n")
  }
}

export interface SubmitOptions {
  readonly registry: Registry
  readonly onProgress?: (p: Progress) => void
  /** how often to read progress from the store (default 1 s) */
  readonly pollMs?: number
  /** called once the cells are sent, with how many and how many runners are registered */
  readonly onSubmitted?: (info: { readonly cells: number; readonly runners: number; readonly ms: number }) => void
  /** cells sent at once (default 32) */
  readonly sendConcurrency?: number
}

const rank = { difficulty: 0, large: 1, run: 2 } as const

/** A problem's cells in the order its entity should run them: estimates, then largest budget first. */
const byProblem = (items: ReadonlyArray<Item>): ReadonlyArray<ReadonlyArray<Item>> => {
  const groups = new Map<string, Array<Item>>()
  for (const i of items) {
    const list = groups.get(i.problem.id)
    if (list === undefined) groups.set(i.problem.id, [i])
    else list.push(i)
  }
  return [...groups.values()].map((list) => list.sort((a, b) => rank[a.kind] - rank[b.kind] || b.budget - a.budget))
}

/**
 * Submits a sweep to the cluster whose storage is at `url` and follows it until every cell is
 * stored (or one fails).
 *
 * @example
 * const summary = yield* submitSweep(spec, "postgres://mull:secret@db:5432/mull", { registry, onProgress })
 */
export const submitSweep = (
  spec: SweepSpec,
  url: string,
  options: SubmitOptions
): Effect.Effect<Summary, SweepError | GraphError | DatasetError | StoreError | CellsFailed> =>
  Effect.gen(function* () {
    const label = redactUrl(url)
    const { items } = yield* prepare(spec, options.registry)
    const sql = yield* SqlClient.SqlClient
    const store = yield* PgStore.makeWith(sql, label)
    const storeFail = (operation: string) => (e: { readonly message: string }) =>
      new StoreError({ path: label, operation, reason: e.message })
    yield* ensureFailures(sql).pipe(Effect.mapError(storeFail("open")))
    const hash = specHash(spec)
    yield* recordSetup(store, spec)
    yield* store.putMeta(specMetaKey(hash), JSON.stringify(spec))
    const finished = yield* finishedItems(store, spec, items)
    const todo = items.filter((i) => !finished.has(i.key))
    const skipped = items.length - todo.length
    // a cell that failed before is sent as its next attempt (a new message)
    const attempts = new Map<string, number>()
    for (const f of yield* failuresOf(sql, hash).pipe(Effect.mapError(storeFail("failures"))))
      attempts.set(f.key, Math.max(attempts.get(f.key) ?? 0, f.attempt + 1))
    const client = yield* SweepProblem.client
    const started = Date.now()
    yield* Effect.forEach(
      byProblem(todo),
      (cells) =>
        Effect.forEach(
          cells,
          (item) =>
            client(entityId(hash, item.problem.id)).RunCell(
              { spec: hash, key: item.key, attempt: attempts.get(item.key) ?? 0 },
              { discard: true }
            ),
          { discard: true }
        ),
      { concurrency: options.sendConcurrency ?? 32, discard: true }
    ).pipe(Effect.mapError(storeFail("submit")))
    const runners = yield* sql<{ n: number | string | bigint }>`
      SELECT count(*) AS n FROM ${sql(`${TABLE_PREFIX}_runners`)} WHERE healthy`.pipe(
      Effect.map((rows) => Number(rows[0]?.n ?? 0)),
      Effect.orElseSucceed(() => 0)
    )
    options.onSubmitted?.({ cells: todo.length, runners, ms: Date.now() - started })

    // follow: read what the runners stored until every cell is there
    let open = todo
    const report = () =>
      options.onProgress?.({
        done: todo.length - open.length,
        total: todo.length,
        skipped,
        elapsedMs: Date.now() - started,
        cache: { hits: 0, misses: 0 }
      })
    report()
    while (open.length > 0) {
      yield* Effect.sleep(options.pollMs ?? 1000)
      const stored = yield* finishedItems(store, spec, open)
      open = open.filter((i) => !stored.has(i.key))
      report()
      if (open.length === 0) break
      const waiting = new Set(open.map((i) => i.key))
      const failed: Array<Failure> = (yield* failuresOf(sql, hash).pipe(Effect.mapError(storeFail("failures")))).filter(
        (f) => waiting.has(f.key) && f.attempt >= (attempts.get(f.key) ?? 0)
      )
      if (failed.length > 0) return yield* new CellsFailed({ sweep: spec.name, failures: failed })
    }
    return {
      sweep: spec.name,
      total: items.length,
      ran: todo.length,
      skipped,
      others: 0,
      elapsedMs: Date.now() - started,
      cache: { hits: 0, misses: 0 }
    } satisfies Summary
  }).pipe(
    Effect.provide(clientLayer.pipe(Layer.provideMerge(PgStore.clientLayer(url, { maxConnections: 16 })))),
    Effect.catchTag("SqlError", (e) =>
      Effect.fail(new StoreError({ path: redactUrl(url), operation: "connect", reason: e.message }))
    ),
    Effect.scoped
  )
