/**
 * `mull paper` — what `npm start` runs: the experiment of Snell et al. 2024 on the embedded
 * simulated backend, end to end. It runs the sweep `sweeps/paper.json` (search and revision
 * strategies at budgets 4–256, best-of-N up to 1024, on all 500 MATH-500 problems, with 256
 * difficulty samples each, the router's 4-sample estimate and a larger model), fits the router on predicted
 * difficulty and writes it as `route` graphs, compares with the larger model at equal FLOPs (the
 * verifier counted), and writes the report to `out/`. Everything lands in the results store, so
 * a second run only redoes the analysis. `--full` (or `--world-seeds`, `--bon-max`) writes one
 * derived sweep file per world seed to `out/sweeps/` and pools them in the analysis.
 *
 * @since 0.1.0
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs"
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
      Flag.withDescription("3 world seeds of the simulator (0, 1, 2) pooled instead of one, best-of-N up to N = 4096"),
      Flag.withDefault(false)
    ),
    worldSeeds: Flag.String("world-seeds").pipe(
      Flag.withDescription(
        "World seeds of the simulated backend, comma-separated (e.g. 0,1,2): one sweep each, pooled in the analysis (--full: 0,1,2)"
      ),
      Flag.optional
    ),
    bonMax: Flag.Int("bon-max").pipe(
      Flag.withDescription("Best-of-N's largest budget, a power of two (the file says 1024; --full: 4096)"),
      Flag.optional
    ),
    every: Flag.Int("every").pipe(
      Flag.withDescription("Keep every k-th problem (the file keeps all 500; --every 2 halves the time)"),
      Flag.optional
    ),
    store: Flag.String("store").pipe(Flag.withDefault("out/mull.db")),
    out: Flag.String("out").pipe(Flag.withDescription("Folder of the report and policies"), Flag.withDefault("out")),
    workers: Flag.Int("workers").pipe(Flag.withDescription("Worker threads (default: one per core)"), Flag.optional)
  },
  Effect.fn("mull.paper")(function* (flags) {
    const started = Date.now()
    const step = (n: number, what: string) => Console.log(`\n== ${n}/4 ${what}`)
    const every = Option.isSome(flags.every) ? ["--every", String(flags.every.value)] : []
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
    const seedsText = Option.isSome(flags.worldSeeds) ? flags.worldSeeds.value : flags.full ? "0,1,2" : undefined
    const worldSeeds = seedsText === undefined ? [] : seedsText.split(",").map((x) => Number(x.trim()))
    if (worldSeeds.some((w) => !Number.isInteger(w) || w < 0))
      return yield* new InvalidInput({
        subject: "--world-seeds",
        problems: [`--world-seeds ${seedsText}: expected non-negative integers separated by commas`]
      })
    const bonMax = Option.isSome(flags.bonMax) ? flags.bonMax.value : flags.full ? 4096 : undefined
    if (bonMax !== undefined && (bonMax < 1 || 2 ** Math.round(Math.log2(bonMax)) !== bonMax))
      return yield* new InvalidInput({
        subject: "--bon-max",
        problems: [`--bon-max ${bonMax}: expected a power of two`]
      })
    // the sweep file as written, or one derived file per world seed (best-of-N's budgets extended)
    const sweeps: ReadonlyArray<{ readonly name: string; readonly file: string }> =
      worldSeeds.length === 0 && bonMax === undefined
        ? [{ name, file: flags.sweep }]
        : yield* Effect.try({
            try: () => {
              const json = JSON.parse(readFileSync(flags.sweep, "utf8")) as Record<string, unknown>
              const dir = join(flags.out, "sweeps")
              mkdirSync(dir, { recursive: true })
              return (worldSeeds.length === 0 ? [undefined] : worldSeeds).map((w) => {
                const derived = deriveSweep(
                  json,
                  w,
                  bonMax,
                  Option.isSome(flags.every)
                    ? `every ${flags.every.value}th problem (--every ${flags.every.value})`
                    : undefined
                )
                const n = w === undefined ? name : `${name}-w${w}`
                const file = join(dir, `${n}.json`)
                writeFileSync(file, `${JSON.stringify({ ...derived, name: n }, null, 2)}\n`)
                return { name: n, file }
              })
            },
            catch: (e) =>
              new InvalidInput({
                subject: "--sweep",
                problems: [`--sweep ${flags.sweep}: ${e instanceof Error ? e.message : String(e)}`]
              })
          })
    const pooled = sweeps.map((x) => x.name).join(",")
    for (const [i, sw] of sweeps.entries()) {
      yield* step(
        1,
        `sweep ${sw.file} → ${flags.store}${sweeps.length > 1 ? ` (world ${i + 1} of ${sweeps.length})` : ""}`
      )
      yield* Command.runWith(evalCommand, { version: VERSION })([
        "--sweep",
        sw.file,
        "--name",
        sw.name,
        ...store,
        ...every,
        ...workers
      ])
    }
    yield* step(2, `compute-optimal policy → ${join(flags.out, "policies")}`)
    // the written route graphs are the router as it runs: predicted bins from the sweep's 4-sample estimate
    yield* Command.runWith(optimize, { version: VERSION })([
      ...store,
      "--sweep",
      pooled,
      "--bins",
      "predicted",
      "--candidates",
      "all",
      "--out",
      join(flags.out, "policies")
    ])
    yield* step(3, "exchange rate against a larger model")
    yield* Command.runWith(exchange, { version: VERSION })([...store, "--sweep", pooled])
    yield* step(4, `report → ${flags.out}`)
    yield* Command.runWith(report, { version: VERSION })([...store, "--sweep", pooled, "--out", flags.out])
    yield* Console.log(
      `\ndone in ${((Date.now() - started) / 1000).toFixed(1)} s — open ${join(flags.out, "report.html")}`
    )
  })
).pipe(
  Command.withDescription(
    "Snell et al. 2024 on the simulated backend: sweep, compute-optimal policy, exchange rate, report"
  )
)

/**
 * A sweep document for one world seed of the simulated backend (the main and the larger model's
 * backend configuration both get it) and with best-of-N's budgets extended by doublings to
 * `bonMax`; either may be undefined (left as written). Its description gains what was changed,
 * with `subset` (the problems and bins the run's flags chose) first.
 *
 * @example
 * deriveSweep(JSON.parse(readFileSync("sweeps/paper.json", "utf8")), 1, 4096, "every problem (--every 1)")
 */
export const deriveSweep = (
  json: Record<string, unknown>,
  worldSeed: number | undefined,
  bonMax: number | undefined,
  subset?: string | undefined
): Record<string, unknown> => {
  const obj = (x: unknown): Record<string, unknown> =>
    typeof x === "object" && x !== null && !Array.isArray(x) ? (x as Record<string, unknown>) : {}
  const withSeed = (config: unknown) => (worldSeed === undefined ? config : { ...obj(config), worldSeed })
  const backend = obj(json.backend)
  const large = json.large === undefined ? undefined : obj(json.large)
  const strategies = Array.isArray(json.strategies) ? (json.strategies as ReadonlyArray<unknown>) : []
  // the file's description speaks of its own subset, bins and budgets: say what this run changed
  const changed = [
    subset,
    worldSeed === undefined ? undefined : `world seed ${worldSeed}`,
    bonMax === undefined ? undefined : `best-of-N up to N = ${bonMax}`
  ].filter((x) => x !== undefined)
  const note = `as run by \`mull paper\`: ${changed.join("; ")}`
  return {
    ...json,
    ...(changed.length === 0
      ? {}
      : { description: typeof json.description === "string" ? `${json.description} — ${note}` : note }),
    backend: { ...backend, config: withSeed(backend.config) },
    ...(large === undefined ? {} : { large: { ...large, config: withSeed(large.config) } }),
    strategies: strategies.map((x) => {
      const st = obj(x)
      const budgets = Array.isArray(st.budgets) ? (st.budgets as ReadonlyArray<number>) : undefined
      if (bonMax === undefined || st.graph !== "weighted-best-of-n" || budgets === undefined) return x
      const top = Math.max(...budgets)
      const more: Array<number> = []
      for (let b = top * 2; b <= bonMax; b *= 2) more.push(b)
      return { ...st, budgets: [...budgets.filter((b) => b <= bonMax), ...more] }
    })
  }
}
