/**
 * `mull run <graph> (--question TEXT | --problem math500:<id>) [--param K=V]… [--budget m=l,…]
 * [--backend simulated] [--seed N] [--concurrency N] [--json] [--trace FILE.jsonl]`: runs a
 * strategy on one problem, showing progress, then the answer, whether it is right (when the gold
 * answer is known), and what was spent.
 *
 * @since 0.1.0
 */
import { writeFile } from "node:fs/promises"
import { Console, Effect, Fiber, Layer, Option, Stream } from "effect"
import { Argument, Command, Flag } from "effect/cli"
import { registry } from "../backends/Registry.ts"
import * as Candidate from "../domain/Candidate.ts"
import { makeProblem, type Problem, questionId } from "../domain/Problem.ts"
import type { RunResult } from "../domain/RunResult.ts"
import * as Usage from "../domain/Usage.ts"
import { resolveProblem } from "../eval/ProblemRef.ts"
import { staticCost } from "../graph/Cost.ts"
import * as Loader from "../graph/Loader.ts"
import { costOptionsOf, run as runGraph } from "../runtime/Run.ts"
import * as RunEvents from "../runtime/RunEvents.ts"
import { Generator } from "../services/Generator.ts"
import { Grader } from "../services/Grader.ts"
import { Verifier } from "../services/Verifier.ts"
import { backendFlags, backendOf, parseBudget, parseParams, priceFlags, pricesOf } from "./Inputs.ts"
import { InvalidInput } from "./InvalidInput.ts"
import { otlpFlag, otlpLayer } from "./Otlp.ts"
import { render } from "./Progress.ts"
import { fmt, table } from "./Table.ts"

/** Graph errors, bad problem refs and run-time value errors become `InvalidInput` (exit 2). */
export const asInvalidInput = <A, R>(
  self: Effect.Effect<A, { readonly _tag: string; readonly message: string } | InvalidInput, R>,
  subject: string
): Effect.Effect<A, InvalidInput, R> =>
  Effect.mapError(self, (e) => {
    if (e instanceof InvalidInput) return e
    if ("problems" in e && Array.isArray(e.problems))
      return new InvalidInput({ subject, problems: e.problems as ReadonlyArray<string> })
    return new InvalidInput({ subject, problems: [e.message] })
  })

const usageTable = (result: RunResult, limits: Record<string, number>, bound: Usage.Usage): string =>
  table(
    ["meter", "used", "limit", "static bound", "backend spent"],
    Usage.METERS.map((m) => [
      m,
      fmt(result.usage[m]),
      limits[m] === undefined ? "—" : fmt(limits[m] ?? 0),
      m === "wallMs" || m === "flops" || m === "usd" ? "—" : fmt(bound[m]),
      fmt(result.backendUsage[m])
    ])
  )

const nodeTable = (result: RunResult): string =>
  table(
    ["node", "calls", "sequences", "output tokens", "verifier calls"],
    result.ledger.map((e) => [
      e.node,
      fmt(e.usage.calls),
      fmt(e.usage.sequences),
      fmt(e.usage.outputTokens),
      fmt(e.usage.verifierCalls)
    ])
  )

const toJson = (result: RunResult, problem: Problem, correct: boolean | undefined, delimiter: string) => ({
  problem: { id: problem.id, ...(problem.gold === undefined ? {} : { gold: problem.gold }) },
  ...(result.answer === undefined ? {} : { answer: result.answer }),
  ...(correct === undefined ? {} : { correct }),
  exhausted: result.exhausted,
  ...(result.chosen === undefined ? {} : { chosen: Candidate.toJson(result.chosen, delimiter) }),
  ranking: result.ranking,
  usage: result.usage,
  backendUsage: result.backendUsage,
  ledger: result.ledger,
  population: result.population.map((c) => Candidate.toJson(c, delimiter))
})

export const run = Command.make(
  "run",
  {
    graph: Argument.String("graph").pipe(
      Argument.withDescription("A built-in graph name (see `mull graphs`) or a path")
    ),
    question: Flag.String("question").pipe(Flag.withDescription("The question, as text"), Flag.optional),
    problem: Flag.String("problem").pipe(
      Flag.withDescription("A dataset problem: math500:<unique_id> (or math500:#<index>), gsm8k:<index>"),
      Flag.optional
    ),
    gold: Flag.String("gold").pipe(
      Flag.withDescription("The gold answer of --question, to grade the run"),
      Flag.optional
    ),
    level: Flag.Int("level").pipe(
      Flag.withDescription("The MATH level (1–5) of --question, for the simulator"),
      Flag.optional
    ),
    param: Flag.String("param").pipe(
      Flag.withDescription("Override a graph param: NAME=VALUE (repeatable)"),
      Flag.atLeast(0)
    ),
    budget: Flag.String("budget").pipe(
      Flag.withDescription(`Limits: meter=limit,… (meters: ${Usage.METERS.join(", ")})`),
      Flag.optional
    ),
    ...priceFlags,
    ...backendFlags(),
    seed: Flag.Int("seed").pipe(Flag.withDefault(0)),
    concurrency: Flag.Int("concurrency").pipe(Flag.withDescription("Concurrent backend calls"), Flag.optional),
    json: Flag.Boolean("json").pipe(Flag.withDescription("Print the whole result as JSON"), Flag.withDefault(false)),
    trace: Flag.String("trace").pipe(Flag.withDescription("Write every run event to this JSONL file"), Flag.optional),
    otlp: otlpFlag
  },
  Effect.fn(function* (flags) {
    const params = yield* parseParams(flags.param)
    const limits = yield* parseBudget(Option.getOrUndefined(flags.budget))
    const prices = yield* pricesOf(flags)
    const question = Option.getOrUndefined(flags.question)
    const ref = Option.getOrUndefined(flags.problem)
    if ((question === undefined) === (ref === undefined))
      return yield* new InvalidInput({
        subject: "run",
        problems: ["run: give exactly one of --question TEXT or --problem DATASET:ID"]
      })
    const level = Option.getOrUndefined(flags.level)
    const gold = Option.getOrUndefined(flags.gold)
    const problem =
      ref !== undefined
        ? yield* asInvalidInput(resolveProblem(ref, registry), "--problem")
        : makeProblem({
            id: questionId(question ?? ""),
            question: question ?? "",
            gold,
            meta: level === undefined ? {} : { level }
          })
    const loaded = yield* asInvalidInput(Loader.load(flags.graph), `graph ${flags.graph}`)
    const backend = yield* backendOf(flags)
    const trace = Option.getOrUndefined(flags.trace)
    const program = Effect.scoped(
      Effect.gen(function* () {
        const events = yield* RunEvents.RunEvents
        const untilFinished = (stream: Stream.Stream<RunEvents.RunEvent>) =>
          Stream.takeUntil(stream, (e) => e._tag === "RunFinished")
        const recorded: Array<string> = []
        // each consumer needs its own subscription (a subscription is one queue)
        const consumers = [
          ...(trace === undefined
            ? []
            : [
                yield* Effect.forkScoped(
                  Stream.runForEach(untilFinished(yield* events.subscribe), (e) =>
                    // every line carries its time, so `mull trace export` can place it
                    Effect.sync(() => recorded.push(JSON.stringify("at" in e ? e : { ...e, at: Date.now() })))
                  )
                )
              ]),
          ...(flags.json ? [] : [yield* Effect.forkScoped(render(untilFinished(yield* events.subscribe)))])
        ]
        const result = yield* asInvalidInput(
          runGraph(loaded, problem, {
            params,
            limits,
            prices,
            seed: flags.seed,
            ...(Option.isSome(flags.concurrency) ? { concurrency: flags.concurrency.value } : {})
          }),
          `graph ${flags.graph}`
        )
        yield* Effect.forEach(consumers, Fiber.join, { discard: true })
        if (trace !== undefined)
          yield* Effect.promise(() => writeFile(trace, recorded.length === 0 ? "" : `${recorded.join("\n")}\n`))
        const grader = yield* Grader
        const generator = yield* Generator
        const correct =
          problem.gold === undefined || result.answer === undefined
            ? problem.gold === undefined
              ? undefined
              : false
            : grader.grade(problem, result.answer)
        const delimiter = loaded.doc.stepDelimiter ?? generator.stepDelimiter
        if (flags.json) {
          yield* Console.log(JSON.stringify(toJson(result, problem, correct, delimiter), null, 2))
          return
        }
        const verifier = yield* Verifier
        const bound = staticCost(loaded, { params, limits, ...costOptionsOf(generator, verifier) }).usage
        const cut = result.population.filter((c) => c.cut === true).length
        yield* Console.log(
          [
            `graph     ${loaded.doc.name} (${flags.backend} backend, seed ${flags.seed})`,
            `problem   ${problem.id}${problem.meta.level === undefined ? "" : ` (level ${problem.meta.level})`}`,
            `answer    ${result.answer ?? "(none)"}`,
            ...(problem.gold === undefined
              ? []
              : [`gold      ${problem.gold}`, `correct   ${correct === true ? "yes" : "no"}`]),
            `exhausted ${result.exhausted ? "yes: the budget refused a call or cut one short; the answer comes from what could be paid for" : "no"}`,
            `population ${result.population.length} candidates (${result.population.filter((c) => c.done).length} done${cut > 0 ? `, ${cut} cut short by the budget` : ""}), ${result.ranking.length} distinct answers`,
            "",
            usageTable(result, limits as Record<string, number>, bound),
            "",
            nodeTable(result)
          ].join("\n")
        )
      })
    )
    yield* program.pipe(Effect.provide(Layer.mergeAll(backend, RunEvents.layer, otlpLayer(flags.otlp, "mull run"))))
  })
).pipe(Command.withDescription("Run a strategy graph on one problem"))
