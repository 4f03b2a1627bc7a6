/**
 * Scanning LaTeX answers: matching braces, reading a macro's argument, splitting at top-level
 * separators. Every function here is a single left-to-right pass, so no input can make it slow.
 *
 * Brackets of all kinds — `{}`, `()`, `[]` and the escaped set braces `\{ \}` — share one depth
 * counter: half-open intervals such as `[0,1)` pair a `[` with a `)`.
 *
 * @since 0.1.0
 */

const OPENERS = "{(["
const CLOSERS = "})]"

/**
 * Index of the `}` that closes the `{` at `open`, or -1 when it is never closed. Escaped braces
 * (`\{`, `\}`) do not count.
 *
 * @example
 * closingBrace("\\frac{1}{2}", 5) // 7
 */
export const closingBrace = (s: string, open: number): number => {
  let depth = 0
  for (let i = open; i < s.length; i++) {
    const c = s[i]
    if (c === "\\") {
      i++
      continue
    }
    if (c === "{") depth++
    else if (c === "}") {
      depth--
      if (depth === 0) return i
    }
  }
  return -1
}

/** One step of the shared bracket depth: +1 for an opener, -1 for a closer, and the width read. */
const bracketAt = (s: string, i: number): { readonly delta: number; readonly width: number } => {
  const c = s[i] ?? ""
  if (c === "\\") {
    const next = s[i + 1] ?? ""
    if (next === "{") return { delta: 1, width: 2 }
    if (next === "}") return { delta: -1, width: 2 }
    return { delta: 0, width: next === "" ? 1 : 2 }
  }
  if (OPENERS.includes(c)) return { delta: 1, width: 1 }
  if (CLOSERS.includes(c)) return { delta: -1, width: 1 }
  return { delta: 0, width: 1 }
}

/**
 * Index just past the bracket that closes the bracket at `open` (any kind, so `[0,1)` closes), or
 * -1 when it is never closed.
 *
 * @example
 * closingBracket("[0,1) \\cup (2,3)", 0) // 5
 */
export const closingBracket = (s: string, open: number): number => {
  let depth = 0
  for (let i = open; i < s.length; ) {
    const { delta, width } = bracketAt(s, i)
    depth += delta
    i += width
    if (delta < 0 && depth === 0) return i
    if (depth < 0) return -1
  }
  return -1
}

/**
 * Splits `s` at each top-level occurrence of any separator (outside every bracket). A control word
 * separator such as `\cup` only matches as a whole word.
 *
 * @example
 * splitTopLevel("(1,2),3", [","]) // ["(1,2)", "3"]
 */
export const splitTopLevel = (s: string, separators: ReadonlyArray<string>): Array<string> => {
  const parts: Array<string> = []
  let depth = 0
  let start = 0
  for (let i = 0; i < s.length; ) {
    if (depth === 0) {
      const sep = separators.find(
        (x) => s.startsWith(x, i) && !(/^\\[a-zA-Z]+$/.test(x) && /[a-zA-Z]/.test(s[i + x.length] ?? ""))
      )
      if (sep !== undefined) {
        parts.push(s.slice(start, i))
        i += sep.length
        start = i
        continue
      }
    }
    const { delta, width } = bracketAt(s, i)
    depth = Math.max(0, depth + delta)
    i += width
  }
  parts.push(s.slice(start))
  return parts
}

/**
 * Whether the bracket opening at index 0 closes exactly at the end of `s`, i.e. the brackets
 * enclose the whole string.
 *
 * @example
 * enclosed("(1,2)") // true
 * enclosed("(a+1)(b+2)") // false
 */
export const enclosed = (s: string): boolean => s.length >= 2 && closingBracket(s, 0) === s.length

/**
 * Reads one TeX argument at `i` (after optional spaces): a braced group, a control word, or a single
 * character. Returns its text (without the braces) and the index after it.
 *
 * @example
 * readArgument("\\frac12", 5) // { text: "1", end: 6 }
 */
export const readArgument = (s: string, i: number): { readonly text: string; readonly end: number } | undefined => {
  let j = i
  while (s[j] === " ") j++
  const c = s[j]
  if (c === undefined) return undefined
  if (c === "{") {
    const close = closingBrace(s, j)
    return close < 0 ? undefined : { text: s.slice(j + 1, close), end: close + 1 }
  }
  if (c === "\\") {
    const m = /^\\(?:[a-zA-Z]+|.)/.exec(s.slice(j, j + 64))
    return m === null ? undefined : { text: m[0], end: j + m[0].length }
  }
  if (c === "}") return undefined
  return { text: c, end: j + 1 }
}

/**
 * Removes the given macro wrappers (e.g. `\text{…}`), nested ones too, keeping their content; a
 * wrapper whose group is never closed is dropped.
 *
 * @example
 * unwrapMacros("5\\text{ cm}", ["text"]) // "5 cm"
 */
export const unwrapMacros = (s: string, names: ReadonlyArray<string>): string => {
  const pattern = new RegExp(`\\\\(?:${names.join("|")})(?![a-zA-Z])\\s*`, "g")
  let out = ""
  let last = 0
  for (let m = pattern.exec(s); m !== null; m = pattern.exec(s)) {
    const at = m.index + m[0].length
    out += s.slice(last, m.index)
    if (s[at] === "{") {
      const close = closingBrace(s, at)
      if (close < 0) {
        out += unwrapMacros(s.slice(at + 1), names)
        last = s.length
        break
      }
      out += unwrapMacros(s.slice(at + 1, close), names)
      last = close + 1
    } else {
      last = at
    }
    pattern.lastIndex = last
  }
  return out + s.slice(last)
}
