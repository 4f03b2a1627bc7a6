/**
 * A recorded backend: wraps a generator and a verifier so that each answer is computed once and
 * then served from a map. The simulated backend is deterministic (an answer depends only on the
 * request), so a replayed answer is the one the simulator would give, and a benchmark on it
 * measures what the caller does around the calls with the backend's own work taken out.
 *
 * @since 0.1.0
 */
import { Duration, Effect, Result } from "effect"
import type { Candidate } from "../src/domain/Candidate.ts"
import type { GenerateRequest, GenerateResult, GeneratorShape } from "../src/services/Generator.ts"
import type { ScoreRequest, ScoreResult, VerifierShape } from "../src/services/Verifier.ts"
import type { PlainBackend } from "./PlainLoop.ts"
import { makeServerSlots, type ServerSlots } from "./ServerSlots.ts"

interface Scored {
  readonly stepScores: ReadonlyArray<number>
  readonly inputTokens: number
}

/**
 * Generations recorded by request: by seed (which already names the problem, the candidate
 * continued and the graph node), then by the request's other knobs. A lookup is an instrument's
 * cost inside the wall time a scheduling figure measures: a map keyed by the bigint seed and a
 * scan of its few entries, not a string built from the seed's digits for every call.
 */
class RecordedGenerations {
  private readonly bySeed = new Map<
    bigint,
    Array<{ readonly request: GenerateRequest; readonly result: GenerateResult }>
  >()
  get(request: GenerateRequest): GenerateResult | undefined {
    const entries = this.bySeed.get(request.seed)
    if (entries === undefined) return undefined
    for (const e of entries) if (sameAsk(e.request, request)) return e.result
    return undefined
  }
  set(request: GenerateRequest, result: GenerateResult): void {
    const entries = this.bySeed.get(request.seed)
    if (entries === undefined) this.bySeed.set(request.seed, [{ request, result }])
    else entries.push({ request, result })
  }
}

/**
 * Scores recorded by problem, candidate id and number of steps (a candidate's id names its steps'
 * history; a longer candidate of the same id is scored anew): nested maps, not a string built per
 * candidate, for the same reason as `RecordedGenerations`. A candidate grown from recorded answers
 * ends with a recorded step object, the same one every replay: the score last found for it is
 * kept by that object and checked against the key before the maps are asked (a verifier batch of
 * 256 candidates looks up 256 scores inside the wall time a scheduling figure measures).
 */
class RecordedScores {
  private readonly byProblem = new Map<string, Map<string, Map<number, Scored>>>()
  private readonly byLastStep = new WeakMap<
    object,
    { readonly problem: string; readonly id: string; readonly length: number; readonly scored: Scored }
  >()
  get(problem: string, c: Candidate): Scored | undefined {
    const steps = c.steps
    const length = steps?.length ?? 0
    const last = steps?.step
    const seen = last === undefined ? undefined : this.byLastStep.get(last)
    if (seen !== undefined && seen.length === length && seen.id === c.id && seen.problem === problem) return seen.scored
    const scored = this.byProblem.get(problem)?.get(c.id)?.get(length)
    if (scored !== undefined && last !== undefined) this.byLastStep.set(last, { problem, id: c.id, length, scored })
    return scored
  }
  set(problem: string, c: Candidate, scored: Scored): void {
    let byId = this.byProblem.get(problem)
    if (byId === undefined) {
      byId = new Map()
      this.byProblem.set(problem, byId)
    }
    let bySteps = byId.get(c.id)
    if (bySteps === undefined) {
      bySteps = new Map()
      byId.set(c.id, bySteps)
    }
    bySteps.set(c.steps?.length ?? 0, scored)
  }
}

/** Whether two requests of one seed ask for the same continuations (the recorded answer's key). */
const sameAsk = (a: GenerateRequest, b: GenerateRequest): boolean =>
  a.n === b.n &&
  a.until === b.until &&
  a.temperature === b.temperature &&
  a.maxTokens === b.maxTokens &&
  (a.index ?? 0) === (b.index ?? 0)

/**
 * The recorded twin of a backend's ports.
 *
 * @example
 * const fast = recorded(backend) // run once to record, then every rerun is served from memory
 */
export const recorded = (ports: {
  readonly generator: GeneratorShape
  readonly verifier: VerifierShape
}): { readonly generator: GeneratorShape; readonly verifier: VerifierShape } => {
  const generations = new RecordedGenerations()
  const scores = new RecordedScores()
  const generate = (request: GenerateRequest): Effect.Effect<GenerateResult, never> => {
    const hit = generations.get(request)
    if (hit !== undefined) return Effect.succeed(hit)
    return ports.generator.generate(request).pipe(
      Effect.orDie,
      Effect.tap((result) => Effect.sync(() => generations.set(request, result)))
    )
  }
  const score = (request: ScoreRequest): Effect.Effect<ScoreResult, never> =>
    Effect.suspend(() => {
      const stepScores: Array<ReadonlyArray<number>> = new Array(request.candidates.length)
      let inputTokens = 0
      let all = true
      for (let i = 0; i < request.candidates.length && all; i++) {
        const f = scores.get(request.problem.id, request.candidates[i] as Candidate)
        if (f === undefined) all = false
        else {
          stepScores[i] = f.stepScores
          inputTokens += f.inputTokens
        }
      }
      if (all) return Effect.succeed({ stepScores, inputTokens })
      return ports.verifier.score(request).pipe(
        Effect.orDie,
        Effect.tap((result) =>
          Effect.sync(() => {
            request.candidates.forEach((c, i) => {
              scores.set(request.problem.id, c, {
                stepScores: result.stepScores[i] ?? [],
                inputTokens: ports.verifier.inputTokens?.(request.problem, c) ?? 0
              })
            })
          })
        )
      )
    })
  return { generator: { ...ports.generator, generate }, verifier: { ...ports.verifier, score } }
}

/**
 * Recorded answers as plain functions over a plain backend (`PlainLoop.ts`): each answer is
 * computed once by `source` and then served from a map, keyed as `recorded` keys them. The plain
 * loop calls `generate`/`score` directly; the runtime reaches the same maps through `portsOf`.
 *
 * @example
 * const answers = recordedPlain(plainSimulated(backend))
 * answers.generate(request) // computed once, then the same object every time
 */
export const recordedPlain = (source: PlainBackend): PlainBackend => {
  const generations = new RecordedGenerations()
  const scores = new RecordedScores()
  return {
    ...source,
    generate: (request) => {
      let hit = generations.get(request)
      if (hit === undefined) {
        hit = source.generate(request)
        generations.set(request, hit)
      }
      return hit
    },
    score: (request) => {
      const stepScores: Array<ReadonlyArray<number>> = []
      let inputTokens = 0
      for (let i = 0; i < request.candidates.length; i++) {
        const c = request.candidates[i] as Candidate
        let hit = scores.get(request.problem.id, c)
        if (hit === undefined) {
          // a miss is scored alone, so each candidate's tokens are known
          const one = source.score({ ...request, candidates: request.candidates.slice(i, i + 1) })
          hit = { stepScores: one.stepScores[0] ?? [], inputTokens: one.inputTokens }
          scores.set(request.problem.id, c, hit)
        }
        stepScores.push(hit.stepScores)
        inputTokens += hit.inputTokens
      }
      return { stepScores, inputTokens }
    }
  }
}

/**
 * A plain backend as the runtime's ports, by the cheapest bridges there are: `Effect.sync` around
 * the plain function (a bad request throws, which is a defect here), and the plain function itself
 * as the port's answers in plain code (`GeneratorShape.answerNow`). The other facts (model,
 * capabilities, caps, token counters) are those of `like`, the backend the answers come from.
 *
 * @example
 * const ports = portsOf(recordedPlain(plainSimulated(backend)), backend)
 */
export const portsOf = (
  plain: PlainBackend,
  like: { readonly generator: GeneratorShape; readonly verifier: VerifierShape }
): { readonly generator: GeneratorShape; readonly verifier: VerifierShape } => {
  const generate: GeneratorShape["generate"] = (request) => Effect.sync(() => plain.generate(request))
  return {
    // an answer from memory comes in the step that asks for it (`GeneratorShape.atOnce`)
    generator: {
      ...like.generator,
      generate,
      atOnce: generate,
      answerNow: Object.assign((request: GenerateRequest) => Result.succeed(plain.generate(request)), { of: generate })
    },
    verifier: { ...like.verifier, score: (request) => Effect.sync(() => plain.score(request)) }
  }
}

/**
 * A server in front of ports: at most `concurrency` calls at once, each answered `latencyMs`
 * after a slot takes it (`ServerSlots.ts`: the limit kept on the clock, first come first served,
 * as a server's own queue keeps it — no semaphore on the client's thread). Put in front of
 * `recorded` ports, it models a server whose compute happens elsewhere — as with a real model
 * server — so that a benchmark's wall time holds only the caller's work and the waits.
 *
 * @example
 * const server = served(recorded(backend), { latencyMs: 20, verifierLatencyMs: 20, concurrency: 64 })
 */
export const served = (
  ports: { readonly generator: GeneratorShape; readonly verifier: VerifierShape },
  server: { readonly latencyMs: number; readonly verifierLatencyMs: number; readonly concurrency: number }
): { readonly generator: GeneratorShape; readonly verifier: VerifierShape } => {
  const generatorSlots = makeServerSlots(server.concurrency)
  const verifierSlots = makeServerSlots(server.concurrency)
  // the slot is taken when the call starts (not when its effect is built), and the answer is the
  // port's, given when the wait ends
  const answered = <A, E>(slots: ServerSlots, latencyMs: number, answer: Effect.Effect<A, E>): Effect.Effect<A, E> =>
    Effect.suspend(() => {
      const ms = slots.answerIn(latencyMs)
      return ms > 0 ? Effect.andThen(Effect.sleep(Duration.millis(ms)), answer) : answer
    })
  return {
    generator: {
      ...ports.generator,
      concurrency: server.concurrency,
      generate: (request) => answered(generatorSlots, server.latencyMs, ports.generator.generate(request))
    },
    verifier: {
      ...ports.verifier,
      concurrency: server.concurrency,
      score: (request) => answered(verifierSlots, server.verifierLatencyMs, ports.verifier.score(request))
    }
  }
}
