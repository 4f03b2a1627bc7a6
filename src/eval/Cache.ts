/**
 * The generation cache: wraps a Generator and a Verifier so that a call already made — the same
 * backend, model, problem, prefix, attempts in context, sampling parameters and seed — is answered
 * from the cache. Each continuation is cached on its own (continuation i of a call depends only on
 * the request, the seed and i), so best-of-64 finds its 64 samples among best-of-256's, and
 * best-of-256 after best-of-64 generates only the other 192. A hit costs the backend nothing: the
 * result says so (`spent`), and the ledger still charges the strategy's logical cost.
 *
 * @since 0.1.0
 */
import { Effect } from "effect"
import type { Candidate } from "../domain/Candidate.ts"
import { hash64 } from "../domain/Hash.ts"
import type * as Steps from "../domain/Steps.ts"
import type { BackendError } from "../services/BackendError.ts"
import type { GenerateRequest, GenerateResult, Generation, GeneratorShape } from "../services/Generator.ts"
import type { ScoreRequest, ScoreResult, VerifierShape } from "../services/Verifier.ts"

/** Where cached entries live (a Map per problem, or the results store). */
export interface CacheStore {
  readonly get: (key: string) => Effect.Effect<unknown>
  readonly set: (key: string, value: unknown) => Effect.Effect<void>
}

/** Hit and miss counts, for reports. */
export interface CacheStats {
  hits: number
  misses: number
}

/**
 * An in-memory cache store.
 *
 * @example
 * const cache = memoryStore()
 */
export const memoryStore = (): CacheStore => {
  const map = new Map<string, unknown>()
  return {
    get: (key) => Effect.sync(() => map.get(key)),
    set: (key, value) =>
      Effect.sync(() => {
        map.set(key, value)
      })
  }
}

// identities of step lists, computed once per list node: candidates share their prefixes' nodes,
// so hashing a beam of 256 lanes costs one step per lane, not its whole text
const identities = new WeakMap<Steps.Steps, string>()

const stepsIdentity = (steps: Steps.Steps | undefined): string => {
  if (steps === undefined) return ""
  const known = identities.get(steps)
  if (known !== undefined) return known
  // walk up to the nearest known ancestor, then hash down
  const chain: Array<Steps.Steps> = []
  let node: Steps.Steps | undefined = steps
  while (node !== undefined && !identities.has(node)) {
    chain.push(node)
    node = node.parent
  }
  let id = node === undefined ? "" : (identities.get(node) ?? "")
  for (let i = chain.length - 1; i >= 0; i--) {
    const s = chain[i]
    if (s === undefined) continue
    // the text plus the backend's state of the step (the simulator continues from it)
    id = hash64([id, s.step.text, JSON.stringify(s.step.latent ?? null)]).toString(16)
    identities.set(s, id)
  }
  return id
}

const prefixIdentity = (c: Candidate | undefined): string => (c === undefined ? "" : stepsIdentity(c.steps))

/**
 * The cache key of a request (continuation index excluded: continuation k of a request is stored
 * at `key:k`, whichever call asked for it). Token log-probabilities and DeepConf online's stopping
 * rule are part of it: a generation with confidences, or cut short, is not the plain one. So is a
 * generative verification's style, verdict mode and the solution it checks: two graphs verifying
 * at the same node path with the same candidate ids are not answered with each other's replies,
 * and a thinking phase (budget forcing) by the thinking it continues.
 *
 * @example
 * requestKey(generator, request)
 */
export const requestKey = (gen: Pick<GeneratorShape, "backend" | "model">, r: GenerateRequest): string =>
  hash64([
    "generate",
    gen.backend,
    gen.model,
    r.problem.id,
    r.problem.question,
    prefixIdentity(r.prefix),
    (r.context ?? []).map(prefixIdentity).join("\u0001"),
    r.until,
    r.temperature,
    r.maxTokens,
    r.seed,
    r.logprobs ?? 0,
    r.stopBelow === undefined ? "" : `${r.stopBelow.window}:${r.stopBelow.threshold}`,
    // a verification is keyed by what it checks and how (absent otherwise: every other key is as before)
    ...(r.verify === undefined
      ? []
      : [
          `verify:${r.verify.style}:${r.verify.verdict ?? "parse"}`,
          r.verify.candidate === undefined ? "" : prefixIdentity(r.verify.candidate),
          r.verify.steps.join("\u0001")
        ]),
    // a thinking phase reads its thinking so far (only such requests carry it: other keys are unchanged)
    ...(r.think === undefined ? [] : [`think:${r.think.phase}:${r.think.waits}:${r.think.tokens}:${r.think.text}`])
  ]).toString(16)

const isGeneration = (x: unknown): x is Generation =>
  typeof x === "object" && x !== null && "steps" in x && "done" in x && "outputTokens" in x

/**
 * A Generator that answers from the cache when it can, sample by sample: a request for n
 * continuations takes the cached ones and asks the backend only for the span it lacks (one call,
 * `index` set to the span's first continuation), so budgets hit the cache in any order —
 * best-of-8 after best-of-4 generates continuations 4…7 only. Continuation i depends only on the
 * request, the seed and i (the `GenerateRequest.index` contract), so a sample is the same whether
 * it was cached or generated.
 *
 * A partial hit reports what the backend really spent (`spent`: one call, the span's sequences and
 * tokens); the logical result is that of the whole request. `inputTokens` is the prompt once (as
 * backends that take n continuations per request report it): a full hit returns the first call's.
 *
 * @example
 * const cached = cachedGenerator(generator, memoryStore(), stats)
 */
export const cachedGenerator = (inner: GeneratorShape, store: CacheStore, stats: CacheStats): GeneratorShape => ({
  ...inner,
  generate: (request: GenerateRequest): Effect.Effect<GenerateResult, BackendError> =>
    Effect.gen(function* () {
      const base = requestKey(inner, request)
      const first = request.index ?? 0
      const found: Array<Generation | undefined> = []
      // the span of continuations the cache lacks: [lo, hi] (relative to `first`), empty when lo > hi
      let lo = request.n
      let hi = -1
      for (let i = 0; i < request.n; i++) {
        const g = yield* store.get(`${base}:${first + i}`)
        if (isGeneration(g)) found.push(g)
        else {
          found.push(undefined)
          if (lo > i) lo = i
          hi = i
        }
      }
      const input = yield* store.get(`${base}:input`)
      if (lo > hi && typeof input === "number") {
        stats.hits += request.n
        return {
          generations: found.filter(isGeneration),
          inputTokens: input,
          spent: { calls: 0, sequences: 0, inputTokens: 0, outputTokens: 0 }
        }
      }
      if (lo > hi) {
        // samples without their prompt's count (another writer's half-finished entry): ask again
        lo = 0
        hi = request.n - 1
      }
      const span = hi - lo + 1
      // `index` stays absent for a span from 0, as the runtime's own requests spell it
      const { index: _, ...rest } = request
      const result = yield* inner.generate(
        first + lo === 0 ? { ...rest, n: span } : { ...rest, n: span, index: first + lo }
      )
      stats.hits += request.n - span
      stats.misses += span
      if (typeof input !== "number") yield* store.set(`${base}:input`, result.inputTokens)
      let outputTokens = 0
      for (let j = 0; j < span; j++) {
        const g = result.generations[j]
        if (g === undefined) continue
        found[lo + j] = g
        outputTokens += g.outputTokens
        yield* store.set(`${base}:${first + lo + j}`, g)
      }
      if (span === request.n) return result
      const generations = found.filter(isGeneration)
      // fewer continuations than asked breaks the backend's contract: its result goes on as is, for
      // the runtime to reject as it would without the cache
      if (generations.length !== request.n) return result
      return {
        generations,
        inputTokens: result.inputTokens,
        spent: result.spent ?? { calls: 1, sequences: span, inputTokens: result.inputTokens, outputTokens }
      }
    })
})

/**
 * A Verifier that answers from the cache when it can: each candidate of a batch is looked up on
 * its own (keyed by its text and state), and only the misses go to the backend.
 *
 * @example
 * const cached = cachedVerifier(verifier, memoryStore(), stats)
 */
export const cachedVerifier = (inner: VerifierShape, store: CacheStore, stats: CacheStats): VerifierShape => ({
  ...inner,
  score: (request: ScoreRequest): Effect.Effect<ScoreResult, BackendError> =>
    Effect.gen(function* () {
      const keys = request.candidates.map((c) =>
        hash64([
          "score",
          inner.backend,
          inner.model,
          request.verifier,
          request.problem.id,
          request.problem.question,
          prefixIdentity(c)
        ]).toString(16)
      )
      const found: Array<CachedScore | undefined> = []
      for (const key of keys) {
        const hit = yield* store.get(key)
        found.push(isCachedScore(hit) ? hit : undefined)
      }
      const misses = request.candidates.filter((_, i) => found[i] === undefined)
      stats.hits += request.candidates.length - misses.length
      stats.misses += misses.length
      let spent = { calls: 0, inputTokens: 0 }
      if (misses.length > 0) {
        const result = yield* inner.score({ ...request, candidates: misses })
        spent = { calls: 1, inputTokens: result.inputTokens }
        let m = 0
        for (let i = 0; i < found.length; i++) {
          if (found[i] !== undefined) continue
          const c = request.candidates[i]
          const stepScores = result.stepScores[m]
          m++
          if (c === undefined || stepScores === undefined) continue
          // a batch reports its tokens in total: split them by what each candidate reads
          const tokens = inner.inputTokens?.(request.problem, c) ?? result.inputTokens / misses.length
          const entry: CachedScore = { stepScores, inputTokens: tokens }
          found[i] = entry
          yield* store.set(keys[i] ?? "", entry)
        }
      }
      let inputTokens = 0
      for (const f of found) inputTokens += f?.inputTokens ?? 0
      return { stepScores: found.map((f) => f?.stepScores ?? []), inputTokens, spent }
    })
})

interface CachedScore {
  readonly stepScores: ReadonlyArray<number>
  readonly inputTokens: number
}

const isCachedScore = (x: unknown): x is CachedScore =>
  typeof x === "object" && x !== null && "stepScores" in x && Array.isArray(x.stepScores) && "inputTokens" in x
