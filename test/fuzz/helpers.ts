/**
 * Shared pieces of the fuzz properties (`test/fuzz/*.test.ts`): the case-count scale, a per-case
 * time bound, checks that nothing was added to the built-in prototypes, the keys that try to
 * pollute them, and a JSON writer that can put such a key into a document's *text* (a JavaScript
 * object cannot hold `__proto__` as an ordinary key the way `JSON.parse` creates it).
 */
import { assert } from "@effect/vitest"
import fc from "fast-check"

/** `MULL_PROPERTY_SCALE=10` runs ten times as many cases (for hunting, not for CI). */
export const SCALE = Number(process.env.MULL_PROPERTY_SCALE ?? "1") || 1

/** The number of runs of a property at the current scale. */
export const runs = (n: number): number => Math.max(1, Math.round(n * SCALE))

/** The keys that reach the prototype chain when an object is written with `obj[key] = …`. */
export const PROTO_KEYS = ["__proto__", "constructor", "prototype"] as const

/**
 * Resolves with `promise`, or rejects if it has not settled within `ms` — a hang fails the case
 * that caused it instead of the whole test file.
 */
export const within = <A>(ms: number, what: string, promise: Promise<A>): Promise<A> => {
  let timer: ReturnType<typeof setTimeout> | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms)
  })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}

/** Runs a synchronous function and fails if it took longer than `ms` (it cannot be interrupted). */
export const timedSync = <A>(ms: number, what: string, f: () => A): A => {
  const t0 = performance.now()
  const a = f()
  const elapsed = performance.now() - t0
  assert.isBelow(elapsed, ms, `${what} took ${Math.round(elapsed)} ms`)
  return a
}

const PROTOTYPES: ReadonlyArray<readonly [string, object]> = [
  ["Object.prototype", Object.prototype],
  ["Array.prototype", Array.prototype],
  ["Function.prototype", Function.prototype],
  ["String.prototype", String.prototype]
]

const keysOf = (o: object): ReadonlyArray<string | symbol> => Reflect.ownKeys(o)

/** The own keys of the built-in prototypes now; `assertNotPolluted` compares against it. */
export const prototypeSnapshot = (): ReadonlyArray<ReadonlyArray<string | symbol>> =>
  PROTOTYPES.map(([, p]) => keysOf(p))

/** Asserts that no prototype gained a key since `before`, and that `{}` reads nothing new. */
export const assertNotPolluted = (before: ReadonlyArray<ReadonlyArray<string | symbol>>, what: string): void => {
  PROTOTYPES.forEach(([name, p], i) => {
    const added = keysOf(p).filter((k) => !(before[i] ?? []).includes(k))
    assert.deepStrictEqual(added.map(String), [], `${what}: ${name} gained keys`)
  })
  const empty: Record<string, unknown> = {}
  for (const k of ["polluted", "isAdmin", "x"]) assert.isUndefined(empty[k], `${what}: ({}).${k} is defined`)
  assert.strictEqual(Object.getPrototypeOf(empty), Object.prototype, `${what}: {} has another prototype`)
}

/** JSON text of a value that would be noticed if it reached a prototype (nested tries included). */
export const pollutingText: fc.Arbitrary<string> = fc.oneof(
  fc.constant('{"polluted":true,"isAdmin":true}'),
  fc.constant('{"__proto__":{"polluted":true}}'),
  fc.constant('{"constructor":{"prototype":{"polluted":true}}}'),
  fc.constant('{"prototype":{"isAdmin":true}}'),
  fc.jsonValue({ maxDepth: 2 }).map((v) => JSON.stringify(v)),
  fc.constantFrom("null", "1", '"x"', "[]", '[{"__proto__":{"polluted":true}}]')
)

export type Path = ReadonlyArray<string | number>

/** The paths of every object (not array) in a JSON value, the value itself first. */
export const objectPaths = (value: unknown, at: Path = []): Array<Path> => {
  if (Array.isArray(value)) return value.flatMap((v, i) => objectPaths(v, [...at, i]))
  if (typeof value !== "object" || value === null) return []
  return [at, ...Object.entries(value).flatMap(([k, v]) => objectPaths(v, [...at, k]))]
}

/** The paths of every value in a JSON value (objects and arrays included), the value itself first. */
export const allPaths = (value: unknown, at: Path = []): Array<Path> => {
  if (Array.isArray(value)) return [at, ...value.flatMap((v, i) => allPaths(v, [...at, i]))]
  if (typeof value !== "object" || value === null) return [at]
  return [at, ...Object.entries(value).flatMap(([k, v]) => allPaths(v, [...at, k]))]
}

const samePath = (a: Path, b: Path) => a.length === b.length && a.every((x, i) => x === b[i])

/**
 * JSON text of `value`, with `text` written verbatim as the member `key` of the object at `at`
 * (first, so a later duplicate cannot hide it), or as the value at `at` when `key` is undefined.
 *
 * @example
 * stringifyWith({ a: {} }, ["a"], "__proto__", '{"polluted":1}') // '{"a":{"__proto__":{"polluted":1}}}'
 */
export const stringifyWith = (value: unknown, at: Path, key: string | undefined, text: string): string => {
  const go = (v: unknown, here: Path): string => {
    if (key === undefined && samePath(here, at)) return text
    if (Array.isArray(v)) return `[${v.map((x, i) => go(x, [...here, i])).join(",")}]`
    if (typeof v === "object" && v !== null) {
      const members = Object.entries(v).map(([k, x]) => `${JSON.stringify(k)}:${go(x, [...here, k])}`)
      if (key !== undefined && samePath(here, at)) members.unshift(`${JSON.stringify(key)}:${text}`)
      return `{${members.join(",")}}`
    }
    return JSON.stringify(v) ?? "null"
  }
  return go(value, [])
}

/** Reads the value at a path. */
export const getAt = (value: unknown, path: Path): unknown =>
  path.reduce<unknown>(
    (v, k) => (typeof v === "object" && v !== null ? (v as Record<string | number, unknown>)[k] : undefined),
    value
  )
