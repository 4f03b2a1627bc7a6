/**
 * `mull paper` — what `npm start` runs: the experiment of Snell et al. 2024 on the embedded
 * simulated backend, end to end. It runs the sweep `sweeps/paper.json` (search and revision
 * strategies at budgets 4–256, best-of-N up to 1024, on every 2nd MATH-500 problem, with difficulty
 * samples, the router's 4-sample estimate and a larger model), fits the router on predicted
 * difficulty and writes it as `route` graphs, compares with the larger model at equal FLOPs (the
 * verifier counted), and writes the report to `out/`. Everything lands in the results store, so
 * a second run only redoes the analysis.
 *
 * @since 0.1.0
 */
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { Console, Effect, Option } from "effect"
import { Command, Flag } from "effect/cli"
import { fromRoot } from "../paths.ts"
import { exchange, optimize, report } from "./analysis.ts"
import { evalCommand } from "./eval.ts"
import { InvalidInput } from "./InvalidInput.ts"

const VERSION = "0.1.0"

export const paper = Command.make(
  "paper",
  {
    sweep: Flag.String("sweep").pipe(
      Flag.withDescription("The sweep file (default: sweeps/paper.json)"),
      Flag.withDefault(fromRoot("sweeps", "paper.json"))
    ),
    full: Flag.Boolean("full").pipe(
      Flag.withDescription("All 500 problems instead of every 2nd, difficulty bins from 256 samples"),
      Flag.withDefault(false)
    ),
    every: Flag.Int("every").pipe(Flag.withDescription("Keep every k-th problem (the file says 2)"), Flag.optional),
    store: Flag.String("store").pipe(Flag.withDefault("out/mull.db")),
    out: Flag.String("out").pipe(Flag.withDescription("Folder of the report and policies"), Flag.withDefault("out")),
    workers: Flag.Int("workers").pipe(Flag.withDescription("Worker threads (default: one per core)"), Flag.optional)
  },
  Effect.fn("mull.paper")(function* (flags) {
    const started = Date.now()
    const step = (n: number, what: string) => Console.log(`\n== ${n}/4 ${what}`)
    const every = flags.full
      ? ["--every", "1", "--difficulty", "256"]
      : Option.isSome(flags.every)
        ? ["--every", String(flags.every.value)]
        : []
    const workers = Option.isSome(flags.workers) ? ["--workers", String(flags.workers.value)] : []
    const store = ["--store", flags.store]
    // a subset is its own sweep, so the analysis never mixes problem sets
    const base = yield* Effect.try({
      try: () => {
        const json: unknown = JSON.parse(readFileSync(flags.sweep, "utf8"))
        return typeof json === "object" && json !== null && "name" in json && typeof json.name === "string"
          ? json.name
          : "paper"
      },
      catch: (e) =>
        new InvalidInput({
          subject: "--sweep",
          problems: [`--sweep ${flags.sweep}: ${e instanceof Error ? e.message : String(e)}`]
        })
    })
    const name = flags.full ? `${base}-full` : Option.isSome(flags.every) ? `${base}-every${flags.every.value}` : base
    yield* step(1, `sweep ${flags.sweep} → ${flags.store}`)
    yield* Command.runWith(evalCommand, { version: VERSION })([
      "--sweep",
      flags.sweep,
      "--name",
      name,
      ...store,
      ...every,
      ...workers
    ])
    yield* step(2, `compute-optimal policy → ${join(flags.out, "policies")}`)
    // the written route graphs are the router as it runs: predicted bins from the sweep's 4-sample estimate
    yield* Command.runWith(optimize, { version: VERSION })([
      ...store,
      "--sweep",
      name,
      "--bins",
      "predicted",
      "--candidates",
      "all",
      "--out",
      join(flags.out, "policies")
    ])
    yield* step(3, "exchange rate against a larger model")
    yield* Command.runWith(exchange, { version: VERSION })([...store, "--sweep", name])
    yield* step(4, `report → ${flags.out}`)
    yield* Command.runWith(report, { version: VERSION })([...store, "--sweep", name, "--out", flags.out])
    yield* Console.log(
      `\ndone in ${((Date.now() - started) / 1000).toFixed(1)} s — open ${join(flags.out, "report.html")}`
    )
  })
).pipe(
  Command.withDescription(
    "Snell et al. 2024 on the simulated backend: sweep, compute-optimal policy, exchange rate, report"
  )
)
