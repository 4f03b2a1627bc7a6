/**
 * Where two JSON values differ, as dotted paths: how the report says what distinguishes pooled
 * sweeps (their specifications are the same but for a world seed and a name) without printing
 * each one whole.
 *
 * @since 0.5.0
 */

/** One place two JSON values differ: its dotted path (`[i]` for array items) and both values. */
export interface Difference {
  readonly path: string
  readonly left: unknown
  readonly right: unknown
}

const isObject = (x: unknown): x is Record<string, unknown> => typeof x === "object" && x !== null && !Array.isArray(x)

/**
 * The leaf paths at which `left` and `right` differ, in the order of `left`'s keys then the keys
 * only `right` has; a key absent on one side is `undefined` there. Arrays of different lengths, or
 * an array against a non-array, differ as a whole.
 *
 * @example
 * jsonDifferences({ a: { seed: 0 }, n: 1 }, { a: { seed: 2 }, n: 1 })
 * // [{ path: "a.seed", left: 0, right: 2 }]
 */
export const jsonDifferences = (left: unknown, right: unknown, path = ""): ReadonlyArray<Difference> => {
  if (isObject(left) && isObject(right)) {
    // own keys only: a "__proto__" key from JSON.parse must not read the prototype
    const own = (o: Record<string, unknown>, k: string) => (Object.hasOwn(o, k) ? o[k] : undefined)
    const keys = [...Object.keys(left), ...Object.keys(right).filter((k) => !Object.hasOwn(left, k))]
    return keys.flatMap((k) => jsonDifferences(own(left, k), own(right, k), path === "" ? k : `${path}.${k}`))
  }
  if (Array.isArray(left) && Array.isArray(right) && left.length === right.length)
    return left.flatMap((x, i) => jsonDifferences(x, right[i], `${path}[${i}]`))
  return JSON.stringify(left) === JSON.stringify(right) ? [] : [{ path: path === "" ? "(whole)" : path, left, right }]
}
