/**
 * Expressions in graph documents: any numeric field may be a number or a string such as
 * `"N / M"`, `"min(N, budget.sequences)"` or `"ceil(sqrt(N))"`. A small recursive-descent parser
 * (never `eval`) turns the text into a tree once, at load time.
 *
 * Grammar:
 * ```
 * expr    = compare ("?" expr ":" expr)?      a conditional: the first branch when compare ≠ 0
 * compare = sum (("<" | "<=" | ">" | ">=" | "==" | "!=") sum)?     1 when it holds, else 0
 * sum     = term (("+" | "-") term)*
 * term    = unary (("*" | "/") unary)*
 * unary   = "-" unary | primary
 * primary = number | name | call | "(" expr ")"
 * name    = ident ("." ident)*            e.g. N, budget.sequences, population.active
 * call    = ("min" | "max" | "floor" | "ceil" | "sqrt" | "round") "(" expr ("," expr)* ")"
 * ```
 *
 * @since 0.1.0
 */

export type Expr =
  | { readonly _tag: "Num"; readonly value: number }
  | { readonly _tag: "Var"; readonly name: string }
  | { readonly _tag: "Neg"; readonly arg: Expr }
  | { readonly _tag: "Bin"; readonly op: "+" | "-" | "*" | "/"; readonly left: Expr; readonly right: Expr }
  | { readonly _tag: "Call"; readonly fn: Fn; readonly args: ReadonlyArray<Expr> }
  | { readonly _tag: "Cmp"; readonly op: CmpOp; readonly left: Expr; readonly right: Expr }
  | { readonly _tag: "If"; readonly test: Expr; readonly ifTrue: Expr; readonly ifFalse: Expr }

/** Comparison operators: a comparison is 1 when it holds, else 0. */
export const COMPARISONS = ["<=", ">=", "==", "!=", "<", ">"] as const
export type CmpOp = (typeof COMPARISONS)[number]

export const FUNCTIONS = ["min", "max", "floor", "ceil", "sqrt", "round"] as const
export type Fn = (typeof FUNCTIONS)[number]

const ARITY: Readonly<Record<Fn, readonly [number, number]>> = {
  min: [1, Number.POSITIVE_INFINITY],
  max: [1, Number.POSITIVE_INFINITY],
  floor: [1, 1],
  ceil: [1, 1],
  sqrt: [1, 1],
  round: [1, 1]
}

export type ParseResult = { readonly ok: true; readonly expr: Expr } | { readonly ok: false; readonly message: string }

type Token =
  | { readonly kind: "num"; readonly value: number; readonly at: number }
  | { readonly kind: "name"; readonly value: string; readonly at: number }
  | { readonly kind: "op"; readonly value: string; readonly at: number }
  | { readonly kind: "end"; readonly at: number }

const MAX_LENGTH = 1000

const tokenize = (text: string): ReadonlyArray<Token> | string => {
  const out: Array<Token> = []
  let i = 0
  while (i < text.length) {
    const ch = text.charAt(i)
    if (/\s/u.test(ch)) {
      i++
      continue
    }
    const num = /^(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?/u.exec(text.slice(i))
    if (num !== null) {
      out.push({ kind: "num", value: Number(num[0]), at: i })
      i += num[0].length
      continue
    }
    const name = /^[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*/u.exec(text.slice(i))
    if (name !== null) {
      out.push({ kind: "name", value: name[0], at: i })
      i += name[0].length
      continue
    }
    const two = text.slice(i, i + 2)
    if (two === "<=" || two === ">=" || two === "==" || two === "!=") {
      out.push({ kind: "op", value: two, at: i })
      i += 2
      continue
    }
    if ("+-*/(),<>?:".includes(ch)) {
      out.push({ kind: "op", value: ch, at: i })
      i++
      continue
    }
    return `unexpected character "${ch}" at column ${i + 1}`
  }
  out.push({ kind: "end", at: text.length })
  return out
}

/**
 * Parses an expression.
 *
 * @example
 * parse("N / M")          // { ok: true, expr: ... }
 * parse("N / ")           // { ok: false, message: "expected a number, a name or ( at column 5" }
 */
export const parse = (text: string): ParseResult => {
  if (text.length > MAX_LENGTH) return { ok: false, message: `expression longer than ${MAX_LENGTH} characters` }
  const tokens = tokenize(text)
  if (typeof tokens === "string") return { ok: false, message: tokens }
  let pos = 0
  let depth = 0
  const peek = (): Token => tokens[pos] ?? { kind: "end", at: text.length }
  const fail = (message: string): never => {
    throw new ExprSyntaxError(message)
  }
  const isOp = (t: Token, value: string) => t.kind === "op" && t.value === value
  const expect = (value: string) => {
    const t = peek()
    if (!isOp(t, value)) fail(`expected "${value}" at column ${t.at + 1}`)
    pos++
  }
  const tooDeep = () => fail(`expression nested too deeply (more than 100 levels) at column ${peek().at + 1}`)
  // nesting is counted in `sum`, which every cycle of the recursion passes through once
  const expr = (): Expr => {
    const test = compare()
    if (!isOp(peek(), "?")) return test
    pos++
    const then = expr()
    expect(":")
    const otherwise = expr()
    return { _tag: "If", test, ifTrue: then, ifFalse: otherwise }
  }
  const compare = (): Expr => {
    const left = sum()
    const t = peek()
    const op = t.kind === "op" ? COMPARISONS.find((c) => c === t.value) : undefined
    if (op === undefined) return left
    pos++
    return { _tag: "Cmp", op, left, right: sum() }
  }
  const sum = (): Expr => {
    if (++depth > 100) tooDeep()
    let left = term()
    for (;;) {
      const t = peek()
      if (isOp(t, "+") || isOp(t, "-")) {
        pos++
        left = { _tag: "Bin", op: t.kind === "op" && t.value === "+" ? "+" : "-", left, right: term() }
      } else break
    }
    depth--
    return left
  }
  const term = (): Expr => {
    let left = unary()
    for (;;) {
      const t = peek()
      if (isOp(t, "*") || isOp(t, "/")) {
        pos++
        left = { _tag: "Bin", op: t.kind === "op" && t.value === "*" ? "*" : "/", left, right: unary() }
      } else break
    }
    return left
  }
  const unary = (): Expr => {
    if (isOp(peek(), "-")) {
      pos++
      if (++depth > 100) tooDeep()
      const arg = unary()
      depth--
      return { _tag: "Neg", arg }
    }
    return primary()
  }
  const primary = (): Expr => {
    const t = peek()
    if (t.kind === "num") {
      pos++
      return { _tag: "Num", value: t.value }
    }
    if (t.kind === "name") {
      pos++
      if (isOp(peek(), "(")) {
        if (!(FUNCTIONS as ReadonlyArray<string>).includes(t.value))
          fail(`unknown function "${t.value}" at column ${t.at + 1} (functions: ${FUNCTIONS.join(", ")})`)
        const fn = t.value as Fn
        pos++
        const args: Array<Expr> = [expr()]
        while (isOp(peek(), ",")) {
          pos++
          args.push(expr())
        }
        expect(")")
        const [lo, hi] = ARITY[fn]
        if (args.length < lo || args.length > hi)
          fail(
            `${fn}() at column ${t.at + 1} takes ${lo === hi ? lo : `at least ${lo}`} argument${lo === 1 && hi === 1 ? "" : "s"}`
          )
        return { _tag: "Call", fn, args }
      }
      return { _tag: "Var", name: t.value }
    }
    if (isOp(t, "(")) {
      pos++
      const inner = expr()
      expect(")")
      return inner
    }
    return fail(`expected a number, a name or ( at column ${t.at + 1}`)
  }
  try {
    if (tokens.length === 1) return { ok: false, message: "empty expression" }
    const e = expr()
    const t = peek()
    if (t.kind !== "end") return { ok: false, message: `unexpected "${t.value}" at column ${t.at + 1}` }
    return { ok: true, expr: e }
  } catch (e) {
    if (e instanceof ExprSyntaxError) return { ok: false, message: e.message }
    throw e
  }
}

class ExprSyntaxError extends Error {}

/**
 * The names an expression reads.
 *
 * @example
 * names(parseOrThrow("min(N, budget.sequences) / M")) // ["N", "budget.sequences", "M"]
 */
export const names = (e: Expr): ReadonlyArray<string> => {
  const out = new Set<string>()
  const go = (x: Expr): void => {
    switch (x._tag) {
      case "Num":
        return
      case "Var":
        out.add(x.name)
        return
      case "Neg":
        go(x.arg)
        return
      case "Bin":
        go(x.left)
        go(x.right)
        return
      case "Call":
        for (const a of x.args) go(a)
        return
      case "Cmp":
        go(x.left)
        go(x.right)
        return
      case "If":
        go(x.test)
        go(x.ifTrue)
        go(x.ifFalse)
    }
  }
  go(e)
  return [...out]
}

const apply = (fn: Fn, xs: ReadonlyArray<number>): number => {
  switch (fn) {
    case "min":
      return Math.min(...xs)
    case "max":
      return Math.max(...xs)
    case "floor":
      return Math.floor(xs[0] ?? Number.NaN)
    case "ceil":
      return Math.ceil(xs[0] ?? Number.NaN)
    case "sqrt":
      return Math.sqrt(xs[0] ?? Number.NaN)
    case "round":
      return Math.round(xs[0] ?? Number.NaN)
  }
}

/**
 * Evaluates an expression; `lookup` gives each name's value (`undefined` for an unknown name,
 * which makes the result `NaN` — validation rejects unknown names before anything runs).
 *
 * @example
 * evaluate(parseOrThrow("N / M"), (n) => ({ N: 16, M: 4 })[n]) // 4
 */
export const evaluate = (e: Expr, lookup: (name: string) => number | undefined): number => {
  switch (e._tag) {
    case "Num":
      return e.value
    case "Var":
      return lookup(e.name) ?? Number.NaN
    case "Neg":
      return -evaluate(e.arg, lookup)
    case "Bin": {
      const a = evaluate(e.left, lookup)
      const b = evaluate(e.right, lookup)
      return e.op === "+" ? a + b : e.op === "-" ? a - b : e.op === "*" ? a * b : a / b
    }
    case "Call":
      return apply(
        e.fn,
        e.args.map((a) => evaluate(a, lookup))
      )
    case "Cmp": {
      // NaN (an unknown name, the root of a negative) has no order: the result is NaN, as for
      // arithmetic — never a 0 that the interval bound, which has no NaN, could not contain
      const a = evaluate(e.left, lookup)
      const b = evaluate(e.right, lookup)
      return Number.isNaN(a) || Number.isNaN(b) ? Number.NaN : compareValues(e.op, a, b) ? 1 : 0
    }
    case "If": {
      // NaN (an unknown name) has no truth value: the result is NaN, as for arithmetic
      const test = evaluate(e.test, lookup)
      if (Number.isNaN(test)) return Number.NaN
      return test !== 0 ? evaluate(e.ifTrue, lookup) : evaluate(e.ifFalse, lookup)
    }
  }
}

const compareValues = (op: CmpOp, a: number, b: number): boolean => {
  switch (op) {
    case "<":
      return a < b
    case "<=":
      return a <= b
    case ">":
      return a > b
    case ">=":
      return a >= b
    case "==":
      return a === b
    case "!=":
      return a !== b
  }
}

/** A comparison of two ranges: 1 or 0 when every pair of values agrees, else both. */
const compareIntervals = (op: CmpOp, a: Interval, b: Interval): Interval => {
  if ([a.lo, a.hi, b.lo, b.hi].some(Number.isNaN)) return { lo: 0, hi: 1 }
  const always = (x: boolean): Interval => (x ? point(1) : point(0))
  switch (op) {
    case "<":
      return a.hi < b.lo ? always(true) : a.lo >= b.hi ? always(false) : { lo: 0, hi: 1 }
    case "<=":
      return a.hi <= b.lo ? always(true) : a.lo > b.hi ? always(false) : { lo: 0, hi: 1 }
    case ">":
      return compareIntervals("<", b, a)
    case ">=":
      return compareIntervals("<=", b, a)
    case "==":
      return a.lo === a.hi && b.lo === b.hi && a.lo === b.lo
        ? always(true)
        : a.hi < b.lo || b.hi < a.lo
          ? always(false)
          : { lo: 0, hi: 1 }
    case "!=": {
      const eq = compareIntervals("==", a, b)
      return { lo: 1 - eq.hi, hi: 1 - eq.lo }
    }
  }
}

/** A closed interval of reals; either end may be infinite. */
export interface Interval {
  readonly lo: number
  readonly hi: number
}

const point = (x: number): Interval => ({ lo: x, hi: x })
const TOP: Interval = { lo: Number.NEGATIVE_INFINITY, hi: Number.POSITIVE_INFINITY }

const mulBounds = (a: Interval, b: Interval): Interval => {
  const ps = [a.lo * b.lo, a.lo * b.hi, a.hi * b.lo, a.hi * b.hi].map((x) => (Number.isNaN(x) ? 0 : x))
  return { lo: Math.min(...ps), hi: Math.max(...ps) }
}

/** ∞ − ∞ has no value: an end that is NaN is unknown, so it becomes the infinite end. */
const widen = (i: Interval): Interval => ({
  lo: Number.isNaN(i.lo) ? Number.NEGATIVE_INFINITY : i.lo,
  hi: Number.isNaN(i.hi) ? Number.POSITIVE_INFINITY : i.hi
})

/**
 * Quotient bounds for a divisor that excludes 0: the extremes are quotients of ends. Computed as
 * quotients (not as `a * (1 / b)`, which rounds twice: 49 * (1 / 49) < 1 = 49 / 49, and `floor`
 * of the bound would then miss the point value). ∞ / ∞ has no value, so the range is unknown.
 */
const divBounds = (a: Interval, b: Interval): Interval => {
  const qs = [a.lo / b.lo, a.lo / b.hi, a.hi / b.lo, a.hi / b.hi]
  if (qs.some(Number.isNaN)) return TOP
  return { lo: Math.min(...qs), hi: Math.max(...qs) }
}

/**
 * Interval evaluation: a sound range for the expression when each name ranges over its interval
 * (used by the static cost bound, where population counts are only known to lie in `[0, max]`).
 *
 * @example
 * evaluateInterval(parseOrThrow("N - population.size"), (n) => n === "N" ? { lo: 8, hi: 8 } : { lo: 0, hi: 3 })
 * // { lo: 5, hi: 8 }
 */
export const evaluateInterval = (e: Expr, lookup: (name: string) => Interval | undefined): Interval => {
  switch (e._tag) {
    case "Num":
      return point(e.value)
    case "Var":
      return lookup(e.name) ?? TOP
    case "Neg": {
      const a = evaluateInterval(e.arg, lookup)
      return { lo: -a.hi, hi: -a.lo }
    }
    case "Bin": {
      const a = evaluateInterval(e.left, lookup)
      const b = evaluateInterval(e.right, lookup)
      switch (e.op) {
        case "+":
          return widen({ lo: a.lo + b.lo, hi: a.hi + b.hi })
        case "-":
          return widen({ lo: a.lo - b.hi, hi: a.hi - b.lo })
        case "*":
          return mulBounds(a, b)
        case "/":
          if (b.lo <= 0 && b.hi >= 0) return TOP
          return divBounds(a, b)
      }
      return TOP
    }
    case "Call": {
      const xs = e.args.map((a) => evaluateInterval(a, lookup))
      const first = xs[0] ?? TOP
      switch (e.fn) {
        case "min":
          return { lo: Math.min(...xs.map((x) => x.lo)), hi: Math.min(...xs.map((x) => x.hi)) }
        case "max":
          return { lo: Math.max(...xs.map((x) => x.lo)), hi: Math.max(...xs.map((x) => x.hi)) }
        case "floor":
          return { lo: Math.floor(first.lo), hi: Math.floor(first.hi) }
        case "ceil":
          return { lo: Math.ceil(first.lo), hi: Math.ceil(first.hi) }
        case "round":
          return { lo: Math.round(first.lo), hi: Math.round(first.hi) }
        case "sqrt":
          return first.hi < 0 ? TOP : { lo: Math.sqrt(Math.max(0, first.lo)), hi: Math.sqrt(first.hi) }
      }
      return TOP
    }
    case "Cmp":
      return compareIntervals(e.op, evaluateInterval(e.left, lookup), evaluateInterval(e.right, lookup))
    case "If": {
      const test = evaluateInterval(e.test, lookup)
      const then = () => evaluateInterval(e.ifTrue, lookup)
      const otherwise = () => evaluateInterval(e.ifFalse, lookup)
      // the test is certainly non-zero, certainly zero, or either: then both branches are possible
      if (test.lo > 0 || test.hi < 0) return then()
      if (test.lo === 0 && test.hi === 0) return otherwise()
      const a = then()
      const b = otherwise()
      return { lo: Math.min(a.lo, b.lo), hi: Math.max(a.hi, b.hi) }
    }
  }
}

/**
 * Parses or throws; for expressions written in code (tests, built-ins), never for user input.
 *
 * @example
 * parseOrThrow("N * 2")
 */
export const parseOrThrow = (text: string): Expr => {
  const r = parse(text)
  if (!r.ok) throw new Error(`bad expression "${text}": ${r.message}`)
  return r.expr
}

/**
 * Prints an expression back as text (fully parenthesised binary operations).
 *
 * @example
 * print(parseOrThrow("N/M")) // "(N / M)"
 */
export const print = (e: Expr): string => {
  switch (e._tag) {
    case "Num":
      return String(e.value)
    case "Var":
      return e.name
    case "Neg":
      return `-${print(e.arg)}`
    case "Bin":
      return `(${print(e.left)} ${e.op} ${print(e.right)})`
    case "Call":
      return `${e.fn}(${e.args.map(print).join(", ")})`
    case "Cmp":
      return `(${print(e.left)} ${e.op} ${print(e.right)})`
    case "If":
      return `(${print(e.test)} ? ${print(e.ifTrue)} : ${print(e.ifFalse)})`
  }
}
